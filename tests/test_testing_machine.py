"""`optimo_booking.testing.BookingMachine` on both stores, and proof that it can fail."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from conftest import BOOK_DAY, BOOK_NOW, BOOK_SITE, booking_catalog
from optimo_booking import BookingError, Engine, MemoryStore, SQLiteStore
from optimo_booking import testing as obt
from optimo_booking.demo import demo_catalog

DEMO_NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
FEW = settings(max_examples=15, stateful_step_count=12, deadline=None)


class DemoOnMemory(obt.BookingMachine):
    site_id = "demo-salon"
    dates = (date(2026, 12, 7), date(2026, 12, 8))

    def make_engine(self) -> Engine:
        return Engine(demo_catalog(), store=MemoryStore(), clock=lambda: DEMO_NOW)


class GroupClassesOnSQLite(obt.BookingMachine):
    """The test catalog: a three-seat class, buffers, a pending-first service, time off."""

    site_id = BOOK_SITE
    dates = (BOOK_DAY, date(2026, 3, 10))

    def make_engine(self) -> Engine:
        self.folder = tempfile.mkdtemp()
        store = SQLiteStore(Path(self.folder) / "machine.sqlite3")
        return Engine(booking_catalog(), store=store, clock=lambda: BOOK_NOW)

    def teardown(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


TestDemoOnMemory = DemoOnMemory.TestCase
TestDemoOnMemory.settings = FEW
TestGroupClassesOnSQLite = GroupClassesOnSQLite.TestCase
TestGroupClassesOnSQLite.settings = FEW


class _SlotsThatLie:
    """An engine whose listing calls every slot free: the machine must notice."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def slots(self, *args: Any, **kwargs: Any) -> list[Any]:
        import dataclasses

        found = self._engine.slots(*args, **kwargs)
        return [dataclasses.replace(s, available=True, reason=None) for s in found]


class LyingDemo(DemoOnMemory):
    def make_engine(self) -> Any:
        return _SlotsThatLie(super().make_engine())


def test_the_machine_catches_a_listing_that_offers_taken_slots() -> None:
    quick = settings(max_examples=50, deadline=None, database=None, phases=[Phase.generate])
    with pytest.raises(BookingError) as caught:
        run_state_machine_as_test(LyingDemo, settings=quick)
    assert caught.value.code == "slot_unavailable"
