"""A database fault never costs an employee their answers: a lock held past the timeout and a
connection dropped mid-transaction, injected into a real SQLite file and a real PostgreSQL server,
and PostgreSQL stopped and restarted between the GET and the POST."""

from __future__ import annotations

import logging
import re
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from diagnosis.extensions import db
from diagnosis.store.models import Response, UsedNonce

ROOT = Path(__file__).resolve().parent.parent
TEXT = "研修がなく、聞ける人もいないので使わなくなりました。"
ANSWERS = {"usage": "tried_once", "pu_useful": "3", "pu_usecase": "2", "pu_nofit": "3",
           "le_exec": "2", "le_manager": "2", "le_fringe": "4", "su_skill": "2",
           "su_training": "1", "su_ask": "2", "su_hard": "4", "reasons": TEXT}


@pytest.fixture
def app_config(app_config):
    # Short waits so the test is quick; the behaviour is the same with the defaults (5 s, 12 s).
    return {**app_config, "DB_BUSY_TIMEOUT_SECONDS": 0.3, "SURVEY_SAVE_DEADLINE_SECONDS": 2}


class Events(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.rows.append({"event": record.getMessage(), **getattr(record, "fields", {})})

    def named(self, name: str) -> list[dict]:
        return [r for r in self.rows if r["event"] == name]


@pytest.fixture
def events():
    handler = Events()
    logger = logging.getLogger("teichaku.events")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def db_path(app) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")


@contextmanager
def locked(app):
    """Another process holding a lock that blocks writes (a backup tool, a stuck migration): on
    SQLite an exclusive transaction on the file; on PostgreSQL an EXCLUSIVE lock on the tables a
    response and an organisation go to (reads go on, as they do beside SQLite's lock in WAL mode)."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        con = sqlite3.connect(db_path(app), isolation_level=None)
        con.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            con.execute("ROLLBACK")
            con.close()
        return
    import psycopg

    with psycopg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                         dbname=url.database) as con:
        con.execute("LOCK TABLE response, organisation IN EXCLUSIVE MODE")  # held until the rollback
        try:
            yield
        finally:
            con.rollback()


def count(app, model) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(model))
        db.session.remove()
        return n


def open_form(client, token) -> dict:
    html = client.get(f"/s/{token}").get_data(as_text=True)
    nonce = re.search(r'name="nonce" type="hidden" value="([^"]+)"', html).group(1)
    return dict(ANSWERS, nonce=nonce)


def assert_answers_shown(html: str, nonce: str) -> None:
    assert "回答を保存できませんでした。内容はそのままです。" in html
    assert TEXT in html  # the comment is in its text box again
    assert re.search(r'<input[^>]*checked[^>]*value="tried_once"|<input[^>]*value="tried_once"[^>]*checked', html)
    assert f'value="{nonce}"' in html  # the same nonce: the next press stores once


def test_a_lock_held_past_the_timeout_keeps_the_answers_and_one_response_is_stored_after(
        app, client, world, events):
    data = open_form(client, world["token_a"])
    with locked(app):
        r = client.post(f"/s/{world['token_a']}", data=data)
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "30"
        assert_answers_shown(r.get_data(as_text=True), data["nonce"])
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json == {"status": "degraded", "database": "cannot write"}
    assert count(app, Response) == 0
    [failure] = events.named("response_save_failed")
    assert failure.pop("attempts") >= 2  # retried with backoff before giving the form back
    assert failure == {"event": "response_save_failed", "campaign": world["campaign_a"],
                       "error": "OperationalError"}  # ids and counts only

    assert client.get("/healthz").json == {"status": "ok", "database": "ok"}
    r = client.post(f"/s/{world['token_a']}", data=data)  # the employee presses again
    assert r.status_code == 302 and "/thanks" in r.headers["Location"]
    assert client.post(f"/s/{world['token_a']}", data=data).status_code == 302  # and once more
    assert count(app, Response) == 1 and count(app, UsedNonce) == 1
    with app.app_context():
        assert db.session.scalars(select(Response)).one().answers["reasons"] == TEXT


@contextmanager
def dropped_connections(app, times: int, statement: str = "INSERT INTO response"):
    """Close the connection under the next ``times`` statements starting with ``statement``, as a
    restarted server or a network fault would; SQLAlchemy sees a disconnect."""
    left = [times]

    def drop(conn, cursor, sql, params, context, executemany):
        if left[0] and sql.lstrip().upper().startswith(statement.upper()):
            left[0] -= 1
            conn.connection.dbapi_connection.close()

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", drop)
    try:
        yield left
    finally:
        event.remove(engine, "before_cursor_execute", drop)


def test_a_connection_dropped_mid_transaction_is_retried_and_stores_once(app, client, world, events):
    data = open_form(client, world["token_a"])
    with dropped_connections(app, 1) as left:
        r = client.post(f"/s/{world['token_a']}", data=data)
    assert left == [0]  # the fault did happen
    assert r.status_code == 302
    assert count(app, Response) == 1 and count(app, UsedNonce) == 1
    assert len(events.named("response_stored")) == 1


def test_a_connection_that_keeps_dropping_gives_the_form_back_then_stores_once(app, client, world):
    data = open_form(client, world["token_a"])
    with dropped_connections(app, 10):
        r = client.post(f"/s/{world['token_a']}", data=data)
    assert r.status_code == 503
    assert_answers_shown(r.get_data(as_text=True), data["nonce"])
    assert count(app, Response) == 0
    assert client.post(f"/s/{world['token_a']}", data=data).status_code == 302
    assert count(app, Response) == 1


def test_the_dashboard_answers_503_in_one_line_when_the_database_cannot_be_read(app, client, world):
    from conftest import login

    login(client, world["lead_a"])
    with dropped_connections(app, 100, statement="SELECT"):
        r = client.get(f"/campaigns/{world['campaign_a']}")
    assert r.status_code == 503 and r.headers["Retry-After"] == "30"
    html = r.get_data(as_text=True)
    assert "データベースに一時的に接続できません" in html and "The database is unavailable" in html
    assert "Traceback" not in html and "sqlite" not in html.lower()
    assert client.get(f"/campaigns/{world['campaign_a']}").status_code == 200  # and back


def test_a_cli_command_during_a_lock_says_so_in_one_line(app, world, backend):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
           "TEICHAKU_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "TEICHAKU_DB_BUSY_TIMEOUT_SECONDS": "0.3"}
    with locked(app):
        p = subprocess.run([sys.executable, "-m", "diagnosis", "create-org", "株式会社ロック", "--employees", "5"],
                           env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    reason = "database is locked" if backend == "sqlite" else "canceling statement due to lock timeout"
    assert p.stderr.strip().splitlines() == [
        f"error: the database is unavailable (OperationalError: {reason}); "
        "the step in progress was not saved; try again in a moment"]


# ------------------------------------------------------------------ PostgreSQL restarting

@pytest.mark.postgresql_only
def test_postgresql_restarted_between_the_get_and_the_post_costs_nothing(app, client, world, postgres_server,
                                                                        events):
    """A failover or a restart while the employee fills in the form: the pooled connections are
    dead, pool_pre_ping notices and reconnects, and the response is stored once."""
    data = open_form(client, world["token_a"])
    postgres_server.stop("fast")
    postgres_server.start()
    r = client.post(f"/s/{world['token_a']}", data=data)
    assert r.status_code == 302 and "/thanks" in r.headers["Location"]
    assert client.post(f"/s/{world['token_a']}", data=data).status_code == 302  # pressed again: stored once
    assert count(app, Response) == 1 and count(app, UsedNonce) == 1
    assert events.named("response_save_failed") == []


@pytest.mark.postgresql_only
def test_postgresql_still_down_at_the_post_answers_503_and_the_same_form_stores_once_after(
        app, client, world, postgres_server, events):
    """Still down when the employee presses submit: not even the campaign can be read, so the form
    cannot be rebuilt around the answers (that needs the questionnaire the campaign names). The
    employee gets the one-line 503 page with Retry-After, nothing is stored, and the same form sent
    again once the server is back (the browser's back button keeps it) is stored once."""
    data = open_form(client, world["token_a"])
    postgres_server.stop("immediate")  # a crash, not a clean shutdown
    try:
        r = client.post(f"/s/{world['token_a']}", data=data)
        assert r.status_code == 503 and r.headers["Retry-After"] == "30"
        assert "Traceback" not in r.get_data(as_text=True)
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json == {"status": "error", "database": "error"}
    finally:
        postgres_server.start()
    assert [e["error"] for e in events.named("database_unavailable")] == ["OperationalError"]
    assert count(app, Response) == 0
    assert client.post(f"/s/{world['token_a']}", data=data).status_code == 302
    assert client.post(f"/s/{world['token_a']}", data=data).status_code == 302
    assert count(app, Response) == 1 and count(app, UsedNonce) == 1
