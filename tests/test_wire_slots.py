"""The slot list's JSON text is exactly what `json.dumps` of `slot_json` values writes."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import LONG_AGO
from optimo_booking import Engine, Slot, generate_slots, load_catalog
from optimo_booking import testing as obt
from optimo_booking.api import BookingAPI
from optimo_booking.localtime import zone
from optimo_booking.wire import slot_json, slots_json_text


def reference_text(slots: list[Slot]) -> str:
    return json.dumps([slot_json(s) for s in slots], ensure_ascii=False)


@settings(max_examples=30, deadline=None)
@given(obt.scenarios())
def test_slot_text_equals_json_dumps_on_drawn_scenarios(s: obt.Scenario) -> None:
    for service in s.site.services.values():
        slots = generate_slots(s.site, service, s.day, s.bookings, s.now)
        assert slots_json_text(slots) == reference_text(slots)


@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=8),
            st.sampled_from([None, "booked", "past", 'odd "reason"\n']),
            st.integers(0, 3 * 86_400),
            st.sampled_from(["Europe/Berlin", "Asia/Kolkata", "Africa/Monrovia", "UTC"]),
        ),
        max_size=20,
    )
)
def test_slot_text_equals_json_dumps_for_any_slot_values(
    rows: list[tuple[str, str | None, int, str]],
) -> None:
    """Any text in ids and reasons, offsets with seconds (Monrovia until 1972), fall-back folds."""
    base = int(datetime(1971, 10, 30, tzinfo=UTC).timestamp())
    slots = []
    for staff_id, reason, offset, name in rows:
        tz = zone(name)
        start = datetime.fromtimestamp(base + offset, tz)
        slots.append(
            Slot(
                start=start,
                end=datetime.fromtimestamp(base + offset + 1800, tz),
                staff_id=staff_id,
                available=reason is None,
                reason=reason,
            )
        )
    # Shared datetime objects, as the engine hands them out, take the identity shortcut.
    slots += [
        Slot(start=s.start, end=s.end, staff_id=s.staff_id + "x", available=True) for s in slots
    ]
    assert slots_json_text(slots) == reference_text(slots)


def test_http_slot_body_is_the_json_dumps_of_the_envelope() -> None:
    """Byte for byte what encoding the whole envelope as dicts would have written."""
    key = "wire-test-key"
    weekly = {"mon": ["09:00-12:00"]}
    catalog = load_catalog(
        {
            "sites": [
                {
                    "id": "s",
                    "timezone": "Europe/Berlin",
                    "apiKeys": [{"id": "k", "sha256": hashlib.sha256(key.encode()).hexdigest()}],
                    "services": [{"id": "svc", "durationMinutes": 60, "slotStepMinutes": 30}],
                    "staff": [
                        {"id": "alice", "weeklyHours": weekly},
                        {"id": "bob", "weeklyHours": weekly},
                        {"id": "carol", "weeklyHours": {"mon": ["10:00-13:00"]}},
                    ],
                }
            ]
        }
    )
    engine = Engine(catalog, clock=lambda: LONG_AGO)
    day = date(2026, 3, 2)
    engine.create_booking(
        "s", service_id="svc", date=day, start_time="10:00", customer={"name": "A"},
        staff_id="bob",
    )  # fmt: skip
    statuses: list[str] = []
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/v1/sites/s/booking/slots",
        "QUERY_STRING": f"serviceId=svc&date={day.isoformat()}",
        "HTTP_X_API_KEY": key,
        "wsgi.input": io.BytesIO(b""),
    }
    body = b"".join(BookingAPI(engine)(environ, lambda status, headers: statuses.append(status)))
    assert statuses == ["200 OK"]
    slots = engine.slots("s", "svc", day)
    assert len(slots) == 15
    assert sum(not s.available for s in slots) == 3
    envelope = {"data": [slot_json(s) for s in slots], "meta": json.loads(body)["meta"]}
    assert body == json.dumps(envelope, ensure_ascii=False).encode("utf-8")


def test_an_unencodable_slot_text_falls_back_to_ascii_escapes() -> None:
    """A lone surrogate (never in a loaded catalog's ids) is escaped, as `json.dumps` does."""
    from optimo_booking.api import _Answer

    engine = Engine(load_catalog({"sites": []}), clock=lambda: LONG_AGO)
    app = BookingAPI(engine)
    sent: list[str] = []
    body = app._send(
        lambda status, headers: sent.append(status),
        "req-1",
        _Answer(200, {}, [], data_text='[{"staffId": "a\ud800"}]'),
        0.0,
        "GET",
        "/",
    )
    meta = {"requestId": "req-1", "timestamp": "2000-01-01T00:00:00Z"}
    assert body == [json.dumps({"data": [{"staffId": "a\ud800"}], "meta": meta}).encode("ascii")]
    assert sent == ["200 OK"]
