"""Assignment rules: who takes a booking that names nobody.

Hand-made cases pin each rule's choice (ties, wrap-around, staff not free, the branch
filter, other services) on both stores; a race shows round robin reads its "last assigned"
inside the store's atomic step; a property test checks every rule picks only staff for whom
the slot is available, and exactly the one the rule names.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import BERLIN, FakeClock, StoreSpec, open_store, refused
from optimo_booking import (
    Booking,
    BookingError,
    Catalog,
    Engine,
    MemoryStore,
    SQLiteStore,
    Store,
    load_catalog,
)
from optimo_booking.assignment import Assignment, rank_candidates
from optimo_booking.errors import CatalogError
from optimo_booking.testing import scenarios

SITE = "rr"
DAY = date(2026, 3, 9)  # a Monday
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=BERLIN)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def rules_catalog(rule: str, *, staff_ids: list[str] | None = None) -> Catalog:
    """Staff ann, ben, cat (09-17, ann and ben at north, cat at south); service `cut` (30 min)
    with `rule` and the `staffIds` order ben, cat, ann unless given; `other`, a second
    service with the same rule, to show other services never move round robin."""
    order = ["ben", "cat", "ann"] if staff_ids is None else staff_ids
    hours = {d: ["09:00-17:00"] for d in WEEKDAYS}
    return load_catalog(
        {
            "sites": [
                {
                    "id": SITE,
                    "timezone": "Europe/Berlin",
                    "branches": [{"id": "north"}, {"id": "south"}],
                    "services": [
                        {"id": "cut", "durationMinutes": 30, "staffIds": order,
                         "assignment": rule},
                        {"id": "other", "durationMinutes": 30, "staffIds": order,
                         "assignment": rule},
                    ],
                    "staff": [
                        {"id": "ann", "branchId": "north", "weeklyHours": hours},
                        {"id": "ben", "branchId": "north", "weeklyHours": hours},
                        {"id": "cat", "branchId": "south", "weeklyHours": hours},
                    ],
                }
            ]
        }
    )  # fmt: skip


def engine_for(rule: str, store: Store, **kw: Any) -> Engine:
    return Engine(rules_catalog(rule, **kw), store=store, clock=FakeClock(NOW))


def book(engine: Engine, start: str, *, staff: str | None = None, **kw: Any) -> Booking:
    return engine.create_booking(
        SITE,
        service_id=kw.pop("service", "cut"),
        date=kw.pop("day", DAY),
        start_time=start,
        customer={"name": "Test"},
        staff_id=staff,
        **kw,
    )


def who(engine: Engine, *starts: str, **kw: Any) -> list[str]:
    """The staff each unnamed create at `starts` (in turn) is given."""
    return [book(engine, start, **kw).staff_id for start in starts]


# -- the catalog key ---------------------------------------------------------------------


def test_the_default_rule_is_fewest_that_day() -> None:
    raw = {"sites": [{"id": "s", "timezone": "UTC", "services": [{"id": "x",
           "durationMinutes": 10}], "staff": [{"id": "a"}]}]}  # fmt: skip
    assert load_catalog(raw).site("s").services["x"].assignment is Assignment.FEWEST_THAT_DAY


def test_every_rule_name_loads() -> None:
    for rule in Assignment:
        assert rules_catalog(rule.value).site(SITE).services["cut"].assignment is rule


def test_an_unknown_rule_is_a_catalog_problem_with_its_path() -> None:
    raw = {"sites": [{"id": "s", "timezone": "UTC", "staff": [{"id": "a"}], "services": [
        {"id": "x", "durationMinutes": 10, "assignment": "round-robin"},
        {"id": "y", "durationMinutes": 10, "assignment": 3}]}]}  # fmt: skip
    with pytest.raises(CatalogError) as info:
        load_catalog(raw)
    text = str(info.value)
    assert "sites[0].services[0].assignment: 'round-robin' is not an assignment rule" in text
    assert "did you mean 'round_robin'?" in text
    assert "sites[0].services[1].assignment: 3 is not an assignment rule" in text


# -- the pure ranking --------------------------------------------------------------------


def test_rank_fewest_that_day_breaks_ties_by_order() -> None:
    ids = ["ben", "cat", "ann"]
    load = {"ben": 2, "cat": 1, "ann": 1}
    assert rank_candidates(Assignment.FEWEST_THAT_DAY, ids, order=ids, load=load) == [1, 2, 0]


def test_rank_first_available_keeps_the_order() -> None:
    ids = ["ben", "cat", "ann"]
    assert rank_candidates(Assignment.FIRST_AVAILABLE, ids, order=ids, last="cat") == [0, 1, 2]


def test_rank_round_robin_starts_after_the_last_and_wraps() -> None:
    ids = ["ben", "cat", "ann"]
    assert rank_candidates(Assignment.ROUND_ROBIN, ids, order=ids, last="ben") == [1, 2, 0]
    assert rank_candidates(Assignment.ROUND_ROBIN, ids, order=ids, last="ann") == [0, 1, 2]
    assert rank_candidates(Assignment.ROUND_ROBIN, ids, order=ids, last=None) == [0, 1, 2]
    # a last staff member who no longer offers the service: the first in order comes first
    assert rank_candidates(Assignment.ROUND_ROBIN, ids, order=ids, last="gone") == [0, 1, 2]


def test_rank_round_robin_counts_positions_in_the_whole_order() -> None:
    # cat is filtered out (another branch): after ben comes cat's turn, then ann's.
    order = ["ben", "cat", "ann"]
    assert rank_candidates(Assignment.ROUND_ROBIN, ["ben", "ann"], order=order, last="ben") == [
        1,
        0,
    ]


# -- fewest_that_day ---------------------------------------------------------------------


def test_fewest_that_day_picks_the_least_loaded_then_the_order(store: Store) -> None:
    engine = engine_for("fewest_that_day", store)
    # All at zero: the staffIds order decides (ben first), then the loads do.
    assert who(engine, "09:00", "10:00", "11:00", "12:00") == ["ben", "cat", "ann", "ben"]


def test_fewest_that_day_counts_only_that_local_day(store: Store) -> None:
    engine = engine_for("fewest_that_day", store)
    book(engine, "09:00", staff="ben", day=DAY - timedelta(days=7))
    book(engine, "10:00", staff="ben", day=DAY - timedelta(days=7))
    assert who(engine, "09:00") == ["ben"]  # last week's bookings do not count


def test_fewest_that_day_counts_every_service(store: Store) -> None:
    engine = engine_for("fewest_that_day", store)
    book(engine, "09:00", staff="ben", service="other")
    assert who(engine, "10:00") == ["cat"]


def test_fewest_that_day_skips_staff_who_are_not_free(store: Store) -> None:
    engine = engine_for("fewest_that_day", store)
    book(engine, "09:00", staff="ben")
    book(engine, "09:30", staff="ben")
    book(engine, "11:00", staff="ann")
    book(engine, "10:00", staff="cat")
    # Loads: ben 2, ann 1, cat 1. At 10:00 cat (fewest, first in order) is not free: ann.
    assert who(engine, "10:00") == ["ann"]
    # At 12:00 everyone is free: cat and ann tie at... ann now has 2, so cat.
    assert who(engine, "12:00") == ["cat"]


# -- first_available ---------------------------------------------------------------------


def test_first_available_always_takes_the_first_free_in_order(store: Store) -> None:
    engine = engine_for("first_available", store)
    assert who(engine, "09:00", "10:00", "11:00") == ["ben", "ben", "ben"]


def test_first_available_moves_down_the_order_when_taken(store: Store) -> None:
    engine = engine_for("first_available", store)
    assert who(engine, "09:00", "09:00", "09:00") == ["ben", "cat", "ann"]
    error = refused("slot_unavailable", book, engine, "09:00")
    assert error.details["reason"] == "booked"


def test_first_available_follows_the_site_order_without_staff_ids(store: Store) -> None:
    engine = engine_for("first_available", store, staff_ids=[])
    assert who(engine, "09:00", "09:00") == ["ann", "ben"]


# -- round_robin -------------------------------------------------------------------------


def test_round_robin_turns_through_the_order_and_wraps(store: Store) -> None:
    engine = engine_for("round_robin", store)
    got = who(engine, "09:00", "09:30", "10:00", "10:30", "11:00")
    assert got == ["ben", "cat", "ann", "ben", "cat"]
    assert store.last_assigned(SITE, "cut") == "cat"


def test_round_robin_with_no_booking_starts_at_the_first(store: Store) -> None:
    engine = engine_for("round_robin", store)
    assert store.last_assigned(SITE, "cut") is None
    assert who(engine, "12:00") == ["ben"]


def test_round_robin_skips_staff_who_are_not_free(store: Store) -> None:
    engine = engine_for("round_robin", store)
    book(engine, "10:00", staff="cat", service="other")  # cat busy at 10:00
    assert who(engine, "09:00") == ["ben"]
    assert who(engine, "10:00") == ["ann"]  # cat's turn, but not free: the next in order
    assert who(engine, "11:00") == ["ben"]  # after ann, wrapping around


def test_round_robin_comes_back_to_the_last_when_only_it_is_free(store: Store) -> None:
    engine = engine_for("round_robin", store)
    assert who(engine, "09:00") == ["ben"]
    book(engine, "10:00", staff="cat", service="other")
    book(engine, "10:00", staff="ann", service="other")
    # After ben come cat and ann, neither free at 10:00; wrapping around reaches ben again.
    assert who(engine, "10:00") == ["ben"]
    assert who(engine, "11:00") == ["cat"]


def test_round_robin_named_bookings_move_it(store: Store) -> None:
    engine = engine_for("round_robin", store)
    book(engine, "09:00", staff="cat")
    assert who(engine, "10:00") == ["ann"]


def test_round_robin_counts_a_cancelled_booking(store: Store) -> None:
    engine = engine_for("round_robin", store)
    first = book(engine, "09:00")
    engine.set_status(SITE, first.id, "cancelled")
    assert first.staff_id == "ben"
    assert who(engine, "10:00") == ["cat"]


def test_round_robin_ignores_other_services(store: Store) -> None:
    engine = engine_for("round_robin", store)
    assert who(engine, "09:00") == ["ben"]
    assert who(engine, "10:00", "11:00", service="other") == ["ben", "cat"]
    assert who(engine, "12:00") == ["cat"]


def test_round_robin_keeps_its_place_in_the_order_under_a_branch_filter(store: Store) -> None:
    engine = engine_for("round_robin", store)
    assert who(engine, "09:00") == ["ben"]
    # cat (south) is next but filtered out; ann is after cat.
    assert who(engine, "10:00", branch_id="north") == ["ann"]
    assert who(engine, "11:00") == ["ben"]


def test_round_robin_keeps_its_pointer_across_reopening(tmp_path: Path) -> None:
    path = tmp_path / "rr.sqlite3"
    first = SQLiteStore(path)
    assert who(engine_for("round_robin", first), "09:00", "10:00") == ["ben", "cat"]
    first.close()
    again = SQLiteStore(path)
    try:
        assert who(engine_for("round_robin", again), "11:00") == ["ann"]
    finally:
        again.close()


def test_a_refused_create_leaves_round_robin_where_it_was(store: Store) -> None:
    engine = engine_for("round_robin", store)
    assert who(engine, "09:00") == ["ben"]
    refused("slot_unavailable", book, engine, "17:00")  # outside hours
    assert store.last_assigned(SITE, "cut") == "ben"
    assert who(engine, "10:00") == ["cat"]


# -- round robin under a race ------------------------------------------------------------

PAIRS = 10  # 2n creates


def test_concurrent_round_robin_creates_split_evenly(store_spec: StoreSpec) -> None:
    """2n creates at different times, released together, with two free staff: n each.

    Each create must read "last assigned" in the same atomic step as its insert; two that
    read it outside would both start after the same person and could pick the same one.
    Every thread opens its own store on the same place (the memory store is one object).
    """
    catalog = rules_catalog("round_robin", staff_ids=["ann", "ben"])  # cat never offers it
    # Distinct grid starts of a 30-minute service on its own 30-minute grid: each is free
    # for both staff, whoever took the others (16 a Monday, then the next Monday).
    starts = [
        (DAY + timedelta(weeks=i // 16), f"{9 + i % 16 // 2:02d}:{i % 2 * 30:02d}")
        for i in range(2 * PAIRS)
    ]
    barrier = threading.Barrier(len(starts))
    results: list[str] = []
    errors: list[BaseException] = []
    stores: list[Store] = []
    if store_spec.kind != "memory":
        open_store(store_spec).close()  # create the schema before the race

    def run(day: date, start: str) -> None:
        store = open_store(store_spec)
        stores.append(store)
        engine = Engine(catalog, store=store, clock=FakeClock(NOW))
        barrier.wait(timeout=60)
        try:
            made = book(engine, start, day=day)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        else:
            results.append(made.staff_id)

    threads = [threading.Thread(target=run, args=s) for s in starts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for s in stores:
        s.close()
    assert not errors, errors
    assert Counter(results) == {"ann": PAIRS, "ben": PAIRS}


# -- every rule picks only free staff, and the one it names ----------------------------


def _reference_choice(
    rule: Assignment, order: list[str], free: set[str], load: dict[str, int], last: str | None
) -> str:
    """The rule's choice among `free` staff, written out independently of the engine."""
    in_order = [s for s in order if s in free]
    if rule is Assignment.FEWEST_THAT_DAY:
        return min(in_order, key=lambda s: (load.get(s, 0), in_order.index(s)))
    if rule is Assignment.ROUND_ROBIN and last in order:
        i = order.index(last)
        rotated = order[i + 1 :] + order[: i + 1]
        return next(s for s in rotated if s in free)
    return in_order[0]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    scenario=scenarios(near_transitions=False),
    rule=st.sampled_from(list(Assignment)),
    data=st.data(),
)
def test_every_rule_assigns_only_free_staff_and_the_one_it_names(
    scenario: Any, rule: Assignment, data: st.DataObject
) -> None:
    raw = scenario.catalog
    for service in raw["sites"][0]["services"]:
        service["assignment"] = rule.value
    catalog = load_catalog(raw)
    site = catalog.site("site")
    store = MemoryStore()
    for b in scenario.bookings:
        store.add(b)
    engine = Engine(catalog, store=store, clock=lambda: scenario.now)
    service = site.services[data.draw(st.sampled_from(sorted(site.services)), label="service")]
    listed = engine.slots("site", service.id, scenario.day)
    if not listed:
        return
    start = data.draw(st.sampled_from(listed), label="slot").start
    at_start = [s for s in listed if s.start == start]
    free = {s.staff_id for s in at_start if s.available}
    try:
        made = engine.create_booking(
            "site",
            service_id=service.id,
            date=scenario.day,
            start_time=start,
            customer={"name": "Prop"},
        )
    except BookingError as exc:
        assert not free, f"refused ({exc.code}: {exc.message}) though {sorted(free)} are free"
        assert exc.code == "slot_unavailable"
        return
    assert made.staff_id in free, f"{made.staff_id} was given a slot listed for {sorted(free)}"
    order = [m.id for m in site.staff_for(service)]
    load = Counter(
        b.staff_id for b in scenario.bookings if b.status.holds_time and b.date == scenario.day
    )
    mine = [b for b in scenario.bookings if b.service_id == service.id]
    last = mine[-1].staff_id if mine else None
    assert made.staff_id == _reference_choice(rule, order, free, dict(load), last)


