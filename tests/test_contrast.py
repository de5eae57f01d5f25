"""Colour contrast from the colour definitions themselves (WCAG 2.1 AA: text at least 4.5:1).

The browser tests run axe on the pages the demo produces; these check every badge and cause
colour, including ones no demo page happens to show, and the heat-map cells of every score."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from diagnosis import charts, colours
from diagnosis.colours import blend, contrast_ratio

STATIC = Path(__file__).resolve().parents[1] / "diagnosis" / "static"
AA = 4.5


def css_rules(path: Path, extra: str = "") -> dict[str, dict[str, str]]:
    """Declarations per selector of a flat stylesheet and any CSS loaded after it (rules inside
    @media are read as well)."""
    text = re.sub(r"/\*.*?\*/", "", path.read_text() + "\n" + extra, flags=re.S)
    text = re.sub(r"@media[^{]*\{((?:[^{}]*\{[^{}]*\})*)\s*\}", r"\1", text)
    rules: dict[str, dict[str, str]] = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", text):
        decls = dict((k.strip(), v.strip()) for k, v in
                     (d.split(":", 1) for d in body.split(";") if ":" in d))
        for sel in selectors.split(","):
            rules.setdefault(" ".join(sel.split()), {}).update(decls)
    return rules


def resolve(value: str, variables: dict[str, str]) -> str:
    """A colour value with var(--x) replaced, normalised to #rrggbb."""
    value = re.sub(r"var\((--[\w-]+)\)", lambda m: variables[m.group(1)], value).strip()
    assert re.fullmatch(r"#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}", value), f"not a plain colour: {value}"
    if len(value) == 4:
        value = "#" + "".join(c * 2 for c in value[1:])
    return value.lower()


def _generated() -> str:
    """The cause colours' stylesheet every page and the PDF add (from the playbook)."""
    return colours.cause_stylesheet(charts.cause_colours())


APP = css_rules(STATIC / "app.css", _generated())
ROOT = APP[":root"]
VARIABLES = {k: v for k, v in ROOT.items() if k.startswith("--")}
BODY_INK = resolve(APP["body"]["color"], VARIABLES)


def _badge_pairs() -> list[tuple[str, str, str]]:
    """(selector, text colour, background) of every badge and cause label in app.css.

    A modifier rule (`.badge.req`, `.cause-support`) takes what it does not set from its base
    rule (`.badge`, `.cause`), and the base from the page's ink."""
    pairs = []
    for sel, decls in APP.items():
        base = ".cause" if sel.startswith(".cause") else ".badge" if sel.startswith(".badge") else None
        if base is None or " " in sel or ":" in sel:
            continue
        merged = {**APP.get(base, {}), **decls}
        if "background" not in merged:
            continue
        pairs.append((sel, resolve(merged.get("color", BODY_INK), VARIABLES),
                      resolve(merged["background"], VARIABLES)))
    return pairs


BADGES = _badge_pairs()


def test_the_stylesheet_parser_sees_every_badge():
    names = {sel for sel, _, _ in BADGES}
    assert {f".cause-{c}" for c in charts.LABELS} <= names
    assert {".badge.req", ".badge.opt", ".badge.corrected", ".badge.state-open", ".cause-unclear"} <= names


@pytest.mark.parametrize(("selector", "ink", "background"), BADGES, ids=[b[0] for b in BADGES])
def test_text_on_every_badge_colour_reaches_aa(selector, ink, background):
    ratio = contrast_ratio(ink, background)
    assert ratio >= AA, f"{selector}: {ink} on {background} is {ratio:.2f}:1, below {AA}:1"


def test_cause_colours_are_one_table():
    """app.css, report.css and the charts use the same cause colours."""
    report = css_rules(STATIC / "report.css", _generated())
    variables = {k: v for k, v in report[":root"].items() if k.startswith("--")}
    for cause, colour in charts.cause_colours().items():
        assert resolve(VARIABLES[f"--{cause}"], VARIABLES) == colour
        assert resolve(report[f".sw-{cause}"]["background"], variables) == colour
        assert resolve(report[f".ch-{cause}"]["border-left-color"], variables) == colour


@pytest.mark.parametrize("cause", charts.LABELS)
def test_white_text_and_headings_on_cause_colours_reach_aa(cause):
    # White labels on the share bars, cause-coloured column heads on the white heat map.
    assert contrast_ratio("#ffffff", charts.cause_colours()[cause]) >= AA


@pytest.mark.parametrize("cause", charts.LABELS)
def test_heatmap_numbers_reach_aa_at_every_score(cause):
    colour = charts.cause_colours()[cause]
    for score in range(101):
        opacity, ink = charts._cell_colour(colour, score)
        cell = blend(colour, opacity)
        assert contrast_ratio(ink, cell) >= AA, (cause, score, ink, cell)


def test_report_badges_reach_aa():
    report = css_rules(STATIC / "report.css")
    badge = report[".badge"]
    assert contrast_ratio(resolve(badge["color"], {}), resolve(badge["background"], {})) >= AA


def test_contrast_ratio_matches_wcag_examples():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#2f8f5b", "#ffffff") < AA  # the old support green, failed by axe


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_driver_chart_text_reaches_aa_and_is_accessible(lang):
    import re

    drivers = {"purpose": {"importance": 0.2, "interval": [0.1, 0.3]},
               "leadership": {"importance": 0.1, "interval": [0.0, 0.2]},
               "support": {"importance": 0.7, "interval": [0.55, 0.82]}}
    svg = str(charts.driver_chart(drivers, {"available": True, "top": "support", "n": 120, "min_n": 30,
                                            "r2": 0.31}, lang))
    assert "<title>" in svg and "<desc>" in svg and 'role="img"' in svg
    assert "70% (55%–82%)" in svg
    fills = set(re.findall(r'<text [^>]*fill="(#[0-9a-f]{6})"', svg))
    assert fills
    for ink in fills:  # every label sits on the white chart background
        assert contrast_ratio(ink, "#ffffff") >= AA, ink
    empty = str(charts.driver_chart(None, {"available": False, "verdict": "too_few", "n": 12, "min_n": 30}, lang))
    assert "30" in empty and "12" in empty
    assert contrast_ratio(charts.MUTED, "#eef0f3") >= AA  # the 'not estimated' plate
