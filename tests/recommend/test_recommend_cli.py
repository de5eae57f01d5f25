"""`teichaku diagnose` on a stored campaign."""

from __future__ import annotations

import json

from diagnosis.extensions import db
from diagnosis.recommend.loader import find_campaign
from diagnosis.store.responses import add_response
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


# ------------------------------------------------------------------ sanity warnings (issue 12)


def _warnings(output: str) -> dict[str, dict]:
    return {w["code"]: w for w in json.loads(output)["warnings"]}


def test_diagnose_says_how_many_comments_wait_for_the_classifier(app, world, client):
    from dashboard_helpers import submit

    assert app.config["CLASSIFY_ON_SUBMIT"] == "off"  # stored, never classified: they stay pending
    for i in range(6):
        submit(client, world["token_a"], comment=f"研修がなくて使い方がわからない（{i}）")
    cli = _cli(app)
    text = cli.invoke(args=["diagnose", "a-2026"])
    assert text.exit_code == 0, text.output
    head = text.output.split("所見")[0]  # said before the findings, not buried in them
    assert "6件の自由記述がまだ分類されていません" in head
    assert "teichaku classify-pending" in head and "teichaku worker" in head
    en = cli.invoke(args=["diagnose", "a-2026", "--lang", "en"]).output
    assert "6 comments are not classified yet" in en.split("Findings")[0]
    d = json.loads(cli.invoke(args=["diagnose", "a-2026", "--json"]).output)
    assert d["pending_comments"] == 6
    assert _warnings(json.dumps(d))["pending_comments"]["values"] == {"n": 6}
    with app.app_context():  # classified (here by hand): nothing is pending any more
        from diagnosis.store.models import Comment

        for c in db.session.scalars(db.select(Comment)):
            c.label, c.confidence = "support", 0.9
        db.session.commit()
    d = json.loads(cli.invoke(args=["diagnose", "a-2026", "--json"]).output)
    assert d["pending_comments"] == 0 and d["warnings"] == []
    assert "まだ分類されていません" not in cli.invoke(args=["diagnose", "a-2026"]).output


def test_diagnose_warns_of_more_responses_than_employees(app, scenario):
    s = scenario(employees=8)
    s.add(10, {"support": 2}, comment="使い方がわからない", label="support")
    s.commit()
    cli = _cli(app)
    w = _warnings(cli.invoke(args=["diagnose", s.campaign.slug, "--json"]).output)
    assert set(w) == {"responses_exceed_headcount"}
    assert w["responses_exceed_headcount"]["values"] == {"n": 10, "employees": 8}
    text = cli.invoke(args=["diagnose", s.campaign.slug, "--lang", "en"]).output
    assert "Warnings" in text and "more responses (10) than employees (8)" in text


def test_diagnose_warns_of_a_survey_closed_below_the_anonymity_minimum(app, scenario):
    from diagnosis.store.models import utcnow

    s = scenario()
    s.add(3, {"support": 2})
    s.commit()
    cli = _cli(app)
    assert json.loads(cli.invoke(args=["diagnose", s.campaign.slug, "--json"]).output)["warnings"] == []
    s.campaign.closed_at = utcnow()  # the scenario's app context is the one the CLI runs in
    db.session.commit()
    d = json.loads(cli.invoke(args=["diagnose", s.campaign.slug, "--json"]).output)
    assert d["suppressed"] is True
    assert _warnings(json.dumps(d))["closed_below_minimum"]["values"] == {"n": 3, "min_group": 5}
    text = cli.invoke(args=["diagnose", s.campaign.slug]).output
    assert "回答3件で締め切られました" in text and "（5件）に届かない" in text


def test_diagnose_compare_warns_of_another_questionnaire_version(app, scenario):
    first = scenario(version=1)
    first.add(10, {"support": 2}, comment="使い方がわからない", label="support")
    first.commit()
    same = scenario(org=first.org, version=1)
    same.add(10, {"support": 3}, comment="使い方がわからない", label="support")
    same.commit()
    later = scenario(org=first.org)  # the newest version, with the reason checklist
    later.add(10, {"support": 3}, comment="使い方がわからない", label="support")
    later.commit()
    cli = _cli(app)
    alone = cli.invoke(args=["diagnose", later.campaign.slug, "--json"]).output
    assert "questionnaire_version_differs" not in _warnings(alone)  # nothing compared, nothing to say
    out = cli.invoke(args=["diagnose", later.campaign.slug, "--json", "--compare", first.campaign.slug]).output
    w = _warnings(out)["questionnaire_version_differs"]
    assert w["values"]["before"] == 1 and w["values"]["after"] == json.loads(out)["campaign"]["questionnaire_version"]
    text = cli.invoke(args=["diagnose", later.campaign.slug, "--lang", "en", "--compare", first.campaign.slug]).output
    assert "used version 1 of the questionnaire" in text.split("Findings")[0]
    out = cli.invoke(args=["diagnose", same.campaign.slug, "--json", "--compare", first.campaign.slug]).output
    assert _warnings(out) == {}


def test_diagnose_json_has_drivers_and_compare_has_tested_change(app, scenario):
    first = scenario()
    for usage, level in (("never", 1), ("tried_once", 2), ("monthly", 3), ("weekly", 4), ("daily", 5)):
        first.add(8, {"support": level, "purpose": 3}, usage=usage)
    first.commit()
    later = scenario(org=first.org)
    for usage, level in (("never", 2), ("tried_once", 3), ("monthly", 4), ("weekly", 4), ("daily", 5)):
        later.add(8, {"support": level, "purpose": 3}, usage=usage)
    later.commit()
    cli = _cli(app)
    out = cli.invoke(args=["diagnose", later.campaign.slug, "--json", "--lang", "en",
                           "--compare", first.campaign.slug])
    assert out.exit_code == 0, out.output
    d = json.loads(out.output)
    for cause in ("purpose", "leadership", "support"):
        assert {"importance", "interval", "n"} <= set(d["drivers"][cause])
        assert d["drivers"][cause]["n"] == 40
        assert {"delta", "interval", "verdict"} <= set(d["change"][cause])
    assert d["driver_analysis"]["min_n"] == 30 and d["driver_analysis"]["top"] == "support"
    assert d["change"]["support"]["verdict"] == "improved" and d["change"]["support"]["delta"] < 0
    assert d["change"]["purpose"]["verdict"] == "no_clear_change"
    assert {"adoption_rate", "habit_rate"} <= set(d["change"])
    assert d["wave_comparison"]["change"] == d["change"]
    text = cli.invoke(args=["diagnose", later.campaign.slug, "--lang", "en", "--compare", first.campaign.slug]).output
    assert "Drivers of use" in text and "min_n=30" in text and "Change (95% interval)" in text
    alone = json.loads(cli.invoke(args=["diagnose", later.campaign.slug, "--json"]).output)
    assert "change" not in alone and alone["drivers"]["support"]["importance"] > 0.5