def test_an_older_sqlite_file_learns_each_service_s_last_booking(tmp_path: Path) -> None:
    """A file written before round robin existed (schema 1) gets its pointers from the rows
    it holds: the last inserted booking of each service."""
    import sqlite3

    from optimo_booking.stores.sqlite import _MIGRATIONS

    path = tmp_path / "old.sqlite3"
    made = SQLiteStore(tmp_path / "donor.sqlite3")
    donor = engine_for("round_robin", made)
    rows = [book(donor, "09:00"), book(donor, "10:00"), book(donor, "12:00", service="other")]
    made.close()
    with sqlite3.connect(path) as conn:
        for statement in _MIGRATIONS[0].split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
        for b in rows:
            conn.execute(
                "INSERT INTO bookings VALUES (?, ?, ?, ?, NULL, 'confirmed', ?, ?, "
                "'Europe/Berlin', ?, '{}', NULL, '2026-03-02T09:00:00+01:00', "
                "'2026-03-02T09:00:00+01:00')",
                (b.id, SITE, b.service_id, b.staff_id, b.start_ts, b.end_ts, str(b.date)),
            )
    conn.close()
    store = SQLiteStore(path)
    try:
        assert [b.staff_id for b in rows] == ["ben", "cat", "ben"]
        assert store.last_assigned(SITE, "cut") == "cat"
        assert store.last_assigned(SITE, "other") == "ben"
        assert who(engine_for("round_robin", store), "11:00") == ["ann"]
    finally:
        store.close()


