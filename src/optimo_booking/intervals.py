"""Sets of half-open intervals `[start, end)` over integers (UTC seconds), always canonical.

An `IntervalSet` is kept sorted and merged, so equality and hashing are structural and the
empty set is an ordinary value. Every operator has a named twin: `|` / `union`,
`&` / `intersection`, `-` / `difference`, `in` / `contains`.

>>> a = IntervalSet([(0, 10), (20, 30)])
>>> b = IntervalSet([(5, 25)])
>>> list(a | b), list(a & b), list(a - b)
([(0, 30)], [(5, 10), (20, 25)], [(0, 5), (25, 30)])
>>> IntervalSet([(0, 5), (5, 9)]) == IntervalSet([(0, 9)])
True
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator

Span = tuple[int, int]


class IntervalSet:
    """An immutable union of half-open integer intervals, stored as a flat sorted bounds tuple."""

    __slots__ = ("_bounds", "_hash")

    _bounds: tuple[int, ...]

    def __init__(self, spans: Iterable[Span] = ()) -> None:
        ordered = sorted((int(s), int(e)) for s, e in spans)
        bounds: list[int] = []
        for start, end in ordered:
            if end < start:
                raise ValueError(f"interval end {end} is before its start {start}")
            if start == end:
                continue
            if bounds and start <= bounds[-1]:
                bounds[-1] = max(bounds[-1], end)
            else:
                bounds += (start, end)
        self._bounds = tuple(bounds)
        self._hash: int | None = None

    @classmethod
    def _from_bounds(cls, bounds: Iterable[int]) -> IntervalSet:
        # Trusted constructor: `bounds` is already sorted, merged and free of empty spans.
        result = cls.__new__(cls)
        result._bounds = tuple(bounds)
        result._hash = None
        return result

    # -- reading -------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Span]:
        b = self._bounds
        return iter(zip(b[0::2], b[1::2], strict=True))

    def __len__(self) -> int:
        return len(self._bounds) // 2

    def __bool__(self) -> bool:
        return bool(self._bounds)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IntervalSet):
            return NotImplemented
        return self._bounds == other._bounds

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self._bounds)
        return self._hash

    def __repr__(self) -> str:
        return f"IntervalSet({list(self)!r})"

    @property
    def bounds(self) -> tuple[int, ...]:
        """The canonical flat form `(start0, end0, start1, end1, ...)`, sorted and merged."""
        return self._bounds

    @property
    def lower(self) -> int | None:
        """The smallest point in the set, or None when empty."""
        return self._bounds[0] if self._bounds else None

    @property
    def upper(self) -> int | None:
        """The (excluded) end of the last interval, or None when empty."""
        return self._bounds[-1] if self._bounds else None

    def measure(self) -> int:
        """Total length of all intervals."""
        b = self._bounds
        return sum(b[i + 1] - b[i] for i in range(0, len(b), 2))

    # -- membership and overlap ----------------------------------------------------------

    def contains(self, item: int | Span | IntervalSet) -> bool:
        """True when a point, a span `(start, end)` or a whole set lies inside this set."""
        if isinstance(item, IntervalSet):
            return all(self.contains(span) for span in item)
        if isinstance(item, tuple):
            start, end = item
            if start >= end:
                return True
            i = bisect_right(self._bounds, start)
            return i % 2 == 1 and end <= self._bounds[i]
        i = bisect_right(self._bounds, item)
        return i % 2 == 1

    def __contains__(self, item: int | Span | IntervalSet) -> bool:
        return self.contains(item)

    def overlaps(self, start: int, end: int) -> bool:
        """True when `[start, end)` shares at least one point with this set (O(log n))."""
        if start >= end:
            return False
        b = self._bounds
        i = bisect_right(b, start)
        if i % 2 == 1:
            return True
        return i < len(b) and b[i] < end

    def span_at(self, point: int) -> Span | None:
        """The interval holding `point`, or None."""
        i = bisect_right(self._bounds, point)
        if i % 2 == 0:
            return None
        return self._bounds[i - 1], self._bounds[i]

    # -- algebra -------------------------------------------------------------------------

    def _combine(self, other: IntervalSet, keep: int) -> IntervalSet:
        # Sweep both bound lists; a point is in the result when the count of sets holding it
        # passes the rule: union keeps depth >= 1, intersection depth == 2, difference is
        # handled by flipping `other` (see `difference`).
        events: list[tuple[int, int]] = []
        for bounds in (self._bounds, other._bounds):
            for i, x in enumerate(bounds):
                events.append((x, 1 if i % 2 == 0 else -1))
        events.sort(key=lambda e: (e[0], e[1]))  # ends before starts at one point
        out: list[int] = []
        depth = 0
        for x, delta in events:
            before = depth >= keep
            depth += delta
            after = depth >= keep
            if before != after:
                if out and out[-1] == x:
                    out.pop()  # touching spans merge
                else:
                    out.append(x)
        return IntervalSet._from_bounds(out)

    def union(self, *others: IntervalSet) -> IntervalSet:
        """Points in this set or any other."""
        result = self
        for other in others:
            if not other:
                continue
            if not result:
                result = other
                continue
            result = result._combine(other, 1)
        return result

    def intersection(self, *others: IntervalSet) -> IntervalSet:
        """Points in this set and every other."""
        result = self
        for other in others:
            if not result or not other:
                return IntervalSet()
            result = result._combine(other, 2)
        return result

    def difference(self, *others: IntervalSet) -> IntervalSet:
        """Points in this set and in none of the others."""
        result = self
        for other in others:
            if not result or not other:
                continue
            lo = min(result._bounds[0], other._bounds[0])
            hi = max(result._bounds[-1], other._bounds[-1])
            result = result._combine(other.complement(lo, hi), 2)
        return result

    def complement(self, lower: int, upper: int) -> IntervalSet:
        """Points of `[lower, upper)` not in this set."""
        if lower >= upper:
            return IntervalSet()
        return IntervalSet([(lower, upper)])._gaps_of(self)

    def _gaps_of(self, other: IntervalSet) -> IntervalSet:
        # self is one span [lo, hi); return its points not covered by `other`.
        lo, hi = self._bounds
        out: list[int] = []
        cursor = lo
        for start, end in other:
            if end <= cursor:
                continue
            if start >= hi:
                break
            if start > cursor:
                out += (cursor, start)
            cursor = max(cursor, end)
        if cursor < hi:
            out += (cursor, hi)
        return IntervalSet._from_bounds(out)

    def shift(self, offset: int) -> IntervalSet:
        """The same set moved by `offset`."""
        return IntervalSet._from_bounds(x + offset for x in self._bounds)

    def clip(self, lower: int, upper: int) -> IntervalSet:
        """The part of this set inside `[lower, upper)`."""
        return self.intersection(IntervalSet([(lower, upper)]))

    __or__ = union
    __and__ = intersection
    __sub__ = difference
