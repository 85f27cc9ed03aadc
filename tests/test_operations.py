"""Booking operations, one fact a test, on every store (the `store` fixture): reschedule,
the change cut-off, holds, limits, busy time, the reason order and `outside_hours`.

The catalog is conftest's booking catalog plus: a one-day cut-off on `cut`, limits on ben
(2 a day, 3 a week), a per-staff daily limit of 1 on `trim`, and a daily limit of 4 seats
on the `class` group session (3 seats each).
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import event, given, settings

from conftest import (
    BERLIN,
    BOOK_DAY,
    BOOK_NOW,
    BOOK_SITE,
    BOOKING_CATALOG,
    GOOD_CUSTOMER,
    FakeClock,
    all_bookings,
    needs_postgres,
    refused,
)
from optimo_booking import Booking, BookingError, Engine, Store, generate_slots, load_catalog
from optimo_booking import testing as obt
from optimo_booking.catalog import Catalog
from optimo_booking.errors import CatalogError
from optimo_booking.values import HoldState

TUESDAY = BOOK_DAY + timedelta(days=1)


def ops_catalog(**changes: Any) -> Catalog:
    raw = copy.deepcopy(BOOKING_CATALOG)
    site = raw["sites"][0]
    services = {s["id"]: s for s in site["services"]}
    staff = {s["id"]: s for s in site["staff"]}
    services["cut"]["changeCutoffMinutes"] = 1440
    services["trim"]["limits"] = {"perDay": 1}
    services["class"]["limits"] = {"perDay": 4}
    staff["ben"]["limits"] = {"perDay": 2, "perWeek": 3}
    for key, value in changes.items():
        kind, name, field = key.split("__")
        target = services if kind == "service" else staff
        target[name][field] = value
    return load_catalog(raw)


@pytest.fixture
def ops(store: Store, clock: FakeClock) -> Engine:
    """An engine over the operations catalog on `store`."""
    return Engine(ops_catalog(), store=store, clock=clock)


def book(engine: Engine, start: str, *, day: date = BOOK_DAY, **kw: Any) -> Booking:
    kw.setdefault("service_id", "cut")
    kw.setdefault("staff_id", "ann")
    return engine.create_booking(
        BOOK_SITE, date=day, start_time=start, customer=GOOD_CUSTOMER, **kw
    )


def reason_at(
    engine: Engine, hhmm: str, *, service: str = "cut", staff: str = "ann", day: date = BOOK_DAY
) -> str | None:
    for slot in engine.slots(BOOK_SITE, service, day, staff_id=staff):
        if slot.start.strftime("%H:%M") == hhmm:
            return slot.reason
    raise AssertionError(f"no {hhmm} slot")


def at(day: date, hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


def rows(engine: Engine) -> list[tuple[str, str, int, str, int]]:
    return sorted((b.id, b.staff_id, b.start_ts, b.status, b.version) for b in all_bookings(engine))


# -- 1. reschedule ---------------------------------------------------------------------------------


def test_reschedule_moves_the_same_booking_and_frees_the_old_time(ops: Engine) -> None:
    made = book(ops, "10:00", notes="window seat")
    moved = ops.reschedule(BOOK_SITE, made.id, date=BOOK_DAY, start_time="14:00")
    assert (moved.id, moved.status, moved.customer, moved.notes) == (
        made.id,
        made.status,
        made.customer,
        "window seat",
    )
    assert (moved.start, moved.version, moved.created_at) == (
        at(BOOK_DAY, "14:00"),
        1,
        made.created_at,
    )
    assert ops.get_booking(BOOK_SITE, made.id) == moved
    assert reason_at(ops, "10:00") is None  # the old time is free
    assert reason_at(ops, "14:00") == "booked"
    assert book(ops, "10:00").start == at(BOOK_DAY, "10:00")


def test_a_move_inside_its_own_span_works(ops: Engine) -> None:
    made = book(ops, "10:00")
    moved = ops.reschedule(BOOK_SITE, made.id, date=BOOK_DAY, start_time="10:15")
    assert moved.start == at(BOOK_DAY, "10:15")


def test_a_move_to_the_current_start_is_a_no_op(ops: Engine, clock: FakeClock) -> None:
    made = book(ops, "10:00")
    clock.set(at(BOOK_DAY, "09:50"))  # past the cut-off and the notice: still a no-op
    same = ops.reschedule(BOOK_SITE, made.id, date=BOOK_DAY, start_time="10:00")
    assert same == made and same.version == 0


def test_reschedule_to_another_staff_member_follows_their_branch(ops: Engine) -> None:
    made = book(ops, "10:00")
    moved = ops.reschedule(BOOK_SITE, made.id, date=BOOK_DAY, start_time="11:00", staff_id="cat")
    assert (moved.staff_id, moved.branch_id) == ("cat", "south")
    assert reason_at(ops, "10:00") is None


def test_a_refused_move_changes_nothing(ops: Engine) -> None:
    made = book(ops, "10:00")
    book(ops, "14:00")
    before = rows(ops)
    error = refused(
        "slot_unavailable", ops.reschedule, BOOK_SITE, made.id, date=BOOK_DAY, start_time="14:00"
    )
    assert error.details["reason"] == "booked"
    assert rows(ops) == before


def test_reschedule_checks_notice_on_the_new_start(ops: Engine, clock: FakeClock) -> None:
    made = book(ops, "14:00", day=date(2026, 3, 4))
    clock.set(at(date(2026, 3, 2), "12:00"))
    error = refused(
        "slot_unavailable",
        ops.reschedule,
        BOOK_SITE,
        made.id,
        date=date(2026, 3, 2),
        start_time="13:00",
    )
    assert error.details["reason"] == "too_soon"


@pytest.mark.parametrize("status", ["cancelled", "completed", "no_show"])
def test_a_final_booking_cannot_be_rescheduled(ops: Engine, clock: FakeClock, status: str) -> None:
    made = book(ops, "10:00")
    if status != "cancelled":
        clock.set(at(BOOK_DAY, "10:05"))
    ops.set_status(BOOK_SITE, made.id, status, override_cutoff=True)
    before = rows(ops)
    error = refused(
        "invalid_transition", ops.reschedule, BOOK_SITE, made.id, date=TUESDAY, start_time="10:00"
    )
    assert (error.details["from"], error.details["to"]) == (status, "rescheduled")
    assert rows(ops) == before


def test_reschedule_of_an_unknown_booking_is_not_found(ops: Engine) -> None:
    refused("not_found", ops.reschedule, BOOK_SITE, "bk_nope", date=BOOK_DAY, start_time="10:00")


@pytest.mark.parametrize(
    ("start", "reason"),
    [("10:05", "off_grid"), ("12:15", "outside_hours"), ("07:00", "outside_hours")],
)
def test_reschedule_off_the_grid_or_outside_hours(ops: Engine, start: str, reason: str) -> None:
    made = book(ops, "10:00")
    error = refused(
        "slot_unavailable", ops.reschedule, BOOK_SITE, made.id, date=BOOK_DAY, start_time=start
    )
    assert error.details["reason"] == reason


def test_status_changes_count_versions(ops: Engine) -> None:
    made = ops.create_booking(
        BOOK_SITE, service_id="color", date=BOOK_DAY, start_time="14:00", customer=GOOD_CUSTOMER
    )
    assert made.version == 0
    assert ops.set_status(BOOK_SITE, made.id, "confirmed").version == 1
    assert ops.set_status(BOOK_SITE, made.id, "confirmed").version == 1  # the same again: no-op
    assert ops.set_status(BOOK_SITE, made.id, "cancelled").version == 2


# -- 2. change cut-off -----------------------------------------------------------------------------


def test_reschedule_after_the_cut_off_is_too_late(ops: Engine, clock: FakeClock) -> None:
    made = book(ops, "10:00")
    clock.set(at(BOOK_DAY - timedelta(days=1), "10:00"))  # exactly the deadline: still fine
    moved = ops.reschedule(BOOK_SITE, made.id, date=BOOK_DAY, start_time="10:30")
    clock.set(at(BOOK_DAY - timedelta(days=1), "10:30"))
    clock.advance(seconds=1)
    before = rows(ops)
    error = refused(
        "too_late", ops.reschedule, BOOK_SITE, made.id, date=BOOK_DAY, start_time="11:00"
    )
    # the deadline counts from the current start (10:30 now), in the staff member's zone
    assert error.details["deadline"] == "2026-03-08T10:30:00+01:00"
    assert rows(ops) == before
    assert moved.start == at(BOOK_DAY, "10:30")


def test_cancelling_a_confirmed_booking_after_the_cut_off_is_too_late(
    ops: Engine, clock: FakeClock
) -> None:
    made = book(ops, "10:00")
    clock.set(at(BOOK_DAY, "08:00"))
    error = refused("too_late", ops.set_status, BOOK_SITE, made.id, "cancelled")
    assert error.details["deadline"] == "2026-03-08T10:00:00+01:00"
    assert ops.get_booking(BOOK_SITE, made.id).status == "confirmed"
    assert ops.set_status(BOOK_SITE, made.id, "cancelled", override_cutoff=True).status == (
        "cancelled"
    )


def test_back_office_may_reschedule_after_the_cut_off(ops: Engine, clock: FakeClock) -> None:
    made = book(ops, "14:00")
    clock.set(at(BOOK_DAY, "08:00"))
    moved = ops.reschedule(
        BOOK_SITE, made.id, date=BOOK_DAY, start_time="15:00", override_cutoff=True
    )
    assert moved.start == at(BOOK_DAY, "15:00")


def test_services_without_a_cut_off_allow_changes_until_the_start(
    ops: Engine, clock: FakeClock
) -> None:
    made = book(ops, "10:00", service_id="trim")
    clock.set(at(BOOK_DAY, "09:59"))
    assert ops.set_status(BOOK_SITE, made.id, "cancelled").status == "cancelled"


# -- 3. holds --------------------------------------------------------------------------------------


def hold(engine: Engine, start: str, *, day: date = BOOK_DAY, **kw: Any) -> Any:
    kw.setdefault("service_id", "cut")
    kw.setdefault("staff_id", "ann")
    return engine.hold(BOOK_SITE, date=day, start_time=start, **kw)


def test_a_hold_takes_time_until_it_expires(ops: Engine, clock: FakeClock) -> None:
    held = hold(ops, "10:00", ttl=timedelta(minutes=5))
    assert held.expires_at == BOOK_NOW + timedelta(minutes=5)
    assert reason_at(ops, "10:00") == "held"
    assert reason_at(ops, "10:30") == "held"  # its buffer after, as for a booking
    assert refused("slot_unavailable", book, ops, "10:00").details["reason"] == "held"
    clock.advance(minutes=5)  # no background job: the clock alone frees it
    assert reason_at(ops, "10:00") is None
    assert book(ops, "10:00").staff_id == "ann"


def test_a_hold_picks_staff_like_a_create(ops: Engine) -> None:
    book(ops, "10:00", staff_id="ann")
    held = ops.hold(BOOK_SITE, service_id="cut", date=BOOK_DAY, start_time="11:00")
    assert held.staff_id == "ben"  # ann already has a booking that day


def test_a_hold_becomes_a_booking(ops: Engine) -> None:
    held = hold(ops, "10:00")
    made = ops.create_booking(
        BOOK_SITE,
        service_id="cut",
        date=BOOK_DAY,
        start_time="10:00",
        customer=GOOD_CUSTOMER,
        hold_id=held.id,
    )
    assert (made.staff_id, made.start) == ("ann", at(BOOK_DAY, "10:00"))
    assert ops.get_hold(BOOK_SITE, held.id).state is HoldState.USED
    again = refused(
        "hold_expired",
        ops.create_booking,
        BOOK_SITE,
        service_id="cut",
        date=BOOK_DAY,
        start_time="10:00",
        customer=GOOD_CUSTOMER,
        hold_id=held.id,
    )
    assert again.details["holdId"] == held.id
    assert len(all_bookings(ops)) == 1


@pytest.mark.parametrize("how", ["expired", "released"])
def test_an_expired_or_released_hold_cannot_be_used(
    ops: Engine, clock: FakeClock, how: str
) -> None:
    held = hold(ops, "10:00", ttl=timedelta(minutes=1))
    if how == "expired":
        clock.advance(minutes=1)
    else:
        ops.release_hold(BOOK_SITE, held.id)
        ops.release_hold(BOOK_SITE, held.id)  # idempotent
        assert reason_at(ops, "10:00") is None
    refused(
        "hold_expired",
        ops.create_booking,
        BOOK_SITE,
        service_id="cut",
        date=BOOK_DAY,
        start_time="10:00",
        customer=GOOD_CUSTOMER,
        hold_id=held.id,
    )
    assert all_bookings(ops) == []


def test_unknown_holds_are_not_found(ops: Engine) -> None:
    refused("not_found", ops.release_hold, BOOK_SITE, "hd_nope")
    refused(
        "not_found",
        ops.create_booking,
        BOOK_SITE,
        service_id="cut",
        date=BOOK_DAY,
        start_time="10:00",
        customer=GOOD_CUSTOMER,
        hold_id="hd_nope",
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"start_time": "10:15"}, "startTime"),
        ({"service_id": "trim"}, "serviceId"),
        ({"staff_id": "ben"}, "staffId"),
    ],
)
def test_a_booking_from_a_hold_must_match_it(
    ops: Engine, changes: dict[str, str], field: str
) -> None:
    held = hold(ops, "10:00")
    request = {"service_id": "cut", "start_time": "10:00", **changes}
    error = refused(
        "validation_error",
        ops.create_booking,
        BOOK_SITE,
        date=BOOK_DAY,
        customer=GOOD_CUSTOMER,
        hold_id=held.id,
        **request,
    )
    assert field in error.details["fields"]
    assert ops.get_hold(BOOK_SITE, held.id).state is HoldState.ACTIVE


@pytest.mark.parametrize("minutes", [0, 0.5, 24 * 60 + 1])
def test_hold_ttl_is_one_minute_to_a_day(ops: Engine, minutes: float) -> None:
    error = refused("validation_error", hold, ops, "10:00", ttl=timedelta(minutes=minutes))
    assert error.details["fields"] == ["ttl"]


def test_holds_take_seats_of_a_group_session(ops: Engine) -> None:
    for _ in range(2):
        ops.hold(BOOK_SITE, service_id="class", date=BOOK_DAY, start_time="10:00")
    book(ops, "10:00", service_id="class", staff_id="cat")
    assert reason_at(ops, "10:00", service="class", staff="cat") == "full"


def test_expired_holds_are_forgotten_a_day_later(ops: Engine, clock: FakeClock) -> None:
    old = hold(ops, "10:00", ttl=timedelta(minutes=1))
    clock.advance(hours=23)
    hold(ops, "11:00", day=TUESDAY, staff_id="cat")
    assert ops.get_hold(BOOK_SITE, old.id).state is HoldState.ACTIVE  # expired, remembered
    clock.advance(hours=2)
    hold(ops, "14:00", day=TUESDAY + timedelta(days=1))  # taking a hold forgets old ones
    refused("not_found", ops.get_hold, BOOK_SITE, old.id)


# -- 4. limits -------------------------------------------------------------------------------------


def test_a_staff_limit_per_day_counts_bookings_and_holds(ops: Engine) -> None:
    book(ops, "09:00", staff_id="ben")
    hold(ops, "10:00", staff_id="ben")
    assert reason_at(ops, "14:00", staff="ben") == "limit_reached"
    error = refused("slot_unavailable", book, ops, "14:00", staff_id="ben")
    assert error.details["reason"] == "limit_reached"
    assert reason_at(ops, "14:00", staff="ann") is None  # ann has no limit


def test_a_staff_limit_per_week_counts_the_iso_week(ops: Engine) -> None:
    book(ops, "09:00", staff_id="ben")
    book(ops, "09:00", staff_id="ben", day=TUESDAY)
    book(ops, "09:00", staff_id="ben", day=TUESDAY + timedelta(days=1))
    saturday = BOOK_DAY + timedelta(days=5)
    assert reason_at(ops, "10:00", staff="ben", day=saturday) == "limit_reached"
    next_monday = BOOK_DAY + timedelta(days=7)
    assert reason_at(ops, "10:00", staff="ben", day=next_monday) is None


def test_a_service_limit_counts_that_service_per_staff_member(ops: Engine) -> None:
    book(ops, "09:00", service_id="trim", staff_id="ann")
    assert reason_at(ops, "15:00", service="trim", staff="ann") == "limit_reached"
    assert reason_at(ops, "15:00", service="cut", staff="ann") is None  # another service
    assert reason_at(ops, "15:00", service="trim", staff="cat") is None  # another person


def test_every_seat_of_a_group_session_counts(ops: Engine) -> None:
    for _ in range(3):
        book(ops, "10:00", service_id="class", staff_id="cat")
    book(ops, "12:00", service_id="class", staff_id="cat")
    assert reason_at(ops, "12:00", service="class", staff="cat") == "limit_reached"


def test_a_rescheduled_booking_does_not_count_itself(ops: Engine) -> None:
    book(ops, "09:00", staff_id="ben")
    second = book(ops, "10:00", staff_id="ben")
    moved = ops.reschedule(BOOK_SITE, second.id, date=BOOK_DAY, start_time="15:00")
    assert moved.start == at(BOOK_DAY, "15:00")


@pytest.mark.parametrize(
    ("limits", "path"),
    [
        ({"perDay": 0}, "limits.perDay"),
        ({"perWeek": "3"}, "limits.perWeek"),
        ({"perMonth": 3}, "limits.perMonth"),
        ([2], "limits"),
    ],
)
def test_bad_limits_name_their_path(limits: Any, path: str) -> None:
    with pytest.raises(CatalogError) as info:
        ops_catalog(staff__ann__limits=limits)
    assert any(p.endswith(f"staff[0].{path}") for p, _ in info.value.problems), info.value


def test_a_bad_cut_off_names_its_path() -> None:
    with pytest.raises(CatalogError) as info:
        ops_catalog(service__cut__changeCutoffMinutes=-1)
    assert [p for p, _ in info.value.problems] == ["sites[0].services[0].changeCutoffMinutes"]


# -- 5. busy time ----------------------------------------------------------------------------------


def test_busy_time_blocks_slots_whose_buffered_span_overlaps_it(ops: Engine) -> None:
    stored = ops.set_busy(
        BOOK_SITE, "ann", "google", [(at(BOOK_DAY, "11:00"), at(BOOK_DAY, "11:30"))]
    )
    assert stored == [(at(BOOK_DAY, "11:00"), at(BOOK_DAY, "11:30"))]
    # cut holds [start, end + 10 min): 10:30 ends its buffer at 11:10
    assert reason_at(ops, "10:15") is None
    assert reason_at(ops, "10:30") == "busy"
    assert reason_at(ops, "11:15") == "busy"
    assert reason_at(ops, "11:30") is None
    assert refused("slot_unavailable", book, ops, "11:00").details["reason"] == "busy"


def test_each_source_is_replaced_on_its_own(ops: Engine) -> None:
    ops.set_busy(BOOK_SITE, "ann", "google", [(at(BOOK_DAY, "11:00"), at(BOOK_DAY, "11:30"))])
    ops.set_busy(
        BOOK_SITE,
        "ann",
        "outlook",
        [
            (at(BOOK_DAY, "14:30"), at(BOOK_DAY, "15:00")),
            ("2026-03-09T14:00:00+01:00", "2026-03-09T14:30:00+01:00"),
        ],
    )
    assert ops.busy(BOOK_SITE, "ann") == [
        (at(BOOK_DAY, "11:00"), at(BOOK_DAY, "11:30")),
        (at(BOOK_DAY, "14:00"), at(BOOK_DAY, "15:00")),  # touching spans of one source merge
    ]
    ops.set_busy(BOOK_SITE, "ann", "google", [])
    assert ops.busy(BOOK_SITE, "ann") == [(at(BOOK_DAY, "14:00"), at(BOOK_DAY, "15:00"))]
    assert reason_at(ops, "11:00") is None


def test_busy_spans_are_given_in_the_staff_members_zone(ops: Engine) -> None:
    ops.set_busy(
        BOOK_SITE,
        "ann",
        "ics",
        [(datetime(2026, 3, 9, 10, tzinfo=UTC), datetime(2026, 3, 9, 11, tzinfo=UTC))],
    )
    ((start, end),) = ops.busy(BOOK_SITE, "ann")
    assert (start.isoformat(), end.isoformat()) == (
        "2026-03-09T11:00:00+01:00",
        "2026-03-09T12:00:00+01:00",
    )


@pytest.mark.parametrize(
    "spans",
    [
        [(datetime(2026, 3, 9, 10), datetime(2026, 3, 9, 11))],  # naive  # noqa: DTZ001
        [(at(BOOK_DAY, "11:00"), at(BOOK_DAY, "11:00"))],
        [("2026-03-09 10:00", "2026-03-09T11:00:00+01:00")],
        [(at(BOOK_DAY, "11:00"),)],
        "not a list",
        [(at(BOOK_DAY, "11:00"), at(BOOK_DAY, "11:30"))] * 10_001,
    ],
)
def test_bad_busy_spans_are_refused_and_change_nothing(ops: Engine, spans: Any) -> None:
    ops.set_busy(BOOK_SITE, "ann", "google", [(at(BOOK_DAY, "09:00"), at(BOOK_DAY, "09:30"))])
    refused("validation_error", ops.set_busy, BOOK_SITE, "ann", "google", spans)
    assert ops.busy(BOOK_SITE, "ann") == [(at(BOOK_DAY, "09:00"), at(BOOK_DAY, "09:30"))]


def test_busy_time_needs_a_known_staff_member_and_a_source_name(ops: Engine) -> None:
    refused("not_found", ops.set_busy, BOOK_SITE, "zoe", "google", [])
    refused("validation_error", ops.set_busy, BOOK_SITE, "ann", "my calendar", [])


# -- 6. the reason order ---------------------------------------------------------------------------


def test_reasons_come_in_their_order(ops: Engine, clock: FakeClock) -> None:
    """busy before limit_reached before held before booked, each shown by taking the one
    before it away."""
    book(ops, "09:00", staff_id="ben")
    book(ops, "10:00", staff_id="ben")  # ben's daily limit of 2 is reached
    ops.set_busy(BOOK_SITE, "ben", "google", [(at(BOOK_DAY, "10:00"), at(BOOK_DAY, "10:30"))])
    assert reason_at(ops, "10:00", staff="ben") == "busy"
    ops.set_busy(BOOK_SITE, "ben", "google", [])
    assert reason_at(ops, "10:00", staff="ben") == "limit_reached"
    assert reason_at(ops, "10:00", staff="ann") is None
    hold(ops, "10:00", staff_id="ann")
    assert reason_at(ops, "10:00", staff="ann") == "held"


def test_time_off_comes_before_busy(ops: Engine) -> None:
    tuesday = date(2026, 3, 10)  # ann has the day off in the booking catalog
    assert reason_at(ops, "10:00", day=tuesday) == "time_off"
    ops.set_busy(BOOK_SITE, "ann", "google", [(at(tuesday, "10:00"), at(tuesday, "11:00"))])
    assert reason_at(ops, "10:00", day=tuesday) == "time_off"
    assert reason_at(ops, "10:00", staff="ben", day=tuesday) is None


# -- 7. strategies for the new catalog keys --------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(obt.scenarios(operations=True))
def test_generated_limits_and_cut_offs_load_and_slots_keep_their_promises(
    scenario: obt.Scenario,
) -> None:
    """`catalogs(operations=True)` draws limits and cut-offs the loader takes, and every
    slot's reason, `limit_reached` included, is what the brute-force oracle says."""
    site = scenario.site
    for service in site.services.values():
        slots = generate_slots(site, service, scenario.day, scenario.bookings, scenario.now)
        if any(s.reason == "limit_reached" for s in slots):
            event("a limit was reached")
        obt.check_slot_invariants(
            site, service, scenario.day, slots, scenario.bookings, scenario.now
        )


