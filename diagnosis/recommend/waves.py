"""Wave comparison: two campaigns of one organisation with the same questionnaire."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .data import CAUSES, USAGE_CODES
from .diagnose import MIXED, CauseScore, cause_scores
from .playbook import Playbook, load_playbook
from .service import Diagnosis


class WaveError(ValueError):
    """The two campaigns cannot be compared."""


@dataclass
class WaveComparison:
    """Change from an earlier to a later wave."""

    earlier: str
    later: str
    causes: dict[str, dict[str, float | None]]
    usage: dict[str, Any]
    target_cause: str | None
    improved: bool | None
    findings: list[str] = field(default_factory=list)
    # False when only one wave had the reason checklist: scores are then compared without it.
    checklist_compared: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"earlier": self.earlier, "later": self.later, "causes": self.causes,
                "usage": self.usage, "target_cause": self.target_cause,
                "improved": self.improved, "findings": list(self.findings),
                "checklist_compared": self.checklist_compared}


def _delta(a: float | None, b: float | None, digits: int = 1) -> float | None:
    return None if a is None or b is None else round(b - a, digits)


def _target(diag: Diagnosis) -> str | None:
    """The cause the earlier recommendation aimed at: the dominant one, else the start's main one."""
    if diag.dominant_cause and diag.dominant_cause != MIXED:
        return diag.dominant_cause
    if diag.plan and diag.plan.recommendations and diag.dominance:
        return diag.dominance.top
    return None


def compare(earlier: Diagnosis, later: Diagnosis, playbook: Playbook | None = None) -> WaveComparison:
    """Change per cause, usage funnel and Likert score, and whether the targeted cause improved."""
    pb = playbook or load_playbook()
    a, b = earlier.data, later.data
    if a.organisation_id != b.organisation_id:
        raise WaveError("the two campaigns belong to different organisations")
    if a.questionnaire_id != b.questionnaire_id:
        raise WaveError("the two campaigns use different questionnaires")
    if earlier.suppressed or later.suppressed or not earlier.stats or not later.stats:
        raise WaveError("one of the waves has too few responses to compare")
    lang = later.lang
    causes: dict[str, dict[str, float | None]] = {}
    findings = []
    # A wave without the reason checklist (questionnaire version 1) has no self-reported part:
    # compare like with like, both scores without it, and say so.
    same_method = (a.reasons is None) == (b.reasons is None)
    s_before, s_after = earlier.scores, later.scores
    if not same_method:
        s_before, s_after = _without_checklist(earlier, pb), _without_checklist(later, pb)
        if a.reasons is None:
            findings.append(pb.text("wave_no_checklist", lang, earlier=a.name))
    for c in CAUSES:
        ea, la = s_before[c], s_after[c]
        causes[c] = {
            "score_before": None if ea.score is None else round(ea.score, 1),
            "score_after": None if la.score is None else round(la.score, 1),
            "score_change": _delta(ea.score, la.score),
            "share_change": _delta(ea.share, la.share, 3),
            "likert_change": _delta(ea.likert_score, la.likert_score),
            "self_share_change": _delta(ea.self_share, la.self_share, 3),
        }
        if ea.score is not None and la.score is not None:
            findings.append(pb.text("wave_cause", lang, cause=pb.cause_name(c, lang),
                                    before=f"{ea.score:.0f}", after=f"{la.score:.0f}",
                                    delta=f"{la.score - ea.score:+.1f}"))
    ua, ub = earlier.stats.usage, later.stats.usage
    usage = {
        "counts_before": dict(ua.counts), "counts_after": dict(ub.counts),
        "counts_change": {k: ub.counts[k] - ua.counts[k] for k in USAGE_CODES},
        "adoption_rate_change": _delta(ua.adoption_rate, ub.adoption_rate, 3),
        "habit_rate_change": _delta(ua.habit_rate, ub.habit_rate, 3),
    }

    def pct(x: float | None) -> str:
        return "–" if x is None else f"{round(100 * x)}"

    findings.insert(0, pb.text("wave_usage", lang, a_before=pct(ua.adoption_rate),
                               a_after=pct(ub.adoption_rate), h_before=pct(ua.habit_rate),
                               h_after=pct(ub.habit_rate)))
    target = _target(earlier)
    improved = None
    if target and s_before[target].score is not None and s_after[target].score is not None:
        before, after = s_before[target].score, s_after[target].score
        points = pb.section("rules")["improvement_points"]
        improved = (before - after) >= points
        findings.append(pb.text("wave_target_improved" if improved else "wave_target_not_improved",
                                lang, cause=pb.cause_name(target, lang), before=f"{before:.0f}",
                                after=f"{after:.0f}", points=f"{points:g}"))
    return WaveComparison(a.slug, b.slug, causes, usage, target, improved, findings, same_method)


def _without_checklist(diag: Diagnosis, pb: Playbook) -> dict[str, CauseScore]:
    """A wave's cause scores with the reason-checklist part left out."""
    assert diag.stats is not None
    return cause_scores(replace(diag.stats, self_report=None), pb)
