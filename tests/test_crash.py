"""Crash safety of the SQLite store: a child process books slots and prints each id once
`create_booking` has returned; it is killed with SIGKILL at random moments. After every kill
the file passes `PRAGMA integrity_check`, holds every printed id, and no two bookings holding
time overlap for one staff member. `scripts/crash_soak.py --cycles N` runs the long version."""

from __future__ import annotations

import importlib.util
import random
import sqlite3
import sys
from pathlib import Path
from types import ModuleType

import pytest

CYCLES = 20
SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "crash_soak.py"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")


def _soak_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("crash_soak", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("crash_soak", module)
    spec.loader.exec_module(module)
    return sys.modules["crash_soak"]


def test_sigkill_at_random_moments_loses_nothing_returned(tmp_path: Path) -> None:
    soak = _soak_module()
    seed = random.randrange(2**31)
    path = tmp_path / "crash.sqlite3"
    report = soak.soak(path, CYCLES, seed, max_wait=0.3)
    assert report.problems == [], report.problems
    assert report.cycles == CYCLES
    assert report.printed > 0, f"seed {seed}: no child ever returned a booking"
    assert report.kills_mid_write >= CYCLES // 2, f"seed {seed}: {report}"
    assert report.rows >= report.printed
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_check_file_notices_a_lost_booking(tmp_path: Path) -> None:
    soak = _soak_module()
    path = tmp_path / "crash.sqlite3"
    soak.soak(path, 1, 1, max_wait=0.2)
    _, problems = soak.check_file(path, {"bk_00000000000000000000"})
    assert any("missing" in p for p in problems)


def test_check_file_notices_an_overlap(tmp_path: Path) -> None:
    soak = _soak_module()
    path = tmp_path / "crash.sqlite3"
    rng = random.Random(3)
    victim = None
    while victim is None:  # a booking that is not a seat of a group session
        soak.crash_cycle(path, rng, max_wait=0.3)
        with sqlite3.connect(path) as conn:
            victim = conn.execute(
                "SELECT id FROM bookings WHERE service_id != 'styling-class' LIMIT 1"
            ).fetchone()
    with sqlite3.connect(path) as conn:  # clone it, holding time, under another id
        conn.execute(
            "INSERT INTO bookings SELECT 'bk_ffffffffffffffffffff', site_id, service_id, "
            "staff_id, branch_id, 'confirmed', start_ts, end_ts, zone, local_date, customer, "
            "notes, created_at, updated_at, version FROM bookings WHERE id = ?",
            victim,
        )
        conn.execute("UPDATE bookings SET status = 'confirmed' WHERE id = ?", victim)
    _, problems = soak.check_file(path, set())
    assert any("overlap" in p and victim[0] in p for p in problems), problems
