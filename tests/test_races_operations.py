"""Races of the booking operations on each shared store (one SQLite file, one PostgreSQL
schema): 16 processes, each with its own Engine and store, released together by a barrier,
in three rounds:

1. eight reschedule their own booking into one free time while eight create there: exactly
   one winner, and every loser's booking is where it was;
2. sixteen create at sixteen different times against ben's limit of 2 a day: exactly two;
3. one turns a live hold into a booking, one releases that hold, fourteen book its time:
   exactly one booking holds it.
"""

from __future__ import annotations

import copy
import multiprocessing
import queue
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from conftest import (
    BERLIN,
    BOOK_NOW,
    BOOK_SITE,
    BOOKING_CATALOG,
    FakeClock,
    StoreSpec,
    held_conflicts,
    open_store,
)
from optimo_booking import BookingError, Engine, load_catalog

PROCESSES = 16
RESCHEDULE_DAY = date(2026, 3, 9)  # ann, cut: eight bookings, then 16:00 is the prize
OWN_STARTS = ["09:00", "09:45", "10:30", "11:15", "13:00", "13:45", "14:30", "15:15"]
PRIZE = "16:00"
LIMIT_DAY = date(2026, 3, 10)  # ben, trim, a limit of 2 a day
LIMIT_STARTS = [f"{9 + q // 4:02d}:{15 * (q % 4):02d}" for q in range(16)]  # 09:00..12:45
HOLD_DAY = date(2026, 3, 11)  # cat, cut at 10:00


def race_catalog() -> dict[str, Any]:
    raw = copy.deepcopy(BOOKING_CATALOG)
    staff = {s["id"]: s for s in raw["sites"][0]["staff"]}
    staff["ben"]["limits"] = {"perDay": 2}
    return raw


def _outcome(call: Any) -> tuple[str, str | None, str]:
    try:
        made = call()
    except BookingError as exc:
        return exc.code, exc.details.get("reason"), ""
    return "ok", None, getattr(made, "id", "")


def race_process(spec: StoreSpec, raw: dict[str, Any], plan: dict[str, Any], barrier: Any,
                 results: Any, worker: int) -> None:  # fmt: skip
    """One racing process: its own Engine and store; one action per round."""
    engine = Engine(load_catalog(raw), store=open_store(spec), clock=FakeClock(BOOK_NOW))
    customer = {"name": f"process {worker}"}

    def create(day: date, start: str, service: str, staff: str) -> Any:
        return engine.create_booking(
            BOOK_SITE, service_id=service, date=day, start_time=start, customer=customer,
            staff_id=staff,
        )  # fmt: skip

    try:
        # 1. reschedule against create
        barrier.wait(timeout=60)
        if worker < len(OWN_STARTS):
            booking_id = plan["own"][worker]
            got = _outcome(
                lambda: engine.reschedule(
                    BOOK_SITE, booking_id, date=RESCHEDULE_DAY, start_time=PRIZE
                )
            )
        else:
            got = _outcome(lambda: create(RESCHEDULE_DAY, PRIZE, "cut", "ann"))
        results.put((1, worker, *got))
        # 2. the daily limit
        barrier.wait(timeout=60)
        got = _outcome(lambda: create(LIMIT_DAY, LIMIT_STARTS[worker], "trim", "ben"))
        results.put((2, worker, *got))
        # 3. a hold turned into a booking, released, and booked over, all at once
        barrier.wait(timeout=60)
        hold_id = plan["hold"]
        if worker == 0:
            got = _outcome(
                lambda: engine.create_booking(
                    BOOK_SITE,
                    service_id="cut",
                    date=HOLD_DAY,
                    start_time="10:00",
                    customer=customer,
                    hold_id=hold_id,
                )
            )
        elif worker == 1:
            got = _outcome(lambda: engine.release_hold(BOOK_SITE, hold_id))
        else:
            got = _outcome(lambda: create(HOLD_DAY, "10:00", "cut", "cat"))
        results.put((3, worker, *got))
    finally:
        engine.store.close()


def test_processes_race_reschedules_limits_and_holds(shared_spec: StoreSpec) -> None:
    raw = race_catalog()
    store = open_store(shared_spec)
    setup = Engine(load_catalog(raw), store=store, clock=FakeClock(BOOK_NOW))
    own = [
        setup.create_booking(
            BOOK_SITE, service_id="cut", date=RESCHEDULE_DAY, start_time=start,
            customer={"name": "owner"}, staff_id="ann",
        ).id
        for start in OWN_STARTS
    ]  # fmt: skip
    hold = setup.hold(
        BOOK_SITE, service_id="cut", date=HOLD_DAY, start_time="10:00", staff_id="cat",
        ttl=timedelta(minutes=30),
    )  # fmt: skip
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    plan = {"own": own, "hold": hold.id}
    workers = [
        ctx.Process(target=race_process, args=(shared_spec, raw, plan, barrier, results, n))
        for n in range(PROCESSES)
    ]
    for w in workers:
        w.start()
    rounds: dict[int, dict[int, tuple[str, str | None, str]]] = {1: {}, 2: {}, 3: {}}
    try:
        for _ in range(3 * PROCESSES):
            number, worker, *outcome = results.get(timeout=120)
            rounds[number][worker] = tuple(outcome)  # type: ignore[assignment]
    except queue.Empty:
        pytest.fail(f"workers stopped answering: {[w.exitcode for w in workers]}")
    finally:
        for w in workers:
            w.join(timeout=60)
            if w.is_alive():
                w.kill()
    assert [w.exitcode for w in workers] == [0] * PROCESSES
    try:
        rows = setup.list_bookings(BOOK_SITE, limit=100).items
        assert held_conflicts(setup.catalog, rows) == []

        # 1. exactly one winner, whoever it was; every other booking stayed put
        codes = Counter(code for code, _, _ in rounds[1].values())
        assert codes["ok"] == 1, rounds[1]
        assert set(codes) == {"ok", "slot_unavailable"}, rounds[1]
        prize = datetime.combine(RESCHEDULE_DAY, datetime.min.time(), BERLIN).replace(hour=16)
        at_prize = [b for b in rows if b.start == prize and b.status.holds_time]
        assert len(at_prize) == 1
        for worker, booking_id in enumerate(own):
            b = setup.get_booking(BOOK_SITE, booking_id)
            moved = rounds[1][worker][0] == "ok"
            assert (b.start == prize) == moved
            assert b.version == (1 if moved else 0)
            if not moved:
                assert b.start.strftime("%H:%M") == OWN_STARTS[worker]

        # 2. exactly two under ben's daily limit
        assert Counter(code for code, _, _ in rounds[2].values())["ok"] == 2, rounds[2]
        assert {r for code, r, _ in rounds[2].values() if code != "ok"} == {"limit_reached"}
        assert len([b for b in rows if b.date == LIMIT_DAY and b.staff_id == "ben"]) == 2

        # 3. exactly one booking holds the hold's time
        at_hold = [b for b in rows if b.date == HOLD_DAY and b.staff_id == "cat"]
        assert len(at_hold) == 1, rounds[3]
        booked = [w for w, (code, _, _) in rounds[3].items() if code == "ok" and w != 1]
        assert len(booked) == 1, rounds[3]
        converted = rounds[3][0][0] == "ok"
        assert rounds[3][0][0] in ("ok", "hold_expired"), rounds[3][0]
        assert setup.get_hold(BOOK_SITE, hold.id).state == ("used" if converted else "released")
    finally:
        store.close()