@settings(max_examples=50, deadline=None)
@given(obt.catalogs(operations=True))
def test_generated_operation_keys_are_valid(raw: dict[str, Any]) -> None:
    site = load_catalog(raw).site("site")
    for member, drawn in zip(site.staff.values(), raw["sites"][0]["staff"], strict=True):
        assert bool(member.limits) == ("limits" in drawn)
    for service, drawn in zip(site.services.values(), raw["sites"][0]["services"], strict=True):
        assert service.change_cutoff_minutes == drawn.get("changeCutoffMinutes")


# -- the SQLite schema ---------------------------------------------------------------------------


def test_a_version_1_sqlite_file_is_migrated_keeping_its_bookings(tmp_path: Any) -> None:
    import sqlite3

    from optimo_booking import SQLiteStore
    from optimo_booking.stores.sqlite import _MIGRATIONS

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        for statement in _MIGRATIONS[0].split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
        conn.execute(
            "INSERT INTO bookings VALUES ('bk_old', ?, 'cut', 'ann', NULL, 'confirmed', "
            "?, ?, 'Europe/Berlin', '2026-03-09', '{\"name\": \"Old\"}', NULL, ?, ?)",
            (
                BOOK_SITE,
                int(at(BOOK_DAY, "10:00").timestamp()),
                int(at(BOOK_DAY, "10:30").timestamp()),
                BOOK_NOW.isoformat(),
                BOOK_NOW.isoformat(),
            ),
        )
    conn.close()
    store = SQLiteStore(path)
    try:
        engine = Engine(ops_catalog(), store=store, clock=FakeClock())
        old = engine.get_booking(BOOK_SITE, "bk_old")
        assert (old.version, old.customer) == (0, {"name": "Old"})
        assert (
            engine.reschedule(BOOK_SITE, "bk_old", date=BOOK_DAY, start_time="11:00").version == 1
        )
        assert reason_at(engine, "11:00") == "booked"
        hold(engine, "14:00")
        assert reason_at(engine, "14:00") == "held"
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (len(_MIGRATIONS),)
    conn.close()


@pytest.mark.parametrize(
    "store_spec", [pytest.param("postgres", marks=needs_postgres)], indirect=True
)
def test_postgres_refuses_an_overlapping_move_even_without_the_check(ops: Engine) -> None:
    """The exclusion constraint checks a moved booking's new span, whatever Python decided."""
    assert type(ops.store).__name__ == "PostgresStore"
    import dataclasses

    from optimo_booking.engine import booking_held_span

    first = book(ops, "10:00")
    second = book(ops, "14:00")
    site = ops.catalog.site(BOOK_SITE)

    def blind_move(current: Booking, taken: object) -> Booking:
        return dataclasses.replace(
            current, start=first.start, end=first.end, version=current.version + 1
        )

    with pytest.raises(BookingError) as info:
        ops.store.reschedule(
            BOOK_SITE,
            second.id,
            window=(0, 1),
            staff_ids={"ann"},
            move=blind_move,
            held_span=lambda b: booking_held_span(site, b),
        )
    assert info.value.code == "slot_unavailable"
    assert ops.get_booking(BOOK_SITE, second.id) == second
