"""Booking placement, auto-assignment, listing and idempotency, on both stores; and the
Hypothesis property "listing and booking agree".

Every refusal also checks that nothing changed: the list total is the same and the
idempotency key sent with the refused request still works for a valid request.
"""

from __future__ import annotations

import base64
import itertools
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import (
    BERLIN,
    BOOK_DAY,
    BOOK_NOW,
    BOOK_SITE,
    FAR_SITE,
    GOOD_CUSTOMER,
    FakeClock,
    all_bookings,
    booking_catalog,
    held_conflicts,
    refused,
)
from optimo_booking import Booking, BookingError, Engine, MemoryStore, Slot, Status, Store

_keys = itertools.count(1)

# A request that is valid on the booking catalog at BOOK_NOW: ann (first in catalog order)
# takes a cut at 15:00 on BOOK_DAY.
VALID: dict[str, Any] = {
    "service_id": "cut",
    "date": "2026-03-09",
    "start_time": "15:00",
    "customer": GOOD_CUSTOMER,
}


def book(
    engine: Engine,
    start_time: str | datetime,
    *,
    service: str = "cut",
    day: date | str = BOOK_DAY,
    staff: str | None = None,
    site: str = BOOK_SITE,
    **extra: Any,
) -> Booking:
    """Create a booking that must succeed."""
    return engine.create_booking(
        site,
        service_id=service,
        date=day,
        start_time=start_time,
        customer=extra.pop("customer", GOOD_CUSTOMER),
        staff_id=staff,
        **extra,
    )


def snapshot(engine: Engine) -> list[tuple[str, str, datetime]]:
    """(id, status, updated_at) of every booking of both sites."""
    return [
        (b.id, b.status.value, b.updated_at)
        for site in (BOOK_SITE, FAR_SITE)
        for b in all_bookings(engine, site)
    ]


def refused_cleanly(
    engine: Engine, code: str, *, site: str = BOOK_SITE, reason: str | None = None, **request: Any
) -> BookingError:
    """A create with `request` (over VALID) fails with `code` and changes nothing.

    Afterwards the idempotency key it carried still works for the VALID request.
    """
    before = snapshot(engine)
    total = engine.list_bookings(BOOK_SITE).total
    key = f"key-{next(_keys)}"
    err = refused(code, engine.create_booking, site, idempotency_key=key, **{**VALID, **request})
    if reason is not None:
        assert err.details["reason"] == reason, err.details
    assert snapshot(engine) == before
    assert engine.list_bookings(BOOK_SITE).total == total
    outcome = engine.create_booking_outcome(BOOK_SITE, idempotency_key=key, **VALID)
    assert not outcome.replayed
    assert engine.list_bookings(BOOK_SITE).total == total + 1
    return err


# -- not_found ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "request_part", "detail"),
    [
        ("site", {"site": "nope"}, {"siteId": "nope"}),
        ("service", {"service_id": "nope"}, {"serviceId": "nope"}),
        ("staff", {"staff_id": "nope"}, {"staffId": "nope"}),
        ("branch", {"branch_id": "nope"}, {"branchId": "nope"}),
        ("other site's service", {"service_id": "late"}, {"serviceId": "late"}),
        ("other site's staff", {"staff_id": "dan"}, {"staffId": "dan"}),
    ],
)
def test_unknown_ids_are_not_found(
    engine: Engine, field: str, request_part: dict[str, Any], detail: dict[str, str]
) -> None:
    err = refused_cleanly(engine, "not_found", **request_part)
    assert err.details == detail
    assert err.http_status == 404


# -- validation_error -------------------------------------------------------------------------

VALIDATION_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("February 30", {"date": "2026-02-30"}, "date"),
    ("month 13", {"date": "2026-13-01"}, "date"),
    ("no zero padding", {"date": "2026-3-9"}, "date"),
    ("basic format date", {"date": "20260309"}, "date"),
    ("week date", {"date": "2026-W11-1"}, "date"),
    ("full-width digits", {"date": "２０２６-03-09"}, "date"),
    ("date-time as date", {"date": datetime(2026, 3, 9, tzinfo=UTC)}, "date"),
    ("hour 25", {"start_time": "25:00"}, "startTime"),
    ("24:00 is no start", {"start_time": "24:00"}, "startTime"),
    ("minute 60", {"start_time": "10:60"}, "startTime"),
    ("no colon", {"start_time": "1000"}, "startTime"),
    ("seconds", {"start_time": "10:00:00"}, "startTime"),
    ("naive ISO", {"start_time": "2026-03-09T10:00:00"}, "startTime"),
    ("naive datetime", {"start_time": datetime(2026, 3, 9, 10)}, "startTime"),  # noqa: DTZ001
    ("next day's start", {"start_time": "2026-03-10T10:00:00+01:00"}, "startTime"),
    ("previous day's start", {"start_time": "2026-03-08T23:45:00+01:00"}, "startTime"),
    (
        "UTC date differs",
        {"start_time": "2026-03-08T23:30:00+00:00", "date": "2026-03-08"},
        "startTime",
    ),
    ("ambiguous on fall-back", {"date": "2026-10-25", "start_time": "02:30"}, "startTime"),
    ("gap on spring-forward", {"date": "2026-03-29", "start_time": "02:30"}, "startTime"),
    ("customer a string", {"customer": "Ada"}, "customer"),
    ("customer a list", {"customer": ["Ada"]}, "customer"),
    ("customer None", {"customer": None}, "customer"),
    ("customer without name", {"customer": {"email": "ada@example.org"}}, "customer.name"),
    ("empty name", {"customer": {"name": ""}}, "customer.name"),
    ("blank name", {"customer": {"name": "   "}}, "customer.name"),
    ("white space name", {"customer": {"name": "\t\n\u3000"}}, "customer.name"),
    ("name not text", {"customer": {"name": 5}}, "customer.name"),
    ("lone surrogate in name", {"customer": {"name": "Ada\ud800"}}, "customer"),
    ("lone low surrogate", {"customer": {"name": "Ada", "note": "\udfff"}}, "customer"),
    ("over 4 KiB", {"customer": {"name": "x" * 4086}}, "customer"),
    ("over 4 KiB in UTF-8 bytes", {"customer": {"name": "é" * 2043}}, "customer"),
    ("notes not text", {"notes": 5}, "notes"),
    ("notes over 2000 characters", {"notes": "n" * 2001}, "notes"),
    ("lone surrogate in notes", {"notes": "hi \ud83d"}, "notes"),
    (
        "customer value not JSON",
        {"customer": {"name": "Ada", "born": date(1815, 12, 10)}},
        "customer",
    ),
    ("staff not offering", {"service_id": "color", "staff_id": "cat"}, "staffId"),
    ("staff not offering class", {"service_id": "class", "staff_id": "ann"}, "staffId"),
    ("empty idempotency key", {"idempotency_key": ""}, "Idempotency-Key"),
]
BAD_EMAILS = [
    "ada",
    "ada@example",
    "@example.org",
    "ada@@example.org",
    "ada@exa@mple.org",
    "ada lovelace@example.org",
    "ada@example.org\n",
    " ada@example.org",
    "ada@example..org",
    "ada@.org",
    "ada@example.org.",
    "",
    5,
]


