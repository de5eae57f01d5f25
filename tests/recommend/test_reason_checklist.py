"""The reason checklist as evidence: self-reported shares, the support split, the cross-check
with the classified comments, wave comparison with a version-1 wave, and the weak self-labels.
Responses are stored through the real service in SQLite; comment labels are set directly."""

from __future__ import annotations

import datetime as dt

import pytest

from diagnosis.recommend.aggregate import self_report
from diagnosis.recommend.data import ReasonOption, ReasonSpec, ResponseData
from diagnosis.recommend.service import diagnose_campaign
from diagnosis.recommend.waves import compare
from diagnosis.store.responses import self_label

REPORT = dt.date(2026, 11, 1)
# Comments the classifier could not tell apart: one third each, low confidence.
VAGUE = "なんとなく使っていない"


def run(cid, lang="ja"):
    return diagnose_campaign(cid, lang, report_date=REPORT)


def ambiguous(s, *, with_checklist: bool) -> int:
    """60 people with the same neutral ratings and comments spread evenly over the causes;
    most of them tick 'nobody to ask' in the checklist (when it is filled in)."""
    for cause in ("purpose", "leadership", "support"):
        s.add(15, {"purpose": 3, "leadership": 3, "support": 3}, comment=VAGUE, label=cause,
              confidence=0.45,
              reasons=["nobody_to_ask", "hesitant_to_ask"] if with_checklist else None)
        s.add(5, {"purpose": 3, "leadership": 3, "support": 3}, comment=VAGUE, label=cause,
              confidence=0.45, reasons=["no_use_case"] if with_checklist else None)
    return s.commit()


def test_self_reported_shares_decide_a_campaign_whose_comments_are_ambiguous(scenario):
    without = ambiguous(scenario(), with_checklist=False)
    d0 = run(without).to_dict()
    assert d0["dominant_cause"] == "mixed"
    assert d0["causes"]["support"]["self_reported"]["share"] is None  # nobody ticked anything

    with_list = ambiguous(scenario(), with_checklist=True)
    diag = run(with_list)
    d = diag.to_dict()
    assert d["dominant_cause"] == "support"
    own = d["causes"]["support"]["self_reported"]
    assert own["n"] == 60 and own["share"] == pytest.approx(0.75)
    assert own["interval"][0] < 0.75 < own["interval"][1]
    assert d["causes"]["purpose"]["self_reported"]["share"] == pytest.approx(0.25)
    # The comment shares are the same a third each in both campaigns: the checklist decided.
    for c in ("purpose", "leadership", "support"):
        assert d["causes"][c]["share"] == pytest.approx(d0["causes"][c]["share"])
    # Training vs help desk from the options' mapping: every support tick asks for a place to ask.
    assert d["support_split"]["remedy"] == "help_desk"
    assert d["support_split"]["checklist_help_desk"] == 90
    assert d["support_split"]["checklist_training"] == 0
    start = d["recommendations"][0]
    assert start["remedy"] == "help_desk" and start["start"]
    # The reasons cite the checklist in the respondents' words.
    assert any("75%" in r and "困ったときに聞ける人がいない" in r for r in start["reasons"])
    # The support reason states the checklist's side of the training / help-desk split too.
    assert "相談先・ためらいに関する選択が90件" in start["reasons"][0]
    assert "cites_checklist" in start["flags"]
    assert any("理由のチェックリスト" in f and "60人" in f for f in d["findings"])


def test_checklist_in_json_per_option_and_per_cause(scenario):
    s = scenario()
    s.add(6, {}, reasons=["dont_know_how", "no_training"], department="sales")
    s.add(6, {}, reasons=["boss_not_using"], department="sales")
    s.add(6, {}, reasons=["none"], department="admin")
    s.add(2, {})  # skipped the checklist
    d = run(s.commit(), "en").to_dict()
    rc = d["reason_choices"]
    assert rc["item"] == "reason_choices" and rc["n"] == 18 and rc["max_choices"] == 3
    by_code = {o["code"]: o for o in rc["options"]}
    assert by_code["dont_know_how"]["count"] == 6 and by_code["dont_know_how"]["share"] == pytest.approx(6 / 18, abs=1e-3)
    assert by_code["dont_know_how"]["cause"] == "support" and by_code["dont_know_how"]["remedy"] == "training"
    assert by_code["none"]["label"] == "Nothing in particular / I use it a lot"
    assert by_code["nobody_to_ask"]["count"] == 0
    assert [o["code"] for o in rc["options"]][:2] == ["no_use_case", "not_needed"]  # questionnaire order
    assert d["causes"]["support"]["self_reported"]["share"] == pytest.approx(6 / 18, abs=1e-3)
    assert d["causes"]["leadership"]["self_reported"]["named"] == 6
    assert d["causes"]["other"]["self_reported"]["share"] == pytest.approx(6 / 18, abs=1e-3)
    sales = next(v for v in d["segments"]["department"] if v["value"] == "sales")
    assert sales["reason_choices"]["n"] == 12
    assert sales["causes"]["support"]["self_reported"]["share"] == pytest.approx(0.5)


