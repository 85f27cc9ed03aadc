"""`Engine`: catalog + store + clock, the one object a backend holds."""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from .assignment import Assignment
from .catalog import ID_PATTERN, Catalog, Service, Site, Staff
from .cursors import decode_cursor, encode_cursor
from .errors import (
    BookingError,
    HoldExpired,
    InvalidTransition,
    SlotUnavailable,
    StorageBusy,
    TooLate,
    ValidationError,
)
from .intervals import IntervalSet
from .lifecycle import allowed_moves, next_status, parse_status
from .localtime import as_date, check_supported, day_start, local_date, to_instant
from .placement import BookingRequest, Placement, place, prepare_request
from .slots import generate_slots, staff_offering
from .stores import MemoryStore, Store
from .stores.base import HOLD_MEMORY_SECONDS, HeldSpan, IdempotencyClaim, ListQuery
from .values import Booking, Hold, Page, Slot, Status, TakenTime

Clock = Callable[[], datetime]

# The widest month view `slots_between` serves in one call.
MAX_RANGE_DAYS = 92
MAX_PAGE = 100
#: The one wording of the page-size rule, for 0, -1, 1e24 and `ten` alike.
LIMIT_RULE = f"must be a whole number 1..{MAX_PAGE}"
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}", re.ASCII)
_ISO_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?(Z|[+-][0-9]{2}:[0-9]{2})", re.ASCII
)


def system_clock() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class CreateOutcome:
    """A created booking, and whether it is the replay of an earlier idempotent request."""

    booking: Booking
    replayed: bool


_KIND_WORDS: dict[type, str] = {
    str: "a string",
    type(None): "null",
    date: "a date",
    datetime: "a datetime",
    int: "an integer",
    bool: "true or false",
    timedelta: "a timedelta",
}


def check_kinds(fields: Mapping[str, tuple[object, tuple[type, ...]]]) -> None:
    """Refuse arguments of the wrong kind before anything reads them: one `validation_error`
    naming each. The value is never echoed, so a nested or huge one costs nothing to refuse."""
    problems = {
        name: "must be " + " or ".join(_KIND_WORDS[k] for k in kinds)
        for name, (value, kinds) in fields.items()
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
    }
    if problems:
        message = "; ".join(f"{name}: {why}" for name, why in sorted(problems.items()))
        raise ValidationError(message, {"fields": sorted(problems), "problems": problems})


_TEXT = (str,)
_FLAG = (bool,)
_MAYBE_TEXT = (str, type(None))
_DAY = (date, str)
_MAYBE_DAY = (date, str, type(None))


def idempotency_key_problem(key: object) -> str | None:
    """What is wrong with an idempotency key (None: nothing, or no key)."""
    if key is None or (isinstance(key, str) and _IDEMPOTENCY_KEY.fullmatch(key)):
        return None
    return "must be 1 to 255 printable ASCII characters"


def booking_held_span(site: Site, booking: Booking) -> HeldSpan:
    """What `booking` keeps from its staff member's other bookings, by the site's catalog.

    Its span widened by its service's buffers; the seats of one group session (a service of
    capacity above one) share `service:start`, any other booking shares with nobody.
    """
    service = site.services.get(booking.service_id)
    if service is None:  # a service since removed from the catalog: its own span
        return HeldSpan(start=booking.start_ts, end=booking.end_ts, share_key=booking.id)
    shared = service.capacity > 1
    return HeldSpan(
        start=booking.start_ts - service.buffer_before,
        end=booking.end_ts + service.buffer_after,
        share_key=f"{service.id}:{booking.start_ts}" if shared else booking.id,
    )


def catalog_held_span(catalog: Catalog) -> Callable[[Booking], HeldSpan]:
    """`booking_held_span` for bookings of any site of `catalog` (unknown sites: their own span)."""

    def span(booking: Booking) -> HeldSpan:
        site = catalog.sites.get(booking.site_id)
        if site is None:
            return HeldSpan(start=booking.start_ts, end=booking.end_ts, share_key=booking.id)
        return booking_held_span(site, booking)

    return span


