"""Scenario tests: responses stored through the real service in SQLite, labels set directly."""

from __future__ import annotations

import datetime as dt

from diagnosis.recommend.service import diagnose_campaign
from diagnosis.recommend.waves import WaveError, compare

REPORT = dt.date(2026, 11, 1)
BAD, OK = 2, 4

PURPOSE = "何の業務に使えばいいのかわからない"
LEADER = "部長が誰も使っていないので使いづらい"
SKILL = "プロンプトの書き方がわからず、期待外れの結果しか出なかった"
ASK = "聞ける人がいないし、初歩的なことを質問しづらい"
SECURITY = "顧客情報を入力していいのかわからず、情報漏洩が怖い"


def run(cid, lang="ja", **kw):
    return diagnose_campaign(cid, lang, report_date=kw.pop("report_date", REPORT), **kw).to_dict()


def test_purpose_dominant_starts_with_success_stories_and_department_kpis(scenario):
    s = scenario()
    s.add(25, {"purpose": BAD}, comment=PURPOSE, label="purpose", department="sales")
    s.add(15, {"purpose": BAD}, comment=PURPOSE, label="purpose", department="admin")
    s.add(5, {}, comment=SKILL, label="support", department="sales")
    d = run(s.commit())
    assert d["dominant_cause"] == "purpose"
    first = d["recommendations"][0]
    assert first["remedy"] == "success_stories" and first["start"]
    assert "kpis_per_department" in first["flags"]
    kpis = " ".join(first["kpis"])
    assert "提案書" in kpis and "定型文書" in kpis  # sales and admin examples
    assert any("部署ごとの数値目標" in p["text"] for p in first["plan"])
    assert [r["remedy"] for r in d["recommendations"]].count("success_stories") == 1
    assert d["causes"]["purpose"]["score"] > d["causes"]["support"]["score"]
    assert d["causes"]["purpose"]["n_comments"] == 40


def test_leadership_dominant_requires_executive_sponsorship(scenario):
    s = scenario()
    s.add(30, {"leadership": 1}, comment=LEADER, label="leadership")
    s.add(5, {}, comment=PURPOSE, label="purpose")
    d = run(s.commit(), "en")
    assert d["dominant_cause"] == "leadership"
    assert d["prerequisites"][0]["id"] == "executive_sponsorship"
    first = d["recommendations"][0]
    assert first["remedy"] == "success_stories"
    assert "executives_present" in first["flags"]
    assert any("Executives and senior managers present" in p["text"] for p in first["plan"])
    assert "lack of leadership involvement" in first["reasons"][0]


def test_support_about_skill_chooses_training_and_says_why(scenario):
    s = scenario()
    s.add(30, {"support": BAD}, comment=SKILL, label="support",
          overrides={"su_skill": "1", "su_training": "1", "su_ask": "4"})
    d = run(s.commit())
    assert d["dominant_cause"] == "support"
    assert d["support_split"]["remedy"] == "training"
    assert d["support_split"]["decided_by"] == "both"
    assert d["support_split"]["comments_training"] == 30
    first = d["recommendations"][0]
    assert first["remedy"] == "training"
    assert "決め手は自由記述と設問の両方" in first["reasons"][0]
    assert "スキル・結果30件" in first["reasons"][0]


def test_support_about_nobody_to_ask_chooses_help_desk(scenario):
    s = scenario()
    s.add(30, {"support": BAD}, comment=ASK, label="support",
          overrides={"su_skill": "4", "su_training": "4", "su_ask": "1"})
    d = run(s.commit(), "en")
    assert d["recommendations"][0]["remedy"] == "help_desk"
    assert d["support_split"]["comments_help_desk"] == 30
    assert "having nobody to ask" in d["recommendations"][0]["reasons"][0]


def test_support_split_text_can_outweigh_likert(scenario):
    """Comments all about asking, Likert mildly about skill: the comments decide."""
    s = scenario()
    s.add(30, {"support": BAD}, comment=ASK, label="support",
          overrides={"su_skill": "2", "su_training": "2", "su_ask": "3"})
    d = run(s.commit())
    assert d["support_split"]["remedy"] == "help_desk"
    assert d["support_split"]["decided_by"] == "text"


def test_mixed_picks_most_coverage_and_names_runner_up(scenario):
    s = scenario()
    s.add(20, {"purpose": BAD, "support": BAD}, comment=PURPOSE, label="purpose")
    s.add(20, {"purpose": BAD, "support": BAD}, comment=SKILL, label="support")
    d = run(s.commit(), "en")
    assert d["dominant_cause"] == "mixed"
    recs = d["recommendations"]
    assert recs[0]["score"] >= recs[1]["score"] >= recs[2]["score"]
    assert "mixed_top_coverage" in recs[0]["flags"]
    assert f"runner-up: {recs[1]['name']}" in recs[0]["reasons"][0]
    assert d["dominance"]["difference"] <= d["dominance"]["margin"]


