"""Operations: health endpoint, online backup, structured logs without answer text."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import click
from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.engine import make_url

from .extensions import db

bp = Blueprint("ops", __name__)
events = logging.getLogger("teichaku.events")


class JsonFormatter(logging.Formatter):
    """One JSON object per line; only the fields passed explicitly (never answer text)."""

    def format(self, record: logging.LogRecord) -> str:
        data = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                "logger": record.name, "event": record.getMessage()}
        data.update(getattr(record, "fields", {}))
        if record.exc_info:
            data["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        return json.dumps(data, ensure_ascii=False)


def log_event(event: str, **fields: object) -> None:
    """Log a structured event. Callers pass ids and counts only, never what employees wrote."""
    events.info(event, extra={"fields": fields})


def can_write(timeout: float = 1.0) -> bool:
    """True when a write could start now: SQLite grants the write lock within ``timeout``;
    PostgreSQL grants a row-write lock on the response table within ``timeout`` and is not a
    read-only standby. Nothing is written."""
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        if db.engine.dialect.name == "sqlite":
            cur.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            try:
                cur.execute("BEGIN IMMEDIATE")
                cur.execute("ROLLBACK")
            finally:
                busy = float(current_app.config.get("DB_BUSY_TIMEOUT_SECONDS", 5))
                cur.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")
        else:
            cur.execute(f"SET LOCAL lock_timeout = '{int(timeout * 1000)}ms'")
            # The lock an INSERT into the survey's table takes: refused while a migration, a restore
            # or another tool holds that table, as SQLite's write lock is refused beside a backup.
            cur.execute("LOCK TABLE response IN ROW EXCLUSIVE MODE")
            cur.execute("SELECT txid_current()")  # refused on a read-only standby
            raw.rollback()
        return True
    except Exception:  # noqa: BLE001 - any failure to start a write means it cannot write
        return False
    finally:
        raw.close()


@bp.get("/healthz")
def health():
    """Liveness and database state, for load balancers and monitoring: "ok"; "degraded" while it
    can be read but not written (a lock held too long, a read-only standby), when surveys cannot
    store answers; "error" when it cannot be reached. 503 unless ok."""
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        database = "ok" if can_write() else "cannot write"
    except Exception:  # noqa: BLE001 - any failure means unreachable
        db.session.rollback()
        database = "error"
    if database == "ok":
        return jsonify(status="ok", database=database), 200
    log_event("health_degraded", database=database)
    return jsonify(status="degraded" if database == "cannot write" else "error", database=database), 503


MIGRATIONS_DIR = Path(__file__).parent / "migrations"
UPGRADE_HINT = "run: teichaku db upgrade"


def schema_problem(app: Flask) -> str | None:
    """Why this database cannot serve this version of the code, in one line with the command
    to run; None when it is at the latest migration.

    Checked before every command except ``db`` so a missing or outdated database never shows as
    a SQLAlchemy traceback halfway through the work.
    """
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not Path(url.database).exists():
        return f"no database at {url.database}; {UPGRADE_HINT} (creates it)"
    scripts = ScriptDirectory(str(MIGRATIONS_DIR))
    heads = set(scripts.get_heads())
    try:
        with db.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:  # noqa: BLE001 - any failure to connect is reported the same way
        from .dbfaults import fault_reason

        return f"cannot reach the database {url.render_as_string(hide_password=True)}: {fault_reason(exc)}"
    if not current:
        return f"the database {url.render_as_string(hide_password=True)} has no tables yet; {UPGRADE_HINT}"
    if current == heads:
        return None
    known = {rev.revision for rev in scripts.walk_revisions()}
    if not current <= known:
        return (f"the database is at migration {', '.join(sorted(current))}, which this version of "
                "Teichaku does not know: it was upgraded by a newer version; run that version")
    return (f"the database is at migration {', '.join(sorted(current))} but this version needs "
            f"{', '.join(sorted(heads))}; back it up (teichaku backup FILE), then {UPGRADE_HINT}")


def backup_sqlite(database_path: str, target: str | Path) -> Path:
    """Copy a live SQLite database consistently with the online backup API."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{database_path}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target


def init_app(app: Flask) -> None:
    """Register the health blueprint, the backup command and JSON logging for events."""
    app.register_blueprint(bp)
    if not events.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        events.addHandler(handler)
        events.setLevel(logging.INFO)
        events.propagate = False

    @app.cli.command("backup")
    @click.argument("path", type=click.Path(dir_okay=False))
    def backup_cmd(path: str) -> None:
        """Write a consistent copy of the database to PATH (SQLite), or explain pg_dump."""
        url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
        if url.get_backend_name() != "sqlite":
            raise click.ClickException(
                "the database is not SQLite: back it up with pg_dump, e.g. "
                f"pg_dump --format=custom --file {path} '<your TEICHAKU_DATABASE_URL>'")
        if not url.database:
            raise click.ClickException("in-memory database: nothing to back up")
        out = backup_sqlite(url.database, path)
        click.echo(f"backup written to {out} ({out.stat().st_size} bytes)")