def new_booking_id() -> str:
    """A fresh, unguessable booking id."""
    return f"bk_{secrets.token_hex(10)}"


def new_hold_id() -> str:
    """A fresh, unguessable hold id."""
    return f"hd_{secrets.token_hex(10)}"


MIN_HOLD_TTL = timedelta(minutes=1)
MAX_HOLD_TTL = timedelta(hours=24)
MAX_BUSY_SPANS = 10_000
_RESCHEDULABLE = (Status.PENDING, Status.CONFIRMED)


class _StaffMoved(Exception):
    """The booking's staff member changed between reading it and locking its time: retry."""


def check_cutoff(site: Site, booking: Booking, now: datetime, action: str) -> None:
    """`too_late` when `now` is past the service's change cut-off before `booking`'s start."""
    service = site.services.get(booking.service_id)
    if service is None or service.change_cutoff_minutes is None:
        return
    deadline = booking.start_ts - service.change_cutoff_minutes * 60
    if to_instant(now) > deadline:
        when = datetime.fromtimestamp(deadline, booking.start.tzinfo).isoformat()
        raise TooLate(
            f"too late to {action}: changes to this booking closed at {when}",
            {"deadline": when, "changeCutoffMinutes": service.change_cutoff_minutes},
        )


def _pointer_service(service: Service, staff_id: str | None, *, hold: bool = False) -> str | None:
    """The service whose last-assigned staff member the store reads in the atomic step:
    round robin's only. Every create asks, named or not: it moves the pointer, so a store
    that serializes creates per staff member must also serialize them per round-robin
    service. A hold never moves it, so only a hold that names nobody asks."""
    if service.assignment is not Assignment.ROUND_ROBIN or (hold and staff_id is not None):
        return None
    return service.id


