"""The values the engine hands out: `Slot`, `Booking`, `Hold`, `Page` and the booking `Status`.

`BookedTime` is the slice of a booking that availability reads; `HoldsTime` is what both
share, so slot generation and placement accept either. `HeldTime` and `BusyTime` are the
slices of holds and busy spans the slot path reads, and `TakenTime` bundles all three.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from itertools import repeat
from operator import is_
from typing import Any, Protocol


class Status(enum.StrEnum):
    """A booking's place in its lifecycle (see `optimo_booking.lifecycle`)."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"

    @functools.cached_property
    def holds_time(self) -> bool:
        """Every status but `cancelled` keeps the staff member's time taken.

        Cached on the member (stores ask it of every booking a slot query reads).
        """
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
    `busy`, `limit_reached`, `full`, `held` or `booked`.
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


# The slot descriptors' setters, in field order, which a frozen dataclass's own `__init__`
# calls through `object.__setattr__`; calling them directly skips `__post_init__` and the
# name lookups. (`slot_run` unpacks exactly six: a new field must be set there too.)
_SLOT_SETTERS = tuple(getattr(Slot, f.name).__set__ for f in fields(Slot))


def slot_run(
    count: int,
    starts: Iterable[datetime],
    ends: Iterable[datetime],
    staff_ids: Iterable[str],
    reasons: Sequence[str | None],
    branch_id: str | None,
) -> list[Slot]:
    """`count` slots of one branch, built without re-checking what the engine just computed.

    Only for slots the engine makes itself, whose starts and ends come from its grid (aware,
    `end` a service's length after `start`) and whose `available` is `reason is None`: the
    values equal `Slot(...)`'s, at a fraction of the cost. Anything else builds `Slot(...)`,
    which validates.
    """
    made = list(map(object.__new__, repeat(Slot, count)))
    set_start, set_end, set_staff, set_available, set_reason, set_branch = _SLOT_SETTERS
    # A setter returns None, so `any` runs each map to its end without building a list.
    any(map(set_start, made, starts))
    any(map(set_end, made, ends))
    any(map(set_staff, made, staff_ids))
    any(map(set_available, made, map(is_, reasons, repeat(None))))
    any(map(set_reason, made, reasons))
    any(map(set_branch, made, repeat(branch_id, count)))
    return made


@dataclass(frozen=True, slots=True, kw_only=True)
class Booking:
    """A booking as stored: `start`/`end` are aware, in the staff member's zone.

    `version` starts at 0 and grows by one with every change (status, reschedule).
    """

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
    version: int = 0  # grows by one with every change: status, reschedule
    # Start and end in UTC seconds, derived from `start` and `end` (plain fields, not
    # properties: availability reads them for every booking of every query).
    start_ts: int = field(init=False, repr=False, compare=False)
    end_ts: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        start, end = _span_instants(self.start, self.end)
        if type(self.status) is not Status:
            object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "start_ts", int(start))
        object.__setattr__(self, "end_ts", int(end))


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


class HoldState(enum.StrEnum):
    """Whether a hold can still become a booking (`active`, until it expires) or not."""

    ACTIVE = "active"
    RELEASED = "released"
    USED = "used"


@dataclass(frozen=True, slots=True, kw_only=True)
class Hold:
    """Time kept for a customer who is still checking out, until `expires_at`.

    While `state` is `active` and the engine's clock is before `expires_at`, the hold takes
    time exactly like a booking of its service; afterwards it takes none.
    """

    id: str
    site_id: str
    service_id: str
    staff_id: str
    branch_id: str | None
    start: datetime
    end: datetime
    date: date
    expires_at: datetime
    state: HoldState = HoldState.ACTIVE
    _start_ts: int = field(init=False, repr=False, compare=False)
    _end_ts: int = field(init=False, repr=False, compare=False)
    _expires_ts: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        start, end = _span_instants(self.start, self.end)
        if self.expires_at.tzinfo is None or self.expires_at.utcoffset() is None:
            raise ValueError("expires_at must be an aware datetime")
        if type(self.state) is not HoldState:
            object.__setattr__(self, "state", HoldState(self.state))
        object.__setattr__(self, "_start_ts", int(start))
        object.__setattr__(self, "_end_ts", int(end))
        object.__setattr__(self, "_expires_ts", int(self.expires_at.timestamp()))

    @property
    def start_ts(self) -> int:
        """Start in UTC seconds."""
        return self._start_ts

    @property
    def end_ts(self) -> int:
        """End in UTC seconds."""
        return self._end_ts

    @property
    def expires_ts(self) -> int:
        """Expiry in UTC seconds."""
        return self._expires_ts

    def live(self, now: int) -> bool:
        """True while the hold takes time: active and `now` before its expiry."""
        return self.state is HoldState.ACTIVE and now < self._expires_ts


@dataclass(frozen=True, slots=True, kw_only=True)
class HeldTime:
    """An active hold as the slot path reads it; it takes time while `now < expires_ts`."""

    id: str
    service_id: str
    staff_id: str
    start_ts: int
    end_ts: int
    date: date
    expires_ts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BusyTime:
    """A span `[start_ts, end_ts)` a staff member is busy in another calendar."""

    staff_id: str
    start_ts: int
    end_ts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TakenTime:
    """What a store hands the atomic check: bookings holding time, active holds (live or
    expired: the check compares them with its own `now`) and busy spans, all of the staff
    and window asked for. `converting` is the hold a create turns into a booking (left out
    of `holds`, so its own time does not block it)."""

    bookings: list[HoldsTime]
    holds: list[HeldTime] = field(default_factory=list)
    busy: list[BusyTime] = field(default_factory=list)
    converting: Hold | None = None
    # The staff member holding the service's most recently created booking, when the
    # placement asked for it (round robin); None otherwise or when there is none.
    last_assigned: str | None = None
