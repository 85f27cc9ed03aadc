"""What a SQLite file or a PostgreSQL schema keeps across Engine instances and restarts:
bookings, statuses, idempotency keys and the cursor secret; on SQLite, the window query is an
index search and a held write lock is `storage_busy` and changes nothing (the PostgreSQL
counterparts are in test_postgres.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from conftest import (
    BERLIN,
    BOOK_DAY,
    BOOK_NOW,
    BOOK_SITE,
    GOOD_CUSTOMER,
    FakeClock,
    StoreSpec,
    booking_catalog,
    open_store,
    refused,
)
from optimo_booking import Booking, Engine, SQLiteStore, Store

REQUEST = {"service_id": "cut", "date": BOOK_DAY, "start_time": "10:00", "customer": GOOD_CUSTOMER}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "b.sqlite3"


@pytest.fixture
def opened() -> Iterator[list[Store]]:
    """Stores opened by a test, closed after it."""
    stores: list[Store] = []
    yield stores
    for store in stores:
        store.close()


def engine_on(
    where: Path | StoreSpec, opened: list[Store], clock: FakeClock | None = None
) -> Engine:
    store = open_store(where) if isinstance(where, StoreSpec) else SQLiteStore(where)
    opened.append(store)
    return Engine(booking_catalog(), store=store, clock=clock or FakeClock())


def _walk(engine: Engine, limit: int, **filters: object) -> list[Booking]:
    rows: list[Booking] = []
    cursor = None
    while True:
        page = engine.list_bookings(BOOK_SITE, limit=limit, cursor=cursor, **filters)  # type: ignore[arg-type]
        rows.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return rows


def test_a_second_engine_sees_the_first_ones_bookings(shared_spec: StoreSpec, opened: list) -> None:
    first, second = engine_on(shared_spec, opened), engine_on(shared_spec, opened)
    made = first.create_booking(BOOK_SITE, **REQUEST, notes="Grüße ✂")
    seen = second.get_booking(BOOK_SITE, made.id)
    assert seen == made
    assert (seen.start.isoformat(), seen.notes, seen.customer) == (
        "2026-03-09T10:00:00+01:00",
        "Grüße ✂",
        GOOD_CUSTOMER,
    )
    assert (seen.created_at, seen.updated_at) == (BOOK_NOW, BOOK_NOW)
    assert second.list_bookings(BOOK_SITE).total == 1


def test_a_second_engine_sees_status_changes(shared_spec: StoreSpec, opened: list) -> None:
    clock = FakeClock()
    first, second = engine_on(shared_spec, opened, clock), engine_on(shared_spec, opened, clock)
    made = first.create_booking(BOOK_SITE, **dict(REQUEST, service_id="color"))
    clock.advance(minutes=7)
    second.set_status(BOOK_SITE, made.id, "confirmed")
    seen = first.get_booking(BOOK_SITE, made.id)
    assert (seen.status, seen.updated_at) == ("confirmed", clock())
    refused("invalid_transition", first.set_status, BOOK_SITE, made.id, "pending")


def test_the_second_engine_sees_the_slot_taken(shared_spec: StoreSpec, opened: list) -> None:
    first, second = engine_on(shared_spec, opened), engine_on(shared_spec, opened)
    first.create_booking(BOOK_SITE, **REQUEST, staff_id="ann")
    assert {
        s.reason
        for s in second.slots(BOOK_SITE, "cut", BOOK_DAY, staff_id="ann")
        if s.start.strftime("%H:%M") == "10:00"
    } == {"booked"}
    err = refused("slot_unavailable", second.create_booking, BOOK_SITE, **REQUEST, staff_id="ann")
    assert err.details["reason"] == "booked"


def test_idempotency_keys_persist(shared_spec: StoreSpec, opened: list) -> None:
    first = engine_on(shared_spec, opened)
    made = first.create_booking(BOOK_SITE, **REQUEST, idempotency_key="k")
    first.store.close()
    again = engine_on(shared_spec, opened)
    outcome = again.create_booking_outcome(
        BOOK_SITE, **dict(REQUEST, start_time="2026-03-09T10:00:00+01:00"), idempotency_key="k"
    )
    assert (outcome.replayed, outcome.booking.id) == (True, made.id)
    refused(
        "idempotency_key_reused",
        again.create_booking,
        BOOK_SITE,
        **dict(REQUEST, start_time="11:00"),
        idempotency_key="k",
    )
    assert again.list_bookings(BOOK_SITE).total == 1


def test_the_cursor_secret_persists(shared_spec: StoreSpec, opened: list) -> None:
    first = engine_on(shared_spec, opened)
    secret = first.store.cursor_secret()
    for t in ("09:00", "10:00", "11:00"):
        first.create_booking(BOOK_SITE, **dict(REQUEST, start_time=t), staff_id="ann")
    cursor = first.list_bookings(BOOK_SITE, limit=1).next_cursor
    first.store.close()
    reopened = engine_on(shared_spec, opened)
    assert reopened.store.cursor_secret() == secret
    page = reopened.list_bookings(BOOK_SITE, limit=5, cursor=cursor)
    assert [b.start.strftime("%H:%M") for b in page.items] == ["10:00", "11:00"]


def test_another_file_has_another_secret(tmp_path: Path, opened: list) -> None:
    a, b = engine_on(tmp_path / "a.sqlite3", opened), engine_on(tmp_path / "b.sqlite3", opened)
    assert a.store.cursor_secret() != b.store.cursor_secret()
    for engine in (a, b):
        for t in ("09:00", "10:00"):
            engine.create_booking(BOOK_SITE, **dict(REQUEST, start_time=t), staff_id="ann")
    cursor = a.list_bookings(BOOK_SITE, limit=1).next_cursor
    refused("invalid_cursor", b.list_bookings, BOOK_SITE, limit=1, cursor=cursor)


def test_cursors_work_across_two_engines_on_one_store(shared_spec: StoreSpec, opened: list) -> None:
    first, second = engine_on(shared_spec, opened), engine_on(shared_spec, opened)
    made = []
    for day in ("2026-03-09", "2026-03-11"):
        for t in ("09:00", "10:00", "11:00", "14:00"):
            made.append(first.create_booking(BOOK_SITE, **dict(REQUEST, date=day, start_time=t)))
    seen: list[str] = []
    cursor = None
    engines = [first, second]
    turn = 0
    while True:  # alternate engines page by page, with a status filter for good measure
        page = engines[turn % 2].list_bookings(
            BOOK_SITE, limit=3, cursor=cursor, status="confirmed"
        )
        seen.extend(b.id for b in page.items)
        cursor, turn = page.next_cursor, turn + 1
        if cursor is None:
            break
    assert seen == [b.id for b in sorted(made, key=lambda b: (b.start_ts, b.id))]
    assert turn == 3


def test_a_fall_back_start_keeps_its_fold(shared_spec: StoreSpec, opened: list) -> None:
    clock = FakeClock(datetime(2026, 10, 20, 9, 0, tzinfo=BERLIN))
    first = engine_on(shared_spec, opened, clock)
    made = first.create_booking(
        BOOK_SITE,
        service_id="trim",
        date="2026-10-25",
        start_time="2026-10-25T02:15:00+01:00",
        customer=GOOD_CUSTOMER,
    )
    seen = engine_on(shared_spec, opened, clock).get_booking(BOOK_SITE, made.id)
    assert seen.start.isoformat() == "2026-10-25T02:15:00+01:00"
    assert (seen.start_ts, seen.date) == (made.start_ts, made.date)


def test_reopening_keeps_the_schema_version_and_rows(path: Path, opened: list) -> None:
    first = engine_on(path, opened)
    first.create_booking(BOOK_SITE, **REQUEST)
    first.store.close()
    engine_on(path, opened).store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (3,)
        assert conn.execute("SELECT count(*) FROM bookings").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM store_meta").fetchone() == (1,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_the_window_query_is_an_index_search(path: Path, opened: list) -> None:
    # On SQLite 3.40 the plan reads:
    #   SEARCH bookings USING INDEX bookings_by_staff_time
    #     (site_id=? AND staff_id=? AND start_ts>? AND start_ts<?)
    store = SQLiteStore(path)
    opened.append(store)
    for staff in (["ann"], ["ann", "ben", "cat"]):
        plan = store.explain_window_query(BOOK_SITE, staff)
        text = " | ".join(plan)
        assert any("USING INDEX" in line or "USING COVERING INDEX" in line for line in plan), text
        assert not any(line.startswith("SCAN bookings") for line in plan), text
        assert "bookings_by_staff_time" in text


def test_a_held_write_lock_is_storage_busy_and_changes_nothing(path: Path, opened: list) -> None:
    SQLiteStore(path).close()
    store = SQLiteStore(path, busy_timeout=0.2)
    opened.append(store)
    engine = Engine(booking_catalog(), store=store, clock=FakeClock())
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        err = refused(
            "storage_busy", engine.create_booking, BOOK_SITE, **REQUEST, idempotency_key="k"
        )
        assert err.http_status == 503
        blocker.execute("ROLLBACK")
    finally:
        blocker.close()
    assert engine.list_bookings(BOOK_SITE).total == 0
    assert not engine.create_booking_outcome(BOOK_SITE, **REQUEST, idempotency_key="k").replayed


def _open_files_on(path: Path) -> int:
    """How many file descriptors of this process point at the database file."""
    fd_dir = Path("/proc/self/fd")
    count = 0
    for fd in fd_dir.iterdir():
        try:
            if fd.resolve() == path.resolve():
                count += 1
        except OSError:
            continue
    return count


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to count open files")
def test_a_thread_per_request_does_not_leak_connections(path: Path, opened: list[Store]) -> None:
    """Servers start a thread per request; the store's connections must not pile up."""
    import threading

    from optimo_booking.stores.sqlite import POOL_SIZE

    store = SQLiteStore(path)
    opened.append(store)
    engine = Engine(booking_catalog(), store=store, clock=FakeClock(BOOK_NOW))
    for _ in range(200):
        worker = threading.Thread(target=engine.slots, args=(BOOK_SITE, "cut", BOOK_DAY))
        worker.start()
        worker.join()
    assert _open_files_on(path) <= POOL_SIZE
