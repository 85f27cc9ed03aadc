"""The calendar feed over HTTP: `GET .../bookings.ics` (the list's filters) and `.../{id}.ics`."""

from __future__ import annotations

import http.client
from typing import Any

import pytest

from test_api_http import (
    DAY,
    KEY,
    OTHER_KEY,
    SITE,
    booking_body,
    check_envelope,
    make_app,
    serving,
    wsgi_environ,
)

icalendar = pytest.importorskip(
    "icalendar", reason="the `ics` extra is not installed: pip install -e '.[ics]'"
)

FEED = f"/v1/sites/{SITE}/booking/bookings.ics"


def call(app: Any, path: str, *, query: str = "", key: str | None = KEY, method: str = "GET"):
    """One request into the WSGI app: (status, lower-case headers, body)."""
    got: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        got["status"] = int(status.split(maxsplit=1)[0])
        got["headers"] = {k.lower(): v for k, v in headers}

    headers = {"X-Api-Key": key} if key is not None else {}
    body = b"".join(app(wsgi_environ(method, path, query=query, headers=headers), start_response))
    return got["status"], got["headers"], body


def uids(body: bytes) -> list[str]:
    return [str(e["UID"]) for e in icalendar.Calendar.from_ical(body).walk("VEVENT")]


@pytest.fixture
def app_with_bookings() -> tuple[Any, list[str]]:
    """The HTTP test app with three bookings on DAY (one cancelled) and one the day after."""
    app = make_app()
    engine = app.engine
    ids = []
    for start, day in (("09:00", DAY), ("10:00", DAY), ("11:00", DAY), ("09:30", "2026-03-10")):
        body = booking_body(date=day, startTime=start)
        ids.append(
            engine.create_booking(
                SITE,
                service_id=body["serviceId"],
                date=day,
                start_time=start,
                customer=body["customer"],
                staff_id="ann",
            ).id
        )
    engine.set_status(SITE, ids[1], "cancelled")
    return app, ids


def test_the_feed_is_text_calendar_with_every_booking(app_with_bookings: Any) -> None:
    app, ids = app_with_bookings
    status, headers, body = call(app, FEED)
    assert status == 200
    assert headers["content-type"] == "text/calendar; charset=utf-8"
    assert headers["content-length"] == str(len(body))
    assert headers["x-request-id"]
    assert uids(body) == [f"{i}@{SITE}" for i in ids]
    statuses = [str(e["STATUS"]) for e in icalendar.Calendar.from_ical(body).walk("VEVENT")]
    assert statuses == ["CONFIRMED", "CANCELLED", "CONFIRMED", "CONFIRMED"]


def test_the_feed_takes_the_lists_filters(app_with_bookings: Any) -> None:
    app, ids = app_with_bookings
    assert uids(call(app, FEED, query=f"date={DAY}")[2]) == [f"{i}@{SITE}" for i in ids[:3]]
    assert uids(call(app, FEED, query="status=cancelled")[2]) == [f"{ids[1]}@{SITE}"]
    assert uids(call(app, FEED, query=f"date={DAY}&status=pending")[2]) == []


def test_the_feed_reads_every_page(app_with_bookings: Any, monkeypatch: Any) -> None:
    from optimo_booking import api

    app, ids = app_with_bookings
    monkeypatch.setattr(api, "CALENDAR_PAGE", 1)
    assert uids(call(app, FEED)[2]) == [f"{i}@{SITE}" for i in ids]


