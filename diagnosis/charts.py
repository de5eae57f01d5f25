"""Deterministic inline SVG charts shared by the web dashboard and the PDF report.

Every chart is plain SVG markup (no script, no external font or image) sized by its viewBox, so
it scales in the browser and in WeasyPrint alike. All text is escaped; the same data always gives
byte-identical output. Colours follow the cause ids (``tk-cause-<id>`` classes carry the same
colours for CSS overrides).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from markupsafe import Markup, escape

from .colours import INK, blend, readable_ink
from .messages import translate
from .vocabulary import CAUSES, LABELS, USAGE_CODES

# Cause colours and short names are the playbook's (``causes.<id>.colour`` / ``short``): the one
# table app.css and report.css take too, through the generated stylesheet (colours.cause_stylesheet).
USAGE_COLOURS: dict[str, str] = {
    "never": "#b9bec6",
    "tried_once": "#9fb3cc",
    "monthly": "#6f93bf",
    "weekly": "#3f74ad",
    "daily": "#24558c",
}
MUTED = "#5f6b7a"
GRID = "#d5d9df"
FONT = "'BIZ UDPGothic', 'Hiragino Sans', 'Yu Gothic', 'Noto Sans CJK JP', sans-serif"

WIDTH = 640
FONT_SIZE = 13


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "ja"


def _t(key: str, lang: str, **values: Any) -> str:
    return translate(f"chart.{key}", _lang(lang), **values)


def usage_name(code: str, lang: str = "ja") -> str:
    """The usage question's answer ``code`` as the charts and the report name it."""
    return _t(f"usage.{code}", lang)


def text(key: str, lang: str = "ja") -> str:
    """One of the charts' own texts (titles, legends) in ``lang``."""
    return _t(key, lang)


def _playbook():
    from .recommend.playbook import load_playbook

    return load_playbook()


def colour(cause: str) -> str:
    """A cause's colour from the playbook (an unknown label takes the colour of 'other')."""
    return _playbook().colour(cause)


def cause_colours() -> dict[str, str]:
    """Every label's colour, in display order."""
    return _playbook().colours()


def cause_name(cause: str, lang: str = "ja") -> str:
    """The display name of a cause id: the playbook's name (``causes``), capitalised as a label,
    the one name the dashboard, the charts and the PDF show (the id itself when unknown)."""
    pb = _playbook()
    if cause not in pb.data["causes"]:
        return cause
    name = pb.cause_name(cause, _lang(lang))
    return name[:1].upper() + name[1:]


def _n(x: float) -> str:
    """A coordinate with at most one decimal, stable across platforms."""
    s = f"{x:.1f}"
    return s[:-2] if s.endswith(".0") else s


def _pct(x: float) -> str:
    return f"{round(100 * x)}%"


def _text_width(s: str, size: float = FONT_SIZE) -> float:
    """Rough rendered width: full-width characters take one em, others about 0.58 em."""
    w = 0.0
    for ch in s:
        w += 1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.62
    return w * size


def _fit(s: str, max_width: float, size: float = FONT_SIZE) -> str:
    """Shorten a label with an ellipsis so that it fits max_width."""
    if _text_width(s, size) <= max_width:
        return s
    out = ""
    for ch in s:
        if _text_width(out + ch + "…", size) > max_width:
            break
        out += ch
    return out + "…"


# Widest label column of the cause charts: the playbook's English names ("Insufficient training
# and support") fit whole, leaving the bars 320 px of 640.
CAUSE_LABEL_MAX = 272.0


def _label_width(labels: Iterable[str], lo: float = 90.0, hi: float = 200.0) -> float:
    """Width of the label column: the longest label, kept between lo and hi."""
    return min(max([lo] + [_text_width(s) + 6 for s in labels]), hi)


