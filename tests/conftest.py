"""Shared fixtures: an app on a real database, migrated with Alembic.

Every test that builds the ``app`` runs on a SQLite file and again on a throwaway PostgreSQL
server (``[postgresql]``); tests marked ``redis`` run a third time on PostgreSQL with rate limits
and the job queue in a throwaway Redis (``[redis]``). The servers are started once per run
(tests/servers.py) and stopped at its end; when one cannot be started its tests are skipped with
the reason. ``TEICHAKU_TEST_BACKENDS=sqlite`` (comma-separated) runs a subset.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

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
BACKENDS = ("sqlite", "postgresql", "redis")
PG_DATABASE, PG_TEMPLATE = "teichaku_test", "teichaku_template"
# Database URLs handed out already at the latest migration (a template copy, a truncated database):
# the app fixture need not run the migrations again on them.
_MIGRATED: set[str] = set()
_HASHES: dict[str, str] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only(reason): runs on SQLite only (the reason says why)")
    config.addinivalue_line("markers", "redis: also runs on PostgreSQL with rate limits and the job queue in Redis")
    config.addinivalue_line("markers", "postgresql_only: runs on PostgreSQL only (what SQLite does not have)")


def selected_backends() -> tuple[str, ...]:
    """The backends this run covers (TEICHAKU_TEST_BACKENDS, default all)."""
    raw = os.environ.get("TEICHAKU_TEST_BACKENDS", "")
    chosen = tuple(b for b in BACKENDS if b in {x.strip() for x in raw.split(",")}) if raw.strip() else BACKENDS
    return chosen or ("sqlite",)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that builds an app on each database backend it applies to."""
    if "backend" not in metafunc.fixturenames:
        return
    marked = metafunc.definition.get_closest_marker
    if marked("postgresql_only"):
        wanted = ["postgresql"]
    elif marked("sqlite_only"):
        wanted = ["sqlite"]
    else:
        wanted = ["sqlite", "postgresql"] + ["redis"] * bool(marked("redis"))
    chosen = [b for b in wanted if b in selected_backends()]
    if not chosen:
        reason = f"TEICHAKU_TEST_BACKENDS={os.environ.get('TEICHAKU_TEST_BACKENDS')} leaves out {wanted[0]}"
        chosen = [pytest.param(wanted[0], marks=pytest.mark.skip(reason=reason))]
    metafunc.parametrize("backend", chosen, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The backend this test runs on: sqlite, postgresql, or redis (PostgreSQL + Redis)."""
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file migrated to the latest revision once per run; each test gets a copy (running
    the migrations per test cost about a second each; tests/test_migrations.py runs them)."""
    import sqlite3

    from flask_migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key-not-for-production",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file, so a copy is whole
    con.close()
    return path


def _throwaway(name: str):
    """Start a throwaway server for the whole run, or skip its tests saying why."""
    import servers

    start = {"PostgreSQL": servers.start_postgres, "Redis": servers.start_redis}[name]
    try:
        return start()
    except servers.ServerUnavailable as exc:
        pytest.skip(f"{name} could not be started: {exc}")


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL cluster for the whole run (skips its tests when it cannot start)."""
    server = _throwaway("PostgreSQL")
    yield server
    server.close()


@pytest.fixture(scope="session")
def redis_server():
    """A throwaway Redis for the whole run (skips its tests when it cannot start)."""
    server = _throwaway("Redis")
    yield server
    server.close()


@pytest.fixture(scope="session")
def pg_template(postgres_server) -> dict:
    """A database migrated to the latest revision, kept as the template every test database
    starts from; returns the tables and revision a clean test database has."""
    from flask_migrate import upgrade
    from sqlalchemy import inspect

    url = postgres_server.create_database(PG_TEMPLATE)
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key-not-for-production",
                      "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        db.session.remove()
        db.engine.dispose()
    postgres_server.create_database(PG_DATABASE, template=PG_TEMPLATE)
    with postgres_server.connect(PG_DATABASE) as conn:
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    return {"tables": tables, "revision": revision}


@pytest.fixture
def pg_database(postgres_server, pg_template) -> str:
    """The URL of an empty, migrated PostgreSQL database for one test.

    The same database serves every test: emptied before each one (TRUNCATE, identities restarted,
    so ids start at 1 as on a new SQLite file), and made again from the template when a test left
    its schema changed (a downgrade, a dropped table). Creating a database per test would cost
    about half a second each.
    """
    from diagnosis.jobs import is_queue_table

    with postgres_server.connect(PG_DATABASE) as conn:
        # Whatever a previous test left connected (an app it built, a killed process) goes.
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        mine = {t for t in tables if not is_queue_table(t)}  # the job queue's tables come and go
        same = mine == pg_template["tables"] and conn.execute(
            "SELECT version_num FROM alembic_version").fetchall() == pg_template["revision"]
        if same:
            names = ", ".join(f'"{t}"' for t in sorted(tables - {"alembic_version"}))
            conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    if not same:
        postgres_server.drop_database(PG_DATABASE)
        postgres_server.create_database(PG_DATABASE, template=PG_TEMPLATE)
    return postgres_server.url(PG_DATABASE)


@pytest.fixture
def app_config(tmp_path, backend, request):
    """Config overrides; tests may modify this dict before `app` is built."""
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.sqlite3'}",
        "WTF_CSRF_ENABLED": False,
        "CLASSIFY_ON_SUBMIT": "off",
        "PUBLIC_BASE_URL": "http://localhost",
        "IMPORT_UPLOAD_DIR": str(tmp_path / "imports"),
    }
    if backend == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), tmp_path / "test.sqlite3")
    else:
        config["SQLALCHEMY_DATABASE_URI"] = request.getfixturevalue("pg_database")
    _MIGRATED.add(config["SQLALCHEMY_DATABASE_URI"])
    if backend == "redis":
        redis = request.getfixturevalue("redis_server")
        redis.flush()
        config.update(RATELIMIT_STORAGE_URL=redis.url(0), JOB_QUEUE_URL=redis.url(1))
    return config


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    if app_config["SQLALCHEMY_DATABASE_URI"] not in _MIGRATED:  # a test pointed it elsewhere
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


def _hash_once(password: str) -> str:
    """A real scrypt hash, made once per password per run (three per test cost ~0.4 s)."""
    from werkzeug.security import generate_password_hash

    if password not in _HASHES:
        _HASHES[password] = generate_password_hash(password)
    return _HASHES[password]


@pytest.fixture
def world(app, monkeypatch):
    """Two organisations, each with a campaign and a DX lead; one consultant sees org A only."""
    with app.app_context(), monkeypatch.context() as m:
        m.setattr("diagnosis.store.models.generate_password_hash", _hash_once)
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
    """Each test starts with empty rate-limit windows in every store this process built."""
    from diagnosis.ratelimit import limiter

    limiter.reset()
    yield
    limiter.reset()
