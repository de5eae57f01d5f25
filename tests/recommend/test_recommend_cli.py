"""`teichaku diagnose` on a stored campaign."""

from __future__ import annotations

import json


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