def test_one_booking_as_a_calendar(app_with_bookings: Any) -> None:
    app, ids = app_with_bookings
    status, headers, body = call(app, f"/v1/sites/{SITE}/booking/bookings/{ids[2]}.ics")
    assert (status, headers["content-type"]) == (200, "text/calendar; charset=utf-8")
    (event,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert str(event["UID"]) == f"{ids[2]}@{SITE}"
    assert event.decoded("DTSTART").isoformat() == f"{DAY}T11:00:00+01:00"


@pytest.mark.parametrize(
    ("path", "query", "key", "status", "code"),
    [
        (FEED, "", None, 401, "unauthorized"),
        (FEED, "", "nope", 401, "unauthorized"),
        (FEED, "", OTHER_KEY, 403, "forbidden"),
        (FEED, "limit=5", KEY, 400, "validation_error"),
        (FEED, "status=lost", KEY, 400, "validation_error"),
        (FEED, "date=2026-02-30", KEY, 400, "validation_error"),
        (f"/v1/sites/{SITE}/booking/bookings/nope.ics", "", KEY, 404, "not_found"),
        (
            f"/v1/sites/{SITE}/booking/bookings/x.ics",
            "date=2026-03-09",
            KEY,
            400,
            "validation_error",
        ),
    ],
)
def test_feed_errors_are_json_envelopes(
    app_with_bookings: Any, path: str, query: str, key: str | None, status: int, code: str
) -> None:
    app, _ = app_with_bookings
    got_status, headers, body = call(app, path, query=query, key=key)
    doc = check_envelope(got_status, headers, body)
    assert (got_status, doc["error"]["code"]) == (status, code)


def test_other_methods_are_not_allowed(app_with_bookings: Any) -> None:
    app, _ = app_with_bookings
    status, headers, body = call(app, FEED, method="POST")
    assert status == 405 and headers["allow"] == "GET"
    check_envelope(status, headers, body)


def test_a_calendar_app_can_subscribe_with_the_key_in_the_url(app_with_bookings: Any) -> None:
    # calendar apps cannot send headers; the feed also takes `?key=`
    app, ids = app_with_bookings
    status, _, body = call(app, FEED, query=f"key={KEY}&date={DAY}", key=None)
    assert status == 200 and uids(body) == [f"{i}@{SITE}" for i in ids[:3]]
    status, headers, body = call(app, FEED, query=f"key={OTHER_KEY}", key=None)
    assert status == 403
    check_envelope(status, headers, body)
    # `key` is a feed parameter only: the JSON list still refuses it
    status, headers, body = call(
        app, f"/v1/sites/{SITE}/booking/bookings", query=f"key={KEY}", key=KEY
    )
    assert status == 400
    check_envelope(status, headers, body)


def test_the_feed_over_a_real_socket(app_with_bookings: Any) -> None:
    app, ids = app_with_bookings
    with serving(app) as client:
        conn = http.client.HTTPConnection("127.0.0.1", client.port, timeout=10)
        try:
            conn.request("GET", FEED, headers={"X-Api-Key": KEY})
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/calendar; charset=utf-8"
    assert len(uids(body)) == len(ids)


def test_junk_queries_and_ids_never_fail_the_server(app_with_bookings: Any) -> None:
    # seeded junk into both routes: every answer is a calendar or a 4xx JSON envelope
    import random
    from urllib.parse import quote

    app, ids = app_with_bookings
    rng = random.Random(11)
    names = ["status", "date", "key", "limit", "cursor", "", "KEY", "status"]
    values = ["", "confirmed", "lost", "2026-03-09", "2026-02-30", KEY, OTHER_KEY, "%ff", "\x00"]
    paths = [FEED, *(f"/v1/sites/{SITE}/booking/bookings/{i}.ics" for i in ids)]
    paths += [f"/v1/sites/{SITE}/booking/bookings/{quote(j)}.ics" for j in ("..", "%", "a.b", " ")]
    for _ in range(300):
        query = "&".join(
            f"{rng.choice(names)}={quote(rng.choice(values))}" for _ in range(rng.randint(0, 3))
        )
        key = rng.choice([KEY, KEY, None, "nope", OTHER_KEY])
        status, headers, body = call(app, rng.choice(paths), query=query, key=key)
        assert status < 500, (query, body[:200])
        if status == 200:
            assert headers["content-type"] == "text/calendar; charset=utf-8"
            assert icalendar.Calendar.from_ical(body).name == "VCALENDAR"
        else:
            check_envelope(status, headers, body)


def test_sequence_grows_with_each_change_so_subscribers_take_the_update() -> None:
    app = make_app()
    engine = app.engine
    body = booking_body()
    booking = engine.create_booking(
        SITE, service_id="cut", date=DAY, start_time="09:00", customer=body["customer"],
        staff_id="ann",
    )  # fmt: skip
    path = f"/v1/sites/{SITE}/booking/bookings/{booking.id}.ics"

    def event() -> Any:
        (only,) = icalendar.Calendar.from_ical(call(app, path)[2]).walk("VEVENT")
        return only

    assert (event().decoded("SEQUENCE"), str(event()["STATUS"])) == (0, "CONFIRMED")
    engine.reschedule(SITE, booking.id, date=DAY, start_time="10:00")
    moved = event()
    assert moved.decoded("SEQUENCE") == 1
    assert moved.decoded("DTSTART").isoformat() == f"{DAY}T10:00:00+01:00"
    engine.set_status(SITE, booking.id, "cancelled")
    assert (event().decoded("SEQUENCE"), str(event()["STATUS"])) == (2, "CANCELLED")
    assert str(event()["UID"]) == f"{booking.id}@{SITE}"  # the same event, updated
