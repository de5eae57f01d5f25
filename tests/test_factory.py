"""App factory and configuration."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from diagnosis import ConfigurationError, create_app
from diagnosis.config import apply_environment
from diagnosis.questionnaire import QuestionnaireError


def test_factory_builds_the_whole_app(app):
    """Not only the flag a test sets: defaults, extensions, blueprints, commands, validated data."""
    assert app.testing
    fresh = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert fresh.testing and fresh.name == "diagnosis"
    assert fresh.config["MIN_GROUP"] == 5 and fresh.config["MIN_COMMENTS_GROUP"] == 10
    assert fresh.config["CLASSIFY_ON_SUBMIT"] == "queue" and fresh.config["ADAPT_ON_REVIEW"] == "queue"
    assert {"sqlalchemy", "migrate", "csrf", "questionnaires", "playbook"} <= set(fresh.extensions)
    assert "ai-adoption" in {key[0] for key in fresh.extensions["questionnaires"].versions}
    assert {"survey", "dashboard"} <= set(fresh.blueprints)
    assert {"demo", "worker", "adapt", "classify", "report", "diagnose", "corrections"} <= set(fresh.cli.commands)
    endpoints = {r.endpoint for r in fresh.url_map.iter_rules()}
    assert {"survey.take", "dashboard.campaign", "dashboard.review", "ops.health"} <= endpoints
    assert Path(fresh.static_folder) == Path(__file__).resolve().parents[1] / "diagnosis" / "static"


def _questionnaires_with_playbook(tmp_path: Path, edit) -> Path:
    """A copy of the shipped questionnaires whose playbook text went through ``edit``."""
    import shutil

    from diagnosis.config import QUESTIONNAIRE_DIR

    folder = tmp_path / "questionnaires"
    shutil.copytree(QUESTIONNAIRE_DIR, folder)
    path = folder / "playbook.yaml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return folder


def test_invalid_playbook_stops_start_up(tmp_path, monkeypatch):
    from diagnosis import vocabulary

    folder = _questionnaires_with_playbook(tmp_path, lambda t: t.replace("min_group:", "min_group: -1 #", 1))
    monkeypatch.setattr(vocabulary, "PLAYBOOK_PATH", folder / "playbook.yaml")  # as if set in the environment
    with pytest.raises(ConfigurationError, match=r"invalid playbook: .*playbook\.yaml: anonymity\.min_group"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "QUESTIONNAIRE_DIR": str(folder)})


def test_environment_overrides(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'env.sqlite3'}"
    monkeypatch.setenv("TEICHAKU_DATABASE_URL", url)
    monkeypatch.setenv("TEICHAKU_MIN_GROUP", "7")
    app = create_app({"TESTING": True})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == url
    assert app.config["MIN_GROUP"] == 7
    assert app.config["MIN_GROUP"] == 7


def test_environment_values_are_json_except_text_settings(monkeypatch):
    from flask import Config

    env = {"TEICHAKU_SECRET_KEY": "123", "TEICHAKU_ADAPT_EVERY": "20", "TEICHAKU_ADAPT_ON_REVIEW": "off",
           "TEICHAKU_DATABASE_URL": "sqlite:///x", "TEICHAKU_SQLALCHEMY_ENGINE_OPTIONS__pool_size": "4"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    config = Config(".")
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {}
    apply_environment(config, env)
    assert config["SECRET_KEY"] == "123" and config["ADAPT_EVERY"] == 20 and config["ADAPT_ON_REVIEW"] == "off"
    assert config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///x" and "DATABASE_URL" not in config
    assert config["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_size": 4}


def test_min_group_never_below_three():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "MIN_GROUP": 1})
    assert app.config["MIN_GROUP"] == 3


def test_secret_key_required_outside_development():
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app({"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    app = create_app({"ENV_NAME": "production", "SECRET_KEY": secrets.token_urlsafe(48),
                      "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize("key", [
    " " * 16, " " * 40, "\t\n" * 20, "a" * 16, "aaaaaaaaaaaaaaaa", "a" * 64, "x" * 32, "dev", "",
    "0123456789abcdef" * 2, "abcdefghijklmnopqrstuvwxyz012345", "my-teichaku-secret-key-production",
    secrets.token_urlsafe(16),  # random, but only 22 characters
])
def test_weak_secret_keys_are_refused_outside_development(key):
    with pytest.raises(ConfigurationError) as err:
        create_app({"ENV_NAME": "production", "SECRET_KEY": key, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    message = str(err.value)
    assert "secrets.token_urlsafe(48)" in message and "TEICHAKU_SECRET_KEY" in message
    assert "ランダム" in message


@pytest.mark.parametrize("key", [secrets.token_urlsafe(48), secrets.token_hex(16), secrets.token_hex(32),
                                 secrets.token_urlsafe(24)])
def test_random_secret_keys_are_accepted(key):
    app = create_app({"ENV_NAME": "production", "SECRET_KEY": key, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SECRET_KEY"] == key


def test_default_database_is_sqlite_in_instance(monkeypatch):
    monkeypatch.delenv("TEICHAKU_DATABASE_URL", raising=False)
    app = create_app({"TESTING": True})
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.instance_path in app.config["SQLALCHEMY_DATABASE_URI"]


@pytest.mark.sqlite_only("SQLite connection pragmas")
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


def test_hsts_in_production_only(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers  # development: http
    app = create_app({"ENV_NAME": "production", "SECRET_KEY": secrets.token_urlsafe(48),
                      "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    r = app.test_client().get("/login")
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_dynamic_pages_are_never_cached(app, client, world):
    from conftest import login
    from dashboard_helpers import fill

    from diagnosis.extensions import db

    with app.app_context():
        fill(world["campaign_a"], 10, comment="上司が使っていない")
        db.session.commit()
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    assert client.get(f"/s/{world['token_a']}").headers["Cache-Control"] == "no-store"
    login(client, world["lead_a"])
    a = world["campaign_a"]
    for path in ("/dashboard", f"/orgs/{world['org_a']}", f"/campaigns/{a}", f"/campaigns/{a}/comments",
                 f"/campaigns/{a}/interviews",
                 f"/campaigns/{a}/export/diagnosis.csv", f"/campaigns/{a}/qr.svg"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["Cache-Control"] == "no-store", path
    static = client.get("/static/" + sorted(p.name for p in Path(app.static_folder).iterdir())[0])
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")


def test_a_remedy_without_its_report_text_stops_start_up(tmp_path, monkeypatch):
    from diagnosis import vocabulary

    def drop_why(text: str) -> str:  # the help desk's "why start here" sentence (three lines)
        start = text.index("    why:", text.index("  help_desk:\n    name:"))
        end = text.index("    format:", start)
        return text[:start] + text[end:]

    folder = _questionnaires_with_playbook(tmp_path, drop_why)
    monkeypatch.setattr(vocabulary, "PLAYBOOK_PATH", folder / "playbook.yaml")
    with pytest.raises(ConfigurationError, match=r"playbook\.yaml: remedies\.help_desk: missing 'why'"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "QUESTIONNAIRE_DIR": str(folder)})


def test_a_playbook_set_only_in_the_app_config_stops_start_up(tmp_path):
    """The ids are read from the environment's playbook when Python imports them; a different
    playbook in the instance config would name other causes than the code uses."""
    folder = _questionnaires_with_playbook(tmp_path, lambda t: t)
    with pytest.raises(ConfigurationError, match="set TEICHAKU_QUESTIONNAIRE_DIR in the environment"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "QUESTIONNAIRE_DIR": str(folder)})


def test_the_cause_stylesheet_has_every_playbook_colour(client):
    r = client.get("/causes.css")
    assert r.status_code == 200 and r.mimetype == "text/css"
    css = r.get_data(as_text=True)
    for cause, colour in {"purpose": "#2f6fb0", "support": "#267d4f", "other": "#6b717b"}.items():
        assert f"--{cause}: {colour};" in css and f".cause-{cause} {{ background: var(--{cause}); }}" in css
    again = client.get("/causes.css", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    assert 'href="/causes.css"' in client.get("/login").get_data(as_text=True)


def test_a_model_whose_labels_are_not_the_playbooks_causes_stops_start_up(tmp_path):
    import json

    meta = {"default_backend": "e5-ft",
            "heads": {"e5-ft": {"label_order": ["purpose", "leadership", "support", "budget"]}}}
    (tmp_path / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"labels \['purpose', 'leadership', 'support', 'budget'\] "
                                                 r"but the playbook's causes"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "MODELS_DIR": str(tmp_path)})
    meta["heads"]["e5-ft"]["label_order"] = ["purpose", "leadership", "support", "other"]
    (tmp_path / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    assert create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "MODELS_DIR": str(tmp_path)})
