"""The values the engine hands out: `Slot`, `Booking`, `Page` and the booking `Status`.

`BookedTime` is the slice of a booking that availability reads; `HoldsTime` is what both
share, so slot generation and placement accept either.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol


class Status(enum.StrEnum):
    """A booking's place in its lifecycle (see `optimo_booking.lifecycle`)."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"

    @property
    def holds_time(self) -> bool:
        """Every status but `cancelled` keeps the staff member's time taken."""
        return self is not Status.CANCELLED


def _span_instants(start: datetime, end: datetime) -> tuple[float, float]:
    """UTC seconds of an aware `[start, end)`; naive datetimes and `end <= start` are refused."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    # Compare instants: two datetimes in one zone compare by wall time and ignore `fold`,
    # so a slot ending in the repeated hour of a fall-back would look inverted.
    first, second = start.timestamp(), end.timestamp()
    if second <= first:
        raise ValueError(f"end {end.isoformat()} is not after start {start.isoformat()}")
    return first, second


@dataclass(frozen=True, slots=True, kw_only=True)
class Slot:
    """One bookable start for one staff member, in the staff member's zone.

    `reason` is None when `available`; else `past`, `too_soon`, `too_far`, `time_off`,
    `full` or `booked`.
    """

    start: datetime
    end: datetime
    staff_id: str
    available: bool
    reason: str | None = None
    branch_id: str | None = None

    def __post_init__(self) -> None:
        _span_instants(self.start, self.end)
        if self.available == (self.reason is not None):
            raise ValueError("a slot has a reason exactly when it is unavailable")


@dataclass(frozen=True, slots=True, kw_only=True)
class Booking:
    """A booking as stored: `start`/`end` are aware, in the staff member's zone."""

    id: str
    site_id: str
    service_id: str
    staff_id: str
    branch_id: str | None
    status: Status
    start: datetime
    end: datetime
    date: date
    customer: Mapping[str, Any]
    notes: str | None = None
    created_at: datetime
    updated_at: datetime
    _start_ts: int = field(init=False, repr=False, compare=False)
    _end_ts: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        start, end = _span_instants(self.start, self.end)
        if type(self.status) is not Status:
            object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "_start_ts", int(start))
        object.__setattr__(self, "_end_ts", int(end))

    @property
    def start_ts(self) -> int:
        """Start in UTC seconds."""
        return self._start_ts

    @property
    def end_ts(self) -> int:
        """End in UTC seconds."""
        return self._end_ts


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    """One page of a booking list; `next_cursor` is None on the last page."""

    items: tuple[Booking, ...]
    total: int
    limit: int
    next_cursor: str | None = None


class HoldsTime(Protocol):
    """What availability needs of a booking: whose time, which service, when, and its status."""

    @property
    def id(self) -> str: ...
    @property
    def service_id(self) -> str: ...
    @property
    def staff_id(self) -> str: ...
    @property
    def status(self) -> Status: ...
    @property
    def start_ts(self) -> int: ...
    @property
    def end_ts(self) -> int: ...
    @property
    def date(self) -> date: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class BookedTime:
    """A stored booking as the slot path reads it: no customer, no notes.

    Stores hand these to slot listing and to the atomic check of a create, so a damaged
    customer value in one row can never take a staff member's day offline.
    """

    id: str
    service_id: str
    staff_id: str
    status: Status
    start_ts: int
    end_ts: int
    date: date
