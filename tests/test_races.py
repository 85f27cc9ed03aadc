"""Races on one SQLite file or one PostgreSQL schema: threads and processes, each with its
own Engine and store, released together by a barrier, book the same slot. A capacity-1 slot
gives exactly one success, a capacity-3 group session exactly three; everyone else gets
slot_unavailable."""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from conftest import (
    BOOK_NOW,
    BOOK_SITE,
    FakeClock,
    StoreSpec,
    booking_catalog,
    held_conflicts,
    open_store,
)
from optimo_booking import BookingError, Engine, MemoryStore, Store

THREADS = 16
PROCESSES = 8
# (service, date, start, staff, capacity): three rounds of each kind, each on its own day.
CAP1_ROUNDS = [("cut", f"2026-03-{d:02d}", "10:00", "ann", 1) for d in (9, 11, 12)]
CAP3_ROUNDS = [("class", f"2026-03-{d:02d}", "10:00", None, 3) for d in (9, 11, 12)]
ROUNDS = CAP1_ROUNDS + CAP3_ROUNDS


def _attempt(engine: Engine, round_: tuple[Any, ...], who: str) -> tuple[str, str | None, str]:
    service, day, start, staff, _capacity = round_
    try:
        b = engine.create_booking(
            BOOK_SITE,
            service_id=service,
            date=day,
            start_time=start,
            customer={"name": who},
            staff_id=staff,
        )
    except BookingError as exc:
        return exc.code, exc.details.get("reason"), ""
    return "ok", None, b.id


def race_process(spec: StoreSpec, barrier: Any, results: Any, worker: int) -> None:
    """One racing process: its own Engine and store; one attempt per round."""
    engine = Engine(booking_catalog(), store=open_store(spec), clock=FakeClock(BOOK_NOW))
    try:
        for number, round_ in enumerate(ROUNDS):
            barrier.wait(timeout=60)
            results.put((number, *_attempt(engine, round_, f"process {worker}")))
    finally:
        engine.store.close()


def _check_round(spec: StoreSpec, number: int, outcomes: list[tuple[str, str | None, str]]) -> None:
    service, day, start, _staff, capacity = ROUNDS[number]
    codes = Counter(code for code, _, _ in outcomes)
    assert codes == {"ok": capacity, "slot_unavailable": len(outcomes) - capacity}, (
        number,
        outcomes,
    )
    expected_reason = "booked" if capacity == 1 else "full"
    assert {r for code, r, _ in outcomes if code != "ok"} == {expected_reason}
    store = open_store(spec)
    try:
        engine = Engine(booking_catalog(), store=store, clock=FakeClock(BOOK_NOW))
        rows = engine.list_bookings(BOOK_SITE, date=day, limit=100).items
        mine = [b for b in rows if b.service_id == service]
        assert sorted(b.id for b in mine) == sorted(i for code, _, i in outcomes if code == "ok")
        assert {b.start.strftime("%H:%M") for b in mine} == {start}
        assert held_conflicts(engine.catalog, rows) == []
    finally:
        store.close()