class Engine:
    """Answers slot queries and takes bookings for every site of one catalog."""

    def __init__(
        self, catalog: Catalog, store: Store | None = None, clock: Clock | None = None
    ) -> None:
        self.catalog = catalog
        self.store: Store = store if store is not None else MemoryStore()
        self.clock: Clock = clock or system_clock

    def now(self) -> datetime:
        """The clock's reading; a naive reading is a programming error."""
        moment = self.clock()
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise TypeError("the engine's clock must return an aware datetime")
        return moment

    def slots(
        self,
        site_id: str,
        service_id: str,
        date: date | str,
        *,
        staff_id: str | None = None,
        branch_id: str | None = None,
    ) -> list[Slot]:
        """Every grid slot of the service on local `date`, available or not, by start then staff."""
        check_kinds({"date": (date, _DAY)})
        day = as_date(date, "date")
        return self.slots_between(
            site_id, service_id, day, day, staff_id=staff_id, branch_id=branch_id
        )

    def slots_between(
        self,
        site_id: str,
        service_id: str,
        first_date: date | str,
        last_date: date | str,
        *,
        staff_id: str | None = None,
        branch_id: str | None = None,
    ) -> list[Slot]:
        """Slots of local dates `first_date`..`last_date` in one pass (a month view)."""
        check_kinds(
            {
                "siteId": (site_id, _TEXT),
                "serviceId": (service_id, _TEXT),
                "firstDate": (first_date, _DAY),
                "lastDate": (last_date, _DAY),
                "staffId": (staff_id, _MAYBE_TEXT),
                "branchId": (branch_id, _MAYBE_TEXT),
            }
        )
        site = self.catalog.site(site_id)
        service = site.service(service_id)
        problems: dict[str, str] = {}
        first = last = None
        try:
            first = as_date(first_date, "firstDate")
        except ValidationError as exc:
            problems.update(exc.problem_map())
        try:
            last = as_date(last_date, "lastDate")
        except ValidationError as exc:
            problems.update(exc.problem_map())
        if problems or first is None or last is None:
            raise ValidationError.of(problems)
        if last < first:
            raise ValidationError.of({"lastDate": "is before firstDate"})
        if (last - first).days >= MAX_RANGE_DAYS:
            raise ValidationError.of({"lastDate": f"at most {MAX_RANGE_DAYS} days in one call"})
        staff = staff_offering(site, service, staff_id=staff_id, branch_id=branch_id)
        if not staff:
            return []
        lo, hi = self._window(site, staff, first, last, service)
        taken = self.store.taken_between(site_id, lo, hi, {s.id for s in staff})
        return generate_slots(
            site,
            service,
            first,
            taken.bookings,
            self.now(),
            staff_id=staff_id,
            branch_id=branch_id,
            last_day=last,
            holds=taken.holds,
            busy=taken.busy,
        )

    @staticmethod
    def _window(
        site: Site, staff: Sequence[Staff], first: date, last: date, service: Service
    ) -> tuple[int, int]:
        """UTC seconds where a booking must start to matter for these staff on these dates.

        Candidates start within the staff members' local dates; a booking matters when its
        held span can meet a candidate's, so it starts within two of the longest held spans
        (service plus both buffers) of one. A weekly limit widens the dates to whole ISO
        weeks, so every booking it counts is read.
        """
        reach = max(
            (s.duration + s.buffer_before + s.buffer_after for s in site.services.values()),
            default=0,
        )
        if service.limits.per_week is not None or any(m.limits.per_week is not None for m in staff):
            first = first - timedelta(days=first.weekday())
            last = last + timedelta(days=6 - last.weekday())
        after_last = last + timedelta(days=1)
        lo = min(day_start(first, member.zone) for member in staff) - 2 * reach
        hi = max(day_start(after_last, member.zone) for member in staff) + 2 * reach
        return lo, hi

    # -- bookings ------------------------------------------------------------------------

    def create_booking(
        self,
        site_id: str,
        *,
        service_id: str,
        date: date | str,
        start_time: datetime | str,
        customer: object,
        staff_id: str | None = None,
        branch_id: str | None = None,
        notes: object = None,
        idempotency_key: str | None = None,
        hold_id: str | None = None,
    ) -> Booking:
        """Book a slot, or raise: `not_found`, `validation_error`, `slot_unavailable`, ...

        With `hold_id`, turn that live hold into the booking atomically (`hold_expired` when
        it expired, was released or was already used)."""
        return self.create_booking_outcome(
            site_id,
            service_id=service_id,
            date=date,
            start_time=start_time,
            customer=customer,
            staff_id=staff_id,
            branch_id=branch_id,
            notes=notes,
            idempotency_key=idempotency_key,
            hold_id=hold_id,
        ).booking

    def create_booking_outcome(
        self,
        site_id: str,
        *,
        service_id: str,
        date: date | str,
        start_time: datetime | str,
        customer: object,
        staff_id: str | None = None,
        branch_id: str | None = None,
        notes: object = None,
        idempotency_key: str | None = None,
        hold_id: str | None = None,
    ) -> CreateOutcome:
        """`create_booking` that also says whether the answer replays an idempotent repeat."""
        # The request's own fields, ids included, are checked by `prepare_request`, which
        # names every bad one in one error.
        check_kinds({"siteId": (site_id, _TEXT), "holdId": (hold_id, _MAYBE_TEXT)})
        site = self.catalog.site(site_id)
        key_problem = idempotency_key_problem(idempotency_key)
        key_problems = {"Idempotency-Key": key_problem} if key_problem else {}
        try:
            request = prepare_request(
                site,
                service_id=service_id,
                date=date,
                start_time=start_time,
                customer=customer,
                staff_id=staff_id,
                branch_id=branch_id,
                notes=notes,
            )
        except ValidationError as exc:
            raise ValidationError.of({**exc.problem_map(), **key_problems}) from None
        except BookingError:
            if key_problems:  # a malformed header is a 400 before any unknown id's 404
                raise ValidationError.of(key_problems) from None
            raise
        if key_problems:
            raise ValidationError.of(key_problems)
        if hold_id is not None:
            request = dataclasses.replace(request, hold_id=hold_id)
        claim = None
        if idempotency_key is not None:
            claim = IdempotencyClaim(key=idempotency_key, fingerprint=request.fingerprint())
        if hold_id is not None:
            held = self.store.get_hold(site_id, hold_id)
            _check_hold_matches(held, request)
            request = dataclasses.replace(request, staff_id=held.staff_id)
            staff_id = held.staff_id
        staff = staff_offering(site, request.service, staff_id=staff_id, branch_id=branch_id)
        if not staff:
            raise SlotUnavailable("nobody offers this service there", {"reason": "off_grid"})
        lo, hi = self._window(site, staff, request.date, request.date, request.service)

        def decide(taken: TakenTime) -> Booking:
            now = self.now()
            now_ts = to_instant(now)
            if taken.converting is not None and not taken.converting.live(now_ts):
                raise HoldExpired(
                    f"hold {taken.converting.id!r} expired, was released or was already used",
                    {"holdId": taken.converting.id, "state": taken.converting.state.value},
                )
            placement = _place(site, request, taken, now_ts)
            tz = placement.staff.zone
            start = datetime.fromtimestamp(placement.start, tz)
            service = request.service
            return Booking(
                id=new_booking_id(),
                site_id=site.id,
                service_id=service.id,
                staff_id=placement.staff.id,
                branch_id=placement.branch_id,
                status=Status.PENDING if service.requires_confirmation else Status.CONFIRMED,
                start=start,
                end=datetime.fromtimestamp(placement.end, tz),
                date=local_date(placement.start, tz),
                customer=request.customer,
                notes=request.notes,
                created_at=now,
                updated_at=now,
            )

        booking, replayed = self.store.create(
            site_id,
            window=(lo, hi),
            staff_ids={s.id for s in staff},
            decide=decide,
            idempotency=claim,
            held_span=lambda b: booking_held_span(site, b),
            hold_id=hold_id,
            last_of_service=_pointer_service(request.service, staff_id),
        )
        return CreateOutcome(booking, replayed)

    def get_booking(self, site_id: str, booking_id: str) -> Booking:
        """One booking of the site, or `not_found`."""
        check_kinds({"siteId": (site_id, _TEXT), "bookingId": (booking_id, _TEXT)})
        self.catalog.site(site_id)
        return self.store.get(site_id, booking_id)

    def set_status(
        self,
        site_id: str,
        booking_id: str,
        status: Status | str,
        *,
        override_cutoff: bool = False,
    ) -> Booking:
        """Move a booking through its lifecycle; the same status again is a no-op.

        Cancelling a confirmed booking after its service's change cut-off is `too_late`
        unless `override_cutoff` (for back-office code)."""
        check_kinds(
            {
                "siteId": (site_id, _TEXT),
                "bookingId": (booking_id, _TEXT),
                "status": (status, _TEXT),
                "overrideCutoff": (override_cutoff, _FLAG),
            }
        )
        site = self.catalog.site(site_id)
        target = parse_status(status)

        def change(current: Booking) -> Booking:
            now = self.now()
            new = next_status(
                current.status,
                target,
                now=to_instant(now),
                start=current.start_ts,
                end=current.end_ts,
            )
            if new is current.status:
                return current
            if (
                current.status is Status.CONFIRMED
                and new is Status.CANCELLED
                and not override_cutoff
            ):
                check_cutoff(site, current, now, "cancel")
            return dataclasses.replace(
                current, status=new, updated_at=now, version=current.version + 1
            )

        return self.store.change(site_id, booking_id, change)

    # -- booking operations ----------------------------------------------------------------

    def reschedule(
        self,
        site_id: str,
        booking_id: str,
        *,
        date: date | str,
        start_time: datetime | str,
        staff_id: str | None = None,
        override_cutoff: bool = False,
    ) -> Booking:
        """Move a pending or confirmed booking to a new start in one atomic step.

        Same id, service, customer, notes and status; its staff member unless `staff_id`
        names another (the branch follows the new working period). The new start passes the
        create predicate with the booking itself not counted. Checks run: `not_found`, the
        status (`invalid_transition`), a move to the current start and staff (a no-op), the
        change cut-off (`too_late` unless `override_cutoff`), then availability.
        """
        check_kinds(
            {
                "siteId": (site_id, _TEXT),
                "bookingId": (booking_id, _TEXT),
                "date": (date, _DAY),
                "staffId": (staff_id, _MAYBE_TEXT),
                "overrideCutoff": (override_cutoff, _FLAG),
            }
        )
        site = self.catalog.site(site_id)
        for _ in range(3):
            current = self.store.get(site_id, booking_id)
            target = staff_id if staff_id is not None else current.staff_id
            request = prepare_request(
                site,
                service_id=current.service_id,
                date=date,
                start_time=start_time,
                customer=None,
                staff_id=target,
                with_customer=False,
            )
            member = site.staff_member(target)
            lo, hi = self._window(site, [member], request.date, request.date, request.service)

            def move(
                booking: Booking,
                taken: TakenTime,
                target: str = target,
                request: BookingRequest = request,
            ) -> Booking:
                if booking.staff_id != target and staff_id is None:
                    raise _StaffMoved
                now = self.now()
                now_ts = to_instant(now)
                if booking.status not in _RESCHEDULABLE:
                    allowed = allowed_moves(
                        booking.status, now_ts, booking.start_ts, booking.end_ts
                    )
                    raise InvalidTransition(
                        f"a {booking.status.value} booking cannot be rescheduled",
                        {
                            "from": booking.status.value,
                            "to": "rescheduled",
                            "allowed": [s.value for s in allowed],
                        },
                    )
                if request.start == booking.start_ts and target == booking.staff_id:
                    return booking
                if not override_cutoff:
                    check_cutoff(site, booking, now, "reschedule")
                placement = _place(site, request, taken, now_ts)
                tz = placement.staff.zone
                return dataclasses.replace(
                    booking,
                    staff_id=placement.staff.id,
                    branch_id=placement.branch_id,
                    start=datetime.fromtimestamp(placement.start, tz),
                    end=datetime.fromtimestamp(placement.end, tz),
                    date=local_date(placement.start, tz),
                    updated_at=now,
                    version=booking.version + 1,
                )

            try:
                return self.store.reschedule(
                    site_id,
                    booking_id,
                    window=(lo, hi),
                    staff_ids={target},
                    move=move,
                    held_span=lambda b: booking_held_span(site, b),
                )
            except _StaffMoved:
                continue
        raise StorageBusy(
            "the booking kept moving while it was being rescheduled; retry",
            {"retryAfterSeconds": 1},
        )

    def hold(
        self,
        site_id: str,
        *,
        service_id: str,
        date: date | str,
        start_time: datetime | str,
        staff_id: str | None = None,
        branch_id: str | None = None,
        ttl: timedelta = timedelta(minutes=10),
    ) -> Hold:
        """Keep a slot for `ttl` (1 minute to 24 hours) while a customer checks out.

        The slot must be available as for a create (no staff named picks staff as a create
        does). Until it expires by the engine's clock the hold takes time like a booking of
        its service; `create_booking(hold_id=...)` turns it into one.
        """
        check_kinds(
            {
                "siteId": (site_id, _TEXT),
                "serviceId": (service_id, _TEXT),
                "staffId": (staff_id, _MAYBE_TEXT),
                "branchId": (branch_id, _MAYBE_TEXT),
                "ttl": (ttl, (timedelta,)),
            }
        )
        if not MIN_HOLD_TTL <= ttl <= MAX_HOLD_TTL:
            raise ValidationError("a hold lasts 1 minute to 24 hours", {"fields": ["ttl"]})
        site = self.catalog.site(site_id)
        request = prepare_request(
            site,
            service_id=service_id,
            date=date,
            start_time=start_time,
            customer=None,
            staff_id=staff_id,
            branch_id=branch_id,
            with_customer=False,
        )
        staff = staff_offering(site, request.service, staff_id=staff_id, branch_id=branch_id)
        if not staff:
            raise SlotUnavailable("nobody offers this service there", {"reason": "off_grid"})
        lo, hi = self._window(site, staff, request.date, request.date, request.service)

        def decide(taken: TakenTime) -> Hold:
            now = self.now()
            placement = _place(site, request, taken, to_instant(now))
            tz = placement.staff.zone
            return Hold(
                id=new_hold_id(),
                site_id=site.id,
                service_id=request.service.id,
                staff_id=placement.staff.id,
                branch_id=placement.branch_id,
                start=datetime.fromtimestamp(placement.start, tz),
                end=datetime.fromtimestamp(placement.end, tz),
                date=local_date(placement.start, tz),
                expires_at=(now + ttl).astimezone(tz),
            )

        return self.store.add_hold(
            site_id,
            window=(lo, hi),
            staff_ids={s.id for s in staff},
            decide=decide,
            purge_before=to_instant(self.now()) - HOLD_MEMORY_SECONDS,
            last_of_service=_pointer_service(request.service, staff_id, hold=True),
        )

    def get_hold(self, site_id: str, hold_id: str) -> Hold:
        """One hold of the site, or `not_found` (one expired over a day ago is forgotten)."""
        check_kinds({"siteId": (site_id, _TEXT), "holdId": (hold_id, _TEXT)})
        self.catalog.site(site_id)
        return self.store.get_hold(site_id, hold_id)

    def release_hold(self, site_id: str, hold_id: str) -> None:
        """Free a hold's time now; releasing it again (or a used one) changes nothing."""
        check_kinds({"siteId": (site_id, _TEXT), "holdId": (hold_id, _TEXT)})
        self.catalog.site(site_id)
        self.store.release_hold(site_id, hold_id)

    def set_busy(
        self, site_id: str, staff_id: str, source: str, spans: object
    ) -> list[tuple[datetime, datetime]]:
        """Replace the busy spans one named source (another calendar) holds for a staff member.

        `spans` are aware `(start, end)` pairs (datetimes, or ISO 8601 strings with offset),
        at most 10,000; an empty list clears the source. They are stored merged (overlapping
        or touching spans of one source become one); the stored spans are returned in the
        staff member's zone. A busy span blocks every slot whose buffered span overlaps it.
        """
        check_kinds(
            {"siteId": (site_id, _TEXT), "staffId": (staff_id, _TEXT), "source": (source, _TEXT)}
        )
        site = self.catalog.site(site_id)
        member = site.staff_member(staff_id)
        if not ID_PATTERN.fullmatch(source):
            raise ValidationError(
                "a busy source is 1 to 64 letters, digits, '.', '_' or '-'", {"fields": ["source"]}
            )
        merged = IntervalSet(_busy_spans(spans))
        self.store.set_busy(site_id, staff_id, source, list(merged))
        tz = member.zone
        return [(datetime.fromtimestamp(a, tz), datetime.fromtimestamp(b, tz)) for a, b in merged]

    def busy(self, site_id: str, staff_id: str) -> list[tuple[datetime, datetime]]:
        """Every source's busy spans of a staff member, sorted, in the staff member's zone."""
        check_kinds({"siteId": (site_id, _TEXT), "staffId": (staff_id, _TEXT)})
        site = self.catalog.site(site_id)
        tz = site.staff_member(staff_id).zone
        return [
            (datetime.fromtimestamp(a, tz), datetime.fromtimestamp(b, tz))
            for _source, a, b in self.store.busy(site_id, staff_id)
        ]

    def list_bookings(
        self,
        site_id: str,
        *,
        limit: int = 25,
        cursor: str | None = None,
        status: Status | str | None = None,
        date: date | str | None = None,
    ) -> Page:
        """A page of the site's bookings by start then id, with signed keyset cursors."""
        check_kinds(
            {
                "siteId": (site_id, _TEXT),
                "cursor": (cursor, _MAYBE_TEXT),
                "status": (status, _MAYBE_TEXT),
                "date": (date, _MAYBE_DAY),
            }
        )
        self.catalog.site(site_id)
        problems: dict[str, str] = {}
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            problems["limit"] = LIMIT_RULE
        wanted = day = None
        try:
            wanted = parse_status(status) if status is not None else None
        except ValidationError as exc:
            problems.update(exc.problem_map())
        try:
            day = as_date(date, "date") if date is not None else None
        except ValidationError as exc:
            problems.update(exc.problem_map())
        if problems:
            raise ValidationError.of(problems)
        filters = {
            "site": site_id,
            "status": wanted.value if wanted else None,
            "date": day.isoformat() if day else None,
        }
        secret = self.store.cursor_secret()
        after = decode_cursor(secret, filters, cursor) if cursor else None
        # One row more than the page tells whether another page follows.
        query = ListQuery(status=wanted, day=day, after=after, limit=limit + 1)
        rows, total = self.store.list_bookings(site_id, query)
        items = rows[:limit]
        next_cursor = None
        if len(rows) > limit:
            last = items[-1]
            next_cursor = encode_cursor(secret, filters, (last.start_ts, last.id))
        return Page(items=tuple(items), total=total, limit=limit, next_cursor=next_cursor)