@pytest.mark.parametrize(
    ("request_part", "field"),
    [(r, f) for _, r, f in VALIDATION_CASES],
    ids=[name for name, _, _ in VALIDATION_CASES],
)
def test_malformed_requests_are_validation_errors(
    engine: Engine, request_part: dict[str, Any], field: str
) -> None:
    if "idempotency_key" in request_part:  # the helper sends its own key
        before = snapshot(engine)
        err = refused("validation_error", book, engine, "15:00", idempotency_key="")
        assert snapshot(engine) == before
    else:
        err = refused_cleanly(engine, "validation_error", **request_part)
    assert field in err.details["fields"], err.details
    assert err.http_status == 400


@pytest.mark.parametrize("email", BAD_EMAILS, ids=repr)
def test_bad_email_is_a_validation_error(engine: Engine, email: object) -> None:
    err = refused_cleanly(engine, "validation_error", customer={"name": "Ada", "email": email})
    assert err.details["fields"] == ["customer.email"]


@pytest.mark.parametrize(
    "email", ["ada@example.org", "a@b.co", "ada+tag@mail.example.org", "ädä@exämple.de"]
)
def test_address_like_emails_are_accepted(engine: Engine, email: str) -> None:
    assert (
        book(engine, "10:00", customer={"name": "Ada", "email": email}).customer["email"] == email
    )


def test_customer_of_exactly_4_kib_is_accepted(engine: Engine) -> None:
    customer = {"name": "x" * 4085}  # {"name":"..."} compact: 11 + 4085 = 4096 bytes
    assert len(json.dumps(customer, separators=(",", ":")).encode()) == 4096
    assert book(engine, "10:00", customer=customer).customer == customer


def test_customer_limit_counts_utf8_bytes_not_characters(engine: Engine) -> None:
    customer = {"name": "é" * 2043}  # 2054 characters, 4097 bytes
    assert len(json.dumps(customer, ensure_ascii=False, separators=(",", ":"))) < 4096
    refused_cleanly(engine, "validation_error", customer=customer)


def test_validation_reports_every_bad_field(engine: Engine) -> None:
    err = refused_cleanly(engine, "validation_error", customer={"name": " ", "email": "x"}, notes=7)
    assert err.details["fields"] == ["customer.email", "customer.name", "notes"]


def test_staff_not_at_the_requested_branch_is_a_validation_error(engine: Engine) -> None:
    assert engine.slots(BOOK_SITE, "cut", BOOK_DAY, staff_id="ann", branch_id="south") == []
    err = refused_cleanly(engine, "validation_error", staff_id="ann", branch_id="south")
    assert err.details["fields"] == ["staffId"]


def test_staff_not_offering_yields_no_slots(engine: Engine) -> None:
    assert engine.slots(BOOK_SITE, "color", BOOK_DAY, staff_id="cat") == []


# -- slot_unavailable -------------------------------------------------------------------------


def test_booked(engine: Engine) -> None:
    book(engine, "10:00", staff="ann")
    err = refused_cleanly(
        engine, "slot_unavailable", reason="booked", start_time="10:15", staff_id="ann"
    )
    assert err.http_status == 409
    assert err.details["startTime"] == "2026-03-09T10:15:00+01:00"


def test_booked_by_the_buffer_after(engine: Engine) -> None:
    book(engine, "10:00", staff="ann")  # holds 10:00-10:40 (10 minutes after)
    refused_cleanly(engine, "slot_unavailable", reason="booked", start_time="10:30", staff_id="ann")
    assert book(engine, "10:45", staff="ann").staff_id == "ann"


def test_booked_by_the_buffer_before_of_another_service(engine: Engine) -> None:
    book(engine, "11:00", service="color", staff="ann")  # holds 10:50-12:15
    refused_cleanly(
        engine, "slot_unavailable", reason="booked", start_time="10:15", staff_id="ann"
    )  # cut 10:15 would hold 10:15-10:55
    assert book(engine, "10:00", staff="ann").staff_id == "ann"  # 10:00-10:40 touches nothing


def test_full(engine: Engine) -> None:
    for _ in range(3):
        assert book(engine, "10:00", service="class").staff_id == "cat"
    refused_cleanly(
        engine, "slot_unavailable", reason="full", service_id="class", start_time="10:00"
    )


def test_a_group_session_blocks_other_services(engine: Engine) -> None:
    book(engine, "10:00", service="class")
    refused_cleanly(engine, "slot_unavailable", reason="booked", start_time="10:30", staff_id="cat")


@pytest.mark.parametrize(
    ("start", "staff", "reason"),
    [
        ("10:05", None, "off_grid"),  # between grid starts
        ("10:07", "ann", "off_grid"),
        ("08:00", None, "outside_hours"),  # before anyone works
        ("18:00", None, "outside_hours"),  # after everyone
        ("16:45", "ann", "off_grid"),  # inside her hours, but would end 17:15, after them
        ("12:00", "ann", "outside_hours"),  # her lunch break
        ("12:45", "ann", "outside_hours"),  # starts in the break
        ("2026-03-09T03:00:00+01:00", None, "outside_hours"),
    ],
)
def test_off_grid_and_outside_hours(
    engine: Engine, start: str, staff: str | None, reason: str
) -> None:
    refused_cleanly(engine, "slot_unavailable", reason=reason, start_time=start, staff_id=staff)


