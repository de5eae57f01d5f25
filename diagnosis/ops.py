"""Operations: health endpoint, online backup, structured logs without answer text."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import click
from flask import Blueprint, Flask, jsonify
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


@bp.get("/healthz")
def health():
    """Liveness and database reachability, for load balancers and monitoring."""
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        database = "error"
    status = 200 if database == "ok" else 503
    return jsonify(status="ok" if status == 200 else "error", database=database), status


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