def _text(x: float, y: float, s: str, *, size: float = FONT_SIZE, anchor: str = "start",
          fill: str = INK, weight: str | None = None, cls: str | None = None) -> str:
    attrs = [f'x="{_n(x)}"', f'y="{_n(y)}"', f'font-size="{_n(size)}"', f'fill="{fill}"']
    if anchor != "start":
        attrs.append(f'text-anchor="{anchor}"')
    if weight:
        attrs.append(f'font-weight="{weight}"')
    if cls:
        attrs.append(f'class="{cls}"')
    return f"<text {' '.join(attrs)}>{escape(s)}</text>"


def _rect(x: float, y: float, w: float, h: float, fill: str, *, cls: str | None = None,
          opacity: float | None = None, stroke: str | None = None) -> str:
    attrs = [f'x="{_n(x)}"', f'y="{_n(y)}"', f'width="{_n(max(w, 0))}"',
             f'height="{_n(max(h, 0))}"', f'fill="{fill}"']
    if opacity is not None:
        attrs.append(f'fill-opacity="{opacity:.2f}"')
    if stroke:
        attrs.append(f'stroke="{stroke}" stroke-width="1"')
    if cls:
        attrs.append(f'class="{cls}"')
    return f"<rect {' '.join(attrs)}/>"


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str = GRID,
          width: float = 1) -> str:
    return (f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" '
            f'stroke="{stroke}" stroke-width="{_n(width)}"/>')


def _svg(kind: str, height: float, title: str, desc: str, body: Iterable[str],
         lang: str) -> Markup:
    """Wrap chart elements in an accessible, viewBox-sized SVG element."""
    h = _n(height)
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="tk-chart tk-chart-{kind}" '
            f'viewBox="0 0 {WIDTH} {h}" width="{WIDTH}" height="{h}" '
            f'preserveAspectRatio="xMinYMin meet" role="img" aria-label="{escape(title)}" '
            f'lang="{_lang(lang)}" font-family="{escape(FONT)}">'
            f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>")
    # Every text node and attribute above went through escape(); numbers are formatted here.
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704


def _hatch(x: float, y: float, w: float, h: float, step: float = 7.0) -> list[str]:
    """A grey box with diagonal hatching clipped by arithmetic (no pattern ids to collide)."""
    d = []
    c = step
    while c < w + h:
        x1, y1 = max(0.0, c - h), min(h, c)
        x2, y2 = min(w, c), max(0.0, c - w)
        d.append(f"M{_n(x + x1)} {_n(y + y1)}L{_n(x + x2)} {_n(y + y2)}")
        c += step
    return [_rect(x, y, w, h, "#f3f4f6", stroke="#c3c8cf", cls="tk-suppressed"),
            f'<path d="{"".join(d)}" stroke="#cfd3d9" stroke-width="1" fill="none"/>']


def _plate(cx: float, y: float, s: str, size: float) -> str:
    """A white plate behind a label drawn over hatching, so it stays readable."""
    w = _text_width(s, size) + 10
    return _rect(cx - w / 2, y, w, size + 5, "#ffffff")


def _usage_counts(usage: Mapping[str, Any]) -> dict[str, int]:
    counts = usage.get("counts") if isinstance(usage.get("counts"), Mapping) else usage
    return {c: int(counts.get(c) or 0) for c in USAGE_CODES}


def funnel_chart(usage: dict[str, int], lang: str = "ja") -> Markup:
    """Horizontal bars of the usage funnel (never … daily) with counts and percentages."""
    counts = _usage_counts(usage)
    total = sum(counts.values())
    label_w = _label_width(usage_name(c, lang) for c in USAGE_CODES)
    right_w = 110.0
    bar_x, bar_w = label_w + 10, WIDTH - label_w - 10 - right_w
    row_h, bar_h, top = 30.0, 18.0, 8.0
    body: list[str] = []
    desc: list[str] = []
    for i, code in enumerate(USAGE_CODES):
        y = top + i * row_h
        n = counts[code]
        share = n / total if total else 0.0
        name = usage_name(code, lang)
        body.append(_text(label_w, y + 13, _fit(name, label_w), anchor="end"))
        body.append(_rect(bar_x, y, bar_w, bar_h, "#eef0f3"))
        body.append(_rect(bar_x, y, bar_w * share, bar_h, USAGE_COLOURS[code],
                          cls=f"tk-usage-{code}"))
        value = _t("count_share", lang, n=n, pct=_pct(share)) if total else "–"
        body.append(_text(bar_x + bar_w + 8, y + 13, value, fill=MUTED))
        desc.append(f"{name}: {n} ({_pct(share)})" if total else f"{name}: –")
    height = top + len(USAGE_CODES) * row_h
    return _svg("funnel", height, _t("funnel.title", lang), "; ".join(desc), body, lang)