def test_time_off(engine: Engine) -> None:
    refused_cleanly(
        engine,
        "slot_unavailable",
        reason="time_off",
        date="2026-03-10",
        start_time="10:00",
        staff_id="ann",
    )


def test_past(engine: Engine) -> None:
    refused_cleanly(
        engine, "slot_unavailable", reason="past", date="2026-03-02", start_time="09:00"
    )


def test_too_soon(engine: Engine) -> None:
    refused_cleanly(
        engine, "slot_unavailable", reason="too_soon", date="2026-03-02", start_time="11:15"
    )


def test_notice_is_measured_from_now(engine: Engine, clock: FakeClock) -> None:
    clock.set(datetime(2026, 3, 2, 9, 15, tzinfo=BERLIN))
    assert book(engine, "11:15", day="2026-03-02").start.hour == 11  # exactly 120 minutes


def test_too_far(engine: Engine) -> None:
    refused_cleanly(
        engine, "slot_unavailable", reason="too_far", date="2026-05-04", start_time="10:00"
    )


def test_max_advance_is_elapsed_time_across_dst(engine: Engine) -> None:
    # now + 60 days of elapsed time is 1 May 10:20 CEST (the clocks moved on in between)
    assert book(engine, "10:15", day="2026-05-01", staff="ann").start.hour == 10
    refused_cleanly(
        engine,
        "slot_unavailable",
        reason="too_far",
        date="2026-05-01",
        start_time="10:30",
        staff_id="ann",
    )


def test_too_soon_comes_before_booked(engine: Engine, clock: FakeClock) -> None:
    book(engine, "11:30", day="2026-03-02", staff="ann")
    clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=BERLIN))
    refused_cleanly(
        engine,
        "slot_unavailable",
        reason="too_soon",
        date="2026-03-02",
        start_time="11:30",
        staff_id="ann",
    )


@pytest.mark.parametrize(
    ("day", "start", "reason"),
    [
        ("2026-03-02", "09:00", "past"),  # the slot is booked and in the past
        ("2026-03-10", "10:00", "time_off"),  # booked during her time off (an import)
    ],
)
def test_earlier_reasons_win_over_booked(
    engine: Engine, store: Store, day: str, start: str, reason: str
) -> None:
    begins = datetime.combine(date.fromisoformat(day), time.fromisoformat(start), BERLIN)
    store.add(  # type: ignore[attr-defined]
        Booking(
            id="bk_imported", site_id=BOOK_SITE, service_id="cut", staff_id="ann",
            branch_id="north", status=Status.CONFIRMED, start=begins,
            end=begins + timedelta(minutes=30), date=begins.date(), customer=GOOD_CUSTOMER,
            created_at=BOOK_NOW, updated_at=BOOK_NOW,
        )
    )  # fmt: skip
    refused_cleanly(
        engine, "slot_unavailable", reason=reason, date=day, start_time=start, staff_id="ann"
    )


def test_slot_refusal_is_the_listed_reason(engine: Engine) -> None:
    book(engine, "10:00", staff="ann")
    listed = {
        s.start.strftime("%H:%M"): s.reason
        for s in engine.slots(BOOK_SITE, "cut", BOOK_DAY, staff_id="ann")
    }
    assert listed["10:15"] == "booked"
    err = refused("slot_unavailable", book, engine, "10:15", staff="ann")
    assert err.details["reason"] == listed["10:15"]


# -- DST and the offset form ------------------------------------------------------------------


def test_both_occurrences_of_an_ambiguous_time_can_be_booked_with_offsets(
    engine: Engine, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 10, 20, 9, 0, tzinfo=BERLIN))
    # ben works Sundays 01:00-04:00; 02:15 happens twice on 25 October
    before = snapshot(engine)
    refused("validation_error", book, engine, "02:15", service="trim", day="2026-10-25")
    assert snapshot(engine) == before
    first = book(engine, "2026-10-25T02:15:00+02:00", service="trim", day="2026-10-25")
    second = book(engine, "2026-10-25T02:15:00+01:00", service="trim", day="2026-10-25")
    assert (first.staff_id, second.staff_id) == ("ben", "ben")
    assert second.start_ts - first.start_ts == 3600
    assert (first.start.fold, second.start.fold) == (0, 1)
    assert first.date == second.date == date(2026, 10, 25)
    assert [
        b.start.isoformat()
        for b in engine.list_bookings(BOOK_SITE, date="2026-10-25").items
        if b.staff_id == "ben"
    ] == ["2026-10-25T02:15:00+02:00", "2026-10-25T02:15:00+01:00"]


def test_a_booking_across_the_fall_back_hour(engine: Engine, clock: FakeClock) -> None:
    clock.set(datetime(2026, 10, 20, 9, 0, tzinfo=BERLIN))
    slots = engine.slots(BOOK_SITE, "cut", "2026-10-25", staff_id="ben")
    assert "2026-10-25T02:45:00+02:00" in [s.start.isoformat() for s in slots]
    b = book(engine, "2026-10-25T02:45:00+02:00", day="2026-10-25", staff="ben")
    assert b.end.isoformat() == "2026-10-25T02:15:00+01:00"


def test_spring_forward_day_books_after_the_gap(engine: Engine, clock: FakeClock) -> None:
    clock.set(datetime(2026, 3, 20, 9, 0, tzinfo=BERLIN))
    starts = [s.start.isoformat() for s in engine.slots(BOOK_SITE, "cut", "2026-03-29")]
    assert "2026-03-29T01:45:00+01:00" in starts
    assert "2026-03-29T03:00:00+02:00" in starts
    b = book(engine, "01:45", day="2026-03-29")  # runs 01:45 CET to 03:15 CEST
    assert (b.staff_id, b.end_ts - b.start_ts) == ("ben", 1800)
    assert b.end.isoformat() == "2026-03-29T03:15:00+02:00"
    refused("slot_unavailable", book, engine, "03:15", day="2026-03-29")  # held to 03:25
    assert book(engine, "03:30", day="2026-03-29").staff_id == "ben"


def test_hhmm_is_read_in_the_named_staff_members_zone(engine: Engine, clock: FakeClock) -> None:
    # eve works 08:30-12:30 in Kolkata; the far site's own zone is New York
    b = book(engine, "09:00", service="cut", site=FAR_SITE, staff="eve", day="2026-03-09")
    assert b.start.isoformat() == "2026-03-09T09:00:00+05:30"


