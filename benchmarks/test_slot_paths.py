"""Slot listing around the pure function: GET slots over HTTP against the engine call, and the
peak memory of a month view against the size of its answer.

    .venv/bin/pytest benchmarks/test_slot_paths.py --benchmark-only -s

* `http-100staff-1d`: one day for 100 staff (1,600 slots, 5 bookings each), asked of
  `Engine.slots` and of `GET /v1/sites/bench/booking/slots` through the WSGI app in process
  (routing, key check, JSON encoding included), with the answer floor of the same slots.
* `test_month_view_memory`: `tracemalloc` while `Engine.slots_between` answers 100 staff x 31
  days (5 bookings a working day): the peak above the starting point, against what the answer
  itself still holds once the call returns. Printed, and kept in the JSON's `extra_info`.
"""

from __future__ import annotations

import gc
import hashlib
import io
import json
import sys
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

import slot_workload as sw
from optimo_booking import Slot
from optimo_booking.api import BookingAPI

API_KEY = "bench-key"
DAY_ROUNDS = 200
PAIRED_DAY_ROUNDS = 200


@pytest.fixture(scope="module")
def day() -> tuple[sw.Workload, list[Slot]]:
    w = sw.workload(100, 5, 1)
    return w, sw.ours(w)()


def http_get(app: BookingAPI, query: str) -> Callable[[], bytes]:
    """One in-process GET of the slot endpoint; returns the body."""
    environ_base = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": f"/v1/sites/{sw.SITE_ID}/booking/slots",
        "QUERY_STRING": query,
        "HTTP_X_API_KEY": API_KEY,
        "SERVER_NAME": "bench",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
    }
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        statuses.append(status)

    def run() -> bytes:
        environ = dict(environ_base, **{"wsgi.input": io.BytesIO(b"")})
        body = b"".join(app(environ, start_response))
        if statuses.pop() != "200 OK":
            raise AssertionError(body)
        return body

    return run


def test_engine_day(benchmark: Any, day: tuple[sw.Workload, list[Slot]]) -> None:
    """`Engine.slots` for one day, 100 staff."""
    w, answer = day
    engine = sw.engine_of(w)
    benchmark.group = "http-100staff-1d"
    got = benchmark.pedantic(
        lambda: engine.slots(sw.SITE_ID, sw.SERVICE_ID, w.first), rounds=DAY_ROUNDS
    )
    assert got == answer
    benchmark.extra_info["slots"] = len(got)


def test_http_day(benchmark: Any, day: tuple[sw.Workload, list[Slot]]) -> None:
    """The same day over the WSGI app: routing, key check, the engine call, JSON encoding."""
    w, answer = day
    engine = sw.engine_of(w, api_key_sha256=hashlib.sha256(API_KEY.encode()).hexdigest())
    app = BookingAPI(engine)
    run = http_get(app, f"serviceId={sw.SERVICE_ID}&date={w.first.isoformat()}")
    benchmark.group = "http-100staff-1d"
    body = benchmark.pedantic(run, rounds=DAY_ROUNDS)
    data = json.loads(body)["data"]
    assert len(data) == len(answer)
    assert [(d["staffId"], d["startTime"], d["available"]) for d in data] == [
        (s.staff_id, s.start.isoformat(), s.available) for s in answer
    ]
    benchmark.extra_info.update(slots=len(data), bytes=len(body))


def test_floor_day(benchmark: Any, day: tuple[sw.Workload, list[Slot]]) -> None:
    """The answer floor of the same 1,600 slots (see `slot_workload.floor`)."""
    w, answer = day
    benchmark.group = "http-100staff-1d"
    got = benchmark.pedantic(sw.floor(w, answer), rounds=DAY_ROUNDS)
    assert len(got) == len(answer)


def test_http_over_engine(benchmark: Any, day: tuple[sw.Workload, list[Slot]]) -> None:
    """GET slots against `Engine.slots` for the same day, the two timed alternately."""
    from test_slot_generation import paired, ratio_info

    w, answer = day
    engine = sw.engine_of(w, api_key_sha256=hashlib.sha256(API_KEY.encode()).hexdigest())
    http = http_get(BookingAPI(engine), f"serviceId={sw.SERVICE_ID}&date={w.first.isoformat()}")
    benchmark.group = "paired-http-100staff-1d"
    times = paired(
        benchmark,
        {"engine": lambda: engine.slots(sw.SITE_ID, sw.SERVICE_ID, w.first), "http": http},
        PAIRED_DAY_ROUNDS,
    )
    benchmark.extra_info.update(slots=len(answer), **ratio_info(times, "http", "engine"))


def deep_size(slots: list[Slot]) -> int:
    """Bytes of the list, its slots and every distinct datetime they hold (ids and reasons are
    the catalog's and the engine's own strings, not the answer's)."""
    seen: set[int] = set()
    total = sys.getsizeof(slots)
    for slot in slots:
        total += sys.getsizeof(slot)
        for moment in (slot.start, slot.end):
            if id(moment) not in seen:
                seen.add(id(moment))
                total += sys.getsizeof(moment)
    return total


def test_month_view_memory(benchmark: Any) -> None:
    """Peak traced memory of a 100-staff month view, against the answer it returns."""
    w = sw.workload(100, 5, 31)
    run = sw.with_engine(w)
    run()  # zones, rule sets and caches warmed: only the call itself is traced
    result: dict[str, Any] = {}

    def traced() -> None:
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            answer = run()
            held, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        result.update(
            slots=len(answer),
            answer_bytes=held - before,
            peak_bytes=peak - before,
            deep_size_bytes=deep_size(answer),
        )

    benchmark.group = "memory-100staff-31d"
    benchmark.pedantic(traced, rounds=1)
    result["peak_over_answer"] = round(result["peak_bytes"] / result["answer_bytes"], 3)
    benchmark.extra_info.update(result)
    print(
        f"\nmonth view, 100 staff x 31 days: {result['slots']} slots; answer holds "
        f"{result['answer_bytes'] / 1e6:.2f} MB ({result['deep_size_bytes'] / 1e6:.2f} MB by "
        f"getsizeof), peak {result['peak_bytes'] / 1e6:.2f} MB: "
        f"{result['peak_over_answer']:.2f}x the answer"
    )
    assert result["slots"] > 0
