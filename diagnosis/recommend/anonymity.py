"""Anonymity rules, enforced here so no view can bypass them.

A view is anything a reader can see about a set of respondents: the whole campaign's diagnosis, a
segment cell of the heat map, a list of comments. Anonymity is a property of every view a reader
can reach, over every filter and over time, not of each page:

* **Snapshots.** Results are computed on released snapshots only. The whole campaign moves to a
  new snapshot when at least ``min_group`` responses have arrived beyond the last one
  (:func:`release_due`), so two diagnoses ever shown differ by none or by ``min_group`` people.
* **Groups move in steps.** Every segment group (a value of a segment field, and for the comment
  field also "not stated") has its own released set, which takes in the group's new members only
  when at least ``min_group`` of them are waiting (:func:`release_plan`). A segment cell, the
  comments of a department and the department column of per-person rows are read from these
  sets, so no view of a group changes by fewer than ``min_group`` people.
* **Comments move with their department.** A survey comment is listed, counted in cause shares and
  quoted only once its department group (``COMMENT_FIELD``) has been released. Every comment list
  is then a union of whole department steps, so any two lists, at any two times, intersect and
  differ only in groups of ``min_group`` or more. Comments can be filtered by that one field only:
  lists from two fields (IT staff, then people in their 60s) would intersect into a small group.
* **A department's comments are offered as a filter** from ``min_comments_group`` people; the
  whole list shows survey comments from ``min_comments_group`` respondents.
* **Filters on what people wrote** (a cause label, a keyword) show their rows only when both the
  matching respondents and the rest of the list they narrow are none or at least ``min_group``
  (:func:`refinement_shown`). Review filters (confidence, unclear, pending, corrected) narrow a
  list by what each of its rows already shows and are not restricted.
* **Cells.** A group with fewer than ``min_group`` released respondents shows no numbers
  (never below 3). Complementary suppression: within one segment field the hidden part (hidden
  values, respondents who gave no value, and members still waiting for their group's next step)
  holds nobody or at least ``min_group`` people. Audit: a cell, or the hidden part of a field, is
  shown only if it differs from every set shown now or at any earlier snapshot by none or by at
  least ``min_group`` respondents. Cells of fields other than ``COMMENT_FIELD`` use the rated
  questions only: their comment counts would tie comments to a second field.
* **Order.** Comments and per-person rows are listed in a random order fixed per campaign
  (:func:`shuffle_key`), never by time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .data import LABELS, SEGMENT_FIELDS, Evidence, ResponseData

FLOOR = 3
# The one segment field comments can be filtered by and grouped on.
COMMENT_FIELD = "department"


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


# ------------------------------------------------------------------ results in steps


def release_due(waiting: int, min_group: int) -> bool:
    """True when enough responses wait beyond the last snapshot for a new one to be released.

    Closing a campaign does not release a smaller remainder: the last diagnosis before it and the
    first after would differ by those few people, which is how one person's answers are read.
    """
    return waiting >= max(FLOOR, min_group)


def refinement_shown(matching: int, base: int, min_group: int) -> bool:
    """True when a filter on what people wrote may show its rows: the respondents it keeps and
    the ones it leaves out of the list it narrows are each none or at least ``min_group``."""
    rest = base - matching
    return all(n == 0 or n >= min_group for n in (matching, rest))


def restricted_filter(cause: str | None, keyword: str | None) -> bool:
    """True when a comment filter selects by content (a cause label or a keyword), which
    :func:`refinement_shown` then limits; review filters select by the classifier's certainty
    or a correction, shown on every row they narrow, and are not limited."""
    return bool(keyword) or cause in LABELS


def shuffle_key(secret: str, item_id: int) -> str:
    """Sort key of a comment or response: HMAC of its id with the campaign's secret, so lists
    are in an order fixed per campaign that says nothing about who answered when."""
    return hmac.new(secret.encode(), str(item_id).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Cell:
    """One value of a segment field: its released members, and whether its numbers are shown."""

    field: str
    value: str
    members: frozenset[int]
    shown: bool


@dataclass(frozen=True)
class Release:
    """What the current snapshot lets readers see (see :func:`release_plan`)."""

    min_group: int
    included: frozenset[int]  # responses in the diagnosis
    comment_members: frozenset[int]  # responses whose comments may be listed, counted or quoted
    cells: Mapping[str, tuple[Cell, ...]] = field(default_factory=dict)
    steps: int = 0  # how many times the campaign's results have moved

    def group(self, field_name: str, value: str) -> frozenset[int]:
        """The released members of one segment group (empty when not released)."""
        for c in self.cells.get(field_name, ()):
            if c.value == value:
                return c.members
        return frozenset()

    def comment_groups(self, min_comments_group: int) -> list[str]:
        """Values of ``COMMENT_FIELD`` whose comments may be listed on their own."""
        return [c.value for c in self.cells.get(COMMENT_FIELD, ())
                if len(c.members) >= min_comments_group]

    def row_segments(self) -> dict[int, str]:
        """Department per response for per-person rows: only from released groups, and only
        where the group and the rest (complementary suppression) are large enough."""
        cells = [c for c in self.cells.get(COMMENT_FIELD, ()) if c.members]
        counts = {c.value: len(c.members) for c in cells}
        hidden = suppressed_cells(counts, len(self.included) - sum(counts.values()),
                                  self.min_group)
        return {i: c.value for c in cells if c.value not in hidden for i in c.members}


class _Shown:
    """Every respondent set shown so far (as int bitsets), indexed by size for the audit."""

    def __init__(self, min_group: int) -> None:
        self.min_group = min_group
        self.by_size: dict[int, set[int]] = {}

    def ok(self, bits: int) -> bool:
        """True when the set is large enough and differs from each shown set by 0 or ≥ min."""
        m, n = self.min_group, bits.bit_count()
        if 0 < n < m:
            return False
        # |A Δ B| ≥ ||A| - |B||: only sets of a near size can be too close.
        for size in range(max(1, n - m + 1), n + m):
            for other in self.by_size.get(size, ()):
                if 0 < (bits ^ other).bit_count() < m:
                    return False
        return True

    def add(self, bits: int) -> None:
        if bits:
            self.by_size.setdefault(bits.bit_count(), set()).add(bits)


def _field_cells(field_name: str, everyone: int, released: Mapping[tuple[str, str | None], int],
                 shown: _Shown) -> set[str]:
    """The values of one field whose cells are shown at this step (audit and complementary)."""
    m = shown.min_group
    candidates = sorted(((v, b) for (f, v), b in released.items()
                         if f == field_name and v is not None and b.bit_count() >= m),
                        key=lambda x: (-x[1].bit_count(), x[0]))
    accepted = [(v, b) for v, b in candidates if shown.ok(b)]
    while True:
        union = 0
        for _, b in accepted:
            union |= b
        hidden = everyone & ~union
        if not hidden or (hidden.bit_count() >= m and shown.ok(hidden)):
            break
        accepted.pop()  # hide the smallest shown cell and look again
    for _, b in accepted:
        shown.add(b)
    # The hidden part can be read as the whole minus the shown cells: it is a view too.
    shown.add(hidden)
    return {v for v, _ in accepted}


def release_plan(responses: Sequence[ResponseData], min_group: int) -> Release:
    """Replay the campaign's snapshots in order and return what the latest one may show.

    Deterministic in the responses' snapshot numbers, so the views shown at any earlier snapshot
    are exactly the ones replayed here, and the audit compares new cells with all of them.
    """
    m = max(FLOOR, int(min_group))
    ordered = sorted(responses, key=lambda r: (r.snapshot, r.id))
    ids = [r.id for r in ordered]
    everyone = waiting_bits = 0
    waiting: list[tuple[int, ResponseData]] = []
    seen: dict[tuple[str, str | None], int] = {}
    released: dict[tuple[str, str | None], int] = {}
    shown = _Shown(m)
    steps = 0
    cells_shown: dict[str, set[str]] = {f: set() for f in SEGMENT_FIELDS}
    for i, r in enumerate(ordered):
        waiting.append((1 << i, r))
        waiting_bits |= 1 << i
        last_of_snapshot = i + 1 == len(ordered) or ordered[i + 1].snapshot != r.snapshot
        # A snapshot moves the whole campaign only with min_group or more new responses.
        if not last_of_snapshot or len(waiting) < m:
            continue
        everyone |= waiting_bits
        for bit, w in waiting:
            for f in SEGMENT_FIELDS:
                key = (f, w.segments.get(f) or None)
                seen[key] = seen.get(key, 0) | bit
        waiting, waiting_bits = [], 0
        steps += 1
        for key, bits in seen.items():
            if (bits & ~released.get(key, 0)).bit_count() >= m:
                released[key] = bits
        shown.add(everyone)
        cells_shown = {f: _field_cells(f, everyone, released, shown) for f in SEGMENT_FIELDS}

    def members(bits: int) -> frozenset[int]:
        return frozenset(ids[i] for i in range(bits.bit_length()) if bits >> i & 1)

    comment_bits = 0
    for (f, _), b in released.items():
        if f == COMMENT_FIELD:
            comment_bits |= b
    cells = {f: tuple(Cell(f, v, members(released.get((f, v), 0)), v in cells_shown[f])
                      for (g, v) in sorted(seen, key=lambda k: str(k[1]))
                      if g == f and v is not None)
             for f in SEGMENT_FIELDS}
    return Release(m, members(everyone), members(comment_bits), cells, steps)