def test_hhmm_is_read_in_the_named_branchs_zone(engine: Engine) -> None:
    b = book(engine, "09:00", service="cut", site=FAR_SITE, branch_id="tokyo", day="2026-03-09")
    assert (b.staff_id, b.branch_id, b.start.isoformat()) == (
        "kai",
        "tokyo",
        "2026-03-09T09:00:00+09:00",
    )


def test_hhmm_without_staff_or_branch_is_read_in_the_site_zone(engine: Engine) -> None:
    # 09:00 in New York is 23:00 in Tokyo and 19:30 in Kolkata: nobody works then
    err = refused("slot_unavailable", book, engine, "09:00", site=FAR_SITE, service="cut")
    assert err.details["startTime"] == "2026-03-09T09:00:00-04:00"


def test_staff_of_another_branch_is_a_validation_error_on_the_far_site(engine: Engine) -> None:
    err = refused(
        "validation_error", book, engine, "09:00", site=FAR_SITE, staff="eve", branch_id="tokyo"
    )
    assert err.details["fields"] == ["staffId"]


def test_overnight_hours_book_on_the_start_date(engine: Engine) -> None:
    # dan works 20:00-02:00 in New York: 01:00 on the 9th belongs to the 8th's shift
    b = book(engine, "01:00", service="late", site=FAR_SITE, staff="dan", day="2026-03-09")
    assert (b.date, b.start.isoformat()) == (date(2026, 3, 9), "2026-03-09T01:00:00-04:00")


# -- auto-assignment ---------------------------------------------------------------------------


def test_auto_assignment_takes_catalog_order_on_an_empty_day(engine: Engine) -> None:
    assert book(engine, "10:00").staff_id == "ann"


def test_auto_assignment_takes_staff_ids_order(engine: Engine) -> None:
    assert book(engine, "10:00", service="color").staff_id == "ben"  # staffIds: ben, ann


def test_auto_assignment_staff_ids_order_then_load(engine: Engine) -> None:
    book(engine, "15:00", service="trim", staff="ben")
    assert book(engine, "10:00", service="color").staff_id == "ann"


def test_fewest_bookings_that_day_wins(engine: Engine) -> None:
    book(engine, "14:00", staff="ann")
    assert book(engine, "10:00").staff_id == "ben"


def test_ties_after_load_go_by_catalog_order(engine: Engine) -> None:
    book(engine, "14:00", staff="ann")
    book(engine, "15:00", staff="ben")
    assert book(engine, "10:00").staff_id == "cat"
    assert book(engine, "11:00").staff_id == "ann"  # one each now: catalog order again


def test_load_counts_every_service(engine: Engine) -> None:
    book(engine, "14:00", service="trim", staff="ann")
    book(engine, "15:00", service="color", staff="ann")
    book(engine, "14:00", service="trim", staff="ben")
    assert book(engine, "10:00").staff_id == "cat"


def test_cancelled_bookings_do_not_count(engine: Engine) -> None:
    b = book(engine, "14:00", staff="ann")
    engine.set_status(BOOK_SITE, b.id, "cancelled")
    assert book(engine, "10:00").staff_id == "ann"


def test_cancelled_bookings_free_the_slot(engine: Engine) -> None:
    b = book(engine, "10:00", staff="ann")
    engine.set_status(BOOK_SITE, b.id, "cancelled")
    assert book(engine, "10:00", staff="ann").id != b.id
    assert book(engine, "10:00").staff_id == "ben"


@pytest.mark.parametrize("status", ["pending", "confirmed", "completed", "no_show"])
def test_every_status_holding_time_counts(engine: Engine, clock: FakeClock, status: str) -> None:
    b = book(engine, "14:00", service="color", staff="ann")  # pending
    if status != "pending":
        engine.set_status(BOOK_SITE, b.id, "confirmed")
    if status in ("completed", "no_show"):
        clock.set(b.start)
        engine.set_status(BOOK_SITE, b.id, status)
        clock.set(BOOK_NOW)
    assert book(engine, "10:00").staff_id == "ben"


def test_bookings_on_other_days_do_not_count(engine: Engine) -> None:
    book(engine, "14:00", staff="ann", day="2026-03-08")
    book(engine, "14:00", staff="ann", day="2026-03-11")
    assert book(engine, "10:00").staff_id == "ann"


def test_staff_for_whom_the_slot_is_unavailable_are_skipped(engine: Engine) -> None:
    book(engine, "10:00", staff="ann")
    assert book(engine, "10:00").staff_id == "ben"
    assert book(engine, "10:00").staff_id == "cat"
    refused_cleanly(engine, "slot_unavailable", reason="booked", start_time="10:00")


def test_time_off_skips_the_staff_member(engine: Engine) -> None:
    assert book(engine, "10:00", day="2026-03-10").staff_id == "ben"


def test_staff_off_grid_are_skipped(engine: Engine) -> None:
    assert book(engine, "09:00").staff_id == "ann"  # cat starts at 10:00
    assert book(engine, "09:00").staff_id == "ben"


def test_auto_assignment_records_the_branch(engine: Engine) -> None:
    assert book(engine, "10:00").branch_id == "north"  # ann
    book(engine, "10:00", staff="ben")
    b = book(engine, "10:00")
    assert (b.staff_id, b.branch_id) == ("cat", "south")


def test_branch_filter_restricts_auto_assignment(engine: Engine) -> None:
    b = book(engine, "10:00", branch_id="south")
    assert (b.staff_id, b.branch_id) == ("cat", "south")


# -- statuses on create -------------------------------------------------------------------------


def test_new_booking_is_pending_when_the_service_requires_confirmation(engine: Engine) -> None:
    assert book(engine, "10:00", service="color").status == "pending"


@pytest.mark.parametrize("service", ["cut", "class", "trim"])
def test_new_booking_is_confirmed_otherwise(engine: Engine, service: str) -> None:
    assert book(engine, "10:00", service=service).status == "confirmed"


def test_booking_fields(engine: Engine) -> None:
    b = book(engine, "10:00", notes="first visit")
    assert (b.site_id, b.service_id, b.staff_id, b.branch_id) == (BOOK_SITE, "cut", "ann", "north")
    assert (b.start.isoformat(), b.end.isoformat()) == (
        "2026-03-09T10:00:00+01:00",
        "2026-03-09T10:30:00+01:00",
    )
    assert (b.date, b.customer, b.notes) == (BOOK_DAY, GOOD_CUSTOMER, "first visit")
    assert engine.get_booking(BOOK_SITE, b.id) == b


