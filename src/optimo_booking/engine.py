"""`Engine`: catalog + store + clock, the one object a backend holds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from .catalog import Catalog, Site
from .errors import ValidationError
from .localtime import day_start
from .slots import _as_date, generate_slots, staff_offering
from .stores import MemoryStore, Store
from .values import Slot

Clock = Callable[[], datetime]

# The widest month view `slots_between` serves in one call.
MAX_RANGE_DAYS = 92
_DAY = 86_400


def system_clock() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


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
        return self.slots_between(
            site_id, service_id, date, date, staff_id=staff_id, branch_id=branch_id
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
        site = self.catalog.site(site_id)
        service = site.service(service_id)
        first, last = _as_date(first_date, "firstDate"), _as_date(last_date, "lastDate")
        if last < first:
            raise ValidationError("lastDate is before firstDate", {"fields": ["lastDate"]})
        if (last - first).days >= MAX_RANGE_DAYS:
            raise ValidationError(
                f"at most {MAX_RANGE_DAYS} days in one call", {"fields": ["lastDate"]}
            )
        staff = staff_offering(site, service, staff_id=staff_id, branch_id=branch_id)
        if not staff:
            return []
        lo, hi = self._window(site, first, last)
        bookings = self.store.bookings_between(site_id, lo, hi, {s.id for s in staff})
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
    def _window(site: Site, first: date, last: date) -> tuple[int, int]:
        # UTC seconds that can hold a booking affecting slots of these dates in any staff
        # zone: the dates padded by a day each side (zone offsets span 26 hours) plus the
        # longest service and its buffers (a booking may start before and reach in).
        reach = max(
            (s.duration + s.buffer_before + s.buffer_after for s in site.services.values()),
            default=0,
        )
        lo = day_start(first - timedelta(days=2), site.zone) - 2 * reach
        hi = day_start(last + timedelta(days=3), site.zone) + 2 * reach
        return lo, hi
