"""Pure unit tests: redaction, statistics, anonymity rules, playbook validation, support split."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from diagnosis.recommend.aggregate import item_value, likert_stats, usage_funnel
from diagnosis.recommend.anonymity import Thresholds, suppressed_cells
from diagnosis.recommend.data import (
    CampaignData,
    Evidence,
    LikertSpec,
    OrgContext,
    ResponseData,
)
from diagnosis.recommend.diagnose import support_split
from diagnosis.recommend.playbook import DEFAULT_PATH, PlaybookError, load_playbook, parse_playbook
from diagnosis.recommend.redact import redact
from diagnosis.recommend.service import diagnose
from diagnosis.recommend.stats import add_months, wilson

RECOMMEND_DIR = Path(__file__).resolve().parents[2] / "diagnosis" / "recommend"


@pytest.mark.parametrize("text, expected", [
    ("営業の田中さんに聞いて", "営業の[NAME]さんに聞いて"),
    ("鈴木部長と佐藤課長、山本係長、高橋主任", "[NAME]部長と[NAME]課長、[NAME]係長、[NAME]主任"),
    ("渡辺社長・伊藤様・木村氏・健太くん・さくらちゃん",
     "[NAME]社長・[NAME]様・[NAME]氏・[NAME]くん・[NAME]ちゃん"),
    ("代表は03-1234-5678、携帯090-1234-5678", "代表は[PHONE]、携帯[PHONE]"),
    ("内線4321まで", "内線[PHONE]まで"),
    ("０３－１２３４－５６７８", "[PHONE]"),
    ("社員番号 A12345 です", "社員番号 [ID] です"),
    ("社員番号：123456", "社員番号：[ID]"),
    ("連絡は taro.yamada@example.co.jp へ", "連絡は [EMAIL] へ"),
    ("Ask Mr. Smith or Ms. Jane Doe", "Ask Mr. [NAME] or Ms. [NAME]"),
    ("Call +81 3-1234-5678 or (555) 123-4567", "Call [PHONE] or [PHONE]"),
    ("my employee ID: E12345", "my employee ID: [ID]"),
    ("mail me at a.b@corp.example.com", "mail me at [EMAIL]"),
])
def test_redact_removes_pii(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "営業部長が使っていない", "お客さんの情報が心配", "皆さん忙しそう", "副社長が推進している",
    "事業本部長の方針", "もうちゃんと教えてほしい", "山田ちゃんと使えば", "導入は2026-09-08で、30%削減が目標", "Copilot in Excel gave poor results",
])
def test_redact_keeps_ordinary_text(text):
    assert redact(text) == text


def test_wilson_interval():
    lo, hi = wilson(62, 100)
    assert 0.52 < lo < 0.53 and 0.70 < hi < 0.71
    assert wilson(0, 0) == (0.0, 1.0)


def test_add_months_clamps():
    assert add_months(dt.date(2026, 11, 30), 3) == dt.date(2027, 2, 28)


def test_likert_reverse_and_dont_know():
    specs = (LikertSpec("a", "purpose"), LikertSpec("b", "purpose", reverse=True))
    r = ResponseData(1, {"a": 5, "b": 1})
    assert item_value(r, specs[1]) == 5
    st = likert_stats([r, ResponseData(2, {"a": "dk", "b": "dk"})], specs, "purpose")
    assert st.score == 100.0 and st.n == 1 and st.favourable == 1.0


def test_usage_funnel_rates():
    rs = [ResponseData(i, {"usage": u}) for i, u in
          enumerate(["never", "tried_once", "monthly", "weekly", "daily"])]
    u = usage_funnel(rs)
    assert u.adoption_rate == 0.8 and u.habit_rate == 0.4 and u.counts["never"] == 1


@pytest.mark.parametrize("counts, unstated, hidden", [
    ({"a": 20, "b": 10, "c": 3}, 0, {"c", "b"}),
    ({"a": 20, "b": 10, "c": 3, "d": 4}, 0, {"c", "d"}),  # 7 hidden together: enough
    ({"a": 20, "b": 10}, 2, {"b"}),
    ({"a": 20, "b": 10}, 0, set()),
    ({"a": 20, "b": 10}, 6, set()),
    ({"a": 4}, 0, {"a"}),
])
def test_complementary_suppression(counts, unstated, hidden):
    assert suppressed_cells(counts, unstated, 5) == hidden


def test_thresholds_floor():
    assert Thresholds.make(1, 1) == Thresholds(3, 3)
    assert Thresholds.make(None, None, {"min_group": 5, "min_comments_group": 10}) == \
        Thresholds(5, 10)


def test_support_split_pure():
    pb = load_playbook()
    specs = (LikertSpec("su_skill", "support"), LikertSpec("su_training", "support"),
             LikertSpec("su_ask", "support"))
    rs = [ResponseData(i, {"su_skill": 4, "su_training": 4, "su_ask": 1}) for i in range(10)]
    ev = [Evidence(1, "誰に聞けばいいかわからない", "support", 0.9)]
    s = support_split(rs, ev, specs, pb)
    assert s.remedy == "help_desk" and s.decider == "both" and s.remedies[1] == "help_desk" and s.k_second == 1


def test_diagnose_pure_without_database():
    specs = (LikertSpec("pu_useful", "purpose"), LikertSpec("le_exec", "leadership"),
             LikertSpec("su_skill", "support"))
    rs = tuple(ResponseData(i, {"usage": "never", "pu_useful": 1, "le_exec": 4, "su_skill": 4})
               for i in range(12))
    ev = tuple(Evidence(i, "何に使うのかわからない", "purpose", 0.8) for i in range(12))
    data = CampaignData(1, "x", "x", 1, "ai-adoption", 1,
                        OrgContext(50, None, dt.date(2026, 11, 1)), specs, rs, ev)
    d = diagnose(data, "en").to_dict()
    assert d["dominant_cause"] == "purpose"
    assert d["recommendations"][0]["remedy"] == "success_stories"
    assert d["response_rate"] == 0.24


def test_playbook_loads_and_names_bad_key(tmp_path):
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    assert load_playbook(DEFAULT_PATH).section("scoring")["z"] == 1.96
    bad = text.replace("likert_weight: 0.5\n  text_weight: 0.5", "likert_weight: two\n  text_weight: 0.5", 1)
    with pytest.raises(PlaybookError, match="scoring.likert_weight"):
        parse_playbook(bad, "pb.yaml")
    bad = text.replace('en: "{n} of {employees} employees', 'en: "{count} of {employees} employees')
    with pytest.raises(PlaybookError, match="texts.find_response.*placeholders differ"):
        parse_playbook(bad, "pb.yaml")
    bad = text.replace("      - 講座\n", "      - 講座(\n")
    with pytest.raises(PlaybookError, match="support_split.patterns.training"):
        parse_playbook(bad, "pb.yaml")


@pytest.mark.parametrize(("edit", "message"), [
    # a cause colour white text cannot be read on (the badges and bar labels are white)
    (("colour: \"#2f6fb0\"", "colour: \"#9fc5ff\""), r"causes\.purpose\.colour: white text on #9fc5ff is 1\.\d+:1"),
    (("colour: \"#b05a22\"", "colour: orange"), r"causes\.leadership\.colour: must be a colour written #rrggbb"),
    (("when_dominant: [kpis_per_department]", "when_dominant: [free_pizza]"),
     r"causes\.purpose\.when_dominant: must be a list of rule names"),
    # a cause no remedy addresses: the recommender could not name a start for it
    (("    causes: [purpose, leadership]\n", "    causes: [purpose]\n"), r"causes\.leadership: no remedy names"),
    # two remedies for a cause that is not the split cause: which one starts is not decidable
    (("    causes: [support]\n    plan:\n      - days: 1-30\n        ja: 相談先",
      "    causes: [support, purpose]\n    plan:\n      - days: 1-30\n        ja: 相談先"),
     r"causes\.purpose: 2 remedies name it \(success_stories, help_desk\)"),
    (("  other: {ja: その他", "  zzz: {ja: 仮, en: tmp, short: {ja: 仮, en: tmp}, colour: \"#333333\"}\n  other: {ja: その他"),
     r"causes: \['zzz'\] are not among the ids this process read"),
])
def test_playbook_refuses_a_vocabulary_it_cannot_act_on(edit, message):
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    assert edit[0] in text
    with pytest.raises(PlaybookError, match=message):
        parse_playbook(text.replace(edit[0], edit[1], 1), "pb.yaml")


def test_other_must_be_the_last_cause():
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    start = text.index("  other: {ja: その他")
    line = text[start:text.index("\n", start) + 1]
    moved = text.replace(line, "").replace("causes:\n  purpose:", "causes:\n" + line + "  purpose:", 1)
    with pytest.raises(PlaybookError, match=r"causes\.other: must come last"):
        parse_playbook(moved, "pb.yaml")


def test_questionnaire_loader_skips_playbook():
    from diagnosis.questionnaire import load_directory

    assert "ai-adoption" in load_directory(DEFAULT_PATH.parent)


def test_recommend_package_reads_no_orm_outside_the_loader():
    """Only loader.py turns database rows into plain data (the run-time check that nothing here
    loads Flask or SQLAlchemy is tests/test_boundaries.py)."""
    for path in RECOMMEND_DIR.glob("*.py"):
        src = path.read_text(encoding="utf-8")
        if path.name != "loader.py":
            assert "extensions" not in src and "models" not in src, path.name