# -- listing ---------------------------------------------------------------------------------------


def _fill(engine: Engine) -> list[Booking]:
    """Eleven bookings over three days: three seats of one class share a start."""
    made = [book(engine, "10:00", service="class") for _ in range(3)]
    made += [book(engine, t) for t in ("09:00", "11:00", "14:00")]
    made += [book(engine, t, day="2026-03-10") for t in ("09:00", "15:00")]
    made += [book(engine, t, day="2026-03-11", service="color") for t in ("10:00", "13:00")]
    made.append(book(engine, "09:00", day="2026-03-08", staff="ann"))
    return made


def _walk(engine: Engine, limit: int, **filters: Any) -> list[Booking]:
    rows: list[Booking] = []
    cursor = None
    while True:
        page = engine.list_bookings(BOOK_SITE, limit=limit, cursor=cursor, **filters)
        rows.extend(page.items)
        assert len(page.items) <= limit
        cursor = page.next_cursor
        if cursor is None:
            return rows


def _order(b: Booking) -> tuple[int, str]:
    return b.start_ts, b.id


def test_list_orders_by_start_then_id(engine: Engine) -> None:
    made = _fill(engine)
    listed = engine.list_bookings(BOOK_SITE, limit=100).items
    assert [b.id for b in listed] == [b.id for b in sorted(made, key=_order)]
    seats = [b.id for b in listed if b.service_id == "class"]
    assert seats == sorted(seats) and len(seats) == 3


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 100])
def test_walking_pages_yields_every_row_once_in_order(engine: Engine, limit: int) -> None:
    made = _fill(engine)
    assert [b.id for b in _walk(engine, limit)] == [b.id for b in sorted(made, key=_order)]


def test_status_filter(engine: Engine) -> None:
    made = _fill(engine)
    engine.set_status(BOOK_SITE, made[3].id, "cancelled")
    page = engine.list_bookings(BOOK_SITE, status="cancelled")
    assert ([b.id for b in page.items], page.total) == ([made[3].id], 1)
    pending = engine.list_bookings(BOOK_SITE, status="pending")
    assert {b.service_id for b in pending.items} == {"color"} and pending.total == 2
    assert engine.list_bookings(BOOK_SITE, status="confirmed").total == len(made) - 3


def test_date_filter_is_the_local_date_of_the_start(engine: Engine) -> None:
    made = _fill(engine)
    page = engine.list_bookings(BOOK_SITE, date="2026-03-10")
    assert [b.id for b in page.items] == [b.id for b in sorted(made[6:8], key=_order)]
    assert engine.list_bookings(BOOK_SITE, date=date(2026, 3, 9)).total == 6
    assert engine.list_bookings(BOOK_SITE, date="2026-03-12").total == 0


def test_filters_combine(engine: Engine) -> None:
    _fill(engine)
    assert engine.list_bookings(BOOK_SITE, date="2026-03-11", status="pending").total == 2
    assert engine.list_bookings(BOOK_SITE, date="2026-03-09", status="pending").total == 0


def test_other_sites_bookings_are_not_listed(engine: Engine) -> None:
    _fill(engine)
    book(engine, "09:00", service="cut", site=FAR_SITE, staff="eve")
    assert engine.list_bookings(FAR_SITE).total == 1
    assert engine.list_bookings(BOOK_SITE).total == 11


@pytest.mark.parametrize("limit", [0, 101, -1, True, 2.0, "10", None])
def test_limit_outside_1_to_100_is_a_validation_error(engine: Engine, limit: object) -> None:
    err = refused("validation_error", engine.list_bookings, BOOK_SITE, limit=limit)
    assert err.details["fields"] == ["limit"]


@pytest.mark.parametrize(("status", "day"), [("done", None), (None, "2026-3-9"), ("", None)])
def test_bad_list_filters_are_validation_errors(
    engine: Engine, status: str | None, day: str | None
) -> None:
    refused("validation_error", engine.list_bookings, BOOK_SITE, status=status, date=day)


def test_unknown_site_list_is_not_found(engine: Engine) -> None:
    refused("not_found", engine.list_bookings, "nope")


def test_total_counts_every_match_whatever_the_cursor(engine: Engine) -> None:
    _fill(engine)
    first = engine.list_bookings(BOOK_SITE, limit=4)
    second = engine.list_bookings(BOOK_SITE, limit=4, cursor=first.next_cursor)
    third = engine.list_bookings(BOOK_SITE, limit=4, cursor=second.next_cursor)
    assert (first.total, second.total, third.total) == (11, 11, 11)
    assert (len(third.items), third.next_cursor, third.limit) == (3, None, 4)


def test_a_last_page_that_is_exactly_full_has_no_next_cursor(engine: Engine) -> None:
    _fill(engine)
    first = engine.list_bookings(BOOK_SITE, limit=11)
    assert (len(first.items), first.next_cursor) == (11, None)


def test_empty_list(engine: Engine) -> None:
    page = engine.list_bookings(BOOK_SITE)
    assert (page.items, page.total, page.limit, page.next_cursor) == ((), 0, 25, None)


def test_empty_cursor_means_none(engine: Engine) -> None:
    _fill(engine)
    assert engine.list_bookings(BOOK_SITE, cursor="") == engine.list_bookings(BOOK_SITE)


def test_cursor_is_not_bound_to_limit(engine: Engine) -> None:
    made = sorted(_fill(engine), key=_order)
    first = engine.list_bookings(BOOK_SITE, limit=2)
    rest = engine.list_bookings(BOOK_SITE, limit=50, cursor=first.next_cursor)
    assert [b.id for b in first.items + rest.items] == [b.id for b in made]


def _tampered(cursor: str) -> list[str]:
    payload, mac = cursor.split(".")
    mid = len(payload) // 2
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    flipped = alphabet[(alphabet.index(payload[mid]) + 32) % 64]
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    moved = dict(data, s=data["s"] - 3600)
    moved_payload = base64.urlsafe_b64encode(json.dumps(moved).encode()).rstrip(b"=").decode()
    return [
        payload[:mid] + flipped + payload[mid + 1 :] + "." + mac,  # a payload bit flipped
        moved_payload + "." + mac,  # a re-encoded position under the old signature
        payload + "." + mac[::-1],  # another signature
        payload + "." + mac + "x",
        payload,  # no signature
        payload + "." + mac + ".x",
        "." + mac,
        "garbage",
        "é.é",
        "%%%.%%%",
    ]


