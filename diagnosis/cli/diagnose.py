"""``teichaku diagnose CAMPAIGN``: the cause diagnosis and remedy recommendation on the terminal."""

from __future__ import annotations

import json
from typing import Any

import click
from flask import Flask, current_app

from ..i18n import translate
from ..questionnaire import questionnaire_for
from .common import parse_date as _date


def render_text(d: dict[str, Any], lang: str = "ja") -> str:
    """A readable plain-text report of a diagnosis dictionary."""
    def tr(msgid: str, **values: Any) -> str:
        return translate(msgid, lang, **values)

    lines: list[str] = []
    camp = d["campaign"]
    lines.append(f"{camp['organisation']} — {camp['name']} ({camp['slug']})")
    lines.append(tr("Report date: {date}", date=d["report_date"]))
    rel = d.get("release") or {}
    if rel:
        lines.append(f"{translate('anon.included', lang)}: {rel['included']} / "
                     f"{translate('anon.received', lang)}: {rel['received']}")
    warnings = d.get("warnings") or []
    if warnings:
        lines.append("")
        lines.append(tr("Warnings"))
        for w in warnings:
            lines.append(f"  ! {w['text']}")
            if w.get("hint"):
                lines.append(f"    → {w['hint']}")
    lines.append("")
    lines.append(tr("Findings"))
    lines += [f"  - {f}" for f in d["findings"]]
    if d["suppressed"]:
        return "\n".join(lines)
    lines.append("")
    lines.append(tr("Causes (score 0-100, higher = bigger problem)"))
    for cid, c in d["causes"].items():
        if cid == "other":
            share = "–" if c["share"] is None else f"{100 * c['share']:.0f}%"
            lines.append(f"  other       share {share}  n={c['n_comments']}  themes {c['themes']}")
            continue
        share = "–" if c["share"] is None else f"{100 * c['share']:.0f}%"
        lk = c["likert"]["score"]
        lines.append(f"  {cid:<11} score {c['score'] if c['score'] is not None else '–':>5}  "
                     f"share {share:>4}  n={c['n_comments']:<4} likert {lk if lk is not None else '–'}")
    lines.append(tr("Dominant cause: {cause}", cause=d["dominant_cause"]))
    lines += driver_lines(d, lang)
    lines.append("")
    for p in d["prerequisites"]:
        lines.append(tr("FIRST: {name}", name=p["name"]))
        lines.append(f"  {p['text']}")
        lines += [f"  * {r}" for r in p["reasons"]]
    lines.append("")
    lines.append(tr("Recommendations"))
    for r in d["recommendations"]:
        head = f"{r['rank']}. {r['name']} [{r['remedy']}] score {r['score']}"
        lines.append(tr("{line} ← start here", line=head) if r["start"] else head)
        lines.append(f"   {r['summary']}")
        lines += [f"   * {x}" for x in r["reasons"]]
        if r["quotes"]:
            lines.append("   " + tr("Voices:"))
            lines += ["     " + tr("“{quote}”", quote=q) for q in r["quotes"]]
        if r["start"]:
            lines.append("   " + tr("90-day plan:"))
            lines += [f"     [{p['days']}] {p['text']}" for p in r["plan"]]
            lines.append("   KPI:")
            lines += [f"     - {k}" for k in r["kpis"]]
            lines.append("   " + tr("Review: {date}", date=r["review_date"]))
    lines.append("")
    lines.append(tr("Supporting mechanisms"))
    lines += [f"  - {m['name']}: {m['text']}" for m in d["supporting"]]
    return "\n".join(lines)


