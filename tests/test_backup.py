"""Backup and restore as the README documents them, on both databases: `teichaku backup` for
SQLite, `pg_dump --format=custom` / `pg_restore` for PostgreSQL. The copy is restored into a
fresh database, migrated, and diagnoses exactly as the original did."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from recommend.conftest import Scenario
from sqlalchemy import func, select

from diagnosis import create_app
from diagnosis.extensions import db
from diagnosis.store.models import Comment, Response

DATE = "2026-11-01"


def fill(app) -> str:
    """A campaign worth diagnosing: ratings, labelled comments in two departments, checklist ticks."""
    with app.app_context():
        s = Scenario()
        s.add(12, {"support": 2}, comment="研修がなく、聞ける人もいない。", label="support",
              reasons=["nobody_to_ask"], department="sales")
        s.add(8, {"purpose": 2}, comment="何に使えばよいのか分からない。", label="purpose",
              reasons=["no_use_case"], department="manufacturing")
        s.add(6, {"leadership": 2}, comment="部長が使っていない。", label="leadership", department="sales")
        s.commit()
        return s.campaign.slug


def diagnose(app, slug: str) -> dict:
    r = app.test_cli_runner().invoke(args=["diagnose", slug, "--json", "--date", DATE])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def restored_app(app_config, url: str):
    """An app on the restored database, migrated as the README's restore steps say."""
    app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": url})
    r = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert r.exit_code == 0, r.output
    return app


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Response)),
                db.session.scalar(select(func.count()).select_from(Comment)))


def close(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.sqlite_only("the SQLite backup command; PostgreSQL has its own test below")
def test_sqlite_backup_restores_into_a_fresh_database_and_diagnoses_identically(app, app_config, tmp_path):
    slug = fill(app)
    before = diagnose(app, slug)
    assert before["responses"] == 26 and before["recommendations"]
    backup = tmp_path / "backups" / "teichaku.sqlite3"
    r = app.test_cli_runner().invoke(args=["backup", str(backup)])
    assert r.exit_code == 0 and "backup written to" in r.output, r.output

    fresh = tmp_path / "restored" / "teichaku.sqlite3"
    fresh.parent.mkdir()
    shutil.copyfile(backup, fresh)  # "copy the backup over instance/teichaku.sqlite3"
    restored = restored_app(app_config, f"sqlite:///{fresh}")
    try:
        assert diagnose(restored, slug) == before
        assert counts(restored) == counts(app)
    finally:
        close(restored)


@pytest.mark.postgresql_only
def test_pg_dump_restores_into_a_fresh_database_and_diagnoses_identically(app, app_config, postgres_server,
                                                                         tmp_path):
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump/pg_restore not installed (Debian: postgresql-client)")
    slug = fill(app)
    before = diagnose(app, slug)
    dump = tmp_path / "teichaku.dump"
    source = app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://", "postgresql://")
    subprocess.run(["pg_dump", "--format=custom", "--file", str(dump), source], check=True, capture_output=True,
                   timeout=120)

    name = "teichaku_restored"
    postgres_server.drop_database(name)
    url = postgres_server.create_database(name)
    try:
        target = url.replace("postgresql+psycopg://", "postgresql://")
        p = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "-d", target, str(dump)],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        restored = restored_app(app_config, url)
        try:
            assert diagnose(restored, slug) == before
            assert counts(restored) == counts(app)
            # Restoring again over the same database (--clean) replaces it rather than doubling it.
            close(restored)
            p = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "-d", target, str(dump)],
                               capture_output=True, text=True, timeout=120)
            assert p.returncode == 0, p.stderr
            assert counts(restored) == counts(app)
        finally:
            close(restored)
    finally:
        postgres_server.drop_database(name)