def test_altered_cursor_is_invalid(engine: Engine) -> None:
    _fill(engine)
    before = snapshot(engine)
    cursor = engine.list_bookings(BOOK_SITE, limit=3).next_cursor
    assert cursor is not None
    for bad in _tampered(cursor):
        err = refused("invalid_cursor", engine.list_bookings, BOOK_SITE, limit=3, cursor=bad)
        assert err.http_status == 400
    assert snapshot(engine) == before


def test_cursor_signed_by_another_store_is_invalid(engine: Engine, clock: FakeClock) -> None:
    _fill(engine)
    other = Engine(booking_catalog(), store=MemoryStore(), clock=clock)
    _fill(other)
    foreign = other.list_bookings(BOOK_SITE, limit=3).next_cursor
    refused("invalid_cursor", engine.list_bookings, BOOK_SITE, limit=3, cursor=foreign)


@pytest.mark.parametrize(
    ("made_with", "used_with"),
    [
        ({}, {"status": "confirmed"}),
        ({"status": "confirmed"}, {}),
        ({"status": "confirmed"}, {"status": "pending"}),
        ({"date": "2026-03-09"}, {"date": "2026-03-10"}),
        ({"date": "2026-03-09"}, {}),
        ({}, {"date": "2026-03-09"}),
        ({"status": "confirmed", "date": "2026-03-09"}, {"status": "confirmed"}),
    ],
)
def test_cursor_reused_with_other_filters_is_invalid(
    engine: Engine, made_with: dict[str, str], used_with: dict[str, str]
) -> None:
    _fill(engine)
    cursor = engine.list_bookings(BOOK_SITE, limit=1, **made_with).next_cursor
    assert cursor is not None
    refused("invalid_cursor", engine.list_bookings, BOOK_SITE, limit=1, cursor=cursor, **used_with)
    # the same filters written another way still match
    if "date" in made_with:
        same = dict(made_with, date=date.fromisoformat(made_with["date"]))
        assert engine.list_bookings(BOOK_SITE, limit=1, cursor=cursor, **same).items


def test_cursor_of_another_site_is_invalid(engine: Engine) -> None:
    _fill(engine)
    book(engine, "09:00", service="cut", site=FAR_SITE, staff="eve")
    book(engine, "10:00", service="cut", site=FAR_SITE, staff="eve")
    cursor = engine.list_bookings(FAR_SITE, limit=1).next_cursor
    refused("invalid_cursor", engine.list_bookings, BOOK_SITE, limit=1, cursor=cursor)


def test_rows_present_throughout_a_walk_appear_exactly_once(engine: Engine) -> None:
    original = {b.id for b in _fill(engine)}
    late = iter(
        [
            ("10:00", "2026-03-08"),
            ("15:00", "2026-03-11"),
            ("11:00", "2026-03-08"),
            ("16:00", "2026-03-11"),
            ("16:00", "2026-03-09"),
            ("10:00", "2026-03-12"),
            ("10:00", "2026-03-07"),
            ("11:00", "2026-03-12"),
        ]
    )
    seen: list[str] = []
    cursor = None
    while True:
        page = engine.list_bookings(BOOK_SITE, limit=2, cursor=cursor)
        seen.extend(b.id for b in page.items)
        for _ in range(2):  # insert before and after the walk's position
            t, day = next(late, (None, None))
            if t is not None:
                book(engine, t, day=day, staff="ann")
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen))  # nothing twice
    assert original <= set(seen)  # everything that was there all along, once
    assert engine.list_bookings(BOOK_SITE).total == 19


# -- idempotency -------------------------------------------------------------------------------


def test_same_key_same_request_replays(engine: Engine) -> None:
    first = engine.create_booking_outcome(BOOK_SITE, idempotency_key="k1", **VALID)
    again = engine.create_booking_outcome(BOOK_SITE, idempotency_key="k1", **VALID)
    assert (first.replayed, again.replayed) == (False, True)
    assert again.booking == first.booking
    assert engine.list_bookings(BOOK_SITE).total == 1


@pytest.mark.parametrize(
    "start",
    [
        "2026-03-09T15:00:00+01:00",
        "2026-03-09T14:00:00Z",
        "2026-03-09T15:00+01:00",
        datetime(2026, 3, 9, 15, 0, tzinfo=BERLIN),
        datetime(2026, 3, 9, 14, 0, tzinfo=UTC),
    ],
    ids=str,
)
def test_hhmm_and_its_iso_form_are_the_same_request(engine: Engine, start: object) -> None:
    first = engine.create_booking_outcome(BOOK_SITE, idempotency_key="k1", **VALID)
    again = engine.create_booking_outcome(
        BOOK_SITE, idempotency_key="k1", **dict(VALID, start_time=start)
    )
    assert again.replayed and again.booking.id == first.booking.id
    assert engine.list_bookings(BOOK_SITE).total == 1


def test_customer_key_order_does_not_matter(engine: Engine) -> None:
    customer = {"name": "Ada", "email": "ada@example.org"}
    first = book(engine, "10:00", customer=customer, idempotency_key="k")
    again = engine.create_booking_outcome(
        BOOK_SITE,
        service_id="cut",
        date=BOOK_DAY,
        start_time="10:00",
        customer={"email": "ada@example.org", "name": "Ada"},
        idempotency_key="k",
    )
    assert again.replayed and again.booking.id == first.id


def test_a_replay_is_not_refused_although_its_slot_is_now_taken(engine: Engine) -> None:
    first = book(engine, "10:00", staff="ann", idempotency_key="k")
    again = engine.create_booking_outcome(
        BOOK_SITE, **dict(VALID, start_time="10:00"), staff_id="ann", idempotency_key="k"
    )
    assert again.replayed and again.booking.id == first.id


