"""`SQLiteStore`: the embedded default, atomic across threads and processes sharing one file.

Connections run in autocommit mode (`isolation_level=None`) and every check-and-write is
wrapped in our own `BEGIN IMMEDIATE`, which takes the write lock before the availability
check reads, so check and insert are one step. Python 3.11's default deferred transactions
would take that lock only at the first write and fail with "database is locked" under
contention. This module is the only one that imports `sqlite3`; its errors are translated
to `BookingError`s in `_translated`.

Checkpoints (copying the WAL back into the database file) never run on their own: every
connection sets `wal_autocheckpoint = 0`, and the store checkpoints only from a second
connection while another of its connections holds SQLite's write lock and writes nothing.
No commit, and so no WAL reset, can then overlap a checkpoint, which is what SQLite's
WAL-reset bug (3.7.0 to 3.51.2) needs; docs/stores.md gives the argument.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import secrets
import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, Literal

from ..errors import (
    BookingError,
    IdempotencyKeyReused,
    InternalError,
    NotFound,
    StorageBusy,
    ValidationError,
)
from ..values import (
    BookedTime,
    Booking,
    BusyTime,
    HeldTime,
    Hold,
    HoldState,
    HoldsTime,
    Status,
    TakenTime,
)
from .base import (
    Change,
    Decide,
    DecideHold,
    HeldSpanOf,
    IdempotencyClaim,
    ListQuery,
    Move,
    booking_from_row,
    hold_from_row,
)

log = logging.getLogger("optimo_booking.sqlite")

# Versions with the WAL-reset data-loss bug: before 3.51.3, except the fixed backports.
_WAL_RESET_FIXED = ((3, 51, 3), (3, 50, 7), (3, 44, 6))
#: The SQLite library this store runs on (the one Python's `sqlite3` links against).
SQLITE_VERSION: str = sqlite3.sqlite_version
#: Write transactions of one process between two checkpoints. A booking commit writes about
#: six 4 KiB pages (a row, four indexes), so the WAL stays under SQLite's default 1000 pages.
CHECKPOINT_EVERY = 100

_MIGRATIONS: tuple[str, ...] = (
    # 1: bookings, idempotency keys, store metadata.
    """
    CREATE TABLE bookings (
        id TEXT PRIMARY KEY,
        site_id TEXT NOT NULL,
        service_id TEXT NOT NULL,
        staff_id TEXT NOT NULL,
        branch_id TEXT,
        status TEXT NOT NULL,
        start_ts INTEGER NOT NULL,
        end_ts INTEGER NOT NULL,
        zone TEXT NOT NULL,
        local_date TEXT NOT NULL,
        customer TEXT NOT NULL,
        notes TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX bookings_by_staff_time ON bookings (site_id, staff_id, start_ts);
    CREATE INDEX bookings_by_time ON bookings (site_id, start_ts, id);
    CREATE INDEX bookings_by_status ON bookings (site_id, status, start_ts, id);
    CREATE INDEX bookings_by_date ON bookings (site_id, local_date, start_ts, id);
    CREATE TABLE idempotency_keys (
        site_id TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        booking_id TEXT NOT NULL REFERENCES bookings (id),
        PRIMARY KEY (site_id, key)
    ) STRICT;
    CREATE TABLE store_meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;
    """,
    # 2: booking versions, holds, busy time from other calendars.
    """
    ALTER TABLE bookings ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE holds (
        id TEXT PRIMARY KEY,
        site_id TEXT NOT NULL,
        service_id TEXT NOT NULL,
        staff_id TEXT NOT NULL,
        branch_id TEXT,
        start_ts INTEGER NOT NULL,
        end_ts INTEGER NOT NULL,
        zone TEXT NOT NULL,
        local_date TEXT NOT NULL,
        expires_ts INTEGER NOT NULL,
        state TEXT NOT NULL
    ) STRICT;
    CREATE INDEX holds_by_staff_time ON holds (site_id, staff_id, start_ts);
    CREATE INDEX holds_by_expiry ON holds (site_id, expires_ts);
    CREATE TABLE busy (
        site_id TEXT NOT NULL,
        staff_id TEXT NOT NULL,
        source TEXT NOT NULL,
        start_ts INTEGER NOT NULL,
        end_ts INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX busy_by_staff ON busy (site_id, staff_id, start_ts);
    """,
    # 3: each service's most recently created booking, for round-robin assignment. An
    # explicit row, not rowid order: VACUUM may renumber the rowids of a table like ours.
    """
    CREATE TABLE service_latest (
        site_id TEXT NOT NULL,
        service_id TEXT NOT NULL,
        booking_id TEXT NOT NULL REFERENCES bookings (id),
        PRIMARY KEY (site_id, service_id)
    ) STRICT;
    INSERT INTO service_latest (site_id, service_id, booking_id)
        SELECT site_id, service_id, id FROM bookings AS b
        WHERE rowid = (SELECT max(rowid) FROM bookings
                       WHERE site_id = b.site_id AND service_id = b.service_id);
    """,
)

POOL_SIZE = 8  # idle connections kept per store and process

_COLUMNS = (
    "id, site_id, service_id, staff_id, branch_id, status, start_ts, end_ts, zone, "
    "local_date, customer, notes, created_at, updated_at, version"
)
_COLUMN_COUNT = len(_COLUMNS.split(","))
_HOLD_COLUMNS = (
    "id, site_id, service_id, staff_id, branch_id, start_ts, end_ts, zone, local_date, "
    "expires_ts, state"
)
# What the slot path reads: never the customer or notes (see `BookedTime`).
_TIME_COLUMNS = "id, service_id, staff_id, status, start_ts, end_ts, local_date"


def sqlite_version_has_wal_reset_bug(version: tuple[int, int, int]) -> bool:
    """True for SQLite versions with the WAL-reset bug (fixed 3.51.3, 3.50.7, 3.44.6).

    Informational: the store's checkpoint discipline keeps it clear of the bug on any version.
    """
    if version >= _WAL_RESET_FIXED[0]:
        return False
    return not any(version[:2] == fixed[:2] and version >= fixed for fixed in _WAL_RESET_FIXED[1:])


class SQLiteStore:
    """Bookings in one SQLite file, in WAL mode, shared safely by threads and processes."""

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        busy_timeout: float = 5.0,
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError("synchronous must be 'FULL' or 'NORMAL'")
        self.path = str(path)
        self.synchronous = synchronous
        self.busy_timeout = busy_timeout
        self._pid = os.getpid()
        self._idle: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self._closed = False
        self._writes = 0  # write transactions of this process since its last checkpoint
        self.checkpoints = 0  # checkpoints this store ran (tests and curious operators)
        log.debug("SQLite %s at %s", SQLITE_VERSION, self.path)
        self._migrate()
        self._secret = self._load_secret()

    # -- connections and the error boundary -----------------------------------------------

    def _open(self) -> sqlite3.Connection:
        with self._translated():
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            conn.execute("PRAGMA foreign_keys = ON")
            # Checkpoints run only in `_checkpoint_if_due`, under a held write lock.
            conn.execute("PRAGMA wal_autocheckpoint = 0")
        return conn

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection of this process for one operation, from a small pool of idle ones.

        Servers start a thread per request, so connections belong to the pool, not to
        threads; at most `POOL_SIZE` idle connections are kept, the rest are closed.
        """
        with self._pool_lock:
            if self._pid != os.getpid():
                # A forked child must not touch its parent's connections: open its own.
                self._idle = []
                self._pid = os.getpid()
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._open()
        try:
            yield conn
        finally:
            if conn.in_transaction:  # a failed COMMIT or ROLLBACK must not leak a lock
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            with self._pool_lock:
                keep = not self._closed and len(self._idle) < POOL_SIZE and self._pid == os.getpid()
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        """The one place where `sqlite3` errors become `BookingError`s."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if "locked" in text or "busy" in text:
                raise StorageBusy(
                    "the booking store is busy; retry shortly",
                    {"retryAfterSeconds": 1},
                ) from exc
            raise InternalError("the booking store failed") from exc
        except sqlite3.Error as exc:
            raise InternalError("the booking store failed") from exc

    @contextlib.contextmanager
    def _transaction(self, mode: Literal["IMMEDIATE", "DEFERRED"]) -> Iterator[sqlite3.Connection]:
        with self._connection() as conn, self._translated():
            conn.execute(f"BEGIN {mode}")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            if mode == "IMMEDIATE":
                self._checkpoint_if_due(conn)

    def _checkpoint_if_due(self, conn: sqlite3.Connection) -> None:
        """After every `CHECKPOINT_EVERY` writes, checkpoint while holding the write lock.

        `conn` has just committed. It takes the write lock again and writes nothing while a
        second connection checkpoints, so no connection of any process can commit (and
        reset the WAL) during the checkpoint. Once everything is copied back, the next
        writer starts the WAL over from its beginning, so the file stays small. A busy lock
        skips the checkpoint: the booking is already committed, and the next write retries.
        """
        with self._pool_lock:
            self._writes += 1
            if self._writes < CHECKPOINT_EVERY:
                return
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                with self._connection() as other:
                    self._checkpoint(other)
            finally:
                conn.execute("ROLLBACK")
        except (sqlite3.Error, BookingError) as exc:
            # The booking has committed: a checkpoint that cannot run must not turn that
            # success into an error (a new connection failing to open raises StorageBusy).
            log.debug("checkpoint skipped: %s", exc)
            return
        with self._pool_lock:
            self._writes = 0
            self.checkpoints += 1

    def _checkpoint(self, other: sqlite3.Connection) -> None:
        """PASSIVE: copies what it can, never waits and never takes the write lock itself."""
        other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    def _migrate(self) -> None:
        with self._transaction("IMMEDIATE") as conn:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(_MIGRATIONS, start=1):
                if number <= current:
                    continue
                for statement in script.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")

    def _load_secret(self) -> bytes:
        with self._transaction("IMMEDIATE") as conn:
            conn.execute(
                "INSERT OR IGNORE INTO store_meta (name, value) VALUES ('cursor_secret', ?)",
                (secrets.token_bytes(32),),
            )
            row = conn.execute("SELECT value FROM store_meta WHERE name = 'cursor_secret'")
            value: bytes = row.fetchone()[0]
        return value

    # -- rows ------------------------------------------------------------------------------

    @staticmethod
    def _row(booking: Booking) -> tuple[Any, ...]:
        try:
            customer = json.dumps(dict(booking.customer), ensure_ascii=False)
            customer.encode("utf-8")
            if booking.notes is not None:
                booking.notes.encode("utf-8")
        except (UnicodeEncodeError, TypeError, ValueError, RecursionError):
            raise ValidationError(
                "the customer must be plain JSON text without unpaired surrogates",
                {"fields": ["customer"]},
            ) from None
        return (
            booking.id,
            booking.site_id,
            booking.service_id,
            booking.staff_id,
            booking.branch_id,
            booking.status.value,
            booking.start_ts,
            booking.end_ts,
            getattr(booking.start.tzinfo, "key", "UTC"),
            booking.date.isoformat(),
            customer,
            booking.notes,
            booking.created_at.isoformat(),
            booking.updated_at.isoformat(),
            booking.version,
        )

    _booking = staticmethod(booking_from_row)

    @staticmethod
    def _hold_row(hold: Hold) -> tuple[Any, ...]:
        return (
            hold.id,
            hold.site_id,
            hold.service_id,
            hold.staff_id,
            hold.branch_id,
            hold.start_ts,
            hold.end_ts,
            getattr(hold.start.tzinfo, "key", "UTC"),
            hold.date.isoformat(),
            hold.expires_ts,
            hold.state.value,
        )

    _hold = staticmethod(hold_from_row)

    def _select_window(
        self,
        conn: sqlite3.Connection,
        site_id: str,
        start: int,
        end: int,
        staff_ids: Collection[str] | None,
    ) -> list[HoldsTime]:
        sql = (
            f"SELECT {_TIME_COLUMNS} FROM bookings WHERE site_id = ? AND start_ts >= ? "
            "AND start_ts < ? AND status != 'cancelled'"
        )
        params: list[Any] = [site_id, start, end]
        if staff_ids is not None:
            staff = sorted(staff_ids)
            if not staff:
                return []
            sql += f" AND staff_id IN ({', '.join('?' * len(staff))})"
            params += staff
        return [
            BookedTime(
                id=bid,
                service_id=service_id,
                staff_id=staff_id,
                status=Status(status),
                start_ts=start_ts,
                end_ts=end_ts,
                date=date.fromisoformat(local_date),
            )
            for bid, service_id, staff_id, status, start_ts, end_ts, local_date in conn.execute(
                sql, params
            )
        ]

    def _taken(
        self,
        conn: sqlite3.Connection,
        site_id: str,
        start: int,
        end: int,
        staff_ids: Collection[str],
        *,
        except_booking: str | None = None,
        except_hold: str | None = None,
    ) -> TakenTime:
        staff = sorted(staff_ids)
        if not staff:
            return TakenTime(bookings=[])
        bookings = [
            b
            for b in self._select_window(conn, site_id, start, end, staff)
            if b.id != except_booking
        ]
        marks = ", ".join("?" * len(staff))
        holds = [
            HeldTime(
                id=hid,
                service_id=service_id,
                staff_id=staff_id,
                start_ts=start_ts,
                end_ts=end_ts,
                date=date.fromisoformat(local_date),
                expires_ts=expires_ts,
            )
            for hid, service_id, staff_id, start_ts, end_ts, local_date, expires_ts in conn.execute(
                "SELECT id, service_id, staff_id, start_ts, end_ts, local_date, expires_ts "
                "FROM holds WHERE site_id = ? AND start_ts >= ? AND start_ts < ? "
                f"AND state = 'active' AND staff_id IN ({marks})",
                [site_id, start, end, *staff],
            )
            if hid != except_hold
        ]
        busy = [
            BusyTime(staff_id=staff_id, start_ts=lo, end_ts=hi)
            for staff_id, lo, hi in conn.execute(
                "SELECT staff_id, start_ts, end_ts FROM busy WHERE site_id = ? "
                f"AND start_ts < ? AND end_ts > ? AND staff_id IN ({marks})",
                [site_id, end, start, *staff],
            )
        ]
        return TakenTime(bookings=bookings, holds=holds, busy=busy)

    # -- the Store protocol ------------------------------------------------------------------

    def add(self, booking: Booking) -> None:
        """Insert `booking` as it is, with no availability check (for fixtures and imports)."""
        row = self._row(booking)
        with self._transaction("IMMEDIATE") as conn:
            self._insert(conn, booking, row)

    @staticmethod
    def _insert(conn: sqlite3.Connection, booking: Booking, row: tuple[Any, ...]) -> None:
        conn.execute(f"INSERT INTO bookings ({_COLUMNS}) VALUES ({_marks(row)})", row)
        conn.execute(
            "INSERT INTO service_latest (site_id, service_id, booking_id) VALUES (?, ?, ?) "
            "ON CONFLICT (site_id, service_id) DO UPDATE SET booking_id = excluded.booking_id",
            (booking.site_id, booking.service_id, booking.id),
        )

    @staticmethod
    def _last_assigned(conn: sqlite3.Connection, site_id: str, service_id: str) -> str | None:
        found = conn.execute(
            "SELECT b.staff_id FROM service_latest AS l JOIN bookings AS b ON b.id = l.booking_id "
            "WHERE l.site_id = ? AND l.service_id = ?",
            (site_id, service_id),
        ).fetchone()
        return None if found is None else str(found[0])

    def last_assigned(self, site_id: str, service_id: str) -> str | None:
        """The staff member holding the service's most recently created booking, or None."""
        with self._connection() as conn, self._translated():
            return self._last_assigned(conn, site_id, service_id)

    def bookings_starting_between(
        self, site_id: str, start: int, end: int, staff_ids: Collection[str] | None = None
    ) -> list[HoldsTime]:
        """Bookings holding time whose start lies in the UTC window `[start, end)`."""
        with self._connection() as conn, self._translated():
            return self._select_window(conn, site_id, start, end, staff_ids)

    def taken_between(
        self, site_id: str, start: int, end: int, staff_ids: Collection[str]
    ) -> TakenTime:
        """Bookings and active holds starting in `[start, end)`, busy spans overlapping it."""
        with self._transaction("DEFERRED") as conn:
            return self._taken(conn, site_id, start, end, staff_ids)

    def create(
        self,
        site_id: str,
        *,
        window: tuple[int, int],
        staff_ids: Collection[str],
        decide: Decide,
        idempotency: IdempotencyClaim | None = None,
        hold_id: str | None = None,
        held_span: HeldSpanOf | None = None,
        last_of_service: str | None = None,
    ) -> tuple[Booking, bool]:
        """Under one write lock: replay an idempotent repeat, or place and insert a booking."""
        with self._transaction("IMMEDIATE") as conn:
            if idempotency is not None:
                found = conn.execute(
                    "SELECT fingerprint, booking_id FROM idempotency_keys "
                    "WHERE site_id = ? AND key = ?",
                    (site_id, idempotency.key),
                ).fetchone()
                if found is not None:
                    if found[0] != idempotency.fingerprint:
                        raise IdempotencyKeyReused(
                            "this Idempotency-Key was used with a different request",
                            {"idempotencyKey": idempotency.key},
                        )
                    return self._get(conn, site_id, found[1]), True
            converting = self._get_hold(conn, site_id, hold_id) if hold_id is not None else None
            taken = self._taken(conn, site_id, *window, staff_ids, except_hold=hold_id)
            last = None
            if last_of_service is not None:
                last = self._last_assigned(conn, site_id, last_of_service)
            booking = decide(dataclasses.replace(taken, converting=converting, last_assigned=last))
            self._insert(conn, booking, self._row(booking))
            if converting is not None:
                conn.execute(
                    "UPDATE holds SET state = 'used' WHERE id = ? AND site_id = ?",
                    (converting.id, site_id),
                )
            if idempotency is not None:
                conn.execute(
                    "INSERT INTO idempotency_keys (site_id, key, fingerprint, booking_id) "
                    "VALUES (?, ?, ?, ?)",
                    (site_id, idempotency.key, idempotency.fingerprint, booking.id),
                )
        return booking, False

    def _get(self, conn: sqlite3.Connection, site_id: str, booking_id: str) -> Booking:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM bookings WHERE id = ? AND site_id = ?",
            (booking_id, site_id),
        ).fetchone()
        if row is None:
            raise NotFound(f"unknown booking {booking_id!r}", {"bookingId": booking_id})
        return self._booking(row)

    def get(self, site_id: str, booking_id: str) -> Booking:
        """The booking, or `NotFound` (also for another site's booking)."""
        with self._connection() as conn, self._translated():
            return self._get(conn, site_id, booking_id)

    def change(self, site_id: str, booking_id: str, change: Change) -> Booking:
        """Under one write lock: read a booking, apply `change`, store the result."""
        with self._transaction("IMMEDIATE") as conn:
            current = self._get(conn, site_id, booking_id)
            updated = change(current)
            if updated is not current:
                conn.execute(
                    "UPDATE bookings SET status = ?, updated_at = ?, version = ? "
                    "WHERE id = ? AND site_id = ?",
                    (
                        updated.status.value,
                        updated.updated_at.isoformat(),
                        updated.version,
                        booking_id,
                        site_id,
                    ),
                )
        return updated

    def reschedule(
        self,
        site_id: str,
        booking_id: str,
        *,
        window: tuple[int, int],
        staff_ids: Collection[str],
        move: Move,
        held_span: HeldSpanOf | None = None,
    ) -> Booking:
        """Under one write lock: read a booking and the time around its new start, move it."""
        with self._transaction("IMMEDIATE") as conn:
            current = self._get(conn, site_id, booking_id)
            taken = self._taken(conn, site_id, *window, staff_ids, except_booking=booking_id)
            updated = move(current, taken)
            if updated is not current:
                conn.execute(
                    "UPDATE bookings SET staff_id = ?, branch_id = ?, start_ts = ?, end_ts = ?, "
                    "zone = ?, local_date = ?, updated_at = ?, version = ? "
                    "WHERE id = ? AND site_id = ?",
                    (
                        updated.staff_id,
                        updated.branch_id,
                        updated.start_ts,
                        updated.end_ts,
                        getattr(updated.start.tzinfo, "key", "UTC"),
                        updated.date.isoformat(),
                        updated.updated_at.isoformat(),
                        updated.version,
                        booking_id,
                        site_id,
                    ),
                )
        return updated

    def add_hold(
        self,
        site_id: str,
        *,
        window: tuple[int, int],
        staff_ids: Collection[str],
        decide: DecideHold,
        purge_before: int,
        last_of_service: str | None = None,
    ) -> Hold:
        """Under one write lock: forget long-expired holds, place and insert a new one."""
        with self._transaction("IMMEDIATE") as conn:
            conn.execute(
                "DELETE FROM holds WHERE site_id = ? AND expires_ts < ?", (site_id, purge_before)
            )
            taken = self._taken(conn, site_id, *window, staff_ids)
            if last_of_service is not None:
                last = self._last_assigned(conn, site_id, last_of_service)
                taken = dataclasses.replace(taken, last_assigned=last)
            hold = decide(taken)
            row = self._hold_row(hold)
            conn.execute(f"INSERT INTO holds ({_HOLD_COLUMNS}) VALUES ({_marks(row)})", row)
        return hold

    def _get_hold(self, conn: sqlite3.Connection, site_id: str, hold_id: str) -> Hold:
        row = conn.execute(
            f"SELECT {_HOLD_COLUMNS} FROM holds WHERE id = ? AND site_id = ?", (hold_id, site_id)
        ).fetchone()
        if row is None:
            raise NotFound(f"unknown hold {hold_id!r}", {"holdId": hold_id})
        return self._hold(row)

    def get_hold(self, site_id: str, hold_id: str) -> Hold:
        """The hold, or `NotFound`."""
        with self._connection() as conn, self._translated():
            return self._get_hold(conn, site_id, hold_id)

    def release_hold(self, site_id: str, hold_id: str) -> Hold:
        """Mark an active hold released; a finished one stays as it is."""
        with self._transaction("IMMEDIATE") as conn:
            hold = self._get_hold(conn, site_id, hold_id)
            if hold.state is HoldState.ACTIVE:
                conn.execute(
                    "UPDATE holds SET state = 'released' WHERE id = ? AND site_id = ?",
                    (hold_id, site_id),
                )
                hold = dataclasses.replace(hold, state=HoldState.RELEASED)
        return hold

    def set_busy(
        self, site_id: str, staff_id: str, source: str, spans: list[tuple[int, int]]
    ) -> None:
        """Replace one source's busy spans for a staff member, in one transaction."""
        with self._transaction("IMMEDIATE") as conn:
            conn.execute(
                "DELETE FROM busy WHERE site_id = ? AND staff_id = ? AND source = ?",
                (site_id, staff_id, source),
            )
            conn.executemany(
                "INSERT INTO busy (site_id, staff_id, source, start_ts, end_ts) "
                "VALUES (?, ?, ?, ?, ?)",
                [(site_id, staff_id, source, lo, hi) for lo, hi in sorted(spans)],
            )

    def busy(self, site_id: str, staff_id: str) -> list[tuple[str, int, int]]:
        """Every `(source, start, end)` busy span of a staff member, by start, end, source."""
        with self._connection() as conn, self._translated():
            rows = conn.execute(
                "SELECT source, start_ts, end_ts FROM busy WHERE site_id = ? AND staff_id = ? "
                "ORDER BY start_ts, end_ts, source",
                (site_id, staff_id),
            ).fetchall()
        return [(source, lo, hi) for source, lo, hi in rows]

    def list_bookings(self, site_id: str, query: ListQuery) -> tuple[list[Booking], int]:
        """One page ordered by `(start, id)` after `query.after`, and the total matching."""
        where = "site_id = ?"
        params: list[Any] = [site_id]
        if query.status is not None:
            where += " AND status = ?"
            params.append(query.status.value)
        if query.day is not None:
            where += " AND local_date = ?"
            params.append(query.day.isoformat())
        page_where, page_params = where, list(params)
        if query.after is not None:
            page_where += " AND (start_ts > ? OR (start_ts = ? AND id > ?))"
            page_params += [query.after[0], query.after[0], query.after[1]]
        with self._transaction("DEFERRED") as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM bookings WHERE {page_where} ORDER BY start_ts, id LIMIT ?",
                [*page_params, query.limit],
            ).fetchall()
            total = conn.execute(f"SELECT count(*) FROM bookings WHERE {where}", params)
            count: int = total.fetchone()[0]
        return [self._booking(r) for r in rows], count

    def cursor_secret(self) -> bytes:
        """The HMAC key for list cursors, stored in the file so every process shares it."""
        return self._secret

    def explain_window_query(self, site_id: str, staff_ids: Collection[str]) -> list[str]:
        """`EXPLAIN QUERY PLAN` of the window lookup, to show it is an index search."""
        staff = sorted(staff_ids)
        sql = (
            f"EXPLAIN QUERY PLAN SELECT {_TIME_COLUMNS} FROM bookings WHERE site_id = ? "
            "AND start_ts >= ? AND start_ts < ? AND status != 'cancelled' "
            f"AND staff_id IN ({', '.join('?' * len(staff))})"
        )
        with self._connection() as conn, self._translated():
            return [str(r[-1]) for r in conn.execute(sql, [site_id, 0, 1, *staff])]

    # -- copying between stores ------------------------------------------------------------

    def export_bookings(self) -> Iterator[Booking]:
        """Every booking of every site, by id."""
        with self._transaction("DEFERRED") as conn:
            for row in conn.execute(f"SELECT {_COLUMNS} FROM bookings ORDER BY id"):
                yield self._booking(row)

    def export_idempotency_keys(self) -> list[tuple[str, str, str, str]]:
        """Every idempotency key row `(site_id, key, fingerprint, booking_id)`, sorted."""
        with self._connection() as conn, self._translated():
            rows = conn.execute(
                "SELECT site_id, key, fingerprint, booking_id FROM idempotency_keys "
                "ORDER BY site_id, key"
            ).fetchall()
        return [(a, b, c, d) for a, b, c, d in rows]

    def is_empty(self) -> bool:
        """True when the file holds no booking and no idempotency key."""
        with self._connection() as conn, self._translated():
            row = conn.execute(
                "SELECT EXISTS (SELECT 1 FROM bookings) OR EXISTS (SELECT 1 FROM idempotency_keys)"
            ).fetchone()
        return not row[0]

    def import_rows(
        self,
        bookings: Iterable[Booking],
        keys: Iterable[tuple[str, str, str, str]],
        secret: bytes,
        held_span: HeldSpanOf | None = None,
    ) -> None:
        """Load bookings, idempotency keys and the cursor key in one transaction."""
        with self._transaction("IMMEDIATE") as conn:
            conn.executemany(
                f"INSERT INTO bookings ({_COLUMNS}) VALUES ({', '.join('?' * _COLUMN_COUNT)})",
                (self._row(b) for b in bookings),
            )
            # Each service's latest is the one imported last: a copy does not carry the
            # round-robin turn of the store it came from.
            conn.execute(
                "INSERT OR REPLACE INTO service_latest (site_id, service_id, booking_id) "
                "SELECT site_id, service_id, id FROM bookings AS b WHERE rowid = "
                "(SELECT max(rowid) FROM bookings "
                "WHERE site_id = b.site_id AND service_id = b.service_id)"
            )
            conn.executemany(
                "INSERT INTO idempotency_keys (site_id, key, fingerprint, booking_id) "
                "VALUES (?, ?, ?, ?)",
                keys,
            )
            conn.execute("UPDATE store_meta SET value = ? WHERE name = 'cursor_secret'", (secret,))
        self._secret = secret

    def close(self) -> None:
        """Close the idle connections; ones in use close when their operation ends."""
        with self._pool_lock:
            idle, self._idle = self._idle, []
            self._closed = True
        for conn in idle:
            with contextlib.suppress(sqlite3.Error):
                conn.close()


def _marks(row: tuple[Any, ...]) -> str:
    return ", ".join("?" * len(row))