def _score_of(v: Any) -> float | None:
    if isinstance(v, Mapping):
        v = v.get("score")
    return None if v is None else float(v)


def _axis(x0: float, w: float, y_top: float, y_bottom: float) -> list[str]:
    out = []
    for tick in (0, 25, 50, 75, 100):
        x = x0 + w * tick / 100
        out.append(_line(x, y_top, x, y_bottom, GRID, 1))
        out.append(_text(x, y_bottom + 14, str(tick), size=11, anchor="middle", fill=MUTED))
    return out


def cause_chart(causes: dict[str, dict], lang: str = "ja") -> Markup:
    """Horizontal bars of each cause's score (0-100) with its interval whisker when present."""
    shown = [c for c in LABELS if c in causes and (c in CAUSES or _score_of(causes[c]) is not None)]
    label_w, right_w = _label_width((cause_name(c, lang) for c in LABELS), hi=CAUSE_LABEL_MAX), 50.0
    bar_x, bar_w = label_w + 10, WIDTH - label_w - 10 - right_w
    row_h, bar_h, top = 34.0, 20.0, 8.0
    body: list[str] = []
    bottom = top + max(len(shown), 1) * row_h
    body += _axis(bar_x, bar_w, top - 4, bottom - 6)
    desc: list[str] = []
    for i, c in enumerate(shown):
        y = top + i * row_h
        entry = causes.get(c) or {}
        score = _score_of(entry)
        name = cause_name(c, lang)
        body.append(_text(label_w, y + 15, _fit(name, label_w), anchor="end"))
        if score is None:
            body.append(_text(bar_x + 6, y + 15, _t("no_data", lang), fill=MUTED))
            desc.append(f"{name}: {_t('no_data', lang)}")
            continue
        s = min(max(score, 0.0), 100.0)
        body.append(_rect(bar_x, y, bar_w * s / 100, bar_h, colour(c),
                          cls=f"tk-cause-{c}"))
        iv = entry.get("interval") if isinstance(entry, Mapping) else None
        text = f"{name}: {score:.0f}"
        if iv and iv[0] is not None and iv[1] is not None:
            lo, hi = (min(max(float(v), 0.0), 100.0) for v in iv)
            x1, x2, ym = bar_x + bar_w * lo / 100, bar_x + bar_w * hi / 100, y + bar_h / 2
            body.append(_line(x1, ym, x2, ym, INK, 1.5))
            body.append(_line(x1, ym - 5, x1, ym + 5, INK, 1.5))
            body.append(_line(x2, ym - 5, x2, ym + 5, INK, 1.5))
            text += f" ({_t('interval', lang)} {lo:.0f}–{hi:.0f})"
        body.append(_text(bar_x + bar_w + 8, y + 15, f"{score:.0f}", weight="bold"))
        desc.append(text)
    height = bottom + 12
    return _svg("causes", height, _t("cause.title", lang), "; ".join(desc), body, lang)