@pytest.mark.parametrize(
    "change",
    [
        {"start_time": "15:15"},
        {"date": "2026-03-10"},
        {"customer": {"name": "Someone Else"}},
        {"customer": dict(GOOD_CUSTOMER, phone="123")},
        {"notes": "window seat"},
        {"staff_id": "ann"},  # the same booking would result, but the request differs
        {"service_id": "trim"},
        {"branch_id": "north"},
    ],
    ids=lambda c: next(iter(c)),
)
def test_same_key_other_request_is_refused(engine: Engine, change: dict[str, Any]) -> None:
    first = engine.create_booking_outcome(BOOK_SITE, idempotency_key="k1", **VALID)
    before = snapshot(engine)
    err = refused(
        "idempotency_key_reused",
        engine.create_booking,
        BOOK_SITE,
        idempotency_key="k1",
        **{**VALID, **change},
    )
    assert err.http_status == 422
    assert snapshot(engine) == before
    replay = engine.create_booking_outcome(BOOK_SITE, idempotency_key="k1", **VALID)
    assert replay.replayed and replay.booking.id == first.booking.id


def test_keys_are_scoped_to_the_site(engine: Engine) -> None:
    here = book(engine, "10:00", idempotency_key="shared")
    there = engine.create_booking_outcome(
        FAR_SITE,
        service_id="cut",
        date=BOOK_DAY,
        start_time="09:00",
        customer=GOOD_CUSTOMER,
        staff_id="eve",
        idempotency_key="shared",
    )
    assert not there.replayed and there.booking.site_id == FAR_SITE
    assert here.id != there.booking.id
    assert engine.create_booking_outcome(
        BOOK_SITE, **dict(VALID, start_time="10:00"), idempotency_key="shared"
    ).replayed


def test_a_replay_returns_the_booking_as_it_is_now(engine: Engine, clock: FakeClock) -> None:
    first = engine.create_booking_outcome(BOOK_SITE, idempotency_key="k1", **VALID).booking
    clock.advance(minutes=3)
    engine.set_status(BOOK_SITE, first.id, "cancelled")
    replay = engine.create_booking_outcome(BOOK_SITE, idempotency_key="k1", **VALID)
    assert replay.replayed
    assert (replay.booking.id, replay.booking.status) == (first.id, "cancelled")
    assert replay.booking.updated_at == clock()
    assert engine.list_bookings(BOOK_SITE).total == 1


def test_no_key_means_no_deduplication(engine: Engine) -> None:
    book(engine, "10:00")
    book(engine, "10:00")
    assert engine.list_bookings(BOOK_SITE).total == 2


def test_a_refused_request_does_not_use_up_its_key(engine: Engine) -> None:
    book(engine, "10:00", staff="ann")
    refused_cleanly(engine, "slot_unavailable", staff_id="ann", start_time="10:00")


@pytest.mark.parametrize("key", ["with space", "x" * 256, "ключ", "tab\tkey", 5])
def test_malformed_idempotency_keys_are_validation_errors(engine: Engine, key: object) -> None:
    before = snapshot(engine)
    err = refused(
        "validation_error", engine.create_booking, BOOK_SITE, idempotency_key=key, **VALID
    )
    assert err.details["fields"] == ["Idempotency-Key"]
    assert snapshot(engine) == before


def test_longest_printable_key_is_accepted(engine: Engine) -> None:
    key = "~" * 255
    assert not engine.create_booking_outcome(BOOK_SITE, idempotency_key=key, **VALID).replayed
    assert engine.create_booking_outcome(BOOK_SITE, idempotency_key=key, **VALID).replayed


# -- the property: listing and booking agree ---------------------------------------------------

CATALOG = booking_catalog()
# (site, service, staff filter) combinations; None = no staff named (the site zone reads
# "HH:MM"; only where every offering staff member is in the site's zone).
_BK = CATALOG.site(BOOK_SITE)
COMBOS = (
    [
        (BOOK_SITE, service, staff)
        for service in ("cut", "color", "class", "trim")
        for staff in [None, *(s.id for s in _BK.staff_for(_BK.services[service]))]
    ]
    + [(FAR_SITE, "late", "dan")]
    + [(FAR_SITE, "cut", staff) for staff in ("dan", "eve", "kai")]
)
# DST days of both zones (fall-back slots cross the repeated hour), ann's day off, year end.
SPECIAL_DAYS = [
    date(2026, m, d) for m, d in ((3, 8), (3, 29), (10, 25), (11, 1), (3, 10), (12, 31))
]


def _zone_of(site_id: str, staff_id: str | None) -> Any:
    site = CATALOG.site(site_id)
    return site.staff[staff_id].zone if staff_id else site.zone


def _day_minutes(day: date, zone: Any) -> tuple[int, int]:
    lo = int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())
    nxt = day + timedelta(days=1)
    hi = int(datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone).timestamp())
    return lo, hi


def _start_forms(instant: int, zone: Any) -> list[object]:
    """Ways to send `instant`: aware datetime, ISO with offset, and HH:MM when unambiguous."""
    local = datetime.fromtimestamp(instant, zone)
    forms: list[object] = [local, datetime.fromtimestamp(instant, UTC), local.isoformat()]
    if local.replace(fold=0).timestamp() == local.replace(fold=1).timestamp():  # unambiguous
        forms.append(local.strftime("%H:%M"))
    return forms


def _existing_bookings(engine: Engine, data: st.DataObject, site_id: str, day: date) -> None:
    """Book a few random available slots around `day` (some then cancelled)."""
    site = CATALOG.site(site_id)
    for _ in range(data.draw(st.integers(0, 5), label="existing")):
        service = data.draw(st.sampled_from(sorted(site.services)))
        other_day = day + timedelta(days=data.draw(st.integers(-1, 1)))
        free = [s for s in engine.slots(site_id, service, other_day) if s.available]
        if not free:
            continue
        slot = data.draw(st.sampled_from(free))
        b = engine.create_booking(
            site_id,
            service_id=service,
            date=other_day,
            start_time=slot.start,
            customer=GOOD_CUSTOMER,
            staff_id=slot.staff_id,
        )
        if data.draw(st.booleans(), label="cancel it"):
            engine.set_status(site_id, b.id, "cancelled")


def _inside_working_period(
    site_id: str, service_id: str, staff_id: str | None, day: date, start: int
) -> bool:
    """Whether a working period `[start, end)` of a staff member offering the service on
    `day` covers `start`."""
    from optimo_booking.schedule import working_time
    from optimo_booking.slots import branch_choice, staff_offering

    site = CATALOG.site(site_id)
    service = site.services[service_id]
    branches = branch_choice(service, None)
    for member in staff_offering(site, service, staff_id=staff_id):
        periods = working_time(member, day, day).periods
        for branch, spans in periods.items():
            if branches is not None and branch not in branches:
                continue
            if any(lo <= start < hi for lo, hi in spans):
                return True
    return False


