"""The status lifecycle: one fact per cell of the status x status table, the time rules, the
same-status no-op, unknown statuses, and for every refusal the stored row left unchanged."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from conftest import (
    BOOK_DAY,
    BOOK_NOW,
    BOOK_SITE,
    FAR_SITE,
    GOOD_CUSTOMER,
    FakeClock,
    refused,
)
from optimo_booking import Booking, Engine, Status
from optimo_booking.lifecycle import TRANSITIONS

# The contract (DESIGN "Status lifecycle"), written out by hand, not read from the code.
LEGAL = {
    "pending": {"confirmed", "cancelled"},
    "confirmed": {"completed", "cancelled", "no_show"},
    "cancelled": set(),
    "completed": set(),
    "no_show": set(),
}
# Every cell of the table: every known status to every known status.
CELLS = [(current.value, target.value) for current in TRANSITIONS for target in Status]


def _color(engine: Engine) -> Booking:
    """A `color` booking (needs confirmation, so it starts `pending`) 10:00-11:00 on BOOK_DAY."""
    return engine.create_booking(
        BOOK_SITE,
        service_id="color",
        date=BOOK_DAY,
        start_time="10:00",
        customer=GOOD_CUSTOMER,
    )


def _in_status(engine: Engine, clock: FakeClock, status: str) -> Booking:
    """A booking brought to `status` by legal moves; the clock ends one minute after its start."""
    b = _color(engine)
    assert b.status == "pending"
    if status == "cancelled":
        b = engine.set_status(BOOK_SITE, b.id, "cancelled")
    elif status != "pending":
        b = engine.set_status(BOOK_SITE, b.id, "confirmed")
        clock.set(b.start + timedelta(minutes=1))
        if status != "confirmed":
            b = engine.set_status(BOOK_SITE, b.id, status)
    clock.set(b.start + timedelta(minutes=1))  # during the booking: every time rule holds
    assert b.status == status
    return b


def _unchanged(engine: Engine, before: Booking) -> None:
    now = engine.get_booking(BOOK_SITE, before.id)
    assert (now.status, now.updated_at) == (before.status, before.updated_at)
    assert [b.status for b in engine.list_bookings(BOOK_SITE).items] == [before.status]


def test_the_table_holds_exactly_the_documented_moves() -> None:
    assert {s.value: {t.value for t in moves} for s, moves in TRANSITIONS.items()} == LEGAL


def test_final_statuses_map_to_nothing() -> None:
    assert [s.value for s, moves in TRANSITIONS.items() if not moves] == [
        "cancelled",
        "completed",
        "no_show",
    ]


@pytest.mark.parametrize(("current", "target"), CELLS, ids=[f"{c}->{t}" for c, t in CELLS])
def test_every_cell_of_the_status_table(
    engine: Engine, clock: FakeClock, current: str, target: str
) -> None:
    b = _in_status(engine, clock, current)
    clock.advance(minutes=1)
    if target == current:  # the same status again: a no-op success, nothing written
        again = engine.set_status(BOOK_SITE, b.id, target)
        assert (again.status, again.updated_at) == (current, b.updated_at)
        _unchanged(engine, b)
    elif target in LEGAL[current]:
        moved = engine.set_status(BOOK_SITE, b.id, target)
        assert (moved.status, moved.updated_at) == (target, clock())
        stored = engine.get_booking(BOOK_SITE, b.id)
        assert (stored.status, stored.updated_at) == (target, clock())
    else:
        err = refused("invalid_transition", engine.set_status, BOOK_SITE, b.id, target)
        details = {k: err.details[k] for k in ("from", "to")}
        assert details == {"from": current, "to": target}
        assert sorted(err.details["allowed"]) == sorted(LEGAL[current])
        assert err.http_status == 409
        _unchanged(engine, b)


# (from, to, moment, allowed now or the `allowed` list of the refusal)
# Booking: color 10:00-11:00 on BOOK_DAY. Moments are relative to its start and end.
_MOMENTS = {
    "an hour before start": lambda b: b.start - timedelta(hours=1),
    "one second before start": lambda b: b.start - timedelta(seconds=1),
    "at start": lambda b: b.start,
    "during": lambda b: b.start + timedelta(minutes=30),
    "one second before end": lambda b: b.end - timedelta(seconds=1),
    "at end": lambda b: b.end,
    "a day after end": lambda b: b.end + timedelta(days=1),
}
TIME_FACTS: list[tuple[str, str, str, bool | list[str]]] = [
    # pending -> confirmed needs now < end
    ("pending", "confirmed", "an hour before start", True),
    ("pending", "confirmed", "during", True),
    ("pending", "confirmed", "one second before end", True),
    ("pending", "confirmed", "at end", ["cancelled"]),
    ("pending", "confirmed", "a day after end", ["cancelled"]),
    # a pending booking may be cancelled at any time
    ("pending", "cancelled", "an hour before start", True),
    ("pending", "cancelled", "during", True),
    ("pending", "cancelled", "at end", True),
    ("pending", "cancelled", "a day after end", True),
    # completed and no_show need now >= start
    ("confirmed", "completed", "an hour before start", ["cancelled"]),
    ("confirmed", "completed", "one second before start", ["cancelled"]),
    ("confirmed", "completed", "at start", True),
    ("confirmed", "completed", "at end", True),
    ("confirmed", "completed", "a day after end", True),
    ("confirmed", "no_show", "one second before start", ["cancelled"]),
    ("confirmed", "no_show", "at start", True),
    ("confirmed", "no_show", "a day after end", True),
    # cancelled from confirmed needs now < end
    ("confirmed", "cancelled", "an hour before start", True),
    ("confirmed", "cancelled", "one second before end", True),
    ("confirmed", "cancelled", "at end", ["completed", "no_show"]),
    ("confirmed", "cancelled", "a day after end", ["completed", "no_show"]),
]


@pytest.mark.parametrize(
    ("current", "target", "moment", "expected"),
    TIME_FACTS,
    ids=[f"{c}->{t} {m}" for c, t, m, _ in TIME_FACTS],
)
def test_time_rules(
    engine: Engine,
    clock: FakeClock,
    current: str,
    target: str,
    moment: str,
    expected: bool | list[str],
) -> None:
    b = _color(engine)
    if current == "confirmed":
        b = engine.set_status(BOOK_SITE, b.id, "confirmed")
    clock.set(_MOMENTS[moment](b))
    if expected is True:
        assert engine.set_status(BOOK_SITE, b.id, target).status == target
        assert engine.get_booking(BOOK_SITE, b.id).updated_at == clock()
    else:
        err = refused("invalid_transition", engine.set_status, BOOK_SITE, b.id, target)
        assert (err.details["from"], err.details["to"]) == (current, target)
        assert sorted(err.details["allowed"]) == sorted(expected)
        _unchanged(engine, b)


@pytest.mark.parametrize("status", ["pending", "confirmed", "cancelled", "completed", "no_show"])
def test_same_status_is_a_no_op_even_long_after(
    engine: Engine, clock: FakeClock, status: str
) -> None:
    b = _in_status(engine, clock, status)
    clock.advance(days=400)  # every time rule fails by now; a no-op still succeeds
    assert engine.set_status(BOOK_SITE, b.id, status).updated_at == b.updated_at
    _unchanged(engine, b)


@pytest.mark.parametrize("status", ["done", "CONFIRMED", "", " pending", "no-show", None, 3])
def test_unknown_status_is_a_validation_error(engine: Engine, status: object) -> None:
    b = _color(engine)
    err = refused("validation_error", engine.set_status, BOOK_SITE, b.id, status)
    assert err.details["fields"] == ["status"]
    _unchanged(engine, b)


def test_a_status_enum_member_is_accepted(engine: Engine) -> None:
    b = _color(engine)
    assert engine.set_status(BOOK_SITE, b.id, Status.CONFIRMED).status is Status.CONFIRMED


def test_unknown_booking_is_not_found(engine: Engine) -> None:
    refused("not_found", engine.set_status, BOOK_SITE, "bk_nope", "confirmed")


def test_another_sites_booking_is_not_found(engine: Engine) -> None:
    b = _color(engine)
    refused("not_found", engine.set_status, FAR_SITE, b.id, "confirmed")
    refused("not_found", engine.get_booking, FAR_SITE, b.id)
    _unchanged(engine, b)


def test_unknown_site_is_not_found(engine: Engine) -> None:
    b = _color(engine)
    refused("not_found", engine.set_status, "nope", b.id, "confirmed")
    _unchanged(engine, b)


def test_a_new_booking_of_a_service_needing_confirmation_is_pending(engine: Engine) -> None:
    assert _color(engine).status == "pending"


def test_a_new_booking_of_any_other_service_is_confirmed(engine: Engine) -> None:
    b = engine.create_booking(
        BOOK_SITE, service_id="cut", date=BOOK_DAY, start_time="10:00", customer=GOOD_CUSTOMER
    )
    assert b.status == "confirmed"


def test_created_and_updated_come_from_the_engine_clock(engine: Engine, clock: FakeClock) -> None:
    b = _color(engine)
    assert b.created_at == b.updated_at == BOOK_NOW
    clock.advance(minutes=5)
    moved = engine.set_status(BOOK_SITE, b.id, "confirmed")
    assert (moved.created_at, moved.updated_at) == (BOOK_NOW, clock())


def test_cancelling_frees_the_slot(engine: Engine) -> None:
    b = _color(engine)
    engine.set_status(BOOK_SITE, b.id, "cancelled")
    again = engine.create_booking(
        BOOK_SITE,
        service_id="color",
        date=BOOK_DAY,
        start_time="10:00",
        customer=GOOD_CUSTOMER,
        staff_id=b.staff_id,
    )
    assert again.id != b.id


@pytest.mark.parametrize("status", ["pending", "confirmed", "completed", "no_show"])
def test_every_status_but_cancelled_keeps_the_time_held(
    engine: Engine, clock: FakeClock, status: str
) -> None:
    b = _in_status(engine, clock, status)
    clock.set(datetime(2026, 3, 2, 9, 20, tzinfo=b.start.tzinfo))
    refused(
        "slot_unavailable",
        engine.create_booking,
        BOOK_SITE,
        service_id="color",
        date=BOOK_DAY,
        start_time="10:00",
        customer=GOOD_CUSTOMER,
        staff_id=b.staff_id,
    )
