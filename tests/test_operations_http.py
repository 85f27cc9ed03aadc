"""The booking operations over HTTP: reschedule (PATCH a booking), holds (POST, DELETE,
`holdId` on create), busy time (PUT), and their error codes, on every store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from optimo_booking import Engine, MemoryStore, SQLiteStore, load_catalog
from optimo_booking.api import BookingAPI
from test_api_http import (
    DAY,
    SITE,
    Client,
    MovableClock,
    Reply,
    api_catalog_dict,
    booking_body,
    serving,
)


@pytest.fixture(params=["memory", "sqlite"])
def ops_client(
    request: pytest.FixtureRequest, clock: MovableClock, tmp_path: Path
) -> Iterator[Client]:
    """The HTTP tests' catalog with a one-day change cut-off on `cut`, over each store."""
    raw = api_catalog_dict()
    raw["sites"][0]["services"][0]["changeCutoffMinutes"] = 1440
    store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "b.sqlite3")
    engine = Engine(load_catalog(raw), store=store, clock=clock)
    with serving(BookingAPI(engine)) as c:
        yield c
    store.close()


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


def move(client: Client, booking_id: str, body: Any) -> Reply:
    return client.request("PATCH", f"/v1/sites/{SITE}/booking/bookings/{booking_id}", body=body)


def take_hold(client: Client, **body: Any) -> Reply:
    payload = {"serviceId": "cut", "date": DAY, "startTime": "10:00", "staffId": "ann", **body}
    return client.request("POST", f"/v1/sites/{SITE}/booking/holds", body=payload)


def test_patch_reschedules_a_booking(ops_client: Client) -> None:
    made = ops_client.create(booking_body(startTime="09:00")).data
    reply = move(ops_client, made["id"], {"date": DAY, "startTime": "10:30"})
    assert reply.status == 200
    assert (reply.data["id"], reply.data["startTime"]) == (made["id"], f"{DAY}T10:30:00+01:00")
    taken = move(ops_client, made["id"], {"date": DAY, "startTime": "11:30", "staffId": "ben"})
    assert (taken.data["staffId"], taken.data["branchId"]) == ("ben", "kreuzberg")


def test_patch_after_the_cut_off_is_too_late(ops_client: Client, clock: MovableClock) -> None:
    made = ops_client.create(booking_body(startTime="09:00")).data
    clock.advance(days=6, hours=1)  # Sunday 10:00, a day before Monday 09:00 has passed
    reply = move(ops_client, made["id"], {"date": DAY, "startTime": "10:30"})
    assert (reply.status, reply.code) == (409, "too_late")
    assert reply.details["deadline"] == "2026-03-08T09:00:00+01:00"
    cancel = ops_client.set_status(made["id"], "cancelled")
    assert (cancel.status, cancel.code) == (409, "too_late")  # HTTP always enforces it


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"date": DAY}, ["startTime"]),
        ({"date": DAY, "startTime": "10:00", "status": "x"}, ["status"]),
        ({"date": DAY, "startTime": 10}, ["startTime"]),
        ({"date": "", "startTime": "10:00", "staffId": ""}, ["date", "staffId"]),
    ],
)
def test_patch_bodies_are_checked(ops_client: Client, body: Any, fields: list[str]) -> None:
    made = ops_client.create(booking_body(startTime="09:00")).data
    reply = move(ops_client, made["id"], body)
    assert (reply.status, reply.code, reply.details["fields"]) == (400, "validation_error", fields)


def test_patch_of_a_final_booking_is_an_invalid_transition(ops_client: Client) -> None:
    made = ops_client.create(booking_body(startTime="09:00")).data
    ops_client.set_status(made["id"], "cancelled")
    reply = move(ops_client, made["id"], {"date": DAY, "startTime": "10:00"})
    assert (reply.status, reply.code, reply.details["to"]) == (
        409,
        "invalid_transition",
        "rescheduled",
    )


