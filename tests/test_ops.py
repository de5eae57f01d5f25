"""Health endpoint, backup, structured logs."""

from __future__ import annotations

import json
import logging
import re
import sqlite3

import pytest
from sqlalchemy import func, select

from diagnosis.extensions import db
from diagnosis.ops import JsonFormatter
from diagnosis.store.models import Organisation


def test_health(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok", "database": "ok"}


@pytest.mark.sqlite_only("`teichaku backup` copies SQLite; pg_dump is tests/test_backup.py")
def test_backup_is_a_consistent_copy(app, runner, world, tmp_path):
    target = tmp_path / "backup" / "copy.sqlite3"
    r = runner.invoke(args=["backup", str(target)])
    assert r.exit_code == 0, r.output
    con = sqlite3.connect(target)
    names = {row[0] for row in con.execute("select name from organisation")}
    assert names == {"株式会社エー", "株式会社ビー"}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Organisation)) == 2


@pytest.mark.sqlite_only("builds its own app on a PostgreSQL URL it never connects to")
def test_backup_explains_pg_dump(app_config, tmp_path):
    from diagnosis import create_app

    app_config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://u@localhost/teichaku"
    app = create_app(app_config)
    r = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "x.dump")])
    assert r.exit_code != 0 and "pg_dump" in r.output


def test_submission_log_has_no_answer_text(client, world, caplog):
    html = client.get(f"/s/{world['token_a']}").get_data(as_text=True)
    nonce = re.search(r'name="nonce" type="hidden" value="([^"]+)"', html).group(1)
    secret = "部長に内緒で使っています"
    logger = logging.getLogger("teichaku.events")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="teichaku.events"):
            client.post(f"/s/{world['token_a']}", data={
                "nonce": nonce, "usage": "daily", "pu_useful": "5", "pu_usecase": "5",
                "pu_nofit": "1", "le_exec": "4", "le_manager": "4", "le_fringe": "2",
                "su_skill": "4", "su_training": "4", "su_ask": "4", "su_hard": "2",
                "reasons": secret})
    finally:
        logger.removeHandler(caplog.handler)
    records = [r for r in caplog.records if r.name == "teichaku.events"]
    assert records, "a structured event is logged for each stored response"
    line = JsonFormatter().format(records[-1])
    data = json.loads(line)
    assert data["event"] == "response_stored" and data["comments"] == 1
    assert secret not in line
