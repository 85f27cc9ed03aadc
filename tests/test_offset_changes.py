"""The zone offset changes read from tzdata files agree with what `zoneinfo` computes.

Slot generation converts a whole working period to local time at once when no offset change
falls inside it, so `offset_changes` must never miss a change `zoneinfo` makes, and `fold`
may only be 1 at the start of a span between two listed changes.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from optimo_booking.localtime import (
    local_datetimes,
    offset_changes,
    one_offset,
    zone,
    zone_names,
)
from optimo_booking.testing import DST_HEAVY_ZONES

DAY = 86_400
START_1900 = int(datetime(1900, 1, 1, tzinfo=UTC).timestamp())
START_1970 = int(datetime(1970, 1, 1, tzinfo=UTC).timestamp())
END_2040 = int(datetime(2040, 1, 1, tzinfo=UTC).timestamp())
END_2100 = int(datetime(2100, 1, 1, tzinfo=UTC).timestamp())
END_3000 = int(datetime(3000, 1, 1, tzinfo=UTC).timestamp())
ALL_ZONES = sorted(zone_names())


def local(instant: int, name: str) -> datetime:
    return datetime.fromtimestamp(instant, zone(name))


def spans(name: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """The spans `[p, q)` between neighbouring listed changes, clipped to `[lo, hi)`."""
    changes = offset_changes(name)
    assert changes is not None
    inside = [c for c in changes if lo < c < hi]
    bounds = [lo, *inside, hi]
    return list(itertools.pairwise(bounds))


def check_span(name: str, p: int, q: int) -> None:
    """One offset over `[p, q)`; fold 1 only on a prefix of it."""
    first = local(p, name)
    points = sorted({p, q - 1, (p + q) // 2, p + (q - p) // 4, q - (q - p) // 4})
    for t in points:
        here = local(t, name)
        assert here.utcoffset() == first.utcoffset(), (name, p, t)
        if here.fold:
            assert first.fold == 1, (name, p, t)


@pytest.mark.parametrize("name", ALL_ZONES)
def test_every_zone_keeps_one_offset_between_listed_changes(name: str) -> None:
    for p, q in spans(name, START_1970, END_2040):
        check_span(name, p, q)


@pytest.mark.parametrize("name", DST_HEAVY_ZONES)
def test_dst_heavy_zones_keep_one_offset_between_changes_1900_to_2999(name: str) -> None:
    for p, q in spans(name, START_1900, END_3000):
        check_span(name, p, q)


@pytest.mark.parametrize("name", DST_HEAVY_ZONES)
def test_every_change_found_by_scanning_the_offset_is_listed(name: str) -> None:
    """A day-by-day scan of `utcoffset` (bisected to the second) finds nothing unlisted."""
    changes = set(offset_changes(name) or ())
    tz = zone(name)
    before = datetime.fromtimestamp(START_1900, tz).utcoffset()
    for t in range(START_1900 + DAY, END_2100, DAY):
        after = datetime.fromtimestamp(t, tz).utcoffset()
        if after != before:
            lo, hi = t - DAY, t
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if datetime.fromtimestamp(mid, tz).utcoffset() == before:
                    lo = mid
                else:
                    hi = mid
            assert hi in changes, (name, datetime.fromtimestamp(hi, UTC))
            before = after


@given(
    st.sampled_from(ALL_ZONES),
    st.integers(START_1900, END_3000),
    st.integers(0, 400 * DAY),
)
def test_any_instant_has_the_offset_of_its_span_start(name: str, instant: int, ahead: int) -> None:
    changes = offset_changes(name)
    assert changes is not None
    i = bisect_right(changes, instant)
    start = changes[i - 1] if i else START_1900 - DAY
    here, there = local(instant, name), local(start, name)
    assert here.utcoffset() == there.utcoffset()
    if here.fold:
        assert there.fold == 1
    # `one_offset` says the same as converting both ends.
    last = instant + ahead
    if one_offset(zone(name), instant, last):
        assert local(last, name).utcoffset() == here.utcoffset()


@given(
    st.sampled_from(DST_HEAVY_ZONES),
    st.integers(START_1970, END_2100),
    st.sampled_from((60, 300, 900, 1800, 3600, 5400, DAY)),
    st.integers(1, 400),
)
def test_local_datetimes_equal_converting_each_instant(
    name: str, first: int, step: int, count: int
) -> None:
    """Equal down to `fold` and the `tzinfo` object itself."""
    tz = zone(name)
    instants = range(first, first + step * count, step)
    got = local_datetimes(instants, tz)
    want = [datetime.fromtimestamp(t, tz) for t in instants]
    assert [(d, d.fold, d.utcoffset(), d.tzinfo) for d in got] == [
        (d, d.fold, d.utcoffset(), d.tzinfo) for d in want
    ]


def test_a_zone_not_loaded_from_tzdata_is_never_assumed_to_keep_its_offset() -> None:
    from datetime import timezone

    assert not one_offset(timezone(timedelta(hours=1)), 0, 10)
    assert one_offset(zone("Europe/Berlin"), 0, 10)
    assert one_offset(zone("UTC"), 0, 10**9)  # the catalog's "UTC" is tzdata's Etc/UTC


def test_a_period_across_a_change_is_not_one_offset() -> None:
    berlin = zone("Europe/Berlin")
    change = int(datetime(2026, 3, 29, 1, 0, tzinfo=UTC).timestamp())
    assert not one_offset(berlin, change - 3600, change)
    assert one_offset(berlin, change - 3600, change - 1)
    assert one_offset(berlin, change, change + 3600)
