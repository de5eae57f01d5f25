"""The client PDF: diagnosis → context → ``templates/report/report.html`` → WeasyPrint (sandboxed)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import current_app

from .. import charts
from ..adaptation import summary as adaptation_summary
from ..classification import configured_backend, diagnose_options
from ..colours import cause_stylesheet
from ..presenter import present
from ..questionnaire import questionnaire_for
from ..recommend.anonymity import quotable, segment_counts
from ..recommend.data import CAUSES, SEGMENT_FIELDS
from ..recommend.playbook import load_playbook
from ..recommend.redact import quote
from .sandbox import STATIC_DIR, ReportFonts, SandboxedFetcher, find_fonts, report_fetcher
from .text import translate

log = logging.getLogger(__name__)

TEMPLATE = "report/report.html"
STYLESHEET = STATIC_DIR / "report.css"
QUOTES_PER_CAUSE = 3
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


class PendingCommentsError(RuntimeError):
    """The report was refused: comments still wait for the classifier (see ``allow_pending``)."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} comment(s) not classified yet")
        self.count = count


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{round(100 * x)}%"


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:.0f}"


def cause_quotes(diag: Any, lang: str, limit: int = QUOTES_PER_CAUSE) -> dict[str, list[str]]:
    """Redacted quotes per cause from evidence that is quotable under the anonymity rules."""
    data, th = diag.data, diag.thresholds
    min_conf = load_playbook().section("scoring")["min_confidence"]
    counts = {f: segment_counts(data.responses, f)[0] for f in SEGMENT_FIELDS}
    eligible = [e for e in data.evidence
                if e.label in CAUSES + ("other",) and e.confidence >= min_conf
                and quotable(e, None, th, counts, len(data.responses))]
    out: dict[str, list[str]] = {}
    for cause in CAUSES + ("other",):
        pool = [e for e in eligible if e.label == cause and len(e.text.strip()) >= 8]

        def key(e: Any) -> tuple:
            same_lang = bool(_JAPANESE.search(e.text)) == (lang == "ja")
            return (same_lang, e.source == "survey", round(e.confidence, 2),
                    min(len(e.text), 60), -e.id)

        quotes: list[str] = []
        for e in sorted(pool, key=key, reverse=True):
            q = quote(e.text)
            if q and q not in quotes:
                quotes.append(q)
            if len(quotes) >= (limit if cause in CAUSES else 2):
                break
        out[cause] = quotes
    return out


def classifier_metrics(models_dir: str | Path | None, backend: str | None = None) -> dict[str, Any] | None:
    """Measured accuracy of the deployed comment classifier from models/metadata.json, if any.

    ``backend`` is the app's EMBEDDING_MODEL (None: the environment, else the models' default),
    so the report quotes the figures of the model that labelled the comments. The primary figure
    is the wild set's (text written to be hard, in real registers), with the labellers' agreement
    beside it; a clean held-out set and cross-validation are secondary.
    """
    if not models_dir:
        return None
    path = Path(models_dir) / "metadata.json"
    try:
        from ..nlp import active_backend
        from ..nlp.corpus import load_agreement

        meta = json.loads(path.read_text(encoding="utf-8"))
        backend = active_backend(models_dir, backend)
        head = meta["heads"][backend]
        sets = head.get("eval_sets") or {}
        primary = sets.get(head.get("primary") or "") or {}
        clean = sets.get("heldout") or {}
        cv = head.get("cv") or {}
        agreement = load_agreement(Path(models_dir) / "corpus") or {}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not primary.get("macro_f1"):
        return None

    def f(x: Any) -> str:
        return "–" if x is None else f"{float(x):.2f}"

    names = {
        "use": "Universal Sentence Encoder v3",
        "e5": "multilingual-e5-small",
        "e5-int8": "multilingual-e5-small (int8)",
        "e5-ft": "multilingual-e5-small, fine-tuned (int8)",
    }
    return {"backend": names.get(backend, str(backend)), "n": primary.get("n", "–"),
            "f1": f(primary.get("macro_f1")), "f1_ja": f(primary.get("by_lang", {}).get("ja")),
            "f1_en": f(primary.get("by_lang", {}).get("en")),
            "agreement": f(agreement.get("labeller_agreement")),
            "unclear": _pct(primary.get("unclear_share")),
            "acc": f(primary.get("accuracy_when_not_unclear")),
            "n_clean": clean.get("n", "–"), "f1_clean": f(clean.get("macro_f1")),
            "cv": f(cv.get("macro_f1")), "trained": str(head.get("trained_at", "–"))[:10]}


