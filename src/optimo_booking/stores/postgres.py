"""`PostgresStore`: bookings in PostgreSQL, shared by any number of processes and hosts.

Needs the `postgres` extra (psycopg 3 and psycopg_pool); the package imports this module
only when `PostgresStore` is first named, so it works without the extra. Two things in the
database keep a staff member's time from being taken twice, whatever the Python above does:

1. `create` takes a transaction-scoped advisory lock per candidate staff member (keyed on
   site and staff) before it reads the bookings that matter, so check and insert are one
   step for every process on every host; the lock is released at commit or rollback.
2. An exclusion constraint (`btree_gist`) refuses two time-holding rows of one staff member
   whose held spans (buffers included) overlap, unless they share a `share_key` (the seats of
   one group session). Only the seat count is left to the lock and the placement check.

This module is the only one that imports psycopg; its errors become `BookingError`s in
`_translated`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import os
import re
import secrets
import threading
from collections.abc import Collection, Iterable, Iterator
from typing import Any

import psycopg
from psycopg import Connection, errors
from psycopg_pool import ConnectionPool

from ..errors import (
    IdempotencyKeyReused,
    InternalError,
    NotFound,
    SlotUnavailable,
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
    HeldSpan,
    HeldSpanOf,
    IdempotencyClaim,
    ListQuery,
    Move,
    booking_from_row,
    hold_from_row,
)

log = logging.getLogger("optimo_booking.postgres")

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Advisory lock classes (the first key of the two-key form), so the three kinds never meet.
_MIGRATION_LOCK = (0x0B0C, 1)
_IDEMPOTENCY_CLASS = 0x0B0D
_STAFF_CLASS = 0x0B0E
_SERVICE_CLASS = 0x0B0F  # round robin: creates of one service read its last-assigned staff

# Each migration is a list of statements run in one transaction; `{s}` is the schema.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE {s}.bookings (
            id text COLLATE "C" PRIMARY KEY,
            site_id text NOT NULL,
            service_id text NOT NULL,
            staff_id text NOT NULL,
            branch_id text,
            status text NOT NULL CHECK (status IN
                ('pending', 'confirmed', 'cancelled', 'completed', 'no_show')),
            start_ts bigint NOT NULL,
            end_ts bigint NOT NULL CHECK (end_ts > start_ts),
            zone text NOT NULL,
            local_date date NOT NULL,
            customer json NOT NULL,
            notes json,
            created_at text NOT NULL,
            updated_at text NOT NULL,
            held tstzrange NOT NULL,
            share_key text NOT NULL,
            CONSTRAINT bookings_no_overlap EXCLUDE USING gist (
                site_id WITH =, staff_id WITH =, held WITH &&, share_key WITH <>
            ) WHERE (status <> 'cancelled')
        )
        """,
        "CREATE INDEX bookings_by_staff_time ON {s}.bookings (site_id, staff_id, start_ts)",
        "CREATE INDEX bookings_by_time ON {s}.bookings (site_id, start_ts, id)",
        "CREATE INDEX bookings_by_status ON {s}.bookings (site_id, status, start_ts, id)",
        "CREATE INDEX bookings_by_date ON {s}.bookings (site_id, local_date, start_ts, id)",
        """
        CREATE TABLE {s}.idempotency_keys (
            site_id text NOT NULL,
            key text NOT NULL,
            fingerprint text NOT NULL,
            booking_id text NOT NULL REFERENCES {s}.bookings (id),
            PRIMARY KEY (site_id, key)
        )
        """,
        "CREATE TABLE {s}.store_meta (name text PRIMARY KEY, value bytea NOT NULL)",
    ),
    # 2: booking versions, holds, busy time from other calendars. Holds have no exclusion
    # constraint: whether one takes time depends on the engine's clock, which a constraint
    # cannot see; the per-staff advisory lock serializes every step that reads them.
    (
        "ALTER TABLE {s}.bookings ADD COLUMN version integer NOT NULL DEFAULT 0",
        """
        CREATE TABLE {s}.holds (
            id text COLLATE "C" PRIMARY KEY,
            site_id text NOT NULL,
            service_id text NOT NULL,
            staff_id text NOT NULL,
            branch_id text,
            start_ts bigint NOT NULL,
            end_ts bigint NOT NULL CHECK (end_ts > start_ts),
            zone text NOT NULL,
            local_date date NOT NULL,
            expires_ts bigint NOT NULL,
            state text NOT NULL CHECK (state IN ('active', 'released', 'used'))
        )
        """,
        "CREATE INDEX holds_by_staff_time ON {s}.holds (site_id, staff_id, start_ts)",
        "CREATE INDEX holds_by_expiry ON {s}.holds (site_id, expires_ts)",
        """
        CREATE TABLE {s}.busy (
            site_id text NOT NULL,
            staff_id text NOT NULL,
            source text NOT NULL,
            start_ts bigint NOT NULL,
            end_ts bigint NOT NULL CHECK (end_ts > start_ts)
        )
        """,
        "CREATE INDEX busy_by_staff ON {s}.busy (site_id, staff_id, start_ts)",
    ),
    # 3: insertion order, for round robin's "most recently created booking of a service"
    # (rows already stored are numbered in the order the table holds them).
    (
        "ALTER TABLE {s}.bookings ADD COLUMN seq bigint GENERATED BY DEFAULT AS IDENTITY",
        "CREATE INDEX bookings_by_service_seq ON {s}.bookings (site_id, service_id, seq)",
    ),
)

