"""Hypothesis strategies, invariant checks and a state machine for tests of booking code.

Import this module in your own test suite to generate realistic catalogs, bookings and
awkward dates (daylight-saving transitions in zones that shift by 30 minutes, at midnight,
or skip a whole day), then assert the engine's promises on whatever it returns::

    from hypothesis import given, settings
    from optimo_booking import generate_slots, load_catalog
    from optimo_booking import testing as obt

    @settings(max_examples=200, deadline=None)
    @given(obt.scenarios())
    def test_slots_keep_their_promises(scenario):
        for service in scenario.site.services.values():
            slots = generate_slots(
                scenario.site, service, scenario.day, scenario.bookings, scenario.now
            )
            obt.check_slot_invariants(
                scenario.site, service, scenario.day, slots, scenario.bookings, scenario.now
            )

Strategies return plain catalog dicts (the format `load_catalog` reads), so a failing example
prints as something you can paste into a bug report. The checks are plain functions that raise
`AssertionError` with a message naming the slot, the booking and the instants involved; they
compute their expectations from the catalog's rules with a small brute-force oracle written
independently of the engine's hot path.

The package has three modules behind these names: `strategies`, `checks` (plain functions
that raise `AssertionError`) and `machines` (`BookingMachine`, a state machine that drives
your own engine and store). It needs Hypothesis, a test-time dependency: install
`optimo-booking[test]`.
Importing `optimo_booking` itself never imports Hypothesis.
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "optimo_booking.testing needs Hypothesis; install the test extra: "
        "pip install 'optimo-booking[test]'"
    ) from exc

from .checks import (
    check_booked_never_available,
    check_elapsed_duration,
    check_no_available_overlaps_bookings,
    check_slot_grid,
    check_slot_invariants,
    check_slot_reasons,
    check_slots_on_date,
    check_slots_ordered,
    check_slots_within_hours,
    held_span,
    slot_held_span,
)
from .machines import BookingMachine
from .strategies import (
    DST_HEAVY_ZONES,
    Scenario,
    arbitrary_bookings,
    bookings,
    breaks_within,
    catalogs,
    dates_near_transitions,
    hours_with_breaks,
    limits,
    moments_near,
    placed_bookings,
    scenarios,
    services,
    timezone_names,
    transition_dates,
    weekly_hours,
)

__all__ = [
    "DST_HEAVY_ZONES",
    "BookingMachine",
    "Scenario",
    "arbitrary_bookings",
    "bookings",
    "breaks_within",
    "catalogs",
    "check_booked_never_available",
    "check_elapsed_duration",
    "check_no_available_overlaps_bookings",
    "check_slot_grid",
    "check_slot_invariants",
    "check_slot_reasons",
    "check_slots_on_date",
    "check_slots_ordered",
    "check_slots_within_hours",
    "dates_near_transitions",
    "held_span",
    "hours_with_breaks",
    "limits",
    "moments_near",
    "placed_bookings",
    "scenarios",
    "services",
    "slot_held_span",
    "timezone_names",
    "transition_dates",
    "weekly_hours",
]