def _consultant_names(camp: Any, consultant: Any) -> str | None:
    if consultant is not None:
        return str(getattr(consultant, "name", consultant))
    names = sorted(u.name for u in camp.organisation.users if u.role == "consultant" and u.active)
    return "、".join(names) if names else None


def _summary(d: dict[str, Any], lang: str) -> list[str]:
    """Three sentences: the main cause, the remedy to start with, and why."""
    causes, dom = d["causes"], d.get("dominance") or {}
    top, runner = dom.get("top"), dom.get("runner_up")
    out = []
    if top:
        values = {"cause": charts.cause_name(top, lang), "score": _num(causes[top]["score"])}
        if runner:
            values.update(runner=charts.cause_name(runner, lang),
                          runner_score=_num(causes[runner]["score"]),
                          diff=f"{dom['difference']:.0f}")
            key = "sum_mixed" if d["dominant_cause"] == "mixed" else "sum_dominant"
        else:
            key = "sum_single"
        out.append(translate(key, lang, **values))
    start = next((r for r in d["recommendations"] if r["start"]), None)
    if start:
        out.append(translate("sum_start", lang, remedy=start["name"], format=start["format"]))
        out.append(load_playbook().why(start["remedy"], lang,
                                       habit=_pct(d["usage"]["habit_rate"] if d["usage"] else None)))
    return out


def _wave_section(view: Any, lang: str) -> dict[str, Any] | None:
    """The PDF's wave section: the presenter's comparison, with its tables in the report's words."""
    wave = view.wave
    if wave is None:
        return None
    if wave.comparison is None:
        return {"error": translate("wave_error", lang, reason=wave.problem), "name": wave.earlier.name}
    cmp = wave.comparison
    usage = [{"name": charts.usage_name(code, lang), "before": cmp.usage["counts_before"].get(code, 0),
              "after": cmp.usage["counts_after"].get(code, 0),
              "change": cmp.usage["counts_change"].get(code, 0)} for code in charts.USAGE_CODES]
    change = [{"name": (charts.cause_name(k, lang) if k in CAUSES else translate(f"rate_{k}", lang)),
               "delta": v.delta * (100 if v.unit == "rate" else 1),
               "lo": v.interval[0] * (100 if v.unit == "rate" else 1),
               "hi": v.interval[1] * (100 if v.unit == "rate" else 1),
               "verdict": translate(f"verdict_{v.verdict}", lang)}
              for k, v in cmp.change.items() if v.delta is not None and v.interval is not None]
    return {"name": wave.earlier.name, "opens_on": wave.earlier.opens_on, "findings": cmp.findings,
            "improved": cmp.improved, "usage": usage, "change": change, "chart": view.charts["wave"]}


def build_context(campaign: Any, lang: str = "ja", report_date: dt.date | None = None,
                  consultant: Any = None, *, allow_pending: bool = False) -> dict[str, Any]:
    """Everything the report template shows, computed from the campaign's diagnosis.

    Raises :class:`PendingCommentsError` while comments wait for the classifier, unless
    ``allow_pending``: the report then says how many were left out.
    """
    from ..recommend.loader import find_campaign
    from ..recommend.service import diagnose_campaign, driver_finding

    lang = "en" if lang == "en" else "ja"
    camp = find_campaign(campaign)
    cfg = current_app.config
    questionnaires = current_app.extensions.get("questionnaires", {})

    def diagnose(c: Any) -> Any:
        return diagnose_campaign(c, lang, questionnaire=questionnaire_for(questionnaires, c),
                                 report_date=report_date, **diagnose_options(c.organisation_id))

    diag = diagnose(camp)
    if diag.data.pending_comments and not allow_pending:  # refused before the wave and charts are built
        raise PendingCommentsError(diag.data.pending_comments)
    pb = load_playbook()
    view = present(camp, lang, diagnose, pb, diagnosis=diag)
    d = view.d
    ctx: dict[str, Any] = {
        "lang": lang, "d": d, "tr": lambda key, **kw: translate(key, lang, **kw),
        "client": camp.organisation.display_name(lang), "campaign_name": camp.name,
        "report_date": d["report_date"], "consultant": _consultant_names(camp, consultant),
        "note": (camp.consultant_note or "").strip(),
        "classifier": classifier_metrics(cfg.get("MODELS_DIR"), configured_backend()),
        "adaptation": adaptation_summary(camp.organisation_id),
        "cause_name": lambda c: charts.cause_name(c, lang),
        "pct": _pct, "num": _num, "wave": _wave_section(view, lang),
        "warnings": view.warnings, "chart": view.charts,
    }
    sc = pb.section("scoring")
    lw, tw = float(sc["likert_weight"]), float(sc["text_weight"])
    sw = float(sc.get("self_report_weight", 0.0)) if d.get("reason_choices") else 0.0
    total = lw + tw + sw
    ctx["scoring"] = {"a": f"{lw / total:.2f}", "b": f"{tw / total:.2f}", "s": f"{sw / total:.2f}",
                      "z": f"{sc['z']:g}", "checklist": sw > 0}
    drv = pb.section("drivers")
    ctx["driver_method"] = {"min_n": drv["min_n"], "boot": drv["n_boot"], "min_r2": f"{drv['min_r2']:g}",
                            "min_comments": drv["min_comments"]}
    if d["suppressed"]:
        return ctx
    start = next((r for r in d["recommendations"] if r["start"]), None)
    ctx.update({
        "summary": _summary(d, lang),
        "start": start,
        "others": [r for r in d["recommendations"] if not r["start"]],
        "quotes": cause_quotes(diag, lang),
        "themes": [(pb.theme_label(t, lang), n) for t, n in
                   sorted(d["causes"]["other"]["themes"].items(), key=lambda x: (-x[1], x[0]))
                   if n and t != "unthemed"],
        "driver_text": driver_finding(diag.drivers, pb, lang) if diag.drivers is not None else None,
    })
    return ctx


