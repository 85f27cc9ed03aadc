"""IntervalSet against a brute-force oracle: a set is the frozenset of integer points it holds.

Half-open `[start, end)` spans over a small universe make every law checkable point by point;
a shifted copy of each law runs at UTC-second magnitudes, where the engine really uses them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimo_booking.intervals import IntervalSet

LOW, HIGH = -20, 60  # the oracle's universe; every drawn point lies inside it
NOW_ISH = 1_774_000_000  # UTC seconds in 2026: shifts laws to real magnitudes

Points = frozenset[int]

PROPERTY = settings(max_examples=200, deadline=None)

bounds = st.integers(LOW, HIGH)
spans = st.tuples(bounds, bounds).map(lambda p: (min(p), max(p)))
span_lists = st.lists(spans, max_size=8)
sets = span_lists.map(IntervalSet)


def points_of_spans(spans: Iterable[tuple[int, int]]) -> Points:
    return frozenset(p for start, end in spans for p in range(start, end))


def points(s: IntervalSet) -> Points:
    return points_of_spans(s)


def from_points(pts: Iterable[int]) -> IntervalSet:
    """The oracle's way back: one unit span per point, merged by the constructor."""
    return IntervalSet((p, p + 1) for p in pts)


def runs(pts: Points) -> list[tuple[int, int]]:
    """Maximal runs of consecutive points, sorted: the canonical form, computed by hand."""
    out: list[tuple[int, int]] = []
    for p in sorted(pts):
        if out and out[-1][1] == p:
            out[-1] = (out[-1][0], p + 1)
        else:
            out.append((p, p + 1))
    return out


UNIVERSE = frozenset(range(LOW, HIGH))


# -- construction and canonical form --------------------------------------------------------


@PROPERTY
@given(span_lists)
def test_holds_exactly_the_points_of_its_spans(raw: list[tuple[int, int]]) -> None:
    assert points(IntervalSet(raw)) == points_of_spans(raw)


@PROPERTY
@given(span_lists)
def test_canonical_form_is_sorted_merged_and_free_of_empty_spans(
    raw: list[tuple[int, int]],
) -> None:
    s = IntervalSet(raw)
    listed = list(s)
    assert listed == runs(points_of_spans(raw))
    assert all(start < end for start, end in listed)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(listed))  # gaps between
    assert len(s) == len(listed)


@PROPERTY
@given(span_lists.flatmap(lambda raw: st.tuples(st.just(raw), st.permutations(raw))))
def test_equality_is_structural_and_hash_consistent(
    pair: tuple[list[tuple[int, int]], list[tuple[int, int]]],
) -> None:
    raw, shuffled = pair
    a, b = IntervalSet(raw), IntervalSet(shuffled)
    c = from_points(points(a))
    assert a == b == c
    assert hash(a) == hash(b) == hash(c)
    assert hash(a) == hash(a)  # cached hash stays the same
    assert len({a, b, c}) == 1


@PROPERTY
@given(sets, sets)
def test_equal_exactly_when_same_points(a: IntervalSet, b: IntervalSet) -> None:
    assert (a == b) == (points(a) == points(b))
    assert (a != b) == (points(a) != points(b))


@PROPERTY
@given(sets)
def test_size_bool_bounds_and_measure_match_the_oracle(s: IntervalSet) -> None:
    pts = points(s)
    assert bool(s) == bool(pts)
    assert s.measure() == len(pts)
    assert s.lower == (min(pts) if pts else None)
    assert s.upper == (max(pts) + 1 if pts else None)


@PROPERTY
@given(span_lists)
def test_operations_never_change_their_operands(raw: list[tuple[int, int]]) -> None:
    a, b = IntervalSet(raw[::2]), IntervalSet(raw[1::2])
    before = (list(a), list(b))
    _ = (a | b, a & b, a - b, a.complement(LOW, HIGH), a.shift(7), a.clip(0, 10))
    _ = (a.union(b, a), a.intersection(b, a), a.difference(b, a))
    assert (list(a), list(b)) == before


# -- the algebra against the oracle -------------------------------------------------------


@PROPERTY
@given(sets, sets)
def test_union(a: IntervalSet, b: IntervalSet) -> None:
    want = points(a) | points(b)
    assert points(a | b) == want
    assert a.union(b) == a | b
    assert list(a | b) == runs(want)


