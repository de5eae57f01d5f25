"""Anonymity as a property of every reachable view (issue 16, item 1): pure rules and a
property-based check over generated campaigns, filters and snapshots."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnosis.recommend.anonymity import (
    COMMENT_FIELD,
    Release,
    refinement_shown,
    release_due,
    release_plan,
    restricted_filter,
    shuffle_key,
)
from diagnosis.recommend.data import LABELS, SEGMENT_FIELDS, ResponseData

# ------------------------------------------------------------------ small rules


def test_release_due_only_from_min_group():
    assert not release_due(4, 5) and release_due(5, 5) and release_due(3, 1)  # floor of 3


@pytest.mark.parametrize("matching, base, shown", [
    (0, 20, True), (20, 20, True), (5, 20, True), (15, 20, True),
    (3, 20, False),  # three people who match
    (17, 20, False),  # three people who do not
    (4, 4, False),
])
def test_refinement_shows_rows_only_when_both_sides_are_large(matching, base, shown):
    assert refinement_shown(matching, base, 5) is shown


def test_content_filters_are_restricted_and_review_filters_are_not():
    assert restricted_filter("purpose", "") and restricted_filter(None, "研修")
    for review in ("unclear", "pending", "corrected", None):
        assert not restricted_filter(review, "")


def test_shuffle_key_is_fixed_per_campaign_and_not_the_id_order():
    ids = list(range(1, 41))
    a = sorted(ids, key=lambda i: shuffle_key("secret-a", i))
    assert a == sorted(ids, key=lambda i: shuffle_key("secret-a", i))
    assert a != ids and a != ids[::-1]
    assert a != sorted(ids, key=lambda i: shuffle_key("secret-b", i))


def _r(i: int, snapshot: int, **segments: str) -> ResponseData:
    return ResponseData(i, {}, dict(segments), snapshot)


def test_finding_2_one_more_response_changes_nothing():
    """Finding 2 in plain data: a response after the snapshot is not in any view until enough
    others join it."""
    first = [_r(i, 1, department="sales" if i % 2 else "it") for i in range(1, 13)]
    before = release_plan(first, 5)
    after = release_plan([*first, _r(13, 2, department="it", age_band="60s")], 5)
    assert after == before and 13 not in after.included
    more = [*first, *(_r(i, 2, department="sales") for i in range(13, 18))]
    later = release_plan(more, 5)
    assert len(later.included - before.included) == 5


def test_finding_1_comments_group_on_one_field_only():
    """IT staff (10) and people in their 60s (10) share three people: only departments are
    comment groups, so no list of the 60s exists to intersect with the IT list."""
    rs = ([_r(i, 1, department="it", age_band="30s") for i in range(7)]
          + [_r(i, 1, department="it", age_band="60s") for i in range(7, 10)]
          + [_r(i, 1, department="sales", age_band="60s") for i in range(10, 17)]
          + [_r(i, 1, department="sales", age_band="30s") for i in range(17, 20)])
    rel = release_plan(rs, 5)
    assert rel.comment_groups(10) == ["it", "sales"]
    assert rel.group("department", "it") == frozenset(range(10))
    assert rel.comment_members == frozenset(range(20))


def test_a_group_moves_only_in_steps_and_waiting_members_count_as_hidden():
    rs = [_r(i, 1, department="sales") for i in range(10)] + [_r(i, 1, department="it") for i in range(10, 16)]
    rel = release_plan(rs, 5)
    assert {c.value: (len(c.members), c.shown) for c in rel.cells["department"]} == {
        "sales": (10, True), "it": (6, True)}
    # Six more arrive, one of them in IT: IT's cell and comments stay as they were. Shown beside
    # sales, the hidden rest would be that one person; hiding IT too would make the rest IT's
    # six plus that one, one person away from the IT cell shown before. So this step shows no
    # department cell at all.
    rs2 = [*rs, *(_r(i, 2, department="sales") for i in range(16, 21)), _r(21, 2, department="it")]
    rel2 = release_plan(rs2, 5)
    assert rel2.group("department", "it") == rel.group("department", "it")
    assert 21 in rel2.included and 21 not in rel2.comment_members
    assert len(rel2.group("department", "sales")) == 15
    shown = {c.value for c in rel2.cells["department"] if c.shown}
    assert shown == set()
    assert rel2.row_segments().get(21) is None and rel2.row_segments().get(0) == "sales"
    # Four more IT people are not a snapshot; five are, and with the waiting one IT moves.
    rs3 = [*rs2, *(_r(i, 3, department="it") for i in range(22, 26))]
    assert release_plan(rs3, 5) == rel2
    rs3.append(_r(26, 3, department="it"))
    rel3 = release_plan(rs3, 5)
    assert {c.value: (len(c.members), c.shown) for c in rel3.cells["department"]} == {
        "sales": (15, True), "it": (12, True)}


# ------------------------------------------------------------------ property: every reachable view


@dataclass(frozen=True)
class Person:
    department: str | None
    age_band: str | None
    role: str | None
    cause: str | None  # None: wrote nothing
    keywords: frozenset[str]


KEYWORDS = ("研修", "部長", "目的")

people = st.builds(
    Person,
    department=st.sampled_from(["sales", "it", "admin", None]),
    age_band=st.sampled_from(["30s", "60s", None]),
    role=st.sampled_from(["staff", "manager"]),
    cause=st.sampled_from([*LABELS, "unclear", None]),
    keywords=st.frozensets(st.sampled_from(KEYWORDS), max_size=2),
)


@st.composite
def campaigns(draw):
    """Respondents arriving one by one, with readers looking at some moments in between."""
    crowd = draw(st.lists(people, min_size=3, max_size=70))
    # Correlated fields make cells of two fields nearly equal: the audit's hard case.
    if draw(st.booleans()):
        crowd = [Person(p.department, "60s" if p.department == "it" else p.age_band, p.role,
                        p.cause, p.keywords) for p in crowd]
    reads = sorted(draw(st.sets(st.integers(1, len(crowd)), max_size=14)) | {len(crowd)})
    m = draw(st.integers(3, 5))
    mc = draw(st.sampled_from([m, m + 2, 2 * m]))
    return crowd, reads, m, mc


def _simulate(crowd: list[Person], reads: list[int], m: int) -> list[list[ResponseData]]:
    """What the database holds at each read: the released responses with their snapshot numbers
    (a read releases a new snapshot when at least m responses wait, as the loader does)."""
    seq, released, out = 0, 0, []
    snapshot: dict[int, int] = {}
    for t in reads:
        if release_due(t - released, m):
            seq += 1
            for i in range(released, t):
                snapshot[i] = seq
            released = t
        out.append([ResponseData(i, {}, {"department": p.department, "age_band": p.age_band,
                                         "role": p.role}, snapshot[i])
                    for i, p in enumerate(crowd) if i in snapshot])
    return out


def _views(rel: Release, crowd: list[Person], m: int, mc: int):
    """Every view a reader can reach from one snapshot: the diagnosis's respondent sets (the
    whole campaign, shown cells and what the shown cells leave of their field), the comment
    lists (all, and per offered department), and each list narrowed by a cause or a keyword."""
    rated: list[frozenset[int]] = []
    if len(rel.included) >= m:
        rated.append(rel.included)
        for f in SEGMENT_FIELDS:
            shown = [c.members for c in rel.cells.get(f, ()) if c.shown]
            rated += shown
            rest = rel.included.difference(*shown)
            if shown and rest:
                rated.append(rest)
    lists: list[frozenset[int]] = []
    if len(rel.comment_members) >= mc:
        lists.append(rel.comment_members)
        lists += [rel.group(COMMENT_FIELD, v) for v in rel.comment_groups(mc)]
    narrowed = []
    for base in lists:
        writers = {i for i in base if crowd[i].cause is not None}
        for pick in [*(lambda p, c=c: p.cause == c for c in LABELS),
                     *(lambda p, k=k: k in p.keywords for k in KEYWORDS)]:
            hits = {i for i in writers if pick(crowd[i])}
            if refinement_shown(len(hits), len(writers), m):
                narrowed.append((frozenset(hits), frozenset(writers)))
    return rated, lists, narrowed


@given(campaigns())
@settings(max_examples=150, deadline=None)
def test_no_reachable_views_isolate_a_small_group(campaign):
    """For every campaign, sequence of snapshots and filter: no single view shows a group under
    the threshold, no two views (any filters, any two moments) differ by 1..m-1 respondents,
    and comment lists, whose rows can be matched across lists, never intersect or differ into a
    group under the threshold, however many of them are combined."""
    crowd, reads, m, mc = campaign
    rated: set[frozenset[int]] = set()
    lists: set[frozenset[int]] = set()
    previous: Release | None = None
    for released in _simulate(crowd, reads, m):
        rel = release_plan(released, m)
        r, c, narrowed = _views(rel, crowd, m, mc)
        rated.update(r)
        lists.update(c)
        for hits, writers in narrowed:  # a cause or keyword filter shows its rows only if ...
            assert len(hits) in (0, *range(m, len(writers) + 1))
            assert len(writers - hits) in (0, *range(m, len(writers) + 1))
        if previous is not None:  # results move in steps, and never back
            assert previous.included <= rel.included
            assert len(rel.included - previous.included) in (0, *range(m, len(crowd) + 1))
            assert previous.comment_members <= rel.comment_members
        previous = rel
    for v in rated:
        assert len(v) >= m, "a shown table describes fewer than m people"
    for a, b in itertools.combinations(rated, 2):
        assert len(a ^ b) >= m, f"two tables differ by {len(a ^ b)} respondents"
    for v in lists:
        assert len(v) >= mc
    # Atoms of all comment lists together: people who appear in exactly the same lists.
    atoms: dict[tuple[bool, ...], int] = {}
    for i in range(len(crowd)):
        key = tuple(i in v for v in sorted(lists, key=sorted))
        if any(key):
            atoms[key] = atoms.get(key, 0) + 1
    assert all(n >= m for n in atoms.values()), atoms
