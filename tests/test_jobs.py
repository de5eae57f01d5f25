"""The job queue and the worker: leases, a worker killed mid-batch, `serve`, and commands run
against a missing or outdated database. The process tests run the real `teichaku` entry point
with the real model on a real SQLite file."""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from diagnosis import classification
from diagnosis.classification import claim_batch, classify_claimed, classify_pending
from diagnosis.extensions import db
from diagnosis.questionnaire import questionnaire_for
from diagnosis.store.models import Campaign, Comment, Response
from diagnosis.store.responses import add_response

ROOT = Path(__file__).resolve().parent.parent
TEICHAKU = [sys.executable, "-m", "diagnosis"]
ANSWERS = {"usage": "tried_once", "pu_useful": "3", "pu_usecase": "2", "pu_nofit": "3",
           "le_exec": "2", "le_manager": "2", "le_fringe": "4", "su_skill": "2",
           "su_training": "1", "su_ask": "2", "su_hard": "4"}
TEXTS = ["プロンプトの書き方がわからず、研修もないので使わなくなった。", "上司が誰も使っていないので、使っていいのか迷う。",
         "何に使えば業務が楽になるのか、具体的な場面が思いつかない。", "困ったときに聞ける人が社内にいない。"]


def add_pending(app, campaign_id: int, n: int) -> list[int]:
    """n stored responses with two pending comments each; returns the comment ids."""
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        q = questionnaire_for(app.extensions["questionnaires"], campaign)
        for i in range(n):
            add_response(campaign, q, dict(ANSWERS, reasons=f"{TEXTS[i % 4]}（{i}）",
                                            help_wanted=TEXTS[(i + 1) % 4]))
        db.session.commit()
        return list(db.session.scalars(select(Comment.id).order_by(Comment.id)))


class FakeResult:
    def __init__(self, text: str) -> None:
        self.label, self.confidence, self.scores = "support", 0.9, {"support": 0.9}
        self.sentences = ()


def test_leases_split_work_between_workers_and_a_dead_workers_lease_runs_out(app, world, monkeypatch):
    """Unit level (a fake model for speed; the process test below uses the real one)."""
    monkeypatch.setattr(classification, "_classify_texts", lambda texts, org=None: ([FakeResult(t) for t in texts], "fake:1"))
    ids = add_pending(app, world["campaign_a"], 5)  # 10 comments
    app.config["CLASSIFY_LEASE_SECONDS"] = 60
    with app.app_context():
        first, second = claim_batch(4), claim_batch(4)
        held = {t: set(db.session.scalars(select(Comment.id).where(Comment.claim_token == t)))
                for t in (first, second)}
        assert len(held[first]) == len(held[second]) == 4 and not held[first] & held[second]
        assert classify_pending() == 2  # the two nobody holds; leased ones are left alone
        # The first worker "dies": once its lease has run out its batch is claimable again...
        db.session.execute(Comment.__table__.update().where(Comment.claim_token == first)
                           .values(claimed_until=classification.utcnow()))
        db.session.commit()
        taken_over = claim_batch(10)
        assert set(db.session.scalars(select(Comment.id).where(Comment.claim_token == taken_over))) == held[first]
        # ...and if it comes back, it writes nothing: its lease is gone.
        assert classify_claimed(first) == []
        assert sorted(classify_claimed(taken_over)) == sorted(held[first])
        assert sorted(classify_claimed(second)) == sorted(held[second])
        assert db.session.scalar(select(func.count()).select_from(Comment).where(Comment.label.is_(None))) == 0
        assert db.session.scalar(select(func.count()).select_from(Comment)
                                 .where(Comment.claim_token.is_not(None))) == 0
        assert set(db.session.scalars(select(Response.classification_status))) == {"done"}
    assert len(ids) == 10


def test_failed_enqueue_keeps_the_answers_pending(app, client, world):
    from test_classification import pending, submit

    app.config.update(CLASSIFY_ON_SUBMIT="queue", JOB_QUEUE_URL="nonsense://queue")
    assert submit(client, world["token_a"]).status_code == 302  # the employee sees the thank-you page
    assert pending(app) == 2