def share_chart(shares: dict[str, float], lang: str = "ja") -> Markup:
    """One stacked 100% bar of comment shares per cause, including other, with a legend."""
    values = {}
    for c in LABELS:
        v = shares.get(c)
        if isinstance(v, Mapping):
            v = v.get("share")
        values[c] = max(float(v), 0.0) if v is not None else 0.0
    total = sum(values.values())
    bar_x, bar_w, bar_y, bar_h = 0.0, float(WIDTH), 4.0, 30.0
    body: list[str] = []
    desc: list[str] = []
    if total <= 0:
        body.append(_rect(bar_x, bar_y, bar_w, bar_h, "#eef0f3"))
        body.append(_text(WIDTH / 2, bar_y + 20, _t("no_comments", lang), anchor="middle",
                          fill=MUTED))
        return _svg("shares", bar_y + bar_h + 8, _t("share.title", lang),
                    _t("no_comments", lang), body, lang)
    x = bar_x
    for c in LABELS:
        frac = values[c] / total
        w = bar_w * frac
        if w > 0:
            body.append(_rect(x, bar_y, w, bar_h, colour(c), cls=f"tk-cause-{c}"))
            if w >= 44:
                body.append(_text(x + w / 2, bar_y + 20, _pct(frac), anchor="middle",
                                  fill="#ffffff", weight="bold"))
        x += w
        desc.append(f"{cause_name(c, lang)}: {_pct(frac)}")
    # legend: two columns
    ly = bar_y + bar_h + 14
    for i, c in enumerate(LABELS):
        lx = (i % 2) * (WIDTH / 2)
        yy = ly + (i // 2) * 22
        body.append(_rect(lx, yy, 12, 12, colour(c), cls=f"tk-cause-{c}"))
        body.append(_text(lx + 18, yy + 11, f"{cause_name(c, lang)}  {_pct(values[c] / total)}"))
    height = ly + 2 * 22
    return _svg("shares", height, _t("share.title", lang), "; ".join(desc), body, lang)


def _cell_colour(colour: str, score: float) -> tuple[float, str]:
    """Opacity of the cause colour for a 0-100 score, and a text colour readable on the blend."""
    s = min(max(score, 0.0), 100.0) / 100
    opacity = 0.12 + 0.88 * s
    return opacity, readable_ink(blend(colour, opacity))


def heatmap_chart(rows: list[tuple[str, dict[str, float | None] | None]], lang: str = "ja",
                  suppressed_label: str | None = None) -> Markup:
    """Segment x cause grid of scores; suppressed rows and cells are hatched and carry no number."""
    cols = [c for c in LABELS
            if c in CAUSES or any(isinstance(d, Mapping) and d.get(c) is not None
                                  for _, d in rows)]
    cell_label = suppressed_label or _t("suppressed", lang)
    row_label = suppressed_label or _t("suppressed_row", lang)
    label_w = _label_width((str(lab) for lab, _ in rows), 90.0, 215.0)
    col_w = (WIDTH - label_w - 10) / len(cols)
    head_h, row_h = 28.0, 28.0
    body: list[str] = []
    desc: list[str] = []
    for j, c in enumerate(cols):
        cx = label_w + 10 + j * col_w + col_w / 2
        head = _playbook().short_name(c, _lang(lang))
        body.append(_text(cx, 18, _fit(head, col_w - 4, 11), size=11,
                          anchor="middle", weight="bold", fill=colour(c)))
    for i, (label, values) in enumerate(rows):
        y = head_h + i * row_h
        lab = str(label)
        body.append(f"<g><title>{escape(lab)}</title>")
        body.append(_text(0, y + 18, _fit(lab, label_w)))
        body.append("</g>")
        x0 = label_w + 10
        if not isinstance(values, Mapping):
            body += _hatch(x0, y + 2, WIDTH - x0, row_h - 4)
            body.append(_plate(x0 + (WIDTH - x0) / 2, y + 6, row_label, 12))
            body.append(_text(x0 + (WIDTH - x0) / 2, y + 18, row_label, size=12,
                              anchor="middle", fill=MUTED))
            desc.append(f"{lab}: {row_label}")
            continue
        parts = []
        for j, c in enumerate(cols):
            x = x0 + j * col_w
            v = values.get(c)
            if v is None:
                body += _hatch(x + 1, y + 2, col_w - 2, row_h - 4)
                body.append(_plate(x + col_w / 2, y + 7, cell_label, 11))
                body.append(_text(x + col_w / 2, y + 18, cell_label, size=11, anchor="middle",
                                  fill=MUTED))
                parts.append(f"{cause_name(c, lang)} {cell_label}")
                continue
            score = float(v)
            opacity, ink = _cell_colour(colour(c), score)
            body.append(_rect(x + 1, y + 2, col_w - 2, row_h - 4, colour(c), opacity=opacity,
                              cls=f"tk-cause-{c}"))
            body.append(_text(x + col_w / 2, y + 18, f"{score:.0f}", anchor="middle", fill=ink,
                              weight="bold"))
            parts.append(f"{cause_name(c, lang)} {score:.0f}")
        desc.append(f"{lab}: " + ", ".join(parts))
    height = head_h + max(len(rows), 1) * row_h + 4
    return _svg("heatmap", height, _t("heatmap.title", lang), "; ".join(desc), body, lang)


def wave_chart(earlier: dict[str, float | None], later: dict[str, float | None],
               lang: str = "ja", labels: tuple[str, str] | None = None) -> Markup:
    """Paired bars per cause: the earlier wave (light) above the later wave (full colour)."""
    lab_e, lab_l = labels or (_t("wave.earlier", lang), _t("wave.later", lang))
    shown = [c for c in LABELS if c in CAUSES or _score_of(earlier.get(c)) is not None
             or _score_of(later.get(c)) is not None]
    label_w, right_w = _label_width((cause_name(c, lang) for c in LABELS), hi=CAUSE_LABEL_MAX), 130.0
    bar_x, bar_w = label_w + 10, WIDTH - label_w - 10 - right_w
    bar_h, gap, group_h, top = 14.0, 3.0, 46.0, 30.0
    body: list[str] = []
    # legend
    for k, (name, op) in enumerate(((lab_e, 0.4), (lab_l, 1.0))):
        lx = bar_x + k * 160
        body.append(_rect(lx, 4, 12, 12, INK, opacity=op))
        body.append(_text(lx + 18, 15, _fit(name, 130, 12), size=12))
    bottom = top + max(len(shown), 1) * group_h
    body += _axis(bar_x, bar_w, top - 4, bottom - 8)
    desc: list[str] = []
    for i, c in enumerate(shown):
        y = top + i * group_h
        name = cause_name(c, lang)
        body.append(_text(label_w, y + bar_h + 4, _fit(name, label_w), anchor="end"))
        e, la = _score_of(earlier.get(c)), _score_of(later.get(c))
        for k, (v, op) in enumerate(((e, 0.4), (la, 1.0))):
            yy = y + k * (bar_h + gap)
            if v is None:
                body.append(_text(bar_x + 4, yy + 11, _t("no_data", lang), size=11, fill=MUTED))
                continue
            s = min(max(v, 0.0), 100.0)
            body.append(_rect(bar_x, yy, bar_w * s / 100, bar_h, colour(c), opacity=op,
                              cls=f"tk-cause-{c}"))
        if e is not None and la is not None:
            delta = la - e
            sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
            body.append(_text(bar_x + bar_w + 8, y + bar_h + 4,
                              f"{e:.0f} → {la:.0f} ({sign}{abs(delta):.0f})", size=12))
        fmt = [("–" if v is None else f"{v:.0f}") for v in (e, la)]
        desc.append(f"{name}: {lab_e} {fmt[0]}, {lab_l} {fmt[1]}")
    height = bottom + 10
    return _svg("waves", height, _t("wave.title", lang), "; ".join(desc), body, lang)


def reasons_chart(reasons: Mapping[str, Any] | None, lang: str = "ja") -> Markup:
    """Bars of the share of checklist respondents who chose each reason, most chosen first,
    coloured by the cause the reason names (grey for "something else")."""
    options = list((reasons or {}).get("options") or [])
    n = int((reasons or {}).get("n") or 0)
    body: list[str] = []
    if n == 0 or not options:
        body.append(_rect(0, 4, WIDTH, 30, "#eef0f3"))
        body.append(_text(WIDTH / 2, 24, _t("reasons.none", lang), anchor="middle", fill=MUTED))
        return _svg("reasons", 42, _t("reasons.title", lang), _t("reasons.none", lang), body, lang)
    ranked = sorted(options, key=lambda o: (-int(o.get("count") or 0), options.index(o)))
    right_w = 96.0
    bar_w = WIDTH - right_w
    row_h, bar_h, top = 42.0, 14.0, 4.0
    desc: list[str] = []
    for i, o in enumerate(ranked):
        y = top + i * row_h
        count = int(o.get("count") or 0)
        frac = count / n
        label = str(o.get("label") or o.get("code"))
        body.append(_text(0, y + 13, _fit(label, WIDTH - 8)))
        body.append(_rect(0, y + 19, bar_w, bar_h, "#eef0f3"))
        cause = o.get("cause") or "other"
        body.append(_rect(0, y + 19, bar_w * frac, bar_h, colour(cause),
                          cls=f"tk-cause-{cause}"))
        figure = _t("share_count", lang, pct=_pct(frac), n=count)
        body.append(_text(WIDTH, y + 31, figure, anchor="end", weight="bold"))
        desc.append(f"{label}: {figure}")
    height = top + len(ranked) * row_h + 4
    return _svg("reasons", height, _t("reasons.title", lang), "; ".join(desc), body, lang)


def evidence_chart(causes: Mapping[str, Mapping[str, Any]], lang: str = "ja") -> Markup:
    """Per cause, two bars side by side: the self-reported share (reason checklist) and the
    classified-comment share, each with its interval; a pair whose intervals do not overlap is
    marked, so a disagreement between the two kinds of evidence cannot be missed."""
    label_w = _label_width((cause_name(c, lang) for c in LABELS), hi=CAUSE_LABEL_MAX)
    bar_x, right_w = label_w + 10, 120.0
    bar_w = WIDTH - bar_x - right_w
    row_h, bar_h, top = 50.0, 14.0, 30.0
    body: list[str] = []
    # legend
    for i, (key, opacity) in enumerate((("evidence.self", 1.0), ("evidence.text", 0.45))):
        lx = bar_x + i * 190
        body.append(_rect(lx, 4, 12, 12, INK, opacity=opacity))
        body.append(_text(lx + 18, 15, _t(key, lang)))
    body += _axis(bar_x, bar_w, top - 4, top + len(LABELS) * row_h - 6)
    desc: list[str] = []
    for i, c in enumerate(LABELS):
        entry = causes.get(c) or {}
        own = entry.get("self_reported") or {}
        y = top + i * row_h
        name = cause_name(c, lang)
        body.append(_text(label_w, y + 20, _fit(name, label_w), anchor="end"))
        pairs = ((own.get("share"), own.get("interval"), 1.0, "evidence.self"),
                 (entry.get("share"), entry.get("share_interval"), 0.45, "evidence.text"))
        ivs = []
        for j, (share, iv, opacity, key) in enumerate(pairs):
            yy = y + j * (bar_h + 4)
            if share is None:
                body.append(_text(bar_x + 4, yy + 11, _t("no_data", lang), size=11, fill=MUTED))
                continue
            body.append(_rect(bar_x, yy, bar_w * float(share), bar_h, (colour(c) if c in LABELS else INK),
                              cls=f"tk-cause-{c}", opacity=opacity))
            text = _pct(float(share))
            if iv and iv[0] is not None and iv[1] is not None:
                x1, x2, ym = bar_x + bar_w * float(iv[0]), bar_x + bar_w * float(iv[1]), yy + bar_h / 2
                body.append(_line(x1, ym, x2, ym, INK, 1.2))
                body.append(_line(x1, ym - 4, x1, ym + 4, INK, 1.2))
                body.append(_line(x2, ym - 4, x2, ym + 4, INK, 1.2))
                ivs.append((float(iv[0]), float(iv[1])))
                text += f" ({_pct(float(iv[0]))}–{_pct(float(iv[1]))})"
            body.append(_text(bar_x + bar_w + 6, yy + 11, _pct(float(share)), size=11))
            desc.append(f"{name}, {_t(key, lang)}: {text}")
        if len(ivs) == 2 and (ivs[0][0] > ivs[1][1] or ivs[1][0] > ivs[0][1]):
            body.append(_text(label_w, y + 36, "≠ " + _t("evidence.disagree", lang), size=10,
                              anchor="end", fill="#b42318", weight="bold"))
            desc.append(f"{name}: {_t('evidence.disagree', lang)}")
    height = top + len(LABELS) * row_h
    return _svg("evidence", height, _t("evidence.title", lang), "; ".join(desc), body, lang)


def driver_chart(drivers: Mapping[str, Mapping[str, Any]] | None, analysis: Mapping[str, Any] | None,
                 lang: str = "ja") -> Markup:
    """Bars of each cause's share of the explained variance in use with its bootstrap interval;
    the verdict (a driver stands out, none does, or too few respondents) is the last line."""
    analysis = analysis or {}
    drivers = drivers or {}
    label_w = _label_width((cause_name(c, lang) for c in CAUSES), hi=CAUSE_LABEL_MAX)
    bar_x, right_w = label_w + 10, 120.0
    bar_w = WIDTH - bar_x - right_w
    row_h, bar_h, top = 34.0, 18.0, 8.0
    body: list[str] = []
    desc: list[str] = []
    n, min_n = analysis.get("n", 0), analysis.get("min_n", 0)
    if not analysis.get("available"):
        key = "drivers.no_variation" if analysis.get("verdict") == "no_variation" else "drivers.too_few"
        msg = _t(key, lang).format(min_n=min_n, n=n)
        body.append(_rect(0, 4, WIDTH, 30, "#eef0f3"))
        body.append(_text(WIDTH / 2, 24, msg, anchor="middle", fill=MUTED))
        return _svg("drivers", 42, _t("drivers.title", lang), msg, body, lang)
    bottom = top + len(CAUSES) * row_h
    body += _axis(bar_x, bar_w, top - 4, bottom - 6)
    for i, c in enumerate(CAUSES):
        entry = drivers.get(c) or {}
        y = top + i * row_h
        name = cause_name(c, lang)
        share = float(entry.get("importance") or 0.0)
        body.append(_text(label_w, y + 14, _fit(name, label_w), anchor="end"))
        body.append(_rect(bar_x, y, bar_w * min(max(share, 0.0), 1.0), bar_h, colour(c), cls=f"tk-cause-{c}"))
        text = _pct(share)
        iv = entry.get("interval")
        if iv and iv[0] is not None and iv[1] is not None:
            lo, hi = (min(max(float(v), 0.0), 1.0) for v in iv)
            x1, x2, ym = bar_x + bar_w * lo, bar_x + bar_w * hi, y + bar_h / 2
            body.append(_line(x1, ym, x2, ym, INK, 1.5))
            body.append(_line(x1, ym - 5, x1, ym + 5, INK, 1.5))
            body.append(_line(x2, ym - 5, x2, ym + 5, INK, 1.5))
            text += f" ({_pct(lo)}–{_pct(hi)})"
        bold = "bold" if analysis.get("top") == c else None
        body.append(_text(bar_x + bar_w + 8, y + 14, text, size=12, weight=bold))
        desc.append(f"{name}: {text}")
    top_cause = analysis.get("top")
    verdict = (cause_name(top_cause, lang) + _t("drivers.stands_out", lang) if top_cause
               else _t("drivers.none", lang))
    r2 = analysis.get("r2")
    footer = f"{verdict} (n={n}" + (f", R² {r2:.2f})" if r2 is not None else ")")
    body.append(_text(0, bottom + 26, footer, size=12, fill=MUTED))
    desc.append(footer)
    return _svg("drivers", bottom + 34, _t("drivers.title", lang), "; ".join(desc), body, lang)
