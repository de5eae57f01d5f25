"""Wave comparison: two campaigns of one organisation with the same questionnaire.

Every change comes with a 95 % interval, and its verdict follows from the interval, not from a
fixed number of points: with 60 responses a 5-point move can be noise, with 2,000 a 3-point move
is real.

- **Cause scores.** The two waves are independent samples, so the change of a score has the
  standard error sqrt(se_before² + se_after²), each wave's se being the one its diagnosis already
  computes (Likert sampling error, the comment share's bootstrap, the checklist's sampling error;
  see :mod:`.diagnose`). Interval: change ± z·se. A score is a problem level, so a fall is an
  improvement: *improved* when the whole interval is below zero, *worse* when it is above, *no
  clear change* when it contains zero.
- **Usage funnel.** The change of the ever-used and weekly-or-more rates, with Newcombe's hybrid
  score interval for a difference of two independent proportions (built from the two Wilson
  intervals; it stays inside [-1, 1] and behaves at small n and rates near 0 or 1). A rise is an
  improvement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from .aggregate import EVER_USED, HABIT
from .data import CAUSES, USAGE_CODES
from .diagnose import MIXED, CauseScore, cause_scores
from .playbook import Playbook, load_playbook
from .service import Diagnosis
from .stats import wilson

IMPROVED = "improved"
NO_CLEAR_CHANGE = "no_clear_change"
WORSE = "worse"
RATES = ("adoption_rate", "habit_rate")


@dataclass(frozen=True)
class Change:
    """The change of one measure between two waves, its interval and the verdict it supports."""

    before: float | None
    after: float | None
    delta: float | None
    interval: tuple[float, float] | None
    verdict: str | None  # IMPROVED, NO_CLEAR_CHANGE, WORSE; None without data
    unit: str = "points"  # "points" (0-100 score) or "rate" (fraction 0-1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        digits = 1 if self.unit == "points" else 3

        def rnd(x: float | None) -> float | None:
            return None if x is None else round(x, digits)

        return {"before": rnd(self.before), "after": rnd(self.after), "delta": rnd(self.delta),
                "interval": None if self.interval is None else [rnd(self.interval[0]), rnd(self.interval[1])],
                "verdict": self.verdict, "unit": self.unit}


def verdict_of(interval: tuple[float, float], lower_is_better: bool) -> str:
    """improved / no clear change / worse from where the interval of a change lies."""
    lo, hi = interval
    if lo <= 0 <= hi:
        return NO_CLEAR_CHANGE
    fell = hi < 0
    return IMPROVED if fell == lower_is_better else WORSE


def score_change(before: CauseScore, after: CauseScore, z: float = 1.96) -> Change:
    """Change of a cause score (0-100 problem level) between two independent waves."""
    if before.score is None or after.score is None:
        return Change(before.score, after.score, None, None, None)
    delta = after.score - before.score
    half = z * math.sqrt(before.se ** 2 + after.se ** 2)
    iv = (delta - half, delta + half)
    return Change(before.score, after.score, delta, iv, verdict_of(iv, lower_is_better=True))


def proportion_change(k1: int, n1: int, k2: int, n2: int, z: float = 1.96) -> Change:
    """Change of a rate from k1/n1 to k2/n2 with Newcombe's hybrid score interval (method 10)."""
    if n1 <= 0 or n2 <= 0:
        return Change(None if n1 <= 0 else k1 / n1, None if n2 <= 0 else k2 / n2, None, None, None, "rate")
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1, z)
    l2, u2 = wilson(k2, n2, z)
    delta = p2 - p1
    lo = delta - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    hi = delta + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    iv = (max(-1.0, lo), min(1.0, hi))
    return Change(p1, p2, delta, iv, verdict_of(iv, lower_is_better=False), "rate")


class WaveError(ValueError):
    """The two campaigns cannot be compared."""


