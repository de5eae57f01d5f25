"""One presenter: what a diagnosis looks like, built once for the dashboard, the PDF and the CSV.

The dashboard page, the client PDF and the diagnosis CSV show the same campaign the same way: the
same diagnosis (the latest released snapshot), the same comparison with the earlier wave, the same
data warnings and the same charts. :func:`present` builds that view; each surface only lays it out
(``templates/dashboard/campaign.html``, ``templates/report/report.html``, :mod:`diagnosis.store.exports`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from . import charts
from .vocabulary import CAUSES, SEGMENT_FIELDS


@dataclass
class WaveView:
    """The comparison with the campaign's earlier wave, or why there is none."""

    earlier: Any
    comparison: Any | None
    problem: str | None = None
    earlier_diagnosis: Any | None = None  # set when the two were compared


@dataclass
class View:
    """A campaign's diagnosis as every surface shows it."""

    diagnosis: Any
    d: dict[str, Any]
    wave: WaveView | None
    warnings: list
    lang: str
    campaign_name: str

    @cached_property
    def charts(self) -> dict[str, Any]:
        """Every chart, drawn the first time a page or the PDF asks (the CSV export never does)."""
        return diagnosis_charts(self.d, self.lang, self.wave, self.campaign_name)

    @property
    def comparison(self) -> dict[str, Any] | None:
        """The wave comparison as JSON-ready data (the CSV's wave rows), when there is one."""
        return self.wave.comparison.to_dict() if self.wave and self.wave.comparison else None


def wave_view(campaign: Any, diag: Any, diagnose: Callable[[Any], Any], playbook: Any) -> WaveView | None:
    """Compare with the earlier wave, if there is one; the problem is kept when they cannot be."""
    from .recommend.waves import WaveError, compare
    from .workspace import earlier_wave

    earlier = earlier_wave(campaign)
    if earlier is None:
        return None
    earlier_diag = diagnose(earlier)
    try:
        return WaveView(earlier, compare(earlier_diag, diag, playbook), earlier_diagnosis=earlier_diag)
    except WaveError as exc:
        return WaveView(earlier, None, str(exc))


def heatmap_rows(segments: list[dict[str, Any]]) -> list[tuple[str, dict[str, float | None] | None]]:
    """Rows for ``charts.heatmap_chart`` from one field of ``Diagnosis.to_dict()['segments']``:
    each shown group with its size, a suppressed one without numbers."""
    rows: list[tuple[str, dict[str, float | None] | None]] = []
    for s in segments:
        if s.get("suppressed"):
            rows.append((s["label"], None))
        else:
            rows.append((f"{s['label']} (n={s['n']})",
                         {c: (s["causes"].get(c) or {}).get("score") for c in CAUSES}))
    return rows


def diagnosis_charts(d: dict[str, Any], lang: str, wave: WaveView | None = None,
                     later_name: str = "") -> dict[str, Any]:
    """Every chart of a diagnosis (inline SVG): funnel, causes, comment shares, drivers, reasons
    and evidence, one heat map per segment field, and the wave comparison."""
    out: dict[str, Any] = {"heatmaps": [], "wave": None}
    if d["suppressed"]:
        return out
    out.update({
        "funnel": charts.funnel_chart(d["usage"]["counts"], lang),
        "causes": charts.cause_chart(d["causes"], lang),
        "shares": charts.share_chart({c: v.get("share") for c, v in d["causes"].items()}, lang),
        "drivers": charts.driver_chart(d["drivers"], d["driver_analysis"], lang),
        "reasons": charts.reasons_chart(d["reason_choices"], lang) if d.get("reason_choices") else None,
        "evidence": (charts.evidence_chart(d["causes"], lang)
                     if (d.get("reason_choices") or {}).get("n") else None),
    })
    out["heatmaps"] = [(f, charts.heatmap_chart(heatmap_rows(d["segments"][f]), lang))
                       for f in SEGMENT_FIELDS if d["segments"].get(f)]
    if wave is not None and wave.comparison is not None:
        causes = wave.comparison.causes
        out["wave"] = charts.wave_chart(
            {c: v["score_before"] for c, v in causes.items()},
            {c: v["score_after"] for c, v in causes.items()}, lang,
            labels=(f"{charts.text('wave.earlier', lang)}: {wave.earlier.name}",
                    f"{charts.text('wave.later', lang)}: {later_name}"))
    return out


def present(campaign: Any, lang: str, diagnose: Callable[[Any], Any], playbook: Any,
            diagnosis: Any = None) -> View:
    """The view of a campaign: its diagnosis by ``diagnose`` (the caller's thresholds and report
    date; ``diagnosis`` when the caller already has it), the earlier wave's comparison (not for a
    suppressed diagnosis), the data warnings and the charts."""
    from .recommend.sanity import diagnosis_warnings

    diag = diagnosis if diagnosis is not None else diagnose(campaign)
    d = diag.to_dict()
    wave = None if d["suppressed"] else wave_view(campaign, diag, diagnose, playbook)
    earlier = wave.earlier_diagnosis if wave is not None else None
    return View(diag, d, wave, diagnosis_warnings(diag, earlier, playbook=playbook), lang, campaign.name)


__all__ = ["View", "WaveView", "diagnosis_charts", "heatmap_rows", "present", "wave_view"]
