"""The review queue's order: which comment a person's label helps the classifier most (plain
Python: no flask, no database).

A comment ranks high when the model is unsure of it (a small margin between its two most probable
causes), when its confidence sits near the ``unclear`` threshold (a label moves it across), or when
its sentences point to a cause other than the answer's. Ranked by that alone, the queue fills with
near-duplicates of one hard phrasing, so picking is greedy with a diversity penalty (maximal
marginal relevance): each next comment's priority is reduced by its character-bigram similarity to
the ones already picked. Uncertainty sampling with a diversity term is the usual active-learning
recipe (Settles 2009; Carbonell & Goldstein 1998 for MMR)."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: How far a comment's confidence may sit from the unclear threshold and still count as near it.
NEAR = 0.06
#: How much similarity to an already picked comment costs (0 ignores diversity).
DIVERSITY = 0.6


@dataclass(frozen=True)
class Candidate:
    """A classified comment nobody has reviewed."""

    id: int
    text: str
    label: str | None
    scores: dict[str, float] | None
    sentence_labels: Sequence[str] | None = None


@dataclass(frozen=True)
class Pick:
    """A comment in queue order, with why it was picked."""

    id: int
    priority: float
    reasons: tuple[str, ...]


def margin(scores: dict[str, float] | None) -> float:
    """Top probability minus the runner-up (0 when unknown: an unscored comment is unsure)."""
    values = sorted((scores or {}).values(), reverse=True)
    if len(values) < 2:
        return 0.0
    return float(values[0] - values[1])


def priority(c: Candidate, threshold: float) -> tuple[float, tuple[str, ...]]:
    """How much a label for ``c`` would teach the model, and the reasons shown beside it."""
    reasons: list[str] = []
    m = margin(c.scores)
    score = 1.0 - m
    if c.scores and m < 0.25:  # an unscored comment ranks high but is not called "close"
        reasons.append("low_confidence")
    top = max((c.scores or {}).values(), default=0.0)
    closeness = math.exp(-abs(top - threshold) / NEAR)
    score += 0.5 * closeness
    if abs(top - threshold) <= NEAR:
        reasons.append("near_threshold")
    if c.label == "unclear":
        reasons.append("unclear")
    others = {s for s in (c.sentence_labels or ()) if s not in ("unclear", c.label)}
    if others and c.label != "unclear":
        score += 0.5
        reasons.append("sentences_disagree")
    return score, tuple(reasons)


def bigrams(text: str) -> frozenset[str]:
    """Character bigrams of the NFKC-folded, lower-cased text without spaces."""
    t = "".join(unicodedata.normalize("NFKC", text).lower().split())
    return frozenset(t[i:i + 2] for i in range(len(t) - 1)) or frozenset([t])


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two bigram sets."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def order(candidates: Iterable[Candidate], threshold: float, limit: int | None = None,
          diversity: float = DIVERSITY, pool: int = 400) -> list[Pick]:
    """Candidates in review order: greedy maximal marginal relevance over the ``pool`` most
    useful ones (the rest follow by priority alone). Ties break on id, so the order is stable."""
    scored = sorted(((*priority(c, threshold), c) for c in candidates),
                    key=lambda t: (-t[0], t[2].id))
    head, tail = scored[:pool], scored[pool:]
    grams = {c.id: bigrams(c.text) for _, _, c in head}
    picked: list[Pick] = []
    nearest = {c.id: 0.0 for _, _, c in head}  # highest similarity to anything picked so far
    remaining = list(head)
    want = len(head) if limit is None else min(limit, len(head))
    while remaining and len(picked) < want:
        best = max(remaining, key=lambda t: (t[0] - diversity * nearest[t[2].id], -t[2].id))
        remaining.remove(best)
        prio, reasons, c = best
        picked.append(Pick(c.id, round(prio, 4), reasons))
        for _, _, other in remaining:
            nearest[other.id] = max(nearest[other.id], similarity(grams[c.id], grams[other.id]))
    if limit is None or len(picked) < limit:
        rest = [Pick(c.id, round(p, 4), r) for p, r, c in tail]
        picked.extend(rest if limit is None else rest[:limit - len(picked)])
    return picked


def agreement(reviews: Iterable[tuple[str | None, str | None]]) -> tuple[int, float | None]:
    """From ``(model label when reviewed, human label)`` pairs: how many reviews, and the share in
    which the person kept the model's label, over the reviews that recorded it (corrections made
    before the review queue did not; None when no review did)."""
    pairs = [(m, h) for m, h in reviews if h is not None]
    known = [(m, h) for m, h in pairs if m is not None]
    if not known:
        return len(pairs), None
    return len(pairs), sum(1 for m, h in known if m == h) / len(known)
