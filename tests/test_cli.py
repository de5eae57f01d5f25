"""Command-line workspace management and the demo."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import func, select

from diagnosis.extensions import db
from diagnosis.store.models import Campaign, Comment, InterviewNote, Organisation, Response, User


def test_create_org_user_campaign(app, runner):
    r = runner.invoke(args=["create-org", "株式会社テスト", "--employees", "40",
                            "--rollout", "2026-09-01", "--tool", "ChatGPT"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(args=["create-user", "c@example.com", "--role", "consultant",
                            "--org", "株式会社テスト", "--password", "a-long-password"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(args=["create-user", "d@example.com", "--role", "dx_lead",
                            "--password", "a-long-password"])
    assert r.exit_code != 0 and "exactly one organisation" in r.output
    r = runner.invoke(args=["create-campaign", "株式会社テスト", "wave-1", "--opens", "2026-11-01"])
    assert r.exit_code == 0, r.output
    with app.app_context():
        c = db.session.scalars(select(Campaign)).one()
        assert f"survey link: http://localhost/s/{c.public_token}" in r.output
        user = db.session.scalars(select(User)).one()
        assert [o.name for o in user.organisations] == ["株式会社テスト"]
    r = runner.invoke(args=["create-campaign", "株式会社テスト", "wave-1"])
    assert r.exit_code != 0 and "already used" in r.output
    r = runner.invoke(args=["create-campaign", "nope", "wave-2"])
    assert r.exit_code != 0 and "no organisation" in r.output
    r = runner.invoke(args=["create-org", "X", "--employees", "0"])
    assert r.exit_code != 0 and "at least 1" in r.output


def test_demo_is_realistic_and_idempotent(app, runner):
    r = runner.invoke(args=["demo", "--no-classify", "--responses", "120"])
    assert r.exit_code == 0, r.output
    assert "Survey (employee):" in r.output and "/s/" in r.output and "Consultant login:" in r.output
    with app.app_context():
        demo = db.session.scalars(select(Campaign).where(Campaign.slug == "demo")).one()
        assert demo.state() == "open"
        n = db.session.scalar(select(func.count()).select_from(Response)
                              .where(Response.campaign_id == demo.id))
        assert n == 120
        depts = set(db.session.scalars(select(Response.department)
                                       .where(Response.campaign_id == demo.id)))
        assert {"sales", "manufacturing", "engineering", "admin"} <= depts
        texts = list(db.session.scalars(select(Comment.text).where(Comment.source == "survey")))
        ja = sum(1 for t in texts if any("\u3040" <= ch <= "\u30ff" for ch in t))
        assert len(texts) > 60 and ja / len(texts) > 0.7
        assert db.session.scalar(select(func.count()).select_from(InterviewNote)) == 4
        before = {m.__name__: db.session.scalar(select(func.count()).select_from(m))
                  for m in (Organisation, User, Campaign, Response, Comment)}
    r = runner.invoke(args=["demo", "--no-classify", "--responses", "120"])
    assert r.exit_code == 0, r.output
    with app.app_context():
        after = {m.__name__: db.session.scalar(select(func.count()).select_from(m))
                 for m in (Organisation, User, Campaign, Response, Comment)}
    assert before == after


def test_console_script_reports_bad_questionnaire_plainly(tmp_path):
    (tmp_path / "bad.yaml").write_text("id: bad\nversion: one\n", encoding="utf-8")
    env = {"TEICHAKU_QUESTIONNAIRE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin",
           "TEICHAKU_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
    teichaku = [sys.executable, "-c", "from diagnosis.cli import main; main()"]
    p = subprocess.run([*teichaku, "create-org", "x", "--employees", "3"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert "bad.yaml" in p.stderr and "version must be a positive integer" in p.stderr
    assert "Traceback" not in p.stderr


def test_console_script_reports_a_playbook_it_cannot_read_plainly(tmp_path):
    """The cause and remedy ids are read from the playbook when Python imports them: a broken
    file is still a one-line error naming it, not a traceback."""
    (tmp_path / "playbook.yaml").write_text("causes: [\n", encoding="utf-8")
    env = {"TEICHAKU_QUESTIONNAIRE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin",
           "TEICHAKU_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
    p = subprocess.run([sys.executable, "-c", "from diagnosis.cli import main; main()", "create-org", "x",
                        "--employees", "3"], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert "error: invalid playbook:" in p.stderr and "playbook.yaml: top level: invalid YAML" in p.stderr
    assert "Traceback" not in p.stderr