def test_disagreement_between_checklist_and_comments_is_reported(scenario):
    s = scenario()
    s.add(40, {}, comment="何に使えばいいかわからない", label="purpose", confidence=0.95,
          reasons=["nobody_to_ask"])
    diag = run(s.commit())
    d = diag.to_dict()
    causes = {x["cause"] for x in d["self_report_disagreements"]}
    assert {"purpose", "support"} <= causes
    x = next(x for x in d["self_report_disagreements"] if x["cause"] == "support")
    assert x["self_reported"] == 1.0 and x["comments"] == 0.0
    assert x["self_interval"][0] > x["comments_interval"][1]
    assert any("区間が重なりません" in f for f in d["findings"])
    en = run(s.campaign.id, "en").to_dict()
    assert any("intervals do not overlap" in f for f in en["findings"])


def test_checklist_decides_training_when_comments_and_ratings_are_silent(scenario):
    s = scenario()
    s.add(30, {"support": 2}, reasons=["dont_know_how", "disappointed"])
    d = run(s.commit()).to_dict()
    split = d["support_split"]
    assert split["remedy"] == "training" and split["checklist_training"] == 60
    s2 = scenario()
    s2.add(30, {"support": 2}, reasons=["nobody_to_ask"])
    split2 = run(s2.commit()).to_dict()["support_split"]
    assert split2["remedy"] == "help_desk"
    # Ratings of the skill and asking items are equal here, so the checklist tips the balance.
    assert split2["decided_by"] in ("self_report", "likert_and_self_report")


def test_version_one_campaign_has_no_checklist_part(scenario):
    s = scenario(version=1)
    s.add(20, {"purpose": 2}, comment="何に使えばいいかわからない", label="purpose")
    d = run(s.commit()).to_dict()
    assert d["campaign"]["questionnaire_version"] == 1
    assert d["reason_choices"] is None
    assert d["causes"]["purpose"]["self_reported"] is None
    assert d["self_report_disagreements"] == []


def test_wave_comparison_with_a_version_one_wave_says_so_and_compares_like_with_like(scenario):
    w1 = scenario(version=1)
    w1.add(30, {"support": 2}, comment="使い方がわからない", label="support")
    c1 = w1.commit()
    w2 = scenario(org=w1.org)
    w2.add(30, {"support": 2}, comment="使い方がわからない", label="support",
           reasons=["dont_know_how"])
    c2 = w2.commit()
    a, b = run(c1), run(c2)
    # The later wave's own score includes the checklist, so it differs from the earlier one...
    assert b.scores["support"].score != pytest.approx(a.scores["support"].score)
    cmp = compare(a, b).to_dict()
    # ...but the comparison leaves it out on both sides: nothing else changed.
    assert cmp["checklist_compared"] is False
    assert cmp["causes"]["support"]["score_change"] == pytest.approx(0.0)
    assert any("理由のチェックリストがなかった" in f for f in cmp["findings"])


def test_self_label_rule():
    from diagnosis.questionnaire import load_directory

    item = load_directory("questionnaires")["ai-adoption"].reason_item
    assert self_label(item, ["nobody_to_ask"]) == "support"
    assert self_label(item, ["nobody_to_ask", "no_training", "no_use_case"]) == "support"
    assert self_label(item, ["nobody_to_ask", "no_use_case"]) is None  # a tie is no label
    assert self_label(item, ["other_reason", "boss_not_using"]) == "leadership"
    assert self_label(item, ["other_reason"]) is None
    assert self_label(item, ["none"]) == "other"
    assert self_label(item, []) is None and self_label(None, ["none"]) is None


def test_self_report_statistics_are_paired_per_respondent():
    spec = ReasonSpec("r", (ReasonOption("a", "purpose"), ReasonOption("b", "support"),
                            ReasonOption("x", None)), 3)
    rs = [ResponseData(1, {"r": ["a", "b"]}), ResponseData(2, {"r": ["b"]}),
          ResponseData(3, {"r": ["x"]}), ResponseData(4, {"r": ["b", "zzz"]}), ResponseData(5, {})]
    sr = self_report(rs, spec)
    assert sr.n == 4 and sr.n_mapped == 3  # "x" names no cause; unknown codes are ignored
    assert sr.share("support") == pytest.approx((0.5 + 1 + 1) / 3)
    assert sr.share("purpose") == pytest.approx(0.5 / 3)
    assert sum(sr.share(c) for c in ("purpose", "leadership", "support", "other")) == pytest.approx(1)
    diffs = [0.0, 1.0, 1.0]  # support - purpose per respondent
    m = sum(diffs) / 3
    var = sum((v - m) ** 2 for v in diffs) / 2 / 3
    assert sr.difference_variance("support", "purpose") == pytest.approx(var)
    assert sr.option_counts == {"a": 1, "b": 3, "x": 1}
