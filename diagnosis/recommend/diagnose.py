"""Cause diagnosis: one score per cause from Likert and free-text evidence, dominant or mixed.

Score of a cause (0-100, higher = bigger problem), weights from the playbook ``scoring`` block::

    score = a * (100 - likert_score) + b * 100 * comment_share + s * 100 * self_reported_share
    a = likert_weight / (sum of the weights of the parts with data), b = text_weight / (...),
    s = self_report_weight / (...)

(a part without data drops out: no classified comment yet, or a questionnaire version without
the reason checklist). Its standard error combines the Likert standard error, the share's error
(the bootstrap of the corrected share, see :mod:`.quantify`, or the binomial error at the
effective number of comments when shares are counted) and the checklist share's sample error. The top cause is
*dominant* when the difference to the runner-up exceeds ``z`` times the standard error of that
difference (paired per respondent for the Likert and checklist parts; bootstrap or multinomial
for the comment shares);
otherwise the diagnosis is ``mixed``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..vocabulary import SPLIT_REMEDIES
from .aggregate import GroupStats, SelfReport, likert_items_problem, usable
from .data import CAUSES, Evidence, LikertSpec, ResponseData
from .playbook import Playbook
from .stats import mean_se

MIXED = "mixed"


@dataclass(frozen=True)
class CauseScore:
    """The combined score of one cause with the evidence behind it."""

    cause: str
    score: float | None
    se: float
    likert_score: float | None
    favourable: float | None
    share: float | None
    share_interval: tuple[float, float]
    n_comments: int
    z: float
    self_share: float | None = None  # share of the cause in the reason checklist
    self_interval: tuple[float, float] | None = None

    @property
    def interval(self) -> tuple[float, float] | None:
        """Approximate interval of the score."""
        if self.score is None:
            return None
        m = self.z * self.se
        return (max(0.0, self.score - m), min(100.0, self.score + m))


@dataclass(frozen=True)
class Dominance:
    """Which cause leads, and whether the lead is beyond the margin of error."""

    cause: str  # a cause id or "mixed"
    top: str | None
    runner_up: str | None
    difference: float | None
    margin: float | None


@dataclass(frozen=True)
class SupportSplit:
    """Which of the split cause's two remedies its evidence calls for (``support``: training or a
    help desk, ``support_split`` in the playbook), and what decided it. ``first``/``second`` are
    the two remedies in the playbook's order."""

    remedy: str  # the chosen one of ``remedies``
    fraction_first: float  # the evidence's pull towards the first remedy, 0-1
    k_first: int  # split-cause comments matching the first remedy's patterns
    k_second: int
    p_first: float | None  # problem level of the first remedy's Likert items
    p_second: float | None
    # "text", "likert", "self_report", "both" (text and likert agree), "all" (three agree),
    # "likert_and_self_report", "self_report_and_text", or "none"
    decider: str
    s_first: int = 0  # checklist ticks of options calling for the first remedy
    s_second: int = 0  # ... and for the second
    remedies: tuple[str, str] = SPLIT_REMEDIES  # type: ignore[assignment]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form; the keys name the remedies (``comments_training``, ...)."""
        a, b = self.remedies
        return {"remedy": self.remedy, f"fraction_{a}": round(self.fraction_first, 3),
                f"comments_{a}": self.k_first, f"comments_{b}": self.k_second,
                f"likert_problem_{a}": _r1(self.p_first), f"likert_problem_{b}": _r1(self.p_second),
                f"checklist_{a}": self.s_first, f"checklist_{b}": self.s_second,
                "decided_by": self.decider}


