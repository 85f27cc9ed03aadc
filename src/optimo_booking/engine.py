"""`Engine`: catalog + store + clock, the one object a backend holds."""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from .catalog import Catalog, Site, Staff
from .cursors import decode_cursor, encode_cursor
from .errors import BookingError, SlotUnavailable, ValidationError
from .lifecycle import next_status, parse_status
from .localtime import as_date, day_start, local_date, to_instant
from .placement import place, prepare_request
from .slots import generate_slots, staff_offering
from .stores import MemoryStore, Store
from .stores.base import Hold, IdempotencyClaim, ListQuery
from .values import Booking, HoldsTime, Page, Slot, Status

Clock = Callable[[], datetime]

# The widest month view `slots_between` serves in one call.
MAX_RANGE_DAYS = 92
MAX_PAGE = 100
#: The one wording of the page-size rule, for 0, -1, 1e24 and `ten` alike.
LIMIT_RULE = f"must be a whole number 1..{MAX_PAGE}"
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}", re.ASCII)


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
_MAYBE_TEXT = (str, type(None))
_DAY = (date, str)
_MAYBE_DAY = (date, str, type(None))


def idempotency_key_problem(key: object) -> str | None:
    """What is wrong with an idempotency key (None: nothing, or no key)."""
    if key is None or (isinstance(key, str) and _IDEMPOTENCY_KEY.fullmatch(key)):
        return None
    return "must be 1 to 255 printable ASCII characters"


def booking_hold(site: Site, booking: Booking) -> Hold:
    """What `booking` keeps from its staff member's other bookings, by the site's catalog.

    Its span widened by its service's buffers; the seats of one group session (a service of
    capacity above one) share `service:start`, any other booking shares with nobody.
    """
    service = site.services.get(booking.service_id)
    if service is None:  # a service since removed from the catalog: its own span
        return Hold(start=booking.start_ts, end=booking.end_ts, share_key=booking.id)
    shared = service.capacity > 1
    return Hold(
        start=booking.start_ts - service.buffer_before,
        end=booking.end_ts + service.buffer_after,
        share_key=f"{service.id}:{booking.start_ts}" if shared else booking.id,
    )


def catalog_hold(catalog: Catalog) -> Callable[[Booking], Hold]:
    """`booking_hold` for bookings of any site of `catalog` (unknown sites: their own span)."""

    def hold(booking: Booking) -> Hold:
        site = catalog.sites.get(booking.site_id)
        if site is None:
            return Hold(start=booking.start_ts, end=booking.end_ts, share_key=booking.id)
        return booking_hold(site, booking)

    return hold


def new_booking_id() -> str:
    """A fresh, unguessable booking id."""
    return f"bk_{secrets.token_hex(10)}"


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
        lo, hi = self._window(site, staff, first, last)
        bookings = self.store.bookings_starting_between(site_id, lo, hi, {s.id for s in staff})
        return generate_slots(
            site,
            service,
            first,
            bookings,
            self.now(),
            staff_id=staff_id,
            branch_id=branch_id,
            last_day=last,
        )

    @staticmethod
    def _window(site: Site, staff: Sequence[Staff], first: date, last: date) -> tuple[int, int]:
        """UTC seconds where a booking must start to matter for these staff on these dates.

        Candidates start within the staff members' local dates; a booking matters when its
        held span can meet a candidate's, so it starts within two of the longest held spans
        (service plus both buffers) of one.
        """
        reach = max(
            (s.duration + s.buffer_before + s.buffer_after for s in site.services.values()),
            default=0,
        )
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
    ) -> Booking:
        """Book a slot, or raise: `not_found`, `validation_error`, `slot_unavailable`, ..."""
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
    ) -> CreateOutcome:
        """`create_booking` that also says whether the answer replays an idempotent repeat."""
        # The request's own fields, ids included, are checked by `prepare_request`, which
        # names every bad one in one error.
        check_kinds({"siteId": (site_id, _TEXT)})
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
        claim = None
        if idempotency_key is not None:
            claim = IdempotencyClaim(key=idempotency_key, fingerprint=request.fingerprint())
        staff = staff_offering(site, request.service, staff_id=staff_id, branch_id=branch_id)
        if not staff:
            raise SlotUnavailable("nobody offers this service there", {"reason": "off_grid"})
        lo, hi = self._window(site, staff, request.date, request.date)

        def decide(bookings: list[HoldsTime]) -> Booking:
            now = self.now()
            placement = place(site, request, bookings, to_instant(now))
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
            hold=lambda b: booking_hold(site, b),
        )
        return CreateOutcome(booking, replayed)

    def get_booking(self, site_id: str, booking_id: str) -> Booking:
        """One booking of the site, or `not_found`."""
        check_kinds({"siteId": (site_id, _TEXT), "bookingId": (booking_id, _TEXT)})
        self.catalog.site(site_id)
        return self.store.get(site_id, booking_id)

    def set_status(self, site_id: str, booking_id: str, status: Status | str) -> Booking:
        """Move a booking through its lifecycle; the same status again is a no-op."""
        check_kinds(
            {
                "siteId": (site_id, _TEXT),
                "bookingId": (booking_id, _TEXT),
                "status": (status, _TEXT),
            }
        )
        self.catalog.site(site_id)
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
            return dataclasses.replace(current, status=new, updated_at=now)

        return self.store.change(site_id, booking_id, change)

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