@PROPERTY
@given(sets, sets)
def test_intersection(a: IntervalSet, b: IntervalSet) -> None:
    want = points(a) & points(b)
    assert points(a & b) == want
    assert a.intersection(b) == a & b
    assert list(a & b) == runs(want)


@PROPERTY
@given(sets, sets)
def test_difference(a: IntervalSet, b: IntervalSet) -> None:
    want = points(a) - points(b)
    assert points(a - b) == want
    assert a.difference(b) == a - b
    assert list(a - b) == runs(want)


@PROPERTY
@given(sets, st.lists(sets, max_size=4))
def test_named_twins_take_many_operands(a: IntervalSet, others: list[IntervalSet]) -> None:
    union, inter, diff = points(a), points(a), points(a)
    for o in others:
        union |= points(o)
        inter &= points(o)
        diff -= points(o)
    assert points(a.union(*others)) == union
    assert points(a.intersection(*others)) == inter
    assert points(a.difference(*others)) == diff


@PROPERTY
@given(sets, bounds, bounds)
def test_complement_within_bounds(s: IntervalSet, x: int, y: int) -> None:
    lower, upper = min(x, y), max(x, y) + 1  # a non-empty universe [lower, upper)
    got = s.complement(lower, upper)
    assert points(got) == frozenset(range(lower, upper)) - points(s)
    assert got == IntervalSet([(lower, upper)]) - s


@PROPERTY
@given(sets, bounds)
def test_complement_of_an_empty_universe_is_empty(s: IntervalSet, x: int) -> None:
    assert s.complement(x, x) == IntervalSet()


@PROPERTY
@given(sets, bounds)
def test_contains_a_point(s: IntervalSet, p: int) -> None:
    assert (p in s) == (p in points(s))
    assert s.contains(p) == (p in s)


@PROPERTY
@given(sets, spans)
def test_contains_a_span(s: IntervalSet, span: tuple[int, int]) -> None:
    want = frozenset(range(*span)) <= points(s)  # an empty span is inside every set
    assert (span in s) == want
    assert s.contains(span) == want


@PROPERTY
@given(sets, sets)
def test_contains_a_set_is_subset(a: IntervalSet, b: IntervalSet) -> None:
    want = points(b) <= points(a)
    assert (b in a) == want
    assert a.contains(b) == want
    assert want == (b - a == IntervalSet()) == (a | b == a) == (a & b == b)


@PROPERTY
@given(sets, spans)
def test_overlaps(s: IntervalSet, span: tuple[int, int]) -> None:
    want = bool(frozenset(range(*span)) & points(s))
    assert s.overlaps(*span) == want
    assert want == bool(s & IntervalSet([span]))


@PROPERTY
@given(sets, bounds)
def test_span_at_is_the_maximal_run_holding_the_point(s: IntervalSet, p: int) -> None:
    holding = [run for run in runs(points(s)) if run[0] <= p < run[1]]
    assert s.span_at(p) == (holding[0] if holding else None)


@PROPERTY
@given(sets, st.integers(-NOW_ISH, NOW_ISH))
def test_shift_moves_every_point(s: IntervalSet, k: int) -> None:
    moved = s.shift(k)
    assert list(moved) == [(start + k, end + k) for start, end in s]
    assert moved.shift(-k) == s


@PROPERTY
@given(sets, spans)
def test_clip(s: IntervalSet, window: tuple[int, int]) -> None:
    assert points(s.clip(*window)) == points(s) & frozenset(range(*window))


# -- laws -----------------------------------------------------------------------------------


@PROPERTY
@given(sets, sets)
def test_commutativity(a: IntervalSet, b: IntervalSet) -> None:
    assert a | b == b | a
    assert a & b == b & a


@PROPERTY
@given(sets, sets, sets)
def test_associativity(a: IntervalSet, b: IntervalSet, c: IntervalSet) -> None:
    assert (a | b) | c == a | (b | c) == a.union(b, c)
    assert (a & b) & c == a & (b & c) == a.intersection(b, c)
    assert (a - b) - c == a - (b | c) == a.difference(b, c)