def _env(app, **extra: str) -> dict[str, str]:
    """The environment of a `teichaku` process on the test's database, queue and limiter store."""
    stores = {f"TEICHAKU_{k}": str(app.config[k]) for k in ("JOB_QUEUE_URL", "RATELIMIT_STORAGE_URL")
              if app.config.get(k)}
    return {**os.environ, **stores, "TEICHAKU_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(ROOT), **extra}


def _events(text: str, name: str) -> list[dict]:
    rows = []
    for line in text.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            if row.get("event") == name:
                rows.append(row)
    return rows


def _read_until_event(proc: subprocess.Popen, name: str, timeout: float) -> str:
    """stderr of the worker up to the first line with this event (or until it exits)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if f'"event": "{name}"' in line:
            return "".join(seen)
    raise AssertionError(f"no {name} event within {timeout}s:\n" + "".join(seen))


@pytest.mark.redis
def test_a_worker_killed_mid_batch_loses_nothing_and_classifies_nothing_twice(app, world, backend):
    ids = add_pending(app, world["campaign_a"], 60)  # 120 comments, 8 batches of 16
    from diagnosis.jobs import job_queue

    with app.app_context():
        response_ids = list(db.session.scalars(select(Response.id)))
    if backend != "redis":  # the default: a SQLite file beside SQLite, the database itself on PostgreSQL
        app.config["JOB_QUEUE_URL"] = "auto"
    job_queue(app).classify(response_ids[:3])  # a message waiting in the queue
    env = _env(app, TEICHAKU_CLASSIFY_BATCH_SIZE="16", TEICHAKU_CLASSIFY_LEASE_SECONDS="1")

    first = subprocess.Popen([*TEICHAKU, "worker"], env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        log1 = _read_until_event(first, "comments_classified", timeout=180)
    finally:
        first.send_signal(signal.SIGKILL)  # no chance to finish or clean up
        first.wait(timeout=30)
    log1 += first.stderr.read()
    with app.app_context():
        done_before = {c.id: (c.label, c.scores, c.model_version) for c in
                       db.session.scalars(select(Comment).where(Comment.label.is_not(None)))}
    assert 0 < len(done_before) < len(ids), "the kill should land mid-run"

    time.sleep(1.5)  # the dead worker's lease runs out
    second = subprocess.Popen([*TEICHAKU, "worker"], env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            with app.app_context():
                left = db.session.scalar(select(func.count()).select_from(Comment).where(Comment.label.is_(None)))
                db.session.remove()
            if not left:
                break
            time.sleep(0.5)
    finally:
        second.send_signal(signal.SIGINT)  # Ctrl-C: finish the job in hand, then stop
        _, log2 = second.communicate(timeout=60)
    assert second.returncode == 0, log2[-2000:]
    assert left == 0

    counts = collections.Counter(i for log in (log1, log2) for e in _events(log, "comments_classified")
                                 for i in e["comment_ids"])
    assert set(counts) == set(ids)  # every comment classified...
    assert set(counts.values()) == {1}  # ...exactly once
    with app.app_context():
        after = {c.id: (c.label, c.scores, c.model_version) for c in db.session.scalars(select(Comment))}
        assert all(after[i] == v for i, v in done_before.items())  # nothing relabelled
        assert set(db.session.scalars(select(Response.classification_status))) == {"done"}
        assert db.session.scalar(select(func.count()).select_from(Comment)
                                 .where(Comment.claim_token.is_not(None))) == 0
    assert job_queue(app).pending_jobs() == 0  # the queued message was taken too


def test_commands_on_a_missing_or_outdated_database_say_so_in_one_line(app, tmp_path):
    missing = {**_env(app), "TEICHAKU_DATABASE_URL": f"sqlite:///{tmp_path / 'none.sqlite3'}"}
    p = subprocess.run([*TEICHAKU, "demo"], env=missing, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == [
        f"error: no database at {tmp_path / 'none.sqlite3'}; run: teichaku db upgrade (creates it)"]
    assert not (tmp_path / "none.sqlite3").exists()

    with app.app_context():
        from flask_migrate import downgrade

        db.session.remove()
        downgrade(revision="0005_anon")
    p = subprocess.run([*TEICHAKU, "diagnose", "whatever"], env=_env(app), cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert re.search(r"is at migration 0005_anon but this version needs 0\d{3}_\w+;", p.stderr), p.stderr
    assert "run: teichaku db upgrade" in p.stderr
    p = subprocess.run([*TEICHAKU, "db", "upgrade"], env=_env(app), cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([*TEICHAKU, "classify-pending"], env=_env(app), cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "classified 0 comment(s)" in p.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}/stat").exists() else "X"
    return state not in ("Z", "X")


@pytest.mark.sqlite_only("process handling of `serve`; the worker on PostgreSQL and Redis queues is "
                         "test_a_worker_killed_mid_batch_…")
@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_serve_runs_the_web_server_and_a_worker_and_stopping_it_stops_both(app, world, stop):
    ids = add_pending(app, world["campaign_a"], 3)
    port = _free_port()
    proc = subprocess.Popen([*TEICHAKU, "serve", "--port", str(port)], env=_env(app), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        left = len(ids)
        while time.monotonic() < deadline and left:
            time.sleep(0.5)
            with app.app_context():  # the worker beside the server classifies what was pending
                left = db.session.scalar(select(func.count()).select_from(Comment).where(Comment.label.is_(None)))
                db.session.remove()
        assert left == 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:  # noqa: S310
            assert r.status == 200
        workers = _children(proc.pid)
        assert len(workers) == 1 and _alive(workers[0])
        if stop == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)  # what the terminal sends to the whole group
        else:
            proc.send_signal(signal.SIGTERM)  # systemd or a supervisor stops the parent only
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _alive(workers[0]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(workers[0]), out[-2000:]
    assert "stopped the web server and the worker" in out