_COLUMNS = (
    "id, site_id, service_id, staff_id, branch_id, status, start_ts, end_ts, zone, "
    "local_date, customer::text, notes::text, created_at, updated_at, version"
)
_HOLD_COLUMNS = (
    "id, site_id, service_id, staff_id, branch_id, start_ts, end_ts, zone, local_date, "
    "expires_ts, state"
)
# What the slot path reads: never the customer or notes (see `BookedTime`).
_TIME_COLUMNS = "id, service_id, staff_id, status, start_ts, end_ts, local_date"
_INSERT_COLUMNS = (
    "id, site_id, service_id, staff_id, branch_id, status, start_ts, end_ts, zone, "
    "local_date, customer, notes, created_at, updated_at, version, held, share_key"
)
_INSERT_VALUES = (
    "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::json, %s::json, %s, %s, %s, "
    "tstzrange(to_timestamp(%s), to_timestamp(%s), '[)'), %s"
)


def _lock_key(*parts: str) -> int:
    """A signed 32-bit advisory lock key for `parts` (a collision only serializes more)."""
    digest = hashlib.blake2b("\x00".join(parts).encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def default_held_span(booking: Booking) -> HeldSpan:
    """A booking's own span, shared with nobody: the hold when the caller names none."""
    return HeldSpan(start=booking.start_ts, end=booking.end_ts, share_key=booking.id)


class PostgresStore:
    """Bookings in PostgreSQL: atomic across processes and hosts, checked by the database too.

    `url` is a libpq connection string or `postgresql://` URL; `max_connections` caps this
    process's pool; `lock_timeout` (seconds) bounds the wait for a staff member's lock, a row
    lock or a pooled connection before `storage_busy`; `schema` holds the tables, created and
    migrated on first use.
    """

    def __init__(
        self,
        url: str,
        *,
        max_connections: int = 10,
        lock_timeout: float = 5.0,
        schema: str = "optimo_booking",
        connect_timeout: float = 5.0,
    ) -> None:
        if not _SCHEMA_NAME.fullmatch(schema):
            raise ValueError("schema must be a lower-case SQL name: [a-z_][a-z0-9_]{0,62}")
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if not all(math.isfinite(t) and t > 0 for t in (lock_timeout, connect_timeout)):
            raise ValueError("lock_timeout and connect_timeout must be positive numbers of seconds")
        self.url = url
        self.schema = schema
        self.max_connections = max_connections
        self.lock_timeout = lock_timeout
        self.connect_timeout = connect_timeout
        self._s = f'"{schema}"'
        self._pool_lock = threading.Lock()
        self._pool: ConnectionPool[Connection[Any]] | None = None
        self._pid = os.getpid()
        self._closed = False
        # One short-lived connection; the pool opens on first use, so a process that forks
        # workers after making the store (gunicorn --preload) holds no pool of its own.
        self._secret = self._migrate()

    # -- connections and the error boundary -----------------------------------------------

    def _sql(self, text: str) -> str:
        return text.replace("{s}", self._s)

    def _configure(self, conn: Connection[Any]) -> None:
        # 0 would mean "wait forever" to PostgreSQL: at least one millisecond.
        conn.execute(f"SET lock_timeout = {max(1, round(self.lock_timeout * 1000))}")

    def _connect_seconds(self) -> int:
        # libpq counts whole seconds, and 0 means no limit.
        return max(1, math.ceil(self.connect_timeout))

    def _connection_pool(self) -> ConnectionPool[Connection[Any]]:
        """This process's pool, made on first use; a forked child makes its own."""
        with self._pool_lock:
            if self._closed:
                raise InternalError("the booking store is closed")
            if self._pool is None or self._pid != os.getpid():
                # A forked child must not touch its parent's sockets: leave that pool alone.
                self._pid = os.getpid()
                self._pool = ConnectionPool(
                    self.url,
                    min_size=1,
                    max_size=self.max_connections,
                    kwargs={"autocommit": True, "connect_timeout": self._connect_seconds()},
                    configure=self._configure,
                    check=ConnectionPool.check_connection,
                    timeout=self.lock_timeout,
                    name=f"optimo_booking.{self.schema}",
                    open=True,
                )
            return self._pool

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        """The one place where psycopg errors become `BookingError`s."""
        try:
            yield
        except errors.ExclusionViolation as exc:
            # Placement said free but the database says taken: the constraint has the last word.
            log.warning("the exclusion constraint refused a write: %s", exc)
            raise SlotUnavailable(
                "the slot is not available (booked)", {"reason": "booked"}
            ) from None
        except (
            errors.LockNotAvailable,
            errors.DeadlockDetected,
            errors.SerializationFailure,
            errors.QueryCanceled,
        ) as exc:
            raise StorageBusy(
                "the booking store is busy; retry shortly", {"retryAfterSeconds": 1}
            ) from exc
        except psycopg.OperationalError as exc:  # unreachable, restarting, pool timeout
            log.warning("PostgreSQL unavailable: %s", exc)
            raise StorageBusy(
                "the booking store is unavailable; retry shortly", {"retryAfterSeconds": 1}
            ) from exc
        except psycopg.Error as exc:
            log.error("PostgreSQL error: %s", exc)
            raise InternalError("the booking store failed") from exc

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Connection[Any]]:
        """A pooled connection in autocommit mode, for one statement that needs no transaction."""
        with self._translated(), self._connection_pool().connection() as conn:
            yield conn

    @contextlib.contextmanager
    def _transaction(self, *, read_only: bool = False) -> Iterator[Connection[Any]]:
        with (
            self._translated(),
            self._connection_pool().connection() as conn,
            conn.transaction(),
        ):
            if read_only:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield conn

    def _migrate(self) -> bytes:
        """Create or upgrade the schema under one advisory lock, so concurrent starts agree;
        returns the cursor key, made by whoever opens the store first."""
        with (
            self._translated(),
            psycopg.connect(
                self.url, autocommit=True, connect_timeout=self._connect_seconds()
            ) as conn,
            conn.transaction(),
        ):
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", _MIGRATION_LOCK)
            if not conn.execute(
                "SELECT 1 FROM pg_extension WHERE extname = 'btree_gist'"
            ).fetchone():
                conn.execute("CREATE EXTENSION btree_gist")
            conn.execute(self._sql("CREATE SCHEMA IF NOT EXISTS {s}"))
            conn.execute(
                self._sql(
                    "CREATE TABLE IF NOT EXISTS {s}.migrations ("
                    "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
                )
            )
            row = conn.execute(self._sql("SELECT max(version) FROM {s}.migrations")).fetchone()
            current = (row[0] if row else None) or 0
            if current > len(_MIGRATIONS):
                raise InternalError(
                    f"schema {self.schema} is at version {current}, newer than this "
                    f"optimo-booking knows ({len(_MIGRATIONS)}): upgrade optimo-booking"
                )
            for number, statements in enumerate(_MIGRATIONS, start=1):
                if number <= current:
                    continue
                for statement in statements:
                    conn.execute(self._sql(statement))
                conn.execute(
                    self._sql("INSERT INTO {s}.migrations (version) VALUES (%s)"), (number,)
                )
                log.info("PostgreSQL schema %s migrated to version %d", self.schema, number)
            return self._load_secret(conn)

    def schema_version(self) -> int:
        """The newest migration applied to this store's schema."""
        with self._transaction() as conn:
            row = conn.execute(self._sql("SELECT max(version) FROM {s}.migrations")).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def _load_secret(self, conn: Connection[Any]) -> bytes:
        conn.execute(
            self._sql(
                "INSERT INTO {s}.store_meta (name, value) VALUES ('cursor_secret', %s) "
                "ON CONFLICT (name) DO NOTHING"
            ),
            (secrets.token_bytes(32),),
        )
        row = conn.execute(
            self._sql("SELECT value FROM {s}.store_meta WHERE name = 'cursor_secret'")
        ).fetchone()
        if row is None:  # pragma: no cover - inserted just above, in the same transaction
            raise InternalError("the store's cursor key is missing")
        return bytes(row[0])

    # -- rows ------------------------------------------------------------------------------

    @staticmethod
    def _row(booking: Booking, hold: HeldSpan) -> tuple[Any, ...]:
        try:
            customer = json.dumps(dict(booking.customer), ensure_ascii=False)
            customer.encode("utf-8")
            # PostgreSQL text cannot hold NUL, which notes may: they are kept as a JSON string.
            notes = None if booking.notes is None else json.dumps(booking.notes, ensure_ascii=False)
            if notes is not None:
                notes.encode("utf-8")
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
            booking.date,
            customer,
            notes,
            booking.created_at.isoformat(),
            booking.updated_at.isoformat(),
            booking.version,
            hold.start,
            hold.end,
            hold.share_key,
        )

    @staticmethod
    def _booking(row: tuple[Any, ...]) -> Booking:
        return booking_from_row(row, notes_are_json=True)

    _hold = staticmethod(hold_from_row)

    def _lock_service(
        self, conn: Connection[Any], site_id: str, service_id: str | None
    ) -> str | None:
        """For round robin: the service's advisory lock, then its last-assigned staff member
        (None, and no lock, without a service)."""
        if service_id is None:
            return None
        conn.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)",
            (_SERVICE_CLASS, _lock_key(site_id, service_id)),
        )
        return self._last_assigned(conn, site_id, service_id)

    def _lock_staff(self, conn: Connection[Any], site_id: str, staff_ids: Collection[str]) -> None:
        """The per-staff advisory locks, in key order (so no two steps wait in a cycle)."""
        keys = sorted({_lock_key(site_id, staff) for staff in staff_ids})
        conn.execute(
            "SELECT pg_advisory_xact_lock(%s, k) FROM "
            "(SELECT k FROM unnest(%s::integer[]) AS k ORDER BY k) AS ordered",
            (_STAFF_CLASS, keys),
        )

    def _taken(
        self,
        conn: Connection[Any],
        site_id: str,
        start: int,
        end: int,
        staff_ids: Collection[str],
        *,
        except_booking: str | None = None,
        except_hold: str | None = None,
    ) -> TakenTime:
        """Bookings and active holds starting in `[start, end)`, busy spans overlapping it:
        their time only, never customer data."""
        staff = sorted(staff_ids)
        if not staff:
            return TakenTime(bookings=[])
        bookings = [
            b
            for b in self._select_window(conn, site_id, start, end, staff)
            if b.id != except_booking
        ]
        holds = [
            HeldTime(
                id=hid,
                service_id=service_id,
                staff_id=staff_id,
                start_ts=start_ts,
                end_ts=end_ts,
                date=local_date,
                expires_ts=expires_ts,
            )
            for hid, service_id, staff_id, start_ts, end_ts, local_date, expires_ts in conn.execute(
                self._sql(
                    "SELECT id, service_id, staff_id, start_ts, end_ts, local_date, expires_ts "
                    "FROM {s}.holds WHERE site_id = %s AND start_ts >= %s AND start_ts < %s "
                    "AND state = 'active' AND staff_id = ANY(%s)"
                ),
                (site_id, start, end, staff),
            )
            if hid != except_hold
        ]
        busy = [
            BusyTime(staff_id=staff_id, start_ts=lo, end_ts=hi)
            for staff_id, lo, hi in conn.execute(
                self._sql(
                    "SELECT staff_id, start_ts, end_ts FROM {s}.busy WHERE site_id = %s "
                    "AND start_ts < %s AND end_ts > %s AND staff_id = ANY(%s)"
                ),
                (site_id, end, start, staff),
            )
        ]
        return TakenTime(bookings=bookings, holds=holds, busy=busy)

    def _get_hold(
        self, conn: Connection[Any], site_id: str, hold_id: str, lock: bool = False
    ) -> Hold:
        row = conn.execute(
            self._sql(
                f"SELECT {_HOLD_COLUMNS} FROM {{s}}.holds WHERE id = %s AND site_id = %s"
                + (" FOR UPDATE" if lock else "")
            ),
            (hold_id, site_id),
        ).fetchone()
        if row is None:
            raise NotFound(f"unknown hold {hold_id!r}", {"holdId": hold_id})
        return self._hold(row)

    def _select_window(
        self,
        conn: Connection[Any],
        site_id: str,
        start: int,
        end: int,
        staff_ids: Collection[str] | None,
    ) -> list[HoldsTime]:
        sql = self._sql(
            f"SELECT {_TIME_COLUMNS} FROM {{s}}.bookings WHERE site_id = %s AND start_ts >= %s "
            "AND start_ts < %s AND status <> 'cancelled'"
        )
        params: list[Any] = [site_id, start, end]
        if staff_ids is not None:
            if not staff_ids:
                return []
            sql += " AND staff_id = ANY(%s)"
            params.append(sorted(staff_ids))
        return [
            BookedTime(
                id=bid,
                service_id=service_id,
                staff_id=staff_id,
                status=Status(status),
                start_ts=start_ts,
                end_ts=end_ts,
                date=local_date,
            )
            for bid, service_id, staff_id, status, start_ts, end_ts, local_date in conn.execute(
                sql, params
            )
        ]

    def _insert(self, conn: Connection[Any], booking: Booking, hold: HeldSpan) -> None:
        conn.execute(
            self._sql(f"INSERT INTO {{s}}.bookings ({_INSERT_COLUMNS}) VALUES ({_INSERT_VALUES})"),
            self._row(booking, hold),
        )

    # -- the Store protocol ------------------------------------------------------------------

    def add(self, booking: Booking, hold: HeldSpan | None = None) -> None:
        """Insert `booking` as it is, with no placement check (for fixtures and imports).

        The database still refuses an overlap with `hold` (default: the booking's own span).
        """
        with self._transaction() as conn:
            self._insert(conn, booking, hold or default_held_span(booking))

    def bookings_starting_between(
        self, site_id: str, start: int, end: int, staff_ids: Collection[str] | None = None
    ) -> list[HoldsTime]:
        """Bookings holding time whose start lies in the UTC window `[start, end)`: their
        time only, never customer data."""
        with self._connection() as conn:
            return self._select_window(conn, site_id, start, end, staff_ids)

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
        """Under the candidates' staff locks: replay an idempotent repeat, or place and insert.

        Locks are taken in one order (idempotency key, then the round-robin service, then
        staff by key), so two creates never wait on each other in a cycle. The service lock
        serializes every create of a round-robin service, whatever its staff, so no two read
        the same "last assigned".
        """
        with self._transaction() as conn:
            if idempotency is not None:
                conn.execute(
                    "SELECT pg_advisory_xact_lock(%s, %s)",
                    (_IDEMPOTENCY_CLASS, _lock_key(site_id, idempotency.key)),
                )
                found = conn.execute(
                    self._sql(
                        "SELECT fingerprint, booking_id FROM {s}.idempotency_keys "
                        "WHERE site_id = %s AND key = %s"
                    ),
                    (site_id, idempotency.key),
                ).fetchone()
                if found is not None:
                    if found[0] != idempotency.fingerprint:
                        raise IdempotencyKeyReused(
                            "this Idempotency-Key was used with a different request",
                            {"idempotencyKey": idempotency.key},
                        )
                    return self._get(conn, site_id, found[1]), True
            # Lock order: idempotency key, the hold's row, the round-robin service, then
            # staff by key.
            converting = None
            if hold_id is not None:
                converting = self._get_hold(conn, site_id, hold_id, lock=True)
            last = self._lock_service(conn, site_id, last_of_service)
            self._lock_staff(conn, site_id, staff_ids)
            taken = self._taken(conn, site_id, *window, staff_ids, except_hold=hold_id)
            booking = decide(dataclasses.replace(taken, converting=converting, last_assigned=last))
            self._insert(conn, booking, (held_span or default_held_span)(booking))
            if converting is not None:
                conn.execute(
                    self._sql("UPDATE {s}.holds SET state = 'used' WHERE id = %s AND site_id = %s"),
                    (converting.id, site_id),
                )
            if idempotency is not None:
                conn.execute(
                    self._sql(
                        "INSERT INTO {s}.idempotency_keys "
                        "(site_id, key, fingerprint, booking_id) VALUES (%s, %s, %s, %s)"
                    ),
                    (site_id, idempotency.key, idempotency.fingerprint, booking.id),
                )
        return booking, False

    def _last_assigned(self, conn: Connection[Any], site_id: str, service_id: str) -> str | None:
        found = conn.execute(
            self._sql(
                "SELECT staff_id FROM {s}.bookings WHERE site_id = %s AND service_id = %s "
                "ORDER BY seq DESC LIMIT 1"
            ),
            (site_id, service_id),
        ).fetchone()
        return None if found is None else str(found[0])

    def last_assigned(self, site_id: str, service_id: str) -> str | None:
        """The staff member holding the service's most recently created booking, or None."""
        with self._connection() as conn:
            return self._last_assigned(conn, site_id, service_id)

    def _get(
        self, conn: Connection[Any], site_id: str, booking_id: str, lock: bool = False
    ) -> Booking:
        row = conn.execute(
            self._sql(
                f"SELECT {_COLUMNS} FROM {{s}}.bookings WHERE id = %s AND site_id = %s"
                + (" FOR UPDATE" if lock else "")
            ),
            (booking_id, site_id),
        ).fetchone()
        if row is None:
            raise NotFound(f"unknown booking {booking_id!r}", {"bookingId": booking_id})
        return self._booking(row)

    def get(self, site_id: str, booking_id: str) -> Booking:
        """The booking, or `NotFound` (also for another site's booking)."""
        with self._connection() as conn:
            return self._get(conn, site_id, booking_id)

    def change(self, site_id: str, booking_id: str, change: Change) -> Booking:
        """Under the booking's row lock: read it, apply `change`, store the result."""
        with self._transaction() as conn:
            current = self._get(conn, site_id, booking_id, lock=True)
            updated = change(current)
            if updated is not current:
                conn.execute(
                    self._sql(
                        "UPDATE {s}.bookings SET status = %s, updated_at = %s, version = %s "
                        "WHERE id = %s AND site_id = %s"
                    ),
                    (
                        updated.status.value,
                        updated.updated_at.isoformat(),
                        updated.version,
                        booking_id,
                        site_id,
                    ),
                )
        return updated

    def taken_between(
        self, site_id: str, start: int, end: int, staff_ids: Collection[str]
    ) -> TakenTime:
        """Bookings and active holds starting in `[start, end)`, busy spans overlapping it."""
        with self._transaction(read_only=True) as conn:
            return self._taken(conn, site_id, start, end, staff_ids)

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
        """Under the booking's row lock and the target staff's lock: read the time around the
        new start without the booking, move it; the exclusion constraint checks the new span."""
        with self._transaction() as conn:
            current = self._get(conn, site_id, booking_id, lock=True)
            self._lock_staff(conn, site_id, staff_ids)
            taken = self._taken(conn, site_id, *window, staff_ids, except_booking=booking_id)
            updated = move(current, taken)
            if updated is not current:
                span = (held_span or default_held_span)(updated)
                conn.execute(
                    self._sql(
                        "UPDATE {s}.bookings SET staff_id = %s, branch_id = %s, start_ts = %s, "
                        "end_ts = %s, zone = %s, local_date = %s, updated_at = %s, version = %s, "
                        "held = tstzrange(to_timestamp(%s), to_timestamp(%s), '[)'), "
                        "share_key = %s WHERE id = %s AND site_id = %s"
                    ),
                    (
                        updated.staff_id,
                        updated.branch_id,
                        updated.start_ts,
                        updated.end_ts,
                        getattr(updated.start.tzinfo, "key", "UTC"),
                        updated.date,
                        updated.updated_at.isoformat(),
                        updated.version,
                        span.start,
                        span.end,
                        span.share_key,
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
        """Under the candidates' staff locks: forget long-expired holds, place and insert."""
        with self._transaction() as conn:
            last = self._lock_service(conn, site_id, last_of_service)
            self._lock_staff(conn, site_id, staff_ids)
            taken = self._taken(conn, site_id, *window, staff_ids)
            hold = decide(dataclasses.replace(taken, last_assigned=last))
            conn.execute(
                self._sql("DELETE FROM {s}.holds WHERE site_id = %s AND expires_ts < %s"),
                (site_id, purge_before),
            )
            conn.execute(
                self._sql(
                    f"INSERT INTO {{s}}.holds ({_HOLD_COLUMNS}) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                ),
                (
                    hold.id,
                    hold.site_id,
                    hold.service_id,
                    hold.staff_id,
                    hold.branch_id,
                    hold.start_ts,
                    hold.end_ts,
                    getattr(hold.start.tzinfo, "key", "UTC"),
                    hold.date,
                    hold.expires_ts,
                    hold.state.value,
                ),
            )
        return hold

    def get_hold(self, site_id: str, hold_id: str) -> Hold:
        """The hold, or `NotFound` (also for another site's hold)."""
        with self._connection() as conn:
            return self._get_hold(conn, site_id, hold_id)

    def release_hold(self, site_id: str, hold_id: str) -> Hold:
        """Under the hold's row lock: mark it released if it is active."""
        with self._transaction() as conn:
            hold = self._get_hold(conn, site_id, hold_id, lock=True)
            if hold.state is HoldState.ACTIVE:
                conn.execute(
                    self._sql(
                        "UPDATE {s}.holds SET state = 'released' WHERE id = %s AND site_id = %s"
                    ),
                    (hold_id, site_id),
                )
                hold = dataclasses.replace(hold, state=HoldState.RELEASED)
        return hold

    def set_busy(
        self, site_id: str, staff_id: str, source: str, spans: list[tuple[int, int]]
    ) -> None:
        """Under the staff member's lock (so two replacements never mix): replace one
        source's spans."""
        with self._transaction() as conn:
            self._lock_staff(conn, site_id, [staff_id])
            conn.execute(
                self._sql(
                    "DELETE FROM {s}.busy WHERE site_id = %s AND staff_id = %s AND source = %s"
                ),
                (site_id, staff_id, source),
            )
            if spans:
                with conn.cursor() as cur:
                    cur.executemany(
                        self._sql(
                            "INSERT INTO {s}.busy (site_id, staff_id, source, start_ts, end_ts) "
                            "VALUES (%s, %s, %s, %s, %s)"
                        ),
                        [(site_id, staff_id, source, lo, hi) for lo, hi in sorted(spans)],
                    )

    def busy(self, site_id: str, staff_id: str) -> list[tuple[str, int, int]]:
        """Every `(source, start, end)` busy span of a staff member, by start, end, source."""
        with self._connection() as conn:
            rows = conn.execute(
                self._sql(
                    "SELECT source, start_ts, end_ts FROM {s}.busy WHERE site_id = %s "
                    'AND staff_id = %s ORDER BY start_ts, end_ts, source COLLATE "C"'
                ),
                (site_id, staff_id),
            ).fetchall()
        return [(source, int(lo), int(hi)) for source, lo, hi in rows]

    def list_bookings(self, site_id: str, query: ListQuery) -> tuple[list[Booking], int]:
        """One page ordered by `(start, id)` after `query.after`, and the total matching."""
        where = "site_id = %s"
        params: list[Any] = [site_id]
        if query.status is not None:
            where += " AND status = %s"
            params.append(query.status.value)
        if query.day is not None:
            where += " AND local_date = %s"
            params.append(query.day)
        page_where, page_params = where, list(params)
        if query.after is not None:
            page_where += " AND (start_ts, id) > (%s, %s)"
            page_params += [query.after[0], query.after[1]]
        with self._transaction(read_only=True) as conn:
            rows = conn.execute(
                self._sql(
                    f"SELECT {_COLUMNS} FROM {{s}}.bookings WHERE {page_where} "
                    "ORDER BY start_ts, id LIMIT %s"
                ),
                [*page_params, query.limit],
            ).fetchall()
            total = conn.execute(
                self._sql(f"SELECT count(*) FROM {{s}}.bookings WHERE {where}"),
                params,
            ).fetchone()
        return [self._booking(r) for r in rows], int(total[0]) if total else 0

    def cursor_secret(self) -> bytes:
        """The HMAC key for list cursors, kept in the database so every host shares it."""
        return self._secret

    def explain_window_query(self, site_id: str, staff_ids: Collection[str]) -> str:
        """`EXPLAIN` of the window lookup, to show it is an index search."""
        with self._transaction() as conn:
            rows = conn.execute(
                self._sql(
                    f"EXPLAIN SELECT {_TIME_COLUMNS} FROM {{s}}.bookings WHERE site_id = %s "
                    "AND start_ts >= %s AND start_ts < %s AND status <> 'cancelled' "
                    "AND staff_id = ANY(%s)"
                ),
                (site_id, 0, 1, sorted(staff_ids)),
            ).fetchall()
        return "\n".join(str(r[0]) for r in rows)

    # -- copying between stores ------------------------------------------------------------

    def export_bookings(self) -> Iterator[Booking]:
        """Every booking of every site, by id."""
        with self._transaction(read_only=True) as conn:
            cursor = conn.cursor(name="optimo_export")
            cursor.execute(self._sql(f"SELECT {_COLUMNS} FROM {{s}}.bookings ORDER BY id"))
            for row in cursor:
                yield self._booking(row)

    def export_idempotency_keys(self) -> list[tuple[str, str, str, str]]:
        """Every idempotency key row `(site_id, key, fingerprint, booking_id)`, sorted."""
        with self._transaction(read_only=True) as conn:
            rows = conn.execute(
                self._sql(
                    "SELECT site_id, key, fingerprint, booking_id FROM {s}.idempotency_keys "
                    "ORDER BY site_id, key"
                )
            ).fetchall()
        return [(a, b, c, d) for a, b, c, d in rows]

    def is_empty(self) -> bool:
        """True when the store holds no booking and no idempotency key."""
        with self._transaction(read_only=True) as conn:
            row = conn.execute(
                self._sql(
                    "SELECT EXISTS (SELECT 1 FROM {s}.bookings) "
                    "OR EXISTS (SELECT 1 FROM {s}.idempotency_keys)"
                )
            ).fetchone()
        return not (row and row[0])

    def import_rows(
        self,
        bookings: Iterable[Booking],
        keys: Iterable[tuple[str, str, str, str]],
        secret: bytes,
        held_span: HeldSpanOf | None = None,
    ) -> None:
        """Load bookings, idempotency keys and the cursor key in one transaction."""
        hold_of = held_span or default_held_span
        try:
            with self._transaction() as conn:
                with conn.cursor() as cur:
                    cur.executemany(
                        self._sql(
                            f"INSERT INTO {{s}}.bookings ({_INSERT_COLUMNS}) "
                            f"VALUES ({_INSERT_VALUES})"
                        ),
                        (self._row(b, hold_of(b)) for b in bookings),
                    )
                    cur.executemany(
                        self._sql(
                            "INSERT INTO {s}.idempotency_keys "
                            "(site_id, key, fingerprint, booking_id) VALUES (%s, %s, %s, %s)"
                        ),
                        list(keys),
                    )
                conn.execute(
                    self._sql("UPDATE {s}.store_meta SET value = %s WHERE name = 'cursor_secret'"),
                    (secret,),
                )
        except SlotUnavailable:
            raise ValidationError(
                "two bookings to copy hold one staff member's time at once; nothing was copied"
            ) from None
        self._secret = secret

    def close(self) -> None:
        """Close this process's pool; the store cannot be used afterwards."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
            self._closed = True
        if pool is not None and self._pid == os.getpid():
            pool.close()