def _place(site: Site, request: BookingRequest, taken: TakenTime, now: int) -> Placement:
    return place(
        site,
        request,
        taken.bookings,
        now,
        holds=taken.holds,
        busy=taken.busy,
        last_assigned=taken.last_assigned,
    )


def _check_hold_matches(hold: Hold, request: BookingRequest) -> None:
    """A booking made from a hold keeps the hold's service, start, staff and branch."""
    problems: dict[str, str] = {}
    if hold.service_id != request.service.id:
        problems["serviceId"] = f"the hold is for service {hold.service_id!r}"
    if hold.start_ts != request.start:
        problems["startTime"] = f"the hold starts at {hold.start.isoformat()}"
    if request.staff_id is not None and request.staff_id != hold.staff_id:
        problems["staffId"] = f"the hold is with staff {hold.staff_id!r}"
    if request.branch_id is not None and request.branch_id != hold.branch_id:
        problems["branchId"] = f"the hold is at branch {hold.branch_id!r}"
    if problems:
        fields = sorted(problems)
        message = "; ".join(f"{k}: {problems[k]}" for k in fields)
        raise ValidationError(message, {"fields": fields, "problems": problems, "holdId": hold.id})


def _busy_spans(spans: object) -> list[tuple[int, int]]:
    """Aware `(start, end)` pairs as UTC seconds; every bad one named in one error."""
    if not isinstance(spans, list | tuple):
        raise ValidationError("spans must be a list of (start, end) pairs", {"fields": ["spans"]})
    if len(spans) > MAX_BUSY_SPANS:
        raise ValidationError(
            f"at most {MAX_BUSY_SPANS} busy spans per source", {"fields": ["spans"]}
        )
    problems: dict[str, str] = {}
    found: list[tuple[int, int]] = []
    for i, pair in enumerate(spans):
        path = f"spans[{i}]"
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            problems[path] = "must be a (start, end) pair"
            continue
        start = _busy_instant(pair[0], f"{path}.start", problems)
        end = _busy_instant(pair[1], f"{path}.end", problems)
        if start is None or end is None:
            continue
        if end <= start:
            problems[path] = "end must be after start"
            continue
        found.append((start, end))
        if len(problems) >= 20:
            break
    if problems:
        fields = sorted(problems)
        message = "; ".join(f"{k}: {problems[k]}" for k in fields[:5])
        raise ValidationError(message, {"fields": fields, "problems": problems})
    return found


def _busy_instant(value: object, path: str, problems: dict[str, str]) -> int | None:
    moment: object = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value) if _ISO_INSTANT.fullmatch(value) else None
        except ValueError:
            moment = None
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        problems[path] = "must be an ISO 8601 date-time with offset"
        return None
    try:
        check_supported(moment.date())
    except ValueError:
        problems[path] = "is outside the years the engine serves"
        return None
    return to_instant(moment)
