"""Assignment rules: which staff member takes a booking or hold that names nobody.

A service names its rule in the catalog (`assignment`). Placement ranks the staff for whom
the start is a grid slot with `rank_candidates`, then takes the first one the slot is
available for, so every rule only ever picks a free staff member.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence


class Assignment(enum.StrEnum):
    """A service's rule for choosing staff when a create or hold names none."""

    # The fewest bookings holding time that local day; ties by the service's order.
    FEWEST_THAT_DAY = "fewest_that_day"
    # The first free staff member in the service's order.
    FIRST_AVAILABLE = "first_available"
    # The first free staff member after the one holding the service's most recently
    # created booking, in the service's order, wrapping around.
    ROUND_ROBIN = "round_robin"


DEFAULT_ASSIGNMENT = Assignment.FEWEST_THAT_DAY


def rank_candidates(
    rule: Assignment,
    candidates: Sequence[str],
    *,
    order: Sequence[str],
    load: Mapping[str, int] | None = None,
    last: str | None = None,
) -> list[int]:
    """Positions in `candidates` in the order `rule` tries them.

    `candidates` are staff ids in the service's order (`order`: its `staffIds`, else the
    site's staff, of which `candidates` is a subsequence). `load` counts each candidate's
    bookings holding time that local day (for `fewest_that_day`); `last` is the staff member
    holding the service's most recently created booking (for `round_robin`; None when there
    is none, or when that staff member no longer offers the service: then the first in
    order comes first).
    """
    positions = range(len(candidates))
    if rule is Assignment.FEWEST_THAT_DAY:
        counts = load or {}
        return sorted(positions, key=lambda i: counts.get(candidates[i], 0))  # stable: ties
    if rule is Assignment.ROUND_ROBIN and last is not None:
        place_of = {staff_id: i for i, staff_id in enumerate(order)}
        after = place_of.get(last)
        if after is not None:
            size = len(order)
            # Distance after `last`, wrapping around; `last` itself comes at the very end.
            return sorted(
                positions,
                key=lambda i: (place_of.get(candidates[i], after) - after - 1) % size,
            )
    return list(positions)