@PROPERTY
@given(sets, sets, sets)
def test_distributivity(a: IntervalSet, b: IntervalSet, c: IntervalSet) -> None:
    assert a & (b | c) == (a & b) | (a & c)
    assert a | (b & c) == (a | b) & (a | c)
    assert a - (b & c) == (a - b) | (a - c)
    assert (a | b) - c == (a - c) | (b - c)


@PROPERTY
@given(sets, sets)
def test_de_morgan(a: IntervalSet, b: IntervalSet) -> None:
    def neg(s: IntervalSet) -> IntervalSet:
        return s.complement(LOW, HIGH)

    assert neg(a | b) == neg(a) & neg(b)
    assert neg(a & b) == neg(a) | neg(b)
    assert neg(neg(a)) == a
    assert points(neg(a)) == UNIVERSE - points(a)


@PROPERTY
@given(sets, sets)
def test_idempotence_absorption_and_difference_identities(a: IntervalSet, b: IntervalSet) -> None:
    assert a | a == a
    assert a & a == a
    assert a | (a & b) == a
    assert a & (a | b) == a
    assert a - b == a & b.complement(LOW, HIGH)
    assert (a - b) & b == IntervalSet()
    assert (a - b) | (a & b) == a


@PROPERTY
@given(sets, sets, sets, st.integers(0, NOW_ISH))
def test_laws_hold_at_utc_second_magnitudes(
    a: IntervalSet, b: IntervalSet, c: IntervalSet, k: int
) -> None:
    big_a, big_b, big_c = a.shift(k), b.shift(k), c.shift(k)
    assert (big_a | big_b) == (a | b).shift(k)
    assert (big_a & big_b) == (a & b).shift(k)
    assert (big_a - big_b) == (a - b).shift(k)
    assert big_a & (big_b | big_c) == (big_a & big_b) | (big_a & big_c)
    assert big_a.complement(LOW + k, HIGH + k) == a.complement(LOW, HIGH).shift(k)


# -- the empty set is a value ---------------------------------------------------------------


@PROPERTY
@given(sets)
def test_empty_set_is_an_identity_and_an_annihilator(a: IntervalSet) -> None:
    empty = IntervalSet()
    assert a | empty == empty | a == a
    assert a & empty == empty & a == empty
    assert a - empty == a
    assert empty - a == empty
    assert a - a == empty
    assert empty in a
    assert a.union() == a.intersection() == a.difference() == a


def test_empty_set_facts() -> None:
    empty = IntervalSet()
    assert not empty
    assert len(empty) == 0
    assert list(empty) == []
    assert empty.lower is None
    assert empty.upper is None
    assert empty.measure() == 0
    assert 3 not in empty
    assert not empty.overlaps(0, 10)
    assert empty.span_at(0) is None
    assert empty.complement(0, 10) == IntervalSet([(0, 10)])
    assert empty == IntervalSet([(4, 4), (7, 7)])
    assert hash(empty) == hash(IntervalSet([(4, 4)]))


# -- one-line facts -------------------------------------------------------------------------


def test_touching_spans_merge() -> None:
    assert IntervalSet([(0, 5), (5, 9)]) == IntervalSet([(0, 9)])


def test_back_to_back_spans_do_not_overlap() -> None:
    assert not IntervalSet([(0, 5)]).overlaps(5, 9)


def test_back_to_back_sets_have_an_empty_intersection() -> None:
    assert IntervalSet([(0, 5)]) & IntervalSet([(5, 9)]) == IntervalSet()


def test_end_is_excluded_start_included() -> None:
    assert 0 in IntervalSet([(0, 5)]) and 5 not in IntervalSet([(0, 5)])


def test_an_end_before_its_start_is_refused() -> None:
    with pytest.raises(ValueError, match="before its start"):
        IntervalSet([(5, 3)])


def test_an_empty_span_is_dropped() -> None:
    assert list(IntervalSet([(3, 3), (1, 2)])) == [(1, 2)]


def test_an_empty_span_is_contained_and_overlaps_nothing() -> None:
    assert (7, 7) in IntervalSet() and not IntervalSet([(0, 10)]).overlaps(5, 5)


def test_not_equal_to_other_types() -> None:
    assert IntervalSet([(0, 3)]) != [(0, 3)]


def test_repr_shows_the_spans() -> None:
    assert repr(IntervalSet([(5, 9), (0, 3)])) == "IntervalSet([(0, 3), (5, 9)])"
