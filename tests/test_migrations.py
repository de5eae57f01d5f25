"""Migrations on SQLite and PostgreSQL: `teichaku db upgrade` from an empty database and from the
previous revision, the migrated schema equal to the models (so a model change without a migration
fails here), and an upgrade of a database that already holds a workspace losing nothing (the
SQLite batch migrations rebuild tables, which with foreign keys on would cascade-delete rows)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select, text

from diagnosis import create_app
from diagnosis.extensions import db
from diagnosis.jobs import is_queue_table
from diagnosis.ops import MIGRATIONS_DIR
from diagnosis.store.models import Campaign, Organisation, User

_names = itertools.count(1)
HEAD = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
PREVIOUS = ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(HEAD).down_revision


def schema_drift(metadata: sa.MetaData | None = None) -> list:
    """What autogenerate would put in a new migration: differences between the database the app
    is bound to and the models (types compared too, as Flask-Migrate does)."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True,
            "include_name": lambda name, kind, _parent: not (kind == "table" and is_queue_table(name))})
        return compare_metadata(context, metadata if metadata is not None else db.metadata)


def current_revision() -> set[str]:
    with db.engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


@pytest.fixture
def empty_app(backend, request, tmp_path, app_config):
    """An app on an empty database of this backend (no tables at all)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    else:
        server = request.getfixturevalue("postgres_server")
        name = f"teichaku_empty_{next(_names)}"
        url = server.create_database(name)
        request.addfinalizer(lambda: server.drop_database(name))
    app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": url})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_db_upgrade_from_an_empty_database_gives_the_models_schema(empty_app):
    r = empty_app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert r.exit_code == 0, r.output
    with empty_app.app_context():
        assert current_revision() == {HEAD}
        assert schema_drift() == []


def test_db_upgrade_from_the_previous_revision_keeps_the_data(app, world):
    with app.app_context():
        db.session.remove()
        downgrade(revision=PREVIOUS)
        assert current_revision() == {PREVIOUS}
    r = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert r.exit_code == 0, r.output
    with app.app_context():
        assert current_revision() == {HEAD}
        assert schema_drift() == []
        assert db.session.scalar(select(func.count()).select_from(Organisation)) == 2
        assert db.session.scalar(select(func.count()).select_from(User)) == 3
        assert db.session.scalar(select(func.count()).select_from(Campaign)) == 2


def test_the_schema_check_sees_a_model_change_without_a_migration(app):
    """The check above would fail on a column added to a model: prove it on a copy of the models."""
    models = sa.MetaData()
    for table in db.metadata.tables.values():
        table.to_metadata(models)
    models.tables["comment"].append_column(sa.Column("mood", sa.String(20), nullable=True))
    with app.app_context():
        drift = schema_drift(models)
    assert [(d[0], d[2], d[3].name) for d in drift if isinstance(d, tuple)] == [("add_column", "comment", "mood")]


def test_the_job_queues_own_tables_are_not_schema_drift(app, backend):
    """On PostgreSQL the job queue keeps huey_* tables in the app's database; they are Huey's."""
    from diagnosis.jobs import job_queue

    app.config["JOB_QUEUE_URL"] = "auto"
    job_queue(app).pending_jobs()  # creates the queue's tables where it keeps them
    with app.app_context():
        assert schema_drift() == []
        if backend == "postgresql":
            assert any(is_queue_table(t) for t in sa.inspect(db.engine).get_table_names())


@pytest.mark.sqlite_only("raw SQLite SQL; SQLite batch migrations rebuild tables, PostgreSQL alters them in place")

def test_upgrade_from_the_first_schema_keeps_users_links_and_answers(app):
    with app.app_context():
        db.session.remove()
        downgrade(revision="0001")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO organisation (id, name, employee_count, created_at) "
                              "VALUES (1, 'A', 10, :t)"), {"t": dt.datetime(2026, 1, 1)})
            conn.execute(text("INSERT INTO user (id, email, name, role, password_hash, active, "
                              "created_at, failed_logins) VALUES (1, 'a@example.com', 'A', "
                              "'dx_lead', 'x', 1, :t, 0)"), {"t": dt.datetime(2026, 1, 1)})
            conn.execute(text("INSERT INTO user_organisation (user_id, organisation_id) VALUES (1, 1)"))
            conn.execute(text("INSERT INTO campaign (id, organisation_id, slug, name, questionnaire_id, "
                              "questionnaire_version, languages, opens_on, public_token, created_at) "
                              "VALUES (1, 1, 'c', 'c', 'ai-adoption', 1, 'ja', '2026-01-01', 't', :t)"),
                         {"t": dt.datetime(2026, 1, 1)})
            conn.execute(text("INSERT INTO response (id, campaign_id, answers, lang, source, "
                              "submitted_on, classification_status) VALUES (1, 1, '{}', 'ja', 'web', "
                              "'2026-01-02', 'done')"))
            conn.execute(text("INSERT INTO comment (id, campaign_id, response_id, source, position, "
                              "text, corrected_label, corrected_by_id) VALUES (1, 1, 1, 'survey', 0, "
                              "'研修がない', 'support', 1)"))
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM user_organisation")).scalar() == 1
            assert conn.execute(text("SELECT corrected_by_id FROM comment")).scalar() == 1
            assert conn.execute(text("SELECT COUNT(*) FROM response")).scalar() == 1
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1  # back on afterwards