@dataclass
class WaveComparison:
    """Change from an earlier to a later wave."""

    earlier: str
    later: str
    causes: dict[str, dict[str, Any]]
    usage: dict[str, Any]
    target_cause: str | None
    improved: bool | None  # the targeted cause's change interval lies wholly below zero
    findings: list[str] = field(default_factory=list)
    # False when only one wave had the reason checklist: scores are then compared without it.
    checklist_compared: bool = True
    # Per cause and per usage rate: the change with its interval and verdict.
    change: dict[str, Change] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"earlier": self.earlier, "later": self.later, "causes": self.causes,
                "usage": self.usage, "target_cause": self.target_cause,
                "improved": self.improved, "findings": list(self.findings),
                "checklist_compared": self.checklist_compared, "change": self.change_dict()}

    def change_dict(self) -> dict[str, Any]:
        """The ``change`` JSON block: per cause and usage rate, delta, interval and verdict."""
        return {k: v.to_dict() for k, v in self.change.items()}


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
    causes: dict[str, dict[str, Any]] = {}
    findings = []
    # A wave without the reason checklist (questionnaire version 1) has no self-reported part:
    # compare like with like, both scores without it, and say so.
    same_method = (a.reasons is None) == (b.reasons is None)
    s_before, s_after = earlier.scores, later.scores
    if not same_method:
        s_before, s_after = _without_checklist(earlier, pb), _without_checklist(later, pb)
        if a.reasons is None:
            findings.append(pb.text("wave_no_checklist", lang, earlier=a.name))
    z = float(pb.section("scoring")["z"])
    change: dict[str, Change] = {}
    for c in CAUSES:
        ea, la = s_before[c], s_after[c]
        ch = change[c] = score_change(ea, la, z)
        causes[c] = {
            "score_before": None if ea.score is None else round(ea.score, 1),
            "score_after": None if la.score is None else round(la.score, 1),
            "score_change": _delta(ea.score, la.score),
            "score_change_interval": (None if ch.interval is None
                                      else [round(ch.interval[0], 1), round(ch.interval[1], 1)]),
            "verdict": ch.verdict,
            "share_change": _delta(ea.share, la.share, 3),
            "likert_change": _delta(ea.likert_score, la.likert_score),
            "self_share_change": _delta(ea.self_share, la.self_share, 3),
        }
        if ch.interval is not None and ea.score is not None and la.score is not None:
            findings.append(pb.text("wave_cause", lang, cause=pb.cause_name(c, lang),
                                    before=f"{ea.score:.0f}", after=f"{la.score:.0f}",
                                    delta=f"{ch.delta:+.1f}", lo=f"{ch.interval[0]:+.1f}",
                                    hi=f"{ch.interval[1]:+.1f}",
                                    verdict=pb.text(f"verdict_{ch.verdict}", lang)))
    ua, ub = earlier.stats.usage, later.stats.usage
    for key, codes in (("adoption_rate", EVER_USED), ("habit_rate", HABIT)):
        change[key] = proportion_change(sum(ua.counts[k] for k in codes), ua.n,
                                        sum(ub.counts[k] for k in codes), ub.n, z)
    usage = {
        "counts_before": dict(ua.counts), "counts_after": dict(ub.counts),
        "counts_change": {k: ub.counts[k] - ua.counts[k] for k in USAGE_CODES},
        "adoption_rate_change": _delta(ua.adoption_rate, ub.adoption_rate, 3),
        "habit_rate_change": _delta(ua.habit_rate, ub.habit_rate, 3),
        **{f"{k}_change_interval": change[k].to_dict()["interval"] for k in RATES},
        **{f"{k}_verdict": change[k].verdict for k in RATES},
    }

    def pct(x: float | None) -> str:
        return "–" if x is None else f"{round(100 * x)}"

    findings.insert(0, pb.text("wave_usage", lang, a_before=pct(ua.adoption_rate),
                               a_after=pct(ub.adoption_rate), h_before=pct(ua.habit_rate),
                               h_after=pct(ub.habit_rate)))
    habit = change["habit_rate"]
    if habit.interval is not None and habit.delta is not None:
        findings.insert(1, pb.text("wave_habit_change", lang, delta=f"{100 * habit.delta:+.0f}",
                                   lo=f"{100 * habit.interval[0]:+.0f}", hi=f"{100 * habit.interval[1]:+.0f}",
                                   verdict=pb.text(f"verdict_{habit.verdict}", lang)))
    target = _target(earlier)
    improved = None
    if target and change[target].verdict is not None:
        tc = change[target]
        assert tc.interval is not None and tc.before is not None and tc.after is not None
        improved = tc.verdict == IMPROVED
        findings.append(pb.text(f"wave_target_{tc.verdict}", lang, cause=pb.cause_name(target, lang),
                                before=f"{tc.before:.0f}", after=f"{tc.after:.0f}",
                                lo=f"{tc.interval[0]:+.1f}", hi=f"{tc.interval[1]:+.1f}"))
    return WaveComparison(a.slug, b.slug, causes, usage, target, improved, findings, same_method, change)


def _without_checklist(diag: Diagnosis, pb: Playbook) -> dict[str, CauseScore]:
    """A wave's cause scores with the reason-checklist part left out."""
    assert diag.stats is not None
    return cause_scores(replace(diag.stats, self_report=None), pb)
