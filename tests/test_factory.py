"""App factory and configuration."""

from __future__ import annotations

import pytest

from diagnosis import ConfigurationError, create_app
from diagnosis.config import from_environment
from diagnosis.questionnaire import QuestionnaireError


def test_config_testing(app):
    assert app.testing
    assert create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"}).testing


def test_environment_overrides(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'env.sqlite3'}"
    monkeypatch.setenv("TEICHAKU_DATABASE_URL", url)
    monkeypatch.setenv("TEICHAKU_MIN_GROUP", "7")
    app = create_app({"TESTING": True})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == url
    assert app.config["MIN_GROUP"] == 7
    assert from_environment({"TEICHAKU_SECRET_KEY": "123"}) == {"SECRET_KEY": "123"}


def test_min_group_never_below_three():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "MIN_GROUP": 1})
    assert app.config["MIN_GROUP"] == 3


def test_secret_key_required_outside_development():
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app({"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    app = create_app({"ENV_NAME": "production", "SECRET_KEY": "x" * 32,
                      "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_default_database_is_sqlite_in_instance(monkeypatch):
    monkeypatch.delenv("TEICHAKU_DATABASE_URL", raising=False)
    app = create_app({"TESTING": True})
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.instance_path in app.config["SQLALCHEMY_DATABASE_URI"]


def test_sqlite_pragmas(app):
    from diagnosis.extensions import db

    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_malformed_questionnaire_stops_start_up(tmp_path):
    (tmp_path / "broken.yaml").write_text(
        "id: broken\nversion: 1\ntitle: {ja: 壊れた, en: Broken}\nsections:\n"
        "  - id: s\n    title: {ja: 節, en: Section}\n    items:\n"
        "      - id: q1\n        type: likert\n        label: {ja: 質問, en: Question}\n",
        encoding="utf-8",
    )
    with pytest.raises(QuestionnaireError) as err:
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                    "QUESTIONNAIRE_DIR": str(tmp_path)})
    msg = str(err.value)
    assert "broken.yaml" in msg and "item 'q1'" in msg and "cause" in msg


def test_security_headers(client):
    r = client.get("/login")
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"


def test_checklist_option_with_an_unknown_cause_stops_start_up(tmp_path):
    """The shipped questionnaire with one option's cause misspelt: the app refuses to start."""
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[1] / "questionnaires" / "ai-adoption.yaml"
    text = shipped.read_text(encoding="utf-8")
    assert "code: nobody_to_ask, cause: support" in text
    (tmp_path / "ai-adoption.yaml").write_text(
        text.replace("code: nobody_to_ask, cause: support", "code: nobody_to_ask, cause: suport"),
        encoding="utf-8")
    with pytest.raises(QuestionnaireError) as err:
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                    "QUESTIONNAIRE_DIR": str(tmp_path)})
    msg = str(err.value)
    assert "ai-adoption.yaml" in msg and "item 'reason_choices'" in msg
    assert "option 'nobody_to_ask' names an unknown cause 'suport'" in msg