def driver_lines(d: dict[str, Any], lang: str = "ja") -> list[str]:
    """The driver analysis as plain-text lines: share of the explained variance in use per cause."""
    a = d.get("driver_analysis")
    if not a:
        return []
    head = translate("Drivers of use (share of explained variance, 95% interval; n={n}, min_n={min_n})", lang,
                     n=a["n"], min_n=a["min_n"])
    lines = ["", head]
    if not a["available"]:
        lines.append("  " + translate("not estimated: {verdict}", lang, verdict=a["verdict"]))
        return lines
    for cid, v in d["drivers"].items():
        iv = v["interval"] or [0, 0]
        mark = " *" if cid == a["top"] else ""
        lines.append(f"  {cid:<11} {100 * (v['importance'] or 0):5.1f}%  "
                     f"({100 * iv[0]:.0f}–{100 * iv[1]:.0f}%){mark}")
    r2iv = a["r2_interval"] or [0, 0]
    lines.append(f"  R² {a['r2']:.3f} ({r2iv[0]:.3f}–{r2iv[1]:.3f})  "
                 + translate("verdict: {verdict}", lang, verdict=a["verdict"]))
    return lines


def change_lines(change: dict[str, Any], lang: str = "ja") -> list[str]:
    """The tested wave change as plain-text lines: delta, interval and verdict per measure."""
    out = []
    for key, v in change.items():
        if v["delta"] is None:
            continue
        scale = 100 if v["unit"] == "rate" else 1
        lo, hi = (x * scale for x in v["interval"])
        out.append(f"  {key:<13} {v['delta'] * scale:+6.1f}  ({lo:+.1f} … {hi:+.1f})  {v['verdict']}")
    return out


def init_app(app: Flask) -> None:
    """Register ``teichaku diagnose``."""

    @app.cli.command("diagnose")
    @click.argument("campaign")
    @click.option("--json", "as_json", is_flag=True, help="Print the diagnosis as JSON.")
    @click.option("--lang", type=click.Choice(["ja", "en"]), default="ja", show_default=True)
    @click.option("--date", "report_date", default=None, help="Report date (YYYY-MM-DD).")
    @click.option("--compare", "earlier", default=None,
                  help="Slug of an earlier campaign of the same organisation to compare with.")
    @click.option("--all", "everything", is_flag=True,
                  help="Consultant's working view: include responses not yet released in a "
                       "snapshot. Never hand this output to the client.")
    def diagnose_cmd(campaign, as_json, lang, report_date, earlier, everything):
        """Diagnose the latest released snapshot of CAMPAIGN (slug) and recommend where to start."""
        from ..classification import diagnose_options
        from ..recommend.loader import CampaignNotFound, find_campaign
        from ..recommend.sanity import diagnosis_warnings
        from ..recommend.service import diagnose_campaign
        from ..recommend.waves import WaveError, compare

        kwargs = {"report_date": _date(report_date), "everything": everything}

        def run(ref: str):
            try:
                c = find_campaign(ref)
            except CampaignNotFound:
                raise click.ClickException(f"no campaign {ref!r}") from None
            q = questionnaire_for(current_app.extensions.get("questionnaires"), c)
            return diagnose_campaign(c, lang, questionnaire=q, **kwargs,
                                     **diagnose_options(c.organisation_id))

        diag = run(campaign)
        out = diag.to_dict()
        compared = None
        if earlier:
            compared = run(earlier)
            try:
                cmp = compare(compared, diag)
            except WaveError as exc:
                raise click.ClickException(str(exc)) from None
            out["wave_comparison"] = cmp.to_dict()
            out["change"] = cmp.change_dict()
        out["warnings"] = [w.to_dict() for w in diagnosis_warnings(diag, compared)]
        if as_json:
            click.echo(json.dumps(out, ensure_ascii=False, indent=2))
            return
        click.echo(render_text(out, lang))
        if earlier:
            click.echo("")
            click.echo(translate("Compared with the earlier wave", lang, context="terminal"))
            for f in out["wave_comparison"]["findings"]:
                click.echo(f"  - {f}")
            click.echo(translate("Change (95% interval)", lang))
            for line in change_lines(out["change"], lang):
                click.echo(line)