def test_small_organisation_gets_lightweight_formats(scenario):
    s = scenario(employees=8)
    s.add(7, {"purpose": BAD}, comment=PURPOSE, label="purpose")
    d = run(s.commit())
    assert d["context"]["small_organisation"] is True
    by = {r["remedy"]: r for r in d["recommendations"]}
    assert all(r["lightweight"] for r in by.values())
    assert "朝礼" in by["success_stories"]["format"]
    assert "ランチ" in by["training"]["format"]
    assert "社長" in by["help_desk"]["format"]
    # 7 responses < min_comments_group: no quote may be shown.
    assert all(r["quotes"] == [] for r in by.values())


def test_drop_off_window_and_past_window(scenario):
    early = scenario(rollout=dt.date(2026, 9, 1))
    early.add(20, {"support": BAD}, comment=ASK, label="support")
    d = run(early.commit())
    assert d["context"]["drop_off_phase"] == "in_window"
    assert all("drop_off_window" in r["flags"] for r in d["recommendations"]
               if r["remedy"] in ("training", "help_desk"))
    late = scenario(rollout=dt.date(2025, 11, 1))
    late.add(20, {"support": BAD}, comment=ASK, label="support")
    d2 = run(late.commit())
    assert d2["context"]["drop_off_phase"] == "past_window"
    assert "past_window" in d2["recommendations"][0]["flags"]
    # The window bonus is visible in the score.
    hd = {r["remedy"]: r["score"] for r in d["recommendations"]}["help_desk"]
    hd2 = {r["remedy"]: r["score"] for r in d2["recommendations"]}["help_desk"]
    assert round(hd - hd2, 1) == 5.0


def test_age_spread_makes_training_generation_aware(scenario):
    s = scenario()
    s.add(15, {"support": 5}, usage="daily", comment=SKILL, label="support", age_band="20s")
    s.add(15, {"support": 1}, usage="never", comment=SKILL, label="support", age_band="50s")
    d = run(s.commit(), "en")
    training = next(r for r in d["recommendations"] if r["remedy"] == "training")
    assert "generation_aware" in training["flags"]
    assert d["context"]["age_spread"]["gap"] >= 15
    assert any("generation-aware" in x for x in training["reasons"])


def test_large_security_share_puts_governance_first(scenario):
    s = scenario()
    s.add(15, {"purpose": BAD}, comment=PURPOSE, label="purpose")
    s.add(10, {}, comment=SECURITY, label="other")
    d = run(s.commit())
    assert d["causes"]["other"]["themes"]["security"] == 10
    assert d["prerequisites"][0]["id"] == "governance_first"
    assert d["context"]["governance_first"] is True
    assert d["recommendations"][0]["plan"][0]["days"] == "0"
    assert any(m["id"] == "governance" and m["first"] for m in d["supporting"])


def test_empty_other_answers_do_not_put_governance_first(scenario):
    s = scenario()
    s.add(15, {"purpose": BAD}, comment=PURPOSE, label="purpose")
    s.add(15, {}, comment="特になし", label="other")
    d = run(s.commit())
    assert d["causes"]["other"]["share"] >= 0.4
    assert d["context"]["governance_first"] is False
    assert not any(p["id"] == "governance_first" for p in d["prerequisites"])


def test_each_recommendation_has_plan_kpis_review_date_and_redacted_quotes(scenario):
    s = scenario()
    s.add(12, {"purpose": BAD}, comment="田中さんに聞いても何に使うか不明。03-1234-5678", label="purpose",
          confidence=0.95)
    s.add(12, {"purpose": BAD}, comment=PURPOSE, label="purpose", confidence=0.7)
    d = run(s.commit())
    for r in d["recommendations"]:
        assert len(r["plan"]) >= 3 and r["kpis"] and r["review_date"] == "2027-02-01"
    quotes = d["recommendations"][0]["quotes"]
    assert 2 <= len(quotes) <= 3
    assert quotes[0] == "[NAME]さんに聞いても何に使うか不明。[PHONE]"  # highest confidence first
    assert not any("田中" in q or "5678" in q for r in d["recommendations"] for q in r["quotes"])


def test_quotes_only_from_groups_meeting_min_comments_group(scenario):
    s = scenario()
    s.add(20, {"purpose": BAD}, comment=PURPOSE, label="purpose", confidence=0.6, department="sales")
    s.add(6, {"purpose": BAD}, comment="小さい部署なので特定されそうな意見", label="purpose",
          confidence=0.99, department="it")
    d = run(s.commit())
    all_quotes = [q for r in d["recommendations"] for q in r["quotes"]]
    assert all_quotes and not any("小さい部署" in q for q in all_quotes)