def test_a_hold_is_created_used_and_released(ops_client: Client) -> None:
    held = take_hold(ops_client, ttlSeconds=120)
    assert held.status == 201
    assert set(held.data) == {
        "id", "serviceId", "staffId", "branchId", "date", "startTime", "endTime", "expiresAt",
    }  # fmt: skip
    assert held.data["expiresAt"] == "2026-03-02T08:02:00Z"
    slots = ops_client.slots({"serviceId": "cut", "date": DAY, "staffId": "ann"}).data
    assert {s["startTime"][11:16]: s["reason"] for s in slots}["10:00"] == "held"
    made = ops_client.create(booking_body(startTime="10:00", holdId=held.data["id"]))
    assert (made.status, made.data["staffId"]) == (201, "ann")
    again = ops_client.create(booking_body(startTime="10:00", holdId=held.data["id"]))
    assert (again.status, again.code) == (409, "hold_expired")
    path = f"/v1/sites/{SITE}/booking/holds/{held.data['id']}"
    assert ops_client.request("DELETE", path).status == 204  # a used hold: nothing to free
    assert ops_client.request("DELETE", f"/v1/sites/{SITE}/booking/holds/hd_nope").code == (
        "not_found"
    )


def test_a_released_hold_frees_its_time(ops_client: Client) -> None:
    held = take_hold(ops_client).data
    assert (
        ops_client.request("DELETE", f"/v1/sites/{SITE}/booking/holds/{held['id']}").status == 204
    )
    assert ops_client.create(booking_body(startTime="10:00")).status == 201
    reply = ops_client.create(booking_body(startTime="10:30", holdId=held["id"]))
    assert (reply.status, reply.code) == (400, "validation_error")  # another start


@pytest.mark.parametrize("ttl", [59, 86_401, "600", True, 60.5])
def test_hold_ttl_seconds_are_checked(ops_client: Client, ttl: Any) -> None:
    reply = take_hold(ops_client, ttlSeconds=ttl)
    assert (reply.status, reply.code, reply.details["fields"]) == (
        400,
        "validation_error",
        ["ttlSeconds"],
    )


def test_put_busy_time_blocks_slots(ops_client: Client) -> None:
    path = f"/v1/sites/{SITE}/booking/staff/ann/busy/google"
    spans = [{"start": f"{DAY}T09:00:00Z", "end": f"{DAY}T09:30:00Z"}]
    reply = ops_client.request("PUT", path, body={"spans": spans})
    assert reply.status == 200
    assert reply.data == {
        "staffId": "ann",
        "source": "google",
        "spans": [{"start": f"{DAY}T10:00:00+01:00", "end": f"{DAY}T10:30:00+01:00"}],
    }
    slots = ops_client.slots({"serviceId": "cut", "date": DAY, "staffId": "ann"}).data
    assert {s["startTime"][11:16]: s["reason"] for s in slots}["10:00"] == "busy"
    cleared = ops_client.request("PUT", path, body={"spans": []})
    assert cleared.data["spans"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"spans": [{"start": f"{DAY}T09:00:00", "end": f"{DAY}T10:00:00Z"}]}, "spans[0].start"),
        ({"spans": [{"start": f"{DAY}T10:00:00Z", "end": f"{DAY}T09:00:00Z"}]}, "spans[0]"),
        ({"spans": [{"start": f"{DAY}T10:00:00Z"}]}, "spans[0].end"),
        ({"spans": [{"start": "x", "end": "y", "why": 1}]}, "spans[0].why"),
        ({"spans": {}}, "spans"),
        ({}, "spans"),
    ],
)
def test_put_busy_bodies_are_checked(ops_client: Client, body: Any, field: str) -> None:
    reply = ops_client.request("PUT", f"/v1/sites/{SITE}/booking/staff/ann/busy/google", body=body)
    assert (reply.status, reply.code) == (400, "validation_error")
    assert field in reply.details["fields"], reply.details


def test_put_busy_for_unknown_staff_is_not_found(ops_client: Client) -> None:
    reply = ops_client.request(
        "PUT", f"/v1/sites/{SITE}/booking/staff/zoe/busy/google", body={"spans": []}
    )
    assert (reply.status, reply.code) == (404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", f"/v1/sites/{SITE}/booking/bookings/x", "PATCH"),
        ("GET", f"/v1/sites/{SITE}/booking/holds", "POST"),
        ("POST", f"/v1/sites/{SITE}/booking/holds/x", "DELETE"),
        ("POST", f"/v1/sites/{SITE}/booking/staff/ann/busy/google", "PUT"),
    ],
)
def test_new_routes_say_which_method(
    ops_client: Client, method: str, path: str, allow: str
) -> None:
    reply = ops_client.request(method, path)
    assert (reply.status, reply.headers["allow"]) == (405, allow)
