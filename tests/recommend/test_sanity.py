"""Sanity warnings computed from plain campaign data (diagnosis.recommend.sanity)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from diagnosis.recommend.data import CampaignData, OrgContext, ResponseData
from diagnosis.recommend.playbook import REQUIRED_TEXTS, load_playbook
from diagnosis.recommend.sanity import (
    CLOSED_BELOW_MINIMUM,
    EXCEEDS_HEADCOUNT,
    PENDING,
    QUESTIONNAIRE_VERSION,
    pending_warning,
    sanity_warnings,
)


def data(*, employees: int = 100, received: int = 20, pending: int = 0, closed: bool = False,
         version: int = 2, name: str = "第2回") -> CampaignData:
    responses = tuple(ResponseData(i, {"usage": "monthly"}) for i in range(1, min(received, 20) + 1))
    return CampaignData(1, "w", name, 1, "ai-adoption", version,
                        OrgContext(employees, None, dt.date(2026, 11, 1), "株式会社テスト"), (), responses,
                        received=received, pending_comments=pending, closed=closed)


def codes(warnings) -> list[str]:
    return [w.code for w in warnings]


def test_healthy_campaign_has_no_warnings():
    assert sanity_warnings(data(), "ja", min_group=5) == []
    # the same questionnaire version in both waves is no warning either
    assert sanity_warnings(data(), "en", min_group=5, earlier=data(name="第1回")) == []


def test_pending_comments_are_counted_and_say_what_to_run():
    (w,) = sanity_warnings(data(pending=12), "ja", min_group=5)
    assert w.code == PENDING and w.values == {"n": 12}
    assert w.text.startswith("12件の自由記述がまだ分類されていません")
    assert "`teichaku worker`" in w.hint and "`teichaku classify-pending`" in w.hint
    (en,) = sanity_warnings(data(pending=12), "en", min_group=5)
    assert en.text.startswith("12 comments are not classified yet")
    assert "teichaku classify-pending" in en.hint
    assert pending_warning(1, "en").text.startswith("1 comment is not classified yet")
    assert pending_warning(0, "en") is None


def test_more_responses_than_employees():
    (w,) = sanity_warnings(data(employees=8, received=10), "ja", min_group=5)
    assert w.code == EXCEEDS_HEADCOUNT and w.values == {"n": 10, "employees": 8}
    assert "受け付けた回答（10件）が従業員数（8人）より多くなっています" in w.text
    (en,) = sanity_warnings(data(employees=8, received=10), "en", min_group=5)
    assert "more responses (10) than employees (8)" in en.text
    # exactly as many as employees is possible; no headcount on record is no warning
    assert sanity_warnings(data(employees=10, received=10), "ja", min_group=5) == []
    assert sanity_warnings(data(employees=0, received=10), "ja", min_group=5) == []


@pytest.mark.parametrize("received", [0, 3, 4])
def test_closed_below_the_anonymity_minimum(received):
    (w,) = sanity_warnings(data(received=received, closed=True), "ja", min_group=5)
    assert w.code == CLOSED_BELOW_MINIMUM and w.values == {"n": received, "min_group": 5}
    assert f"回答{received}件で締め切られました" in w.text and "（5件）" in w.text
    (en,) = sanity_warnings(data(received=received, closed=True), "en", min_group=5)
    assert f"closed with {received} responses, fewer than the anonymity minimum of 5" in en.text
    # still open (more may come), or closed with enough: nothing to warn about
    assert sanity_warnings(data(received=received), "ja", min_group=5) == []
    assert sanity_warnings(data(received=5, closed=True), "ja", min_group=5) == []


def test_wave_compared_with_another_questionnaire_version():
    earlier = data(version=1, name="第1回 定着度調査")
    (w,) = sanity_warnings(data(), "ja", min_group=5, earlier=earlier)
    assert w.code == QUESTIONNAIRE_VERSION
    assert w.values == {"earlier": "第1回 定着度調査", "questionnaire": "ai-adoption", "before": 1, "after": 2}
    assert "第1版" in w.text and "第2版" in w.text
    (en,) = sanity_warnings(data(), "en", min_group=5, earlier=earlier)
    assert "used version 1 of the questionnaire (ai-adoption) and this one version 2" in en.text
    # another questionnaire altogether is never compared (waves.compare refuses it)
    other = replace(earlier, questionnaire_id="other")
    assert sanity_warnings(data(), "ja", min_group=5, earlier=other) == []


def test_several_warnings_pending_first_and_json_ready():
    ws = sanity_warnings(data(employees=8, received=10, pending=3), "ja", min_group=5,
                         earlier=data(version=1))
    assert codes(ws) == [PENDING, EXCEEDS_HEADCOUNT, QUESTIONNAIRE_VERSION]
    d = ws[0].to_dict()
    assert d == {"code": PENDING, "text": ws[0].text, "hint": ws[0].hint, "values": {"n": 3}}


def test_every_warning_text_has_both_languages_with_the_same_placeholders():
    pb = load_playbook()  # the loader fails on a missing language or differing placeholders
    for key in ("warn_pending", "warn_pending_one", "warn_pending_hint", "warn_headcount",
                "warn_closed_few", "warn_version"):
        assert key in REQUIRED_TEXTS
        assert pb.data["texts"][key]["ja"] != pb.data["texts"][key]["en"]