def _agree(data: st.DataObject, day: date) -> None:
    site_id, service_id, staff_id = data.draw(st.sampled_from(COMBOS), label="combo")
    # now: from 2 days after local midnight of `day` back to 70 days before it
    midnight = _day_minutes(day, _zone_of(site_id, None))[0]
    now_ts = midnight - 60 * data.draw(st.integers(-2 * 1440, 70 * 1440), label="minutes before")
    clock = FakeClock(datetime.fromtimestamp(now_ts, UTC))
    engine = Engine(CATALOG, store=MemoryStore(), clock=clock)
    _existing_bookings(engine, data, site_id, day)
    requires_confirmation = CATALOG.site(site_id).services[service_id].requires_confirmation

    slots = engine.slots(site_id, service_id, day, staff_id=staff_id)
    available: dict[int, set[str]] = {}
    unavailable: dict[int, dict[str, str]] = {}
    for s in slots:
        start = int(s.start.timestamp())
        if s.available:
            available.setdefault(start, set()).add(s.staff_id)
        else:
            unavailable.setdefault(start, {})[s.staff_id] = str(s.reason)

    def attempt(start: object) -> Booking:
        return engine.create_booking(
            site_id,
            service_id=service_id,
            date=day,
            start_time=start,
            customer=GOOD_CUSTOMER,
            staff_id=staff_id,
        )

    zone = _zone_of(site_id, staff_id)
    lo, hi = _day_minutes(day, zone)
    # Starts not listed as available, any minute of the day, are refused: the listed reason
    # when the start is a listed slot, else off_grid inside a working period, else
    # outside_hours.
    probes = data.draw(st.lists(st.integers(0, (hi - lo) // 60 - 1), max_size=6), label="probes")
    probes += [(start - lo) // 60 for start in sorted(unavailable)][:3]
    for minute in probes:
        start = lo + 60 * minute
        if start in available:
            continue
        total = engine.list_bookings(site_id).total
        with pytest.raises(BookingError) as info:
            attempt(datetime.fromtimestamp(start, zone))
        assert info.value.code == "slot_unavailable", (minute, info.value)
        listed = unavailable.get(start)
        if listed is None:
            covered = _inside_working_period(site_id, service_id, staff_id, day, start)
            expected = "off_grid" if covered else "outside_hours"
            assert info.value.details["reason"] == expected, (minute, info.value)
        else:
            assert info.value.details["reason"] in listed.values()
        assert engine.list_bookings(site_id).total == total

    # A start listed as available can be booked, in any of the forms it may be sent in.
    event("some slot available" if available else "no slot available")
    event(f"{len(slots)} slots" if len(slots) < 5 else "5+ slots")
    if available:
        start = data.draw(st.sampled_from(sorted(available)), label="start")
        form = data.draw(st.sampled_from(_start_forms(start, zone)), label="form")
        made = attempt(form)
        assert made.start_ts == start
        assert made.staff_id in available[start]
        assert made.date == day
        assert made.status == ("pending" if requires_confirmation else "confirmed")
        # and a booked slot is no longer available to that staff member, unless seats remain
        again = {
            s.staff_id: s
            for s in engine.slots(site_id, service_id, day, staff_id=made.staff_id)
            if int(s.start.timestamp()) == start
        }[made.staff_id]
        capacity = CATALOG.site(site_id).services[service_id].capacity
        assert (not again.available) or capacity > 1
        if not again.available:
            assert again.reason in ("booked", "full")
    assert held_conflicts(CATALOG, all_bookings(engine, site_id)) == []


_DAYS = st.one_of(st.sampled_from(SPECIAL_DAYS), st.dates(date(2026, 1, 1), date(2026, 12, 31)))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), day=_DAYS)
def test_listing_and_booking_agree(data: st.DataObject, day: date) -> None:
    _agree(data, day)


def test_slots_are_values(engine: Engine) -> None:
    assert all(isinstance(s, Slot) for s in engine.slots(BOOK_SITE, "cut", BOOK_DAY))


@pytest.mark.parametrize("day", ["2026-03-09", "2026-03-08", "2026-11-01"])
def test_every_listed_slot_in_any_zone_books_by_its_own_start_time(day: str) -> None:
    """A slot's `startTime` sent back as is, with no staff named, books it, whatever the
    staff member's zone: the date is checked in the zone of whoever takes it."""
    listed = Engine(booking_catalog(), store=MemoryStore(), clock=FakeClock()).slots(
        FAR_SITE, "cut", day
    )
    free = [s for s in listed if s.available]
    assert {s.staff_id for s in free} == {"dan", "eve", "kai"}
    for slot in free:
        engine = Engine(booking_catalog(), store=MemoryStore(), clock=FakeClock())
        booked = engine.create_booking(
            FAR_SITE,
            service_id="cut",
            date=day,
            start_time=slot.start.isoformat(),
            customer=GOOD_CUSTOMER,
        )
        # Instants, not datetimes: across zones, a time in a repeated hour never compares
        # equal (PEP 495), and auto-assignment may pick another zone's staff member.
        assert booked.start.timestamp() == slot.start.timestamp()
        assert booked.date.isoformat() == day


def test_an_offset_start_on_the_date_for_nobody_is_a_validation_error() -> None:
    engine = Engine(booking_catalog(), store=MemoryStore(), clock=FakeClock())
    error = refused(
        "validation_error",
        engine.create_booking,
        FAR_SITE,
        service_id="cut",
        date="2026-03-02",
        start_time="2026-03-05T10:00:00-05:00",
        customer=GOOD_CUSTOMER,
    )
    assert error.details["fields"] == ["startTime"]
    assert engine.list_bookings(FAR_SITE).total == 0


def test_a_booking_keeps_its_customer_when_the_caller_changes_its_dict(engine: Engine) -> None:
    customer = {"name": "Ada", "tags": ["vip"]}
    booked = book(engine, "10:00", customer=customer)
    customer["name"] = "Eve"
    customer["tags"].append("changed")
    stored = engine.get_booking(BOOK_SITE, booked.id)
    assert dict(stored.customer) == {"name": "Ada", "tags": ["vip"]}
