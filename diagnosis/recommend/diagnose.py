"""Cause diagnosis: one score per cause from Likert and free-text evidence, dominant or mixed.

Score of a cause (0-100, higher = bigger problem), weights from the playbook ``scoring`` block::

    score = a * (100 - likert_score) + b * 100 * comment_share
    a = likert_weight / (likert_weight + text_weight), b = text_weight / (...)

(a = 1, b = 0 when no comment is classified yet). Its standard error combines the Likert standard
error and the share's error: the bootstrap of the corrected share (see :mod:`.quantify`), or the
binomial error at the effective number of comments when shares are counted. The top cause is
*dominant* when the difference to the runner-up exceeds ``z`` times the standard error of that
difference (paired per respondent for the Likert part; bootstrap or multinomial for the shares);
otherwise the diagnosis is ``mixed``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .aggregate import GroupStats, likert_items_problem, usable
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
    """Whether support evidence calls for training or a help desk, and what decided it."""

    remedy: str  # "training" | "help_desk"
    fraction_training: float
    k_training: int
    k_help_desk: int
    p_training: float | None
    p_help_desk: float | None
    decider: str  # "text" | "likert" | "both" | "none"


def _parts(stats: GroupStats, pb: Playbook) -> tuple[float, float]:
    sc = pb.section("scoring")
    lw, tw = float(sc["likert_weight"]), float(sc["text_weight"])
    has_likert = any(stats.likert[c].score is not None for c in CAUSES)
    has_text = stats.text.total > 0
    if not has_text or tw == 0:
        return (1.0, 0.0) if has_likert else (0.0, 0.0)
    if not has_likert or lw == 0:
        return (0.0, 1.0)
    return lw / (lw + tw), tw / (lw + tw)


def cause_scores(stats: GroupStats, pb: Playbook) -> dict[str, CauseScore]:
    """Combined score per cause (purpose, leadership, support) of one group."""
    z = float(pb.section("scoring")["z"])
    a, b = _parts(stats, pb)
    out = {}
    for c in CAUSES:
        lk = stats.likert[c]
        share = stats.text.share(c)
        a_c, b_c = a, b
        if lk.score is None and b > 0:
            a_c, b_c = 0.0, 1.0
        elif share is None:
            b_c = 0.0
        score: float | None = None
        var = 0.0
        total = a_c + b_c
        if total > 0:
            score = 0.0
            if a_c and lk.problem is not None:
                score += a_c * lk.problem
                var += (a_c * lk.se) ** 2
            if b_c and share is not None:
                score += b_c * 100 * share
                var += (b_c * 100) ** 2 * stats.text.share_variance(c)
            score /= total
            var /= total * total
        out[c] = CauseScore(c, score, math.sqrt(var), lk.score, lk.favourable, share,
                            stats.text.interval(c), stats.text.counts.get(c, 0), z)
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
    a, b = _parts(stats, pb)
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
    diff = top.score - runner.score
    margin = float(pb.section("scoring")["z"]) * math.sqrt(var)
    cause = top.cause if diff > margin else MIXED
    return Dominance(cause, top.cause, runner.cause, diff, margin)


def support_split(responses: list[ResponseData] | tuple[ResponseData, ...],
                  evidence: list[Evidence] | tuple[Evidence, ...],
                  specs: tuple[LikertSpec, ...], pb: Playbook) -> SupportSplit:
    """Training vs help desk from support comments' wording and the skill vs asking items."""
    cfg = pb.section("support_split")
    k_train = k_desk = 0
    for e in usable(evidence, pb):
        if e.label != "support":
            continue
        if any(p.search(e.text) for p in pb.patterns["training"]):
            k_train += 1
        if any(p.search(e.text) for p in pb.patterns["help_desk"]):
            k_desk += 1
    p_train, _ = likert_items_problem(responses, specs, cfg["likert_items"]["training"])
    p_desk, _ = likert_items_problem(responses, specs, cfg["likert_items"]["help_desk"])
    parts: dict[str, tuple[float, float]] = {}
    if k_train + k_desk > 0:
        parts["text"] = (float(cfg["text_weight"]), k_train / (k_train + k_desk))
    if p_train is not None and p_desk is not None and p_train + p_desk > 0:
        parts["likert"] = (float(cfg["likert_weight"]), p_train / (p_train + p_desk))
    parts = {k: v for k, v in parts.items() if v[0] > 0}
    if not parts:
        return SupportSplit("training", 0.5, k_train, k_desk, p_train, p_desk, "none")
    total_w = sum(w for w, _ in parts.values())
    f = sum(w * x for w, x in parts.values()) / total_w
    remedy = "training" if f >= 0.5 else "help_desk"
    if len(parts) == 1:
        decider = next(iter(parts))
    else:
        sides = {k: x >= 0.5 for k, (_, x) in parts.items()}
        if len(set(sides.values())) == 1:
            decider = "both"
        else:  # they disagree: the one whose weighted pull was larger decided
            decider = max(parts, key=lambda k: parts[k][0] * abs(parts[k][1] - 0.5))
    return SupportSplit(remedy, f, k_train, k_desk, p_train, p_desk, decider)
