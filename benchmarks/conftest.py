"""Run the slot benchmarks case by case, so each workload is built once for all implementations."""

from __future__ import annotations

import pytest

_SLOT_MODULE = "test_slot_generation.py"
_CASE_KEYS = ("staff", "bookings", "days")


def _case_of(item: pytest.Item) -> tuple[int, ...]:
    params = getattr(getattr(item, "callspec", None), "params", {})
    return tuple(int(params[key]) for key in _CASE_KEYS if key in params)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the slot benchmarks by case (staff, bookings, days); leave other files alone."""
    slot_items = [item for item in items if item.path.name == _SLOT_MODULE]
    if slot_items:
        others = [item for item in items if item.path.name != _SLOT_MODULE]
        items[:] = others + sorted(slot_items, key=_case_of)
