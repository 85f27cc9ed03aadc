"""A call with several bad fields hears about all of them in one `validation_error`."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import BOOK_DAY, BOOK_SITE, GOOD_CUSTOMER, refused
from optimo_booking import Engine
from optimo_booking.errors import ValidationError

VALID: dict[str, Any] = {
    "service_id": "cut", "date": BOOK_DAY, "start_time": "10:00", "customer": GOOD_CUSTOMER,
}  # fmt: skip


def test_a_create_with_four_bad_fields_names_all_four(engine: Engine) -> None:
    err = refused(
        "validation_error",
        engine.create_booking,
        BOOK_SITE,
        **{
            **VALID,
            "date": "2026-02-30",
            "start_time": "25:00",
            "customer": {"name": ""},
            "notes": 7,
        },
    )
    assert err.details["fields"] == ["customer.name", "date", "notes", "startTime"]
    assert [p["field"] for p in err.details["problems"]] == err.details["fields"]
    assert all(p["message"] for p in err.details["problems"])
    assert engine.list_bookings(BOOK_SITE).total == 0


def test_bad_fields_come_before_unknown_ids(engine: Engine) -> None:
    err = refused(
        "validation_error", engine.create_booking, BOOK_SITE,
        **{**VALID, "service_id": "nope", "customer": {}},
    )  # fmt: skip
    assert err.details["fields"] == ["customer.name"]
    refused("not_found", engine.create_booking, BOOK_SITE, **{**VALID, "service_id": "nope"})


def test_an_id_that_is_not_a_string_is_named(engine: Engine) -> None:
    err = refused(
        "validation_error", engine.create_booking, BOOK_SITE,
        **{**VALID, "service_id": 5, "staff_id": ""},
    )  # fmt: skip
    assert err.details["problems"] == [
        {"field": "serviceId", "message": "must be a string"},
        {"field": "staffId", "message": "must not be empty"},
    ]


def test_a_list_with_three_bad_arguments_names_all_three(engine: Engine) -> None:
    err = refused(
        "validation_error", engine.list_bookings, BOOK_SITE, limit=0, status="done", date="x"
    )
    assert err.details["fields"] == ["date", "limit", "status"]


@pytest.mark.parametrize("limit", [0, -1, 10**24, 101, True, 2.0])
def test_one_wording_for_the_limit_rule(engine: Engine, limit: Any) -> None:
    err = refused("validation_error", engine.list_bookings, BOOK_SITE, limit=limit)
    assert err.details["problems"] == [
        {"field": "limit", "message": "must be a whole number 1..100"}
    ]


def test_a_month_view_names_both_bad_dates(engine: Engine) -> None:
    err = refused(
        "validation_error", engine.slots_between, BOOK_SITE, "cut", "2026-02-30", "tomorrow"
    )
    assert err.details["fields"] == ["firstDate", "lastDate"]


def test_single_field_errors_carry_problems_too() -> None:
    err = ValidationError("limit is wrong", {"fields": ["limit"]})
    assert err.details["problems"] == [{"field": "limit", "message": "limit is wrong"}]
    assert ValidationError.of({"b": "two", "a": "one"}).message == "a: one; b: two"


def test_a_bad_idempotency_key_is_named_with_the_fields(engine: Engine) -> None:
    err = refused(
        "validation_error", engine.create_booking, BOOK_SITE,
        **{**VALID, "date": "x"}, idempotency_key="has space",
    )  # fmt: skip
    assert err.details["fields"] == ["Idempotency-Key", "date"]
    err = refused(
        "validation_error", engine.create_booking, BOOK_SITE,
        **{**VALID, "service_id": "nope"}, idempotency_key="",
    )  # fmt: skip
    assert err.details["problems"] == [
        {"field": "Idempotency-Key", "message": "must be 1 to 255 printable ASCII characters"}
    ]


def test_single_rule_messages_do_not_repeat_the_field(engine: Engine) -> None:
    err = refused("validation_error", engine.set_status, BOOK_SITE, "bk_x", "done")
    assert err.details["problems"][0]["message"].startswith("'done' is not one of")
    err = refused(
        "validation_error", engine.slots_between, BOOK_SITE, "cut", "2026-03-10", "2026-03-09"
    )
    assert err.details["problems"] == [{"field": "lastDate", "message": "is before firstDate"}]