def test_suppression_and_complementary_suppression(scenario):
    s = scenario()
    s.add(20, {}, department="sales", age_band="30s")
    s.add(8, {}, department="admin", age_band="40s")
    s.add(3, {}, department="it", age_band="40s")
    d = run(s.commit())
    dept = {x["value"]: x for x in d["segments"]["department"]}
    assert dept["it"] == {"value": "it", "label": "情報システム・DX", "suppressed": True}
    # sales + admin + it = total: showing admin would reveal it as total - sales - admin.
    assert dept["admin"]["suppressed"] is True and set(dept["admin"]) == {"value", "label",
                                                                           "suppressed"}
    assert dept["sales"]["suppressed"] is False and dept["sales"]["n"] == 20
    ages = {x["value"]: x for x in d["segments"]["age_band"]}
    assert ages["40s"]["suppressed"] is False  # 11 people, nothing hidden
    assert d["segments"]["role"] == []


def test_unstated_answers_count_as_hidden_cell(scenario):
    s = scenario()
    s.add(20, {}, department="sales")
    s.add(10, {}, department="admin")
    s.add(2, {})  # prefer not to say: total - sales - admin would reveal these two
    d = run(s.commit())
    dept = {x["value"]: x["suppressed"] for x in d["segments"]["department"]}
    assert dept == {"sales": False, "admin": True}


def test_whole_campaign_below_min_group_shows_nothing(scenario):
    s = scenario()
    s.add(4, {"purpose": BAD}, comment=PURPOSE, label="purpose", department="sales")
    d = run(s.commit())
    assert d["suppressed"] is True
    assert d["causes"] == {} and d["recommendations"] == [] and d["usage"] is None
    assert all(x["suppressed"] for v in d["segments"].values() for x in v)
    assert "5件未満" in d["findings"][0]


def test_min_group_never_below_three(scenario):
    s = scenario()
    s.add(2, {}, department="sales")
    s.add(10, {}, department="admin")
    d = run(s.commit(), min_group=1, min_comments_group=1)
    assert d["anonymity"] == {"min_group": 3, "min_comments_group": 3}
    dept = {x["value"]: x["suppressed"] for x in d["segments"]["department"]}
    assert dept["sales"] is True


def test_corrected_label_wins(scenario, relabel):
    s = scenario()
    s.add(20, {}, comment=SECURITY, label="purpose")
    cid = s.commit()
    assert run(cid)["causes"]["purpose"]["n_comments"] == 20
    relabel(cid, "情報漏洩", "other")
    d = run(cid)
    assert d["causes"]["purpose"]["n_comments"] == 0
    assert d["causes"]["other"]["n_comments"] == 20


def test_findings_are_plain_language_in_both_languages(scenario):
    s = scenario()
    s.add(20, {"purpose": BAD}, comment=PURPOSE, label="purpose", department="sales")
    s.add(10, {}, comment=SKILL, label="support", department="admin")
    cid = s.commit()
    en = run(cid, "en")["findings"]
    ja = run(cid, "ja")["findings"]
    assert 'In department "Sales", 100% of comments point to unclear purpose (20 of 20).' in en
    assert "部門「営業・販売」では、自由記述の100%が「目的の曖昧さ」を指しています（20件中20件）。" in ja
    assert any(f.startswith("30 of 120 employees answered") for f in en)


def test_wave_comparison_reports_improvement_of_targeted_cause(scenario):
    w1 = scenario()
    w1.add(30, {"purpose": 1}, usage="never", comment=PURPOSE, label="purpose")
    w1.add(5, {}, comment=SKILL, label="support")
    c1 = w1.commit()
    w2 = scenario(org=w1.org)
    w2.add(30, {"purpose": 4}, usage="weekly", comment=SKILL, label="support")
    w2.add(5, {}, comment=PURPOSE, label="purpose")
    c2 = w2.commit()
    a = diagnose_campaign(c1, "en", report_date=REPORT)
    b = diagnose_campaign(c2, "en", report_date=REPORT)
    cmp = compare(a, b).to_dict()
    assert cmp["target_cause"] == "purpose" and cmp["improved"] is True
    assert cmp["causes"]["purpose"]["score_change"] < -5
    assert cmp["usage"]["counts_change"]["weekly"] == 30
    assert cmp["usage"]["habit_rate_change"] > 0.8
    other = scenario()
    other.add(10, {})
    c3 = other.commit()
    import pytest

    with pytest.raises(WaveError):
        compare(a, diagnose_campaign(c3, "en", report_date=REPORT))