def _run_threads(
    make_engine: Callable[[], Engine], round_: tuple[Any, ...]
) -> list[tuple[str, str | None, str]]:
    barrier = threading.Barrier(THREADS)
    outcomes: list[tuple[str, str | None, str]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            engine = make_engine()
            barrier.wait(timeout=60)
            got = _attempt(engine, round_, f"thread {n}")
            with lock:
                outcomes.append(got)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert len(outcomes) == THREADS
    return outcomes


def test_threads_each_with_its_own_engine_race_for_one_slot(shared_spec: StoreSpec) -> None:
    open_store(shared_spec).close()
    stores: list[Store] = []

    def own_engine() -> Engine:
        store = open_store(shared_spec)
        stores.append(store)
        return Engine(booking_catalog(), store=store, clock=FakeClock(BOOK_NOW))

    try:
        for number, round_ in enumerate(ROUNDS):
            _check_round(shared_spec, number, _run_threads(own_engine, round_))
    finally:
        for store in stores:
            store.close()


def test_threads_sharing_one_engine_race_for_one_slot(shared_spec: StoreSpec) -> None:
    store = open_store(shared_spec)
    shared = Engine(booking_catalog(), store=store, clock=FakeClock(BOOK_NOW))
    try:
        for number, round_ in enumerate(ROUNDS):
            _check_round(shared_spec, number, _run_threads(lambda: shared, round_))
    finally:
        store.close()


def test_threads_on_a_memory_store_race_for_one_slot() -> None:
    shared = Engine(booking_catalog(), store=MemoryStore(), clock=FakeClock(BOOK_NOW))
    for round_ in ROUNDS:
        outcomes = _run_threads(lambda: shared, round_)
        assert Counter(code for code, _, _ in outcomes)["ok"] == round_[-1]
    assert held_conflicts(shared.catalog, shared.list_bookings(BOOK_SITE, limit=100).items) == []


def test_auto_assignment_race_fills_each_staff_member_once(shared_spec: StoreSpec) -> None:
    store = open_store(shared_spec)
    shared = Engine(booking_catalog(), store=store, clock=FakeClock(BOOK_NOW))
    try:
        outcomes = _run_threads(lambda: shared, ("cut", "2026-03-09", "10:00", None, 3))
        made = [shared.get_booking(BOOK_SITE, i) for code, _, i in outcomes if code == "ok"]
        assert sorted(b.staff_id for b in made) == ["ann", "ben", "cat"]
        assert Counter(code for code, _, _ in outcomes)["slot_unavailable"] == THREADS - 3
    finally:
        store.close()


def test_one_idempotency_key_raced_by_threads_makes_one_booking(shared_spec: StoreSpec) -> None:
    """16 engines send one request with one key at once (half of them for another slot, so
    the key is also raced by a different request): one booking, every same request gets it,
    every different one `idempotency_key_reused`."""
    open_store(shared_spec).close()
    stores: list[Store] = []
    barrier = threading.Barrier(THREADS)
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        store = open_store(shared_spec)
        with lock:
            stores.append(store)
        engine = Engine(booking_catalog(), store=store, clock=FakeClock(BOOK_NOW))
        barrier.wait(timeout=60)
        try:
            b = engine.create_booking(
                BOOK_SITE,
                service_id="cut",
                date="2026-03-09",
                start_time="10:00" if n % 2 else "11:00",
                customer={"name": "same"},
                staff_id="ann",
                idempotency_key="raced-key",
            )
            got = (n % 2, b.id)
        except BookingError as exc:
            got = (n % 2, exc.code)
        with lock:
            answers.append(got)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        by_request = {side: {a for s, a in answers if s == side} for side in (0, 1)}
        assert len(answers) == THREADS
        winner_side = next(
            side for side, got in by_request.items() if got != {"idempotency_key_reused"}
        )
        (booking_id,) = by_request[winner_side]
        assert booking_id.startswith("bk_")
        assert by_request[1 - winner_side] == {"idempotency_key_reused"}
        engine = Engine(booking_catalog(), store=stores[0], clock=FakeClock(BOOK_NOW))
        assert [b.id for b in engine.list_bookings(BOOK_SITE).items] == [booking_id]
    finally:
        for store in stores:
            store.close()


@pytest.mark.parametrize("start_method", ["spawn"])
def test_processes_race_for_one_slot(shared_spec: StoreSpec, start_method: str) -> None:
    open_store(shared_spec).close()
    ctx = multiprocessing.get_context(start_method)
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    workers = [
        ctx.Process(target=race_process, args=(shared_spec, barrier, results, n))
        for n in range(PROCESSES)
    ]
    for w in workers:
        w.start()
    try:
        by_round: dict[int, list[tuple[str, str | None, str]]] = {}
        for _ in range(PROCESSES * len(ROUNDS)):
            number, *outcome = results.get(timeout=120)
            by_round.setdefault(number, []).append(tuple(outcome))  # type: ignore[arg-type]
    except queue.Empty:
        pytest.fail(f"workers stopped answering: {[w.exitcode for w in workers]}")
    finally:
        for w in workers:
            w.join(timeout=60)
            if w.is_alive():
                w.kill()
    assert [w.exitcode for w in workers] == [0] * PROCESSES
    for number in range(len(ROUNDS)):
        _check_round(shared_spec, number, by_round[number])


def test_each_kind_of_round_is_on_distinct_working_days() -> None:
    for rounds in (CAP1_ROUNDS, CAP3_ROUNDS):
        days = [date.fromisoformat(r[1]) for r in rounds]
        assert len(set(days)) == 3 and all(d > BOOK_NOW.date() and d.weekday() < 5 for d in days)
