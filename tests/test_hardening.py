"""No input can poison stored data or escape as anything but a `BookingError` (library side).

- A depth sweep of `customer` from 1 to 2,000 levels: at most 8 are accepted, deeper ones are
  one `validation_error` naming `customer`, and the day's slots still list after each.
- A damaged customer value written straight into SQLite fails only the reads that return
  its row: slots and creates for that staff member and day keep working.
- Hypothesis feeds nested, oversized and odd values into every argument of every public
  engine method: the answer is a result or a `BookingError`, and nothing is written.
- The CLI leaves quietly when its reader closes the pipe.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import (
    BOOK_DAY,
    BOOK_SITE,
    GOOD_CUSTOMER,
    FakeClock,
    all_bookings,
    booking_catalog,
    refused,
)
from optimo_booking import BookingError, Engine, MemoryStore, SQLiteStore
from optimo_booking.placement import MAX_CUSTOMER_DEPTH

SWEEP = range(1, 2001)


def nested(levels: int, leaf: Any = "x") -> Any:
    """`levels` containers inside each other (lists and objects alternating) around `leaf`."""
    value = leaf
    for i in range(levels):
        value = [value] if i % 2 else {"k": value}
    return value


def customer_of_depth(depth: int) -> dict[str, Any]:
    """A customer object `depth` levels deep, the object itself being level 1."""
    if depth == 1:
        return {"name": "Deep"}
    return {"name": "Deep", "extra": nested(depth - 1)}


def test_the_depth_helper_counts_levels_as_documented() -> None:
    def depth(value: Any) -> int:
        if isinstance(value, dict):
            return 1 + max((depth(v) for v in value.values()), default=0)
        if isinstance(value, list):
            return 1 + max((depth(v) for v in value), default=0)
        return 0

    assert [depth(customer_of_depth(d)) for d in (1, 2, 8, 9, 40)] == [1, 2, 8, 9, 40]


def test_customer_depth_sweep_accepts_eight_levels_and_refuses_the_rest(
    engine: Engine,
) -> None:
    accepted = 0
    for depth in SWEEP:
        start = f"{9 + accepted // 4:02d}:{accepted % 4 * 15:02d}"
        try:
            made = engine.create_booking(
                BOOK_SITE,
                service_id="trim",
                date=BOOK_DAY,
                start_time=start,
                staff_id="ann",
                customer=customer_of_depth(depth),
            )
        except BookingError as exc:
            assert depth > MAX_CUSTOMER_DEPTH, (depth, exc)
            assert exc.code == "validation_error"
            assert exc.details["fields"] == ["customer"]
            assert "nested deeper than 8 levels" in exc.problem_map()["customer"]
            continue
        assert depth <= MAX_CUSTOMER_DEPTH
        accepted += 1
        assert made.customer == customer_of_depth(depth)
        slots = engine.slots(BOOK_SITE, "trim", BOOK_DAY, staff_id="ann")
        assert {s.start.strftime("%H:%M"): s.reason for s in slots}[start] == "booked"
    assert accepted == MAX_CUSTOMER_DEPTH
    assert len(all_bookings(engine)) == MAX_CUSTOMER_DEPTH
    assert engine.store.get(BOOK_SITE, all_bookings(engine)[-1].id).customer == (
        customer_of_depth(MAX_CUSTOMER_DEPTH)
    )


@pytest.mark.parametrize(
    ("customer", "words"),
    [
        ({"name": "Ada", "tags": list(range(3000))}, "bytes of JSON"),
        ({"name": "Ada", "big": "x" * 100_000}, "bytes of JSON"),
        ({"name": "Ada", 7: "seven"}, "key that is not a string"),
        ({"name": "Ada", "when": date(2026, 1, 1)}, "not a JSON value"),
        ({"name": "Ada", "ratio": math.nan}, "NaN"),
        ({"name": "Ada", "ratio": [math.inf]}, "NaN or Infinity"),
        ({"name": "Ada", "n": 10**5000}, "plain JSON"),
        ({"name": "Ada", "set": {1, 2}}, "not a JSON value"),
    ],
)
def test_customer_values_that_are_not_small_plain_json_are_refused(
    engine: Engine, customer: dict[Any, Any], words: str
) -> None:
    err = refused(
        "validation_error",
        engine.create_booking,
        BOOK_SITE,
        service_id="trim",
        date=BOOK_DAY,
        start_time="10:00",
        customer=customer,
    )
    assert err.details["fields"] == ["customer"]
    assert words in err.problem_map()["customer"]
    assert all_bookings(engine) == []


def test_a_list_of_a_million_items_is_refused_without_walking_it(engine: Engine) -> None:
    huge = {"name": "Ada", "tags": [0] * 1_000_000}
    err = refused(
        "validation_error",
        engine.create_booking,
        BOOK_SITE,
        service_id="trim",
        date=BOOK_DAY,
        start_time="10:00",
        customer=huge,
    )
    assert err.details["fields"] == ["customer"]


# -- a damaged row written straight into SQLite ---------------------------------------------


def _poison(path: Path, booking_id: str, customer_text: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE bookings SET customer = ? WHERE id = ?", (customer_text, booking_id))


@pytest.mark.parametrize(
    "damage",
    ["[" * 100_000 + "]" * 100_000, "{not json", '{"name": "cut off'],
    ids=["100k-deep", "not-json", "truncated"],
)
def test_a_damaged_customer_row_fails_only_reads_of_that_row(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "b.sqlite3"
    store = SQLiteStore(path)
    engine = Engine(booking_catalog(), store=store, clock=FakeClock())
    good = engine.create_booking(
        BOOK_SITE, service_id="trim", date=BOOK_DAY, start_time="09:00", staff_id="ann",
        customer=GOOD_CUSTOMER,
    )  # fmt: skip
    bad = engine.create_booking(
        BOOK_SITE, service_id="trim", date=BOOK_DAY, start_time="10:00", staff_id="ann",
        customer={"name": "Poisoned"},
    )  # fmt: skip
    _poison(path, bad.id, damage)
    store.close()

    store = SQLiteStore(path)
    engine = Engine(booking_catalog(), store=store, clock=FakeClock())
    # The slot path never reads the customer: the day still lists, both bookings hold time.
    slots = {s.start.strftime("%H:%M"): s.reason for s in engine.slots(
        BOOK_SITE, "trim", BOOK_DAY, staff_id="ann")}  # fmt: skip
    assert slots["09:00"] == slots["10:00"] == "booked"
    assert slots["11:00"] is None
    # Creates for the same staff member and day go on, and still see the damaged booking.
    refused(
        "slot_unavailable", engine.create_booking, BOOK_SITE, service_id="trim", date=BOOK_DAY,
        start_time="10:00", staff_id="ann", customer=GOOD_CUSTOMER,
    )  # fmt: skip
    later = engine.create_booking(
        BOOK_SITE, service_id="trim", date=BOOK_DAY, start_time="11:00", staff_id="ann",
        customer=GOOD_CUSTOMER,
    )  # fmt: skip
    # Reads that return the damaged row fail as a BookingError naming it; others work.
    err = refused("internal_error", engine.get_booking, BOOK_SITE, bad.id)
    assert err.details == {"bookingId": bad.id}
    refused("internal_error", engine.list_bookings, BOOK_SITE)
    assert engine.get_booking(BOOK_SITE, good.id).customer == GOOD_CUSTOMER
    assert engine.get_booking(BOOK_SITE, later.id).customer == GOOD_CUSTOMER
    other_day = engine.create_booking(
        BOOK_SITE, service_id="trim", date=BOOK_DAY + timedelta(days=1), start_time="10:00",
        staff_id="ben", customer=GOOD_CUSTOMER,
    )  # fmt: skip
    page = engine.list_bookings(BOOK_SITE, date=BOOK_DAY + timedelta(days=1))
    assert [b.id for b in page.items] == [other_day.id]
    store.close()


# -- hostile values in every argument of every public engine method ------------------------


def _deep(levels: int, kind: str) -> Any:
    value: Any = 0
    for _ in range(levels):
        value = [value] if kind == "list" else {"a": value}
    return value


HOSTILE = st.one_of(
    st.builds(_deep, st.integers(1, 3000), st.sampled_from(["list", "dict"])),
    st.just("x" * 1_000_000),
    st.just("9" * 5000),
    st.just(10**5000),
    st.just(-(10**5000)),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.binary(max_size=20),
    st.just([0] * 100_000),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=5),
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
        max_leaves=20,
    ),
    st.just(object()),
    st.just(datetime(2026, 3, 9, 10, 0)),  # noqa: DTZ001 - a naive datetime is hostile input
    st.just(date(1, 1, 1)),
)

GOOD_CREATE: dict[str, Any] = {
    "service_id": "trim",
    "date": BOOK_DAY,
    "start_time": "10:00",
    "customer": GOOD_CUSTOMER,
    "staff_id": "ann",
    "branch_id": None,
    "notes": None,
    "idempotency_key": None,
}


def _calls(engine: Engine, booking_id: str) -> dict[str, tuple[Callable[..., Any], dict[str, Any]]]:
    """Each public engine method with a good value for every argument."""
    day_args = {"site_id": BOOK_SITE, "service_id": "trim", "staff_id": None, "branch_id": None}
    return {
        "slots": (engine.slots, {**day_args, "date": BOOK_DAY}),
        "slots_between": (
            engine.slots_between,
            {**day_args, "first_date": BOOK_DAY, "last_date": BOOK_DAY + timedelta(days=1)},
        ),
        "create_booking": (engine.create_booking, {"site_id": BOOK_SITE, **GOOD_CREATE}),
        "create_booking_outcome": (
            engine.create_booking_outcome,
            {"site_id": BOOK_SITE, **GOOD_CREATE},
        ),
        "list_bookings": (
            engine.list_bookings,
            {"site_id": BOOK_SITE, "limit": 25, "cursor": None, "status": None, "date": None},
        ),
        "set_status": (
            engine.set_status,
            {"site_id": BOOK_SITE, "booking_id": booking_id, "status": "confirmed"},
        ),
        "get_booking": (engine.get_booking, {"site_id": BOOK_SITE, "booking_id": booking_id}),
    }


METHODS = list(_calls(Engine(booking_catalog()), "bk_x"))


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Engine, str]]:
    """An engine per store, each holding one booking for the methods that take an id."""
    made: dict[str, tuple[Engine, str]] = {}
    path = tmp_path_factory.mktemp("hostile") / "b.sqlite3"
    for kind, store in (("memory", MemoryStore()), ("sqlite", SQLiteStore(path))):
        engine = Engine(booking_catalog(), store=store, clock=FakeClock())
        existing = engine.create_booking(
            BOOK_SITE, service_id="trim", date=BOOK_DAY, start_time="12:00", staff_id="ben",
            customer=GOOD_CUSTOMER,
        )  # fmt: skip
        made[kind] = (engine, existing.id)
    return made


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
@pytest.mark.parametrize("method_name", METHODS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_values_in_any_argument_give_a_booking_error_and_change_nothing(
    method_name: str,
    store_kind: str,
    engines: dict[str, tuple[Engine, str]],
    data: st.DataObject,
) -> None:
    engine, booking_id = engines[store_kind]
    method, args = _calls(engine, booking_id)[method_name]
    field = data.draw(st.sampled_from(sorted(args)), label="field")
    args[field] = data.draw(HOSTILE, label="value")
    before = all_bookings(engine)
    try:
        method(**args)
    except BookingError as exc:
        json.dumps(exc.details)  # the details travel in an HTTP answer: they must serialize
        assert all_bookings(engine) == before
        return
    # Accepted (an ignored or valid value): only a create may have written a row.
    if not method_name.startswith("create"):
        assert all_bookings(engine) == before


# -- the CLI and a closed pipe ----------------------------------------------------------------


def test_cli_leaves_quietly_when_stdout_closes_early() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the command prints anything
    command = [sys.executable, "-m", "optimo_booking.cli", "slots", "--service", "haircut",
               "--date", "2030-01-07", "--json"]  # fmt: skip
    done = subprocess.run(
        command, check=False, stdout=write_end, stderr=subprocess.PIPE, timeout=60
    )
    os.close(write_end)
    assert done.returncode in (0, 141), done
    assert done.stderr == b""
