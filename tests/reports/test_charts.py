"""The SVG chart module: deterministic, escaped, accessible, suppressed cells without numbers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from markupsafe import Markup

from diagnosis import charts

CAUSES = {
    "purpose": {"score": 62.3, "interval": [55.1, 70.2], "share": 0.4},
    "leadership": {"score": 41.0, "interval": [33.0, 49.0], "share": 0.2},
    "support": {"score": 48.5, "interval": None, "share": 0.3},
    "other": {"score": None, "share": 0.1},
}
HOSTILE = '<script>alert("x")</script><img src="file:///etc/passwd">&'


def _all(lang: str = "ja") -> list[Markup]:
    return [
        charts.funnel_chart({"never": 4, "tried_once": 9, "monthly": 7, "weekly": 3, "daily": 1}, lang),
        charts.cause_chart(CAUSES, lang),
        charts.share_chart({"purpose": 0.4, "leadership": 0.2, "support": 0.3, "other": 0.1}, lang),
        charts.heatmap_chart([("営業部", {"purpose": 70.0, "leadership": 30.0, "support": None}),
                              ("人事部", None)], lang),
        charts.wave_chart({"purpose": 70.0, "leadership": 40.0, "support": None},
                          {"purpose": 55.0, "leadership": 45.0, "support": 50.0}, lang),
    ]


def test_charts_are_deterministic_valid_svg_markup():
    first, second = _all(), _all()
    assert [str(x) for x in first] == [str(x) for x in second]
    for svg in first:
        assert isinstance(svg, Markup)
        root = ET.fromstring(str(svg))
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert root.get("role") == "img" and root.get("aria-label")
        assert root.get("viewBox").startswith("0 0 640 ")
        assert root.find("{http://www.w3.org/2000/svg}title").text
        assert root.find("{http://www.w3.org/2000/svg}desc").text
        assert "<script" not in str(svg) and "href" not in str(svg)


def test_cause_colours_and_names_per_language():
    ja = str(charts.cause_chart(CAUSES, "ja"))
    en = str(charts.cause_chart(CAUSES, "en"))
    assert "目的の曖昧さ" in ja and "経営層の関与不足" in ja and "教育・サポート不足" in ja
    # the playbook's names: the dashboard, the charts and the PDF show one name per cause
    assert "Unclear purpose" in en and "Lack of leadership involvement" in en
    assert "Insufficient training and support" in en
    for cause in ("purpose", "leadership", "support"):
        assert charts.cause_colours()[cause] in ja
    share = str(charts.share_chart({"purpose": 0.4, "other": 0.6}, "ja"))
    assert charts.cause_colours()["other"] in share and "その他" in share and "60%" in share


def test_hostile_labels_are_escaped():
    svg = str(charts.heatmap_chart([(HOSTILE, {"purpose": 10.0, "leadership": 20.0, "support": 30.0})],
                                   "en", suppressed_label=HOSTILE))
    assert "<script>" not in svg and "<img" not in svg
    assert "&lt;script&gt;" in svg
    ET.fromstring(svg)  # still well-formed XML
    wave = str(charts.wave_chart({"purpose": 1.0}, {"purpose": 2.0}, "en", labels=(HOSTILE, "<b>")))
    assert "<script>" not in wave and "<b>" not in wave
    ET.fromstring(wave)


def test_suppressed_cells_and_rows_show_no_number():
    svg = str(charts.heatmap_chart([("秘密の部署", None), ("小さな課", {"purpose": None, "leadership": None,
                                                                   "support": None})], "ja"))
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert not any(re.search(r"\d", t) for t in texts), texts
    desc = re.search(r"<desc>(.*)</desc>", svg).group(1)
    assert not re.search(r"\d", desc)
    assert "非表示" in svg and "tk-suppressed" in svg
    en = str(charts.heatmap_chart([("Team", {"purpose": 55.0, "leadership": None, "support": 12.0})], "en"))
    assert "suppressed" in en and ">55<" in en and ">12<" in en


def test_funnel_counts_and_percentages():
    svg = str(charts.funnel_chart({"counts": {"never": 1, "tried_once": 1, "monthly": 2}, "n": 4}, "ja"))
    assert "一度も使っていない" in svg and "2人 (50%)" in svg and "0人 (0%)" in svg
    empty = str(charts.share_chart({}, "en"))
    assert "No classified comments yet" in empty