def render_report_html(campaign: Any, lang: str = "ja", report_date: dt.date | None = None,
                       consultant: Any = None, *, allow_pending: bool = False) -> str:
    """The report as HTML, rendered by the application's Jinja environment (autoescaped)."""
    ctx = build_context(campaign, lang, report_date, consultant, allow_pending=allow_pending)
    return current_app.jinja_env.get_template(TEMPLATE).render(ctx)


class _GlyphWatch(logging.Handler):
    """Collects WeasyPrint warnings about missing glyphs during one render."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.missing: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if ".notdef" in msg or "missing glyph" in msg.lower():
            self.missing.append(msg)


def html_to_pdf(html: str, fonts: ReportFonts | None = None,
                fetcher: SandboxedFetcher | None = None, tagged: bool = True) -> bytes:
    """Render report HTML to PDF bytes with the report stylesheet and the sandboxed fetcher.

    Tagged by default: a structure tree (headings, lists, tables, charts as figures with their
    titles as alternative text) and the document language, so a screen reader reads the report in
    order. Not WeasyPrint's ``pdf/ua-1`` variant: it adds only a PDF/UA conformance claim to the
    metadata, which nothing here validates. ``bench/bench_report.py`` measures the cost."""
    import weasyprint

    fonts = fonts or find_fonts()
    fetcher = fetcher or report_fetcher(fonts)
    watch = _GlyphWatch()
    wlog = logging.getLogger("weasyprint")
    wlog.addHandler(watch)
    try:
        doc = weasyprint.HTML(string=html, base_url=STATIC_DIR.as_uri() + "/", url_fetcher=fetcher)
        styles = [weasyprint.CSS(string=fonts.css(), url_fetcher=fetcher),
                  weasyprint.CSS(filename=str(STYLESHEET), url_fetcher=fetcher),
                  weasyprint.CSS(string=cause_stylesheet(charts.cause_colours()), url_fetcher=fetcher)]
        pdf = doc.write_pdf(stylesheets=styles, pdf_tags=tagged)
    finally:
        wlog.removeHandler(watch)
    if watch.missing:
        log.warning("report rendered with missing glyphs: %s", "; ".join(watch.missing[:3]))
    return pdf


# The stages render_report_pdf reports through on_step, in order.
REPORT_STEPS = ("diagnosis and charts", "PDF layout")


def render_report_pdf(campaign: Any, lang: str = "ja", report_date: dt.date | None = None,
                      consultant: Any = None, *, allow_pending: bool = False,
                      on_step: Callable[[str], None] | None = None) -> bytes:
    """The client report as PDF bytes (A4); refused with :class:`PendingCommentsError` while comments
    wait for the classifier, unless ``allow_pending``. ``on_step(name)`` follows REPORT_STEPS."""
    step = on_step or (lambda _name: None)
    fonts = find_fonts()  # fail before the diagnosis work when the font is missing
    html = render_report_html(campaign, lang, report_date, consultant, allow_pending=allow_pending)
    step(REPORT_STEPS[0])
    pdf = html_to_pdf(html, fonts)
    step(REPORT_STEPS[1])
    return pdf


__all__ = ["build_context", "render_report_html", "render_report_pdf", "html_to_pdf",
           "cause_quotes", "classifier_metrics", "PendingCommentsError"]
