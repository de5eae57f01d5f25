"""Anonymity rules, enforced here so no view can bypass them.

* a group with fewer than ``min_group`` responses shows no numbers (never below 3);
* comments are quoted only from groups with at least ``min_comments_group`` responses;
* complementary suppression: within one segment field the hidden cells (suppressed values plus
  respondents who gave no value) together hold either nobody or at least ``min_group`` people,
  so no hidden group can be recovered as the total minus the shown ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .data import SEGMENT_FIELDS, Evidence, ResponseData

FLOOR = 3


@dataclass(frozen=True)
class Thresholds:
    """The two anonymity thresholds, clamped to the floor of 3."""

    min_group: int = 5
    min_comments_group: int = 10

    @classmethod
    def make(cls, min_group: int | None = None, min_comments_group: int | None = None,
             defaults: Mapping[str, int] | None = None) -> Thresholds:
        """Thresholds from explicit values, else playbook defaults, never below the floor."""
        defaults = defaults or {}
        mg = min_group if min_group is not None else defaults.get("min_group", 5)
        mc = (min_comments_group if min_comments_group is not None
              else defaults.get("min_comments_group", 10))
        mg = max(FLOOR, int(mg))
        return cls(mg, max(FLOOR, mg, int(mc)))


def suppressed_cells(counts: Mapping[str, int], unstated: int, min_group: int) -> set[str]:
    """Values of one segment field to hide, including complementary suppression."""
    hidden = {v for v, n in counts.items() if 0 < n < min_group}
    shown = sorted((n, v) for v, n in counts.items() if n >= min_group)
    hidden_total = sum(counts[v] for v in hidden) + unstated
    # The hidden remainder (total - shown) must be empty or itself large enough.
    while shown and 0 < hidden_total < min_group:
        n, v = shown.pop(0)
        hidden.add(v)
        hidden_total += n
    return hidden


def segment_counts(responses: Iterable[ResponseData], field: str) -> tuple[dict[str, int], int]:
    """Responses per value of a segment field, and how many gave no value."""
    counts: dict[str, int] = {}
    unstated = 0
    for r in responses:
        v = r.segments.get(field)
        if v:
            counts[v] = counts.get(v, 0) + 1
        else:
            unstated += 1
    return counts, unstated


def quotable(evidence: Evidence, responses: Iterable[ResponseData] | None,
             thresholds: Thresholds, counts: Mapping[str, Mapping[str, int]] | None = None,
             total: int | None = None) -> bool:
    """True when the evidence comes from groups large enough for its text to be shown."""
    if counts is None or total is None:
        rs = list(responses or ())
        total = len(rs)
        counts = {f: segment_counts(rs, f)[0] for f in SEGMENT_FIELDS}
    if total < thresholds.min_comments_group:
        return False
    for f in SEGMENT_FIELDS:
        v = evidence.segments.get(f)
        if v and counts.get(f, {}).get(v, 0) < thresholds.min_comments_group:
            return False
    return True
