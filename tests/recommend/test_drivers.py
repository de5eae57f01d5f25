"""Driver analysis and tested wave change, on generated campaigns whose truth is known."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from diagnosis.recommend.aggregate import group_stats
from diagnosis.recommend.data import (
    CAUSES,
    USAGE_CODES,
    CampaignData,
    Evidence,
    LikertSpec,
    OrgContext,
    ResponseData,
)
from diagnosis.recommend.diagnose import cause_scores
from diagnosis.recommend.drivers import NONE, STANDS_OUT, TOO_FEW, analyse
from diagnosis.recommend.playbook import load_playbook
from diagnosis.recommend.service import diagnose
from diagnosis.recommend.waves import IMPROVED, NO_CLEAR_CHANGE, WORSE, compare, proportion_change

SPECS = tuple(LikertSpec(f"{c[:2]}_{i}", c) for c in CAUSES for i in range(3))
REPORT = dt.date(2026, 11, 1)


def generate(n: int, weights: dict[str, float], *, seed: int = 1, rho: float = 0.0,
             means: dict[str, float] | None = None, comments: dict[str, float] | None = None,
             segments: list[dict[str, str]] | None = None, org: int = 1, slug: str = "w") -> CampaignData:
    """Respondents with a latent favourability per cause (correlation ``rho``), three 1-5 items per
    cause, and usage cut from sum(weights * favourability) + noise into five equal groups.
    ``comments``: the share of respondents who write a comment labelled with each cause."""
    rng = np.random.default_rng(seed)
    common = rng.normal(size=n)
    lat = {c: np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.normal(size=n) for c in CAUSES}
    drive = sum(weights.get(c, 0.0) * lat[c] for c in CAUSES) + rng.normal(size=n)
    cuts = np.quantile(drive, [0.2, 0.4, 0.6, 0.8])
    responses, evidence = [], []
    for i in range(n):
        answers = {"usage": USAGE_CODES[int(np.searchsorted(cuts, drive[i]))]}
        for s in SPECS:
            mu = (means or {}).get(s.cause, 3.0)
            answers[s.id] = int(np.clip(np.rint(mu + lat[s.cause][i] + 0.6 * rng.normal()), 1, 5))
        seg = segments[i] if segments else {}
        responses.append(ResponseData(i + 1, answers, dict(seg)))
        for c, share in (comments or {}).items():
            if rng.random() < share:
                evidence.append(Evidence(len(evidence) + 1, f"comment {c}", c, 0.9, "survey",
                                         response_id=i + 1, segments=dict(seg)))
    return CampaignData(org, slug, slug, org, "ai-adoption", 1, OrgContext(5000, None, REPORT, "Org"),
                        SPECS, tuple(responses), tuple(evidence))


# ------------------------------------------------------------------ driver analysis


def test_usage_driven_by_support_names_support_with_an_interval_above_the_others():
    data = generate(300, {"support": 1.2})
    st = group_stats(data.responses, (), SPECS, load_playbook())
    a = analyse(data.responses, {c: st.likert[c].by_respondent for c in CAUSES})
    assert a.verdict == STANDS_OUT and a.top == "support"
    sup = a.causes["support"]
    assert sup.importance > 0.8 and sup.direction == "less_use"
    for c in ("purpose", "leadership"):
        assert sup.interval[0] > a.causes[c].interval[1]
    assert sum(a.causes[c].importance for c in CAUSES) == pytest.approx(1.0)
    assert sum(a.causes[c].r2 for c in CAUSES) == pytest.approx(a.r2)


def test_no_driver_says_none_stands_out():
    data = generate(300, {}, seed=3)
    d = diagnose(data, "en").to_dict()
    assert d["driver_analysis"]["verdict"] == NONE and d["driver_analysis"]["top"] is None
    assert any("no driver stands out" in f or "No single cause stands out" in f for f in d["findings"])


def test_correlated_causes_share_what_they_explain():
    # Leadership and support are strongly correlated and drive use equally: neither may take it all.
    data = generate(600, {"leadership": 0.8, "support": 0.8}, rho=0.7, seed=5)
    st = group_stats(data.responses, (), SPECS, load_playbook())
    a = analyse(data.responses, {c: st.likert[c].by_respondent for c in CAUSES})
    lead, sup, pur = (a.causes[c].importance for c in ("leadership", "support", "purpose"))
    assert 0.25 < lead < 0.5 and 0.25 < sup < 0.5 and abs(lead - sup) < 0.15
    # Purpose correlates with both (rho) but drives nothing: it gets the smallest share.
    assert pur < min(lead, sup)
    assert a.verdict == NONE  # leadership vs support cannot be told apart


def test_bootstrap_is_deterministic_and_below_min_n_nothing_is_estimated():
    data = generate(120, {"purpose": 1.0}, seed=7)
    st = group_stats(data.responses, (), SPECS, load_playbook())
    likert = {c: st.likert[c].by_respondent for c in CAUSES}
    assert analyse(data.responses, likert) == analyse(data.responses, likert)
    few = analyse(data.responses[:29], likert)
    assert few.verdict == TOO_FEW and few.min_n == 30 and few.causes == {}
    assert few.drivers_dict()["purpose"] == {"importance": None, "interval": None, "n": 29, "r2": None,
                                             "r2_interval": None, "direction": None, "predictors": []}


def test_interval_coverage_of_the_driver_share():
    """The 95% percentile interval covers the share a very large sample gives in most replicates."""
    weights = {"purpose": 0.4, "support": 0.8}
    big = generate(60_000, weights, seed=11)
    st = group_stats(big.responses, (), SPECS, load_playbook())
    truth = analyse(big.responses, {c: st.likert[c].by_respondent for c in CAUSES},
                    config={"n_boot": 50}).causes["support"].importance
    covered = 0
    reps = 40
    for k in range(reps):
        data = generate(150, weights, seed=100 + k)
        st = group_stats(data.responses, (), SPECS, load_playbook())
        a = analyse(data.responses, {c: st.likert[c].by_respondent for c in CAUSES},
                    config={"n_boot": 200, "seed": k})
        lo, hi = a.causes["support"].interval
        covered += lo <= truth <= hi
    assert covered / reps >= 0.85, (covered, truth)


def test_comment_causes_join_the_model_as_part_of_their_cause():
    data = generate(200, {"support": 1.0}, comments={"support": 0.4, "leadership": 0.3}, seed=13)
    d = diagnose(data, "en").to_dict()
    assert d["driver_analysis"]["comments_used"] is True
    assert d["drivers"]["support"]["predictors"] == ["likert", "comment"]
    assert d["drivers"]["purpose"]["predictors"] == ["likert"]  # nobody named purpose


# ------------------------------------------------------------------ into the recommendation


def test_drivers_and_complaints_disagree_and_the_reasons_say_so():
    # Everyone complains about leadership (poor ratings, most comments), but use follows support.
    data = generate(400, {"support": 1.2}, means={"leadership": 1.6, "support": 3.6, "purpose": 3.4},
                    comments={"leadership": 0.8}, seed=17)
    en = diagnose(data, "en").to_dict()
    assert en["dominant_cause"] == "leadership"
    assert en["driver_analysis"]["verdict"] == STANDS_OUT and en["driver_analysis"]["top"] == "support"
    drv = en["drivers"]["support"]
    assert set(drv) >= {"importance", "interval", "n"} and drv["n"] == 400
    start = en["recommendations"][0]
    assert start["remedy"] == "success_stories" and "drivers_disagree" in start["flags"]
    pct, lo, hi = (round(100 * x) for x in (drv["importance"], *drv["interval"]))
    text = " ".join(start["reasons"])
    assert "People complain most about lack of leadership involvement" in text
    assert f"what separates users from non-users is insufficient training and support: it explains {pct}% ({lo}–{hi}%)" in text
    support_remedy = next(r for r in en["recommendations"] if r["remedy"] == en["support_split"]["remedy"])
    assert "driver" in support_remedy["flags"]
    assert any(f"explains {pct}% ({lo}–{hi}%) of the explained variance in use" in r for r in support_remedy["reasons"])
    ja = diagnose(data, "ja").to_dict()
    text_ja = " ".join(ja["recommendations"][0]["reasons"])
    assert "不満が最も多いのは「経営層の関与不足」" in text_ja and f"{pct}%、95%区間 {lo}〜{hi}%" in text_ja
    assert any(f.startswith("利用する人としない人を分けているのは「教育・サポート不足」") for f in ja["findings"])


def test_driver_bonus_comes_from_the_playbook():
    data = generate(300, {"purpose": 1.2}, seed=19)
    pb = load_playbook()
    with_bonus = diagnose(data, "en", playbook=pb).to_dict()
    zero = type(pb)({**pb.data, "drivers": {**pb.data["drivers"], "bonus": 0}}, pb.patterns, pb.theme_patterns)
    without = diagnose(data, "en", playbook=zero).to_dict()
    score = {r["remedy"]: r["score"] for r in with_bonus["recommendations"]}
    score0 = {r["remedy"]: r["score"] for r in without["recommendations"]}
    assert score["success_stories"] - score0["success_stories"] == pytest.approx(15.0)
    assert score["training"] == score0["training"]


def test_no_driver_reason_on_the_start():
    data = generate(300, {}, means={"support": 1.8}, seed=23)
    d = diagnose(data, "en").to_dict()
    start = d["recommendations"][0]
    assert "no_driver_stands_out" in start["flags"]
    assert any(r.startswith("No cause stands out in separating users from non-users") for r in start["reasons"])


def test_segment_drivers_only_for_shown_groups():
    segs = ([{"department": "sales"}] * 40 + [{"department": "admin"}] * 12
            + [{"department": "it"}] * 3 + [{"department": "planning"}] * 3)
    data = generate(len(segs), {"support": 1.0}, segments=segs, seed=29)
    d = diagnose(data, "en", min_group=5).to_dict()
    views = {v["value"]: v for v in d["segments"]["department"]}
    assert views["it"]["suppressed"] and views["planning"]["suppressed"]
    for v in ("it", "planning"):
        assert "drivers" not in views[v] and "driver_analysis" not in views[v] and "n" not in views[v]
    assert views["sales"]["driver_analysis"]["available"] is True
    assert views["sales"]["drivers"]["support"]["n"] == 40
    assert views["admin"]["driver_analysis"]["verdict"] == TOO_FEW
    assert views["admin"]["drivers"]["support"]["importance"] is None


# ------------------------------------------------------------------ wave change


def shifted(n: int, moved: int, org: int, slug: str, start_id: int = 0) -> CampaignData:
    """A wave where support is the worst cause; the first ``moved`` respondents rate every support
    item one step better than the earlier wave's same respondent (so support's problem falls by
    exactly 25 * moved / n points)."""
    rng = np.random.default_rng(31)
    rs = []
    for i in range(n):
        a = {"usage": USAGE_CODES[i % 5]}
        # One level per person for all support items: people differ (sd about 28 points), as they do.
        level = int(rng.integers(1, 5))
        for s in SPECS:
            base = level if s.cause == "support" else int(rng.integers(3, 6))
            a[s.id] = base + (1 if s.cause == "support" and i < moved else 0)
        rs.append(ResponseData(start_id + i + 1, a))
    return CampaignData(org, slug, slug, org, "ai-adoption", 1, OrgContext(5000, None, REPORT, "Org"),
                        SPECS, tuple(rs))


@pytest.mark.parametrize(("n", "moved", "points", "verdict"), [
    (2000, 240, 3.0, IMPROVED),       # 3 points with 2,000 responses: real
    (60, 12, 5.0, NO_CLEAR_CHANGE),   # 5 points with 60: within the noise
])
def test_wave_verdict_follows_the_interval(n, moved, points, verdict):
    earlier = diagnose(shifted(n, 0, 7, "w1"), "en")
    later = diagnose(shifted(n, moved, 7, "w2", start_id=n), "en")
    cmp = compare(earlier, later)
    ch = cmp.change["support"]
    assert ch.delta == pytest.approx(-points)
    assert ch.verdict == verdict
    assert cmp.target_cause == "support" and cmp.improved is (verdict == IMPROVED)
    out = cmp.to_dict()["change"]
    assert set(out["support"]) >= {"delta", "interval", "verdict"}
    assert out["support"]["interval"][0] < out["support"]["delta"] < out["support"]["interval"][1]
    key = "improved from" if verdict == IMPROVED else "no clear change"
    assert any(key in f and "95% interval of the change" in f for f in cmp.findings)


def test_wave_getting_worse_is_called_worse():
    earlier = diagnose(shifted(2000, 400, 8, "w1"), "ja")
    later = diagnose(shifted(2000, 0, 8, "w2", start_id=2000), "ja")
    cmp = compare(earlier, later)
    assert cmp.change["support"].verdict == WORSE and cmp.improved is False
    assert any("悪化しました" in f for f in cmp.findings)


def test_usage_rates_use_newcombes_interval():
    # Newcombe (1998), example (a): 56/70 vs 48/80, difference 0.2, interval 0.0524 to 0.3339.
    ch = proportion_change(48, 80, 56, 70)
    assert ch.delta == pytest.approx(0.2)
    assert ch.interval[0] == pytest.approx(0.0524, abs=5e-4) and ch.interval[1] == pytest.approx(0.3339, abs=5e-4)
    assert ch.verdict == IMPROVED
    assert proportion_change(12, 60, 15, 60).verdict == NO_CLEAR_CHANGE
    assert proportion_change(400, 2000, 500, 2000).verdict == IMPROVED


def test_no_true_change_is_rarely_called_a_change():
    """Two waves drawn from the same population: 'improved' or 'worse' in few of 200 pairs."""
    pb = load_playbook()
    rng = np.random.default_rng(37)
    calls = 0
    for _ in range(200):
        waves = []
        for _ in range(2):
            rs = [ResponseData(i, {s.id: int(rng.integers(1, 6)) for s in SPECS}) for i in range(60)]
            waves.append(cause_scores(group_stats(rs, (), SPECS, pb), pb)["support"])
        from diagnosis.recommend.waves import score_change

        calls += score_change(*waves).verdict != NO_CLEAR_CHANGE
    assert calls / 200 <= 0.09
