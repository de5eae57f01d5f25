"""Shared fixtures: an app on a real SQLite file, migrated with Alembic."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from hypothesis import settings

# CI runs the property tests with a fixed seed so a landing never depends on luck; locally they
# explore new examples each run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from diagnosis import create_app  # noqa: E402
from diagnosis.extensions import db  # noqa: E402
from diagnosis.workspace import create_campaign, create_organisation, create_user  # noqa: E402

PASSWORD = "correct-horse-battery"


@pytest.fixture
def app_config(tmp_path):
    """Config overrides; tests may modify this dict before `app` is built."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.sqlite3'}",
        "WTF_CSRF_ENABLED": False,
        "CLASSIFY_ON_SUBMIT": "off",
        "PUBLIC_BASE_URL": "http://localhost",
    }


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def world(app):
    """Two organisations, each with a campaign and a DX lead; one consultant sees org A only."""
    with app.app_context():
        a = create_organisation("株式会社エー", 120, dt.date(2026, 8, 1), "A Corp")
        b = create_organisation("株式会社ビー", 8, dt.date(2026, 10, 1), "B Corp")
        ca = create_campaign(a, "a-2026", "A wave 1", opens_on=dt.date(2026, 1, 1))
        cb = create_campaign(b, "b-2026", "B wave 1", opens_on=dt.date(2026, 1, 1))
        cons = create_user("consultant@example.com", "Kato", "consultant", PASSWORD, [a])
        lead_a = create_user("lead-a@example.com", "Lead A", "dx_lead", PASSWORD, [a])
        lead_b = create_user("lead-b@example.com", "Lead B", "dx_lead", PASSWORD, [b])
        db.session.commit()
        return {
            "org_a": a.id, "org_b": b.id, "campaign_a": ca.id, "campaign_b": cb.id,
            "token_a": ca.public_token, "token_b": cb.public_token,
            "consultant": cons.email, "lead_a": lead_a.email, "lead_b": lead_b.email,
        }


def login(client, email, password=PASSWORD):
    """Log a test client in (CSRF disabled in the default test config)."""
    return client.post("/login", data={"email": email, "password": password})


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Each test starts with empty in-memory rate-limit windows (they are per process)."""
    from diagnosis.ratelimit import limiter

    limiter.reset()
    yield
    limiter.reset()
