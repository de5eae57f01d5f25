"""`teichaku diagnose` on a stored campaign."""

from __future__ import annotations

import json

from diagnosis.extensions import db
from diagnosis.recommend.loader import find_campaign
from diagnosis.responses import add_response
from diagnosis.workspace import questionnaire

from .conftest import answers


def _cli(app):
    assert "diagnose" in app.cli.commands  # registered by create_app
    return app.test_cli_runner()


def _fill(scenario):
    s = scenario()
    s.add(20, {"support": 2}, comment="聞ける人がいない。鈴木さんも忙しい", label="support",
          overrides={"su_ask": "1"}, department="sales")
    s.commit()
    return s.campaign.slug


def test_diagnose_json(app, scenario):
    slug = _fill(scenario)
    result = _cli(app).invoke(args=["diagnose", slug, "--json", "--lang", "en", "--date",
                                    "2026-11-01"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)
    for key in ("responses", "response_rate", "usage", "causes", "dominant_cause",
                "recommendations", "segments"):
        assert key in d
    assert set(d["causes"]["support"]) >= {"score", "share", "n_comments", "likert"}
    assert d["recommendations"][0]["remedy"] == "help_desk"
    assert {"remedy", "score", "reasons", "quotes"} <= set(d["recommendations"][0])
    assert "鈴木" not in result.output


def test_diagnose_text_report(app, scenario):
    slug = _fill(scenario)
    result = _cli(app).invoke(args=["diagnose", slug, "--date", "2026-11-01"])
    assert result.exit_code == 0, result.output
    assert "ここから着手" in result.output and "相談窓口の設置" in result.output
    assert "[NAME]さん" in result.output


def test_diagnose_unknown_campaign(app):
    result = _cli(app).invoke(args=["diagnose", "nope"])
    assert result.exit_code != 0 and "no campaign" in result.output


def test_diagnose_reads_the_released_snapshot_and_all_is_the_consultants_override(app, scenario):
    slug = _fill(scenario)
    cli = _cli(app)
    assert json.loads(cli.invoke(args=["diagnose", slug, "--json"]).output)["responses"] == 20
    with app.app_context():  # three more answers: fewer than MIN_GROUP, so no new snapshot
        camp = find_campaign(slug)
        for _ in range(3):
            add_response(camp, questionnaire("ai-adoption"), answers({"support": 1}), source="import")
        db.session.commit()
    d = json.loads(cli.invoke(args=["diagnose", slug, "--json"]).output)
    assert d["responses"] == 20 and d["release"]["received"] == 23 and d["release"]["waiting"] == 3
    assert json.loads(cli.invoke(args=["diagnose", slug, "--json", "--all"]).output)["responses"] == 23
    text = cli.invoke(args=["diagnose", slug, "--lang", "en"]).output
    assert "Responses in the results: 20" in text and "23" in text
    # --all never releases: the three still wait for a snapshot of their own
    assert json.loads(cli.invoke(args=["diagnose", slug, "--json"]).output)["responses"] == 20