def _r1(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _parts(stats: GroupStats, pb: Playbook) -> tuple[float, float, float]:
    """Weights of the Likert, comment and checklist parts, over the parts that have data."""
    sc = pb.section("scoring")
    sr = stats.self_report
    present = (
        float(sc["likert_weight"]) if any(stats.likert[c].score is not None for c in CAUSES) else 0.0,
        float(sc["text_weight"]) if stats.text.total > 0 else 0.0,
        float(sc.get("self_report_weight", 0.0)) if sr is not None and sr.n_mapped > 0 else 0.0,
    )
    total = sum(present)
    if total <= 0:
        return (0.0, 0.0, 0.0)
    a, b, s = (x / total for x in present)
    return a, b, s


def cause_scores(stats: GroupStats, pb: Playbook) -> dict[str, CauseScore]:
    """Combined score per cause (purpose, leadership, support) of one group."""
    z = float(pb.section("scoring")["z"])
    a, b, s = _parts(stats, pb)
    sr = stats.self_report
    out = {}
    for c in CAUSES:
        lk = stats.likert[c]
        share = stats.text.share(c)
        own = sr.share(c) if sr is not None else None
        # A part without data for this cause drops out; the others are renormalised.
        parts = [(a if lk.problem is not None else 0.0, lk.problem, lk.se ** 2),
                 (b if share is not None else 0.0, None if share is None else 100 * share,
                  100 ** 2 * stats.text.share_variance(c)),
                 (s if own is not None else 0.0, None if own is None else 100 * own,
                  0.0 if sr is None else 100 ** 2 * sr.share_variance(c))]
        total = sum(w for w, _, _ in parts)
        score: float | None = None
        var = 0.0
        if total > 0:
            score = sum(w * v for w, v, _ in parts if w) / total
            var = sum(w * w * v2 for w, _, v2 in parts if w) / (total * total)
        out[c] = CauseScore(c, score, math.sqrt(var), lk.score, lk.favourable, share,
                            stats.text.interval(c), stats.text.counts.get(c, 0), z, own,
                            None if sr is None else sr.interval(c))
    return out


def dominance(scores: dict[str, CauseScore], stats: GroupStats, pb: Playbook) -> Dominance:
    """The dominant cause, or "mixed" when the top two cannot be told apart at the interval."""
    ranked = sorted((s for s in scores.values() if s.score is not None),
                    key=lambda s: s.score, reverse=True)
    if not ranked:
        return Dominance(MIXED, None, None, None, None)
    if len(ranked) == 1:
        return Dominance(ranked[0].cause, ranked[0].cause, None, None, None)
    top, runner = ranked[0], ranked[1]
    a, b, s = _parts(stats, pb)
    var = 0.0
    if a:
        l1, l2 = stats.likert[top.cause], stats.likert[runner.cause]
        paired = [l2.by_respondent[i] - l1.by_respondent[i]
                  for i in l1.by_respondent.keys() & l2.by_respondent.keys()]
        if len(paired) >= 2:
            se = mean_se(paired)[1]
        else:
            se = math.sqrt(l1.se ** 2 + l2.se ** 2)
        var += (a * se) ** 2
    if b and top.share is not None and runner.share is not None:
        var += (b * 100) ** 2 * stats.text.difference_variance(top.cause, runner.cause)
    sr = stats.self_report
    if s and sr is not None and top.self_share is not None and runner.self_share is not None:
        var += (s * 100) ** 2 * sr.difference_variance(top.cause, runner.cause)
    diff = top.score - runner.score
    margin = float(pb.section("scoring")["z"]) * math.sqrt(var)
    cause = top.cause if diff > margin else MIXED
    return Dominance(cause, top.cause, runner.cause, diff, margin)


def support_split(responses: list[ResponseData] | tuple[ResponseData, ...],
                  evidence: list[Evidence] | tuple[Evidence, ...],
                  specs: tuple[LikertSpec, ...], pb: Playbook,
                  self_reported: SelfReport | None = None) -> SupportSplit:
    """Which of the split cause's two remedies (training vs help desk) its evidence calls for:
    the wording of that cause's comments (each remedy's patterns), the problem level of each
    remedy's Likert items, and the checklist options respondents ticked (each option may name the
    remedy it calls for)."""
    cfg = pb.section("support_split")
    first, second = remedies = (cfg["remedies"][0], cfg["remedies"][1])
    k = dict.fromkeys(remedies, 0)
    for e in usable(evidence, pb):
        if e.label != cfg["cause"]:
            continue
        for r in remedies:
            if any(p.search(e.text) for p in pb.patterns[r]):
                k[r] += 1
    p_first, _ = likert_items_problem(responses, specs, cfg["likert_items"][first])
    p_second, _ = likert_items_problem(responses, specs, cfg["likert_items"][second])
    ticks = self_reported.remedy_counts if self_reported else {}
    s_first, s_second = ticks.get(first, 0), ticks.get(second, 0)
    k_first, k_second = k[first], k[second]
    parts: dict[str, tuple[float, float]] = {}
    if k_first + k_second > 0:
        parts["text"] = (float(cfg["text_weight"]), k_first / (k_first + k_second))
    if p_first is not None and p_second is not None and p_first + p_second > 0:
        parts["likert"] = (float(cfg["likert_weight"]), p_first / (p_first + p_second))
    if s_first + s_second > 0:
        parts["self_report"] = (float(cfg.get("self_report_weight", 0.0)), s_first / (s_first + s_second))
    parts = {k: v for k, v in parts.items() if v[0] > 0}
    if not parts:
        return SupportSplit(first, 0.5, k_first, k_second, p_first, p_second, "none", s_first, s_second,
                            remedies)
    total_w = sum(w for w, _ in parts.values())
    f = sum(w * x for w, x in parts.values()) / total_w
    remedy = first if f >= 0.5 else second
    if len(parts) == 1:
        decider = next(iter(parts))
    else:
        sides = {k: x >= 0.5 for k, (_, x) in parts.items()}
        if len(set(sides.values())) == 1:
            decider = ("all" if len(parts) == 3 else "both" if set(parts) == {"text", "likert"}
                       else "_and_".join(sorted(parts)))
        else:  # they disagree: the one whose weighted pull was larger decided
            decider = max(parts, key=lambda k: parts[k][0] * abs(parts[k][1] - 0.5))
    return SupportSplit(remedy, f, k_first, k_second, p_first, p_second, decider, s_first, s_second,
                        remedies)