# -- holds: the same rules, and they never move round robin ----------------------------


def hold(engine: Engine, start: str, *, staff: str | None = None, **kw: Any) -> Any:
    return engine.hold(
        SITE,
        service_id=kw.pop("service", "cut"),
        date=kw.pop("day", DAY),
        start_time=start,
        staff_id=staff,
        **kw,
    )


def test_a_hold_naming_nobody_follows_each_rule(store: Store) -> None:
    assert hold(engine_for("first_available", store), "09:00").staff_id == "ben"


def test_round_robin_holds_take_turns_after_the_last_booking(store: Store) -> None:
    engine = engine_for("round_robin", store)
    assert who(engine, "09:00") == ["ben"]
    assert hold(engine, "10:00").staff_id == "cat"
    # A hold does not move the pointer: the next placement starts after ben again, and cat
    # is held at 10:00, so ann.
    assert hold(engine, "10:00").staff_id == "ann"
    assert store.last_assigned(SITE, "cut") == "ben"


def test_a_booking_made_from_a_hold_moves_round_robin(store: Store) -> None:
    engine = engine_for("round_robin", store)
    held = hold(engine, "10:00")
    assert held.staff_id == "ben"
    assert store.last_assigned(SITE, "cut") is None
    made = book(engine, "10:00", hold_id=held.id)
    assert made.staff_id == "ben"
    assert store.last_assigned(SITE, "cut") == "ben"
    assert who(engine, "11:00") == ["cat"]


def test_fewest_that_day_counts_live_holds(store: Store) -> None:
    engine = engine_for("fewest_that_day", store)
    hold(engine, "09:00", staff="ben")
    hold(engine, "10:00", staff="cat")
    assert who(engine, "11:00") == ["ann"]


def test_every_rule_skips_staff_who_are_held_or_busy(store: Store) -> None:
    for rule in ("fewest_that_day", "first_available", "round_robin"):
        engine = engine_for(rule, store)
        day = DAY + timedelta(days={"fewest_that_day": 1, "first_available": 2}.get(rule, 3))
        hold(engine, "09:00", staff="ben", day=day)
        start = datetime.combine(day, datetime.min.time(), BERLIN).replace(hour=9)
        engine.set_busy(SITE, "cat", "calendar", [(start, start + timedelta(minutes=30))])
        assert who(engine, "09:00", day=day) == ["ann"], rule
        error = refused("slot_unavailable", book, engine, "09:00", day=day)
        assert error.details["reason"] == "held"  # the reason of the first in order, ben
        engine.set_busy(SITE, "cat", "calendar", [])
