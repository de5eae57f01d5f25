"""Upgrading a database that already holds a workspace loses nothing: the SQLite batch
migrations rebuild tables, which with foreign keys on would cascade-delete linked rows."""

from __future__ import annotations

import datetime as dt

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from diagnosis.extensions import db


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
