"""Copying every booking, idempotency key and the cursor key from one store to another.

The path of a growing user is SQLite to PostgreSQL. The copy refuses a target that holds
anything, loads everything in one transaction, then reads both stores back and compares
counts and a SHA-256 over every row, so a copy that reports success is a faithful one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from ..errors import InternalError, ValidationError
from ..values import Booking
from .base import HeldSpanOf

KeyRow = tuple[str, str, str, str]  # site_id, key, fingerprint, booking_id


class Portable(Protocol):
    """What a store offers to be copied from and into."""

    def export_bookings(self) -> Iterator[Booking]: ...
    def export_idempotency_keys(self) -> list[KeyRow]: ...
    def cursor_secret(self) -> bytes: ...
    def is_empty(self) -> bool: ...
    def import_rows(
        self,
        bookings: Iterable[Booking],
        keys: Iterable[KeyRow],
        secret: bytes,
        held_span: HeldSpanOf | None = None,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Inventory:
    """What a store holds, in numbers and one checksum over every row."""

    bookings: int
    idempotency_keys: int
    checksum: str


def _booking_line(b: Booking) -> bytes:
    fields = [
        b.id,
        b.site_id,
        b.service_id,
        b.staff_id,
        b.branch_id,
        b.status.value,
        b.start.isoformat(),
        b.end.isoformat(),
        getattr(b.start.tzinfo, "key", "UTC"),
        b.date.isoformat(),
        b.customer,
        b.notes,
        b.created_at.isoformat(),
        b.updated_at.isoformat(),
    ]
    return json.dumps(fields, sort_keys=True, ensure_ascii=True).encode("ascii") + b"\n"


def inventory(store: Portable) -> Inventory:
    """Counts and a SHA-256 over bookings (by id), idempotency keys and the cursor key."""
    digest = hashlib.sha256()
    bookings = 0
    for b in store.export_bookings():
        digest.update(_booking_line(b))
        bookings += 1
    keys = store.export_idempotency_keys()
    for row in keys:
        digest.update(json.dumps(row).encode("ascii") + b"\n")
    digest.update(store.cursor_secret())
    return Inventory(bookings, len(keys), digest.hexdigest())


def copy_store(
    source: Portable, target: Portable, held_span: HeldSpanOf | None = None
) -> Inventory:
    """Copy everything from `source` into the empty `target`, then verify; returns the tally.

    `held_span` gives each booking's held span for a target that checks overlaps itself
    (PostgreSQL); two copied bookings that overlap make the copy fail and load nothing.
    """
    if not target.is_empty():
        raise ValidationError("the target store is not empty; copy only into an empty store")
    target.import_rows(
        source.export_bookings(),
        source.export_idempotency_keys(),
        source.cursor_secret(),
        held_span,
    )
    before, after = inventory(source), inventory(target)
    if before != after:
        raise InternalError(
            f"the copy does not match its source ({before} != {after}); "
            "empty the target and copy again"
        )
    return after
