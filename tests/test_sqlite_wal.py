"""SQLiteStore's checkpoint discipline, which keeps it clear of SQLite's WAL-reset bug.

The bug (SQLite 3.7.0 to 3.51.2) needs a checkpoint to run while another connection commits
a transaction that resets the WAL. The store turns automatic checkpoints off on every
connection and checkpoints only while one of its own write transactions holds the write
lock, so no commit can overlap a checkpoint. These tests check each half of that.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from conftest import BERLIN, booking
from optimo_booking import SQLiteStore
from optimo_booking.errors import StorageBusy
from optimo_booking.stores import sqlite as sqlite_store

START = datetime(2026, 3, 2, 9, 0, tzinfo=BERLIN)


def _fill(store: SQLiteStore, count: int) -> None:
    for i in range(count):
        store.add(booking(START + timedelta(hours=i), 30, staff=f"s{i % 7}"))


def test_no_connection_checkpoints_on_its_own(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "b.sqlite3")
    try:
        with store._connection() as conn:
            assert conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        store.close()


class _ProbingStore(SQLiteStore):
    """Before each checkpoint, tries to take the write lock from a fresh connection."""

    probes: list[str]

    def _checkpoint(self, other: sqlite3.Connection) -> None:
        probe = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            self.probes.append(str(exc))
        else:
            probe.execute("ROLLBACK")
            self.probes.append("the write lock was free")
        finally:
            probe.close()
        super()._checkpoint(other)


def test_checkpoints_run_only_while_the_write_lock_is_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "CHECKPOINT_EVERY", 5)
    _ProbingStore.probes = []
    store = _ProbingStore(tmp_path / "b.sqlite3", synchronous="NORMAL")
    try:
        _fill(store, 40)
        # migrations and the cursor secret are two write transactions before the 40
        assert store.checkpoints == 42 // 5
        assert len(_ProbingStore.probes) == store.checkpoints
        assert set(_ProbingStore.probes) == {"database is locked"}
    finally:
        store.close()


def _wal_bytes_after(path: Path, writes: int) -> int:
    store = SQLiteStore(path, synchronous="NORMAL")
    try:
        _fill(store, writes)
        return (path.parent / (path.name + "-wal")).stat().st_size
    finally:
        store.close()


def test_the_wal_stays_small_without_automatic_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "CHECKPOINT_EVERY", 10**9)
    unchecked = _wal_bytes_after(tmp_path / "a.sqlite3", 300)
    monkeypatch.setattr(sqlite_store, "CHECKPOINT_EVERY", 20)
    checked = _wal_bytes_after(tmp_path / "b.sqlite3", 300)
    assert checked * 4 < unchecked, (checked, unchecked)


def test_the_rows_survive_checkpoints_and_reopening(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "CHECKPOINT_EVERY", 3)
    path = tmp_path / "b.sqlite3"
    store = SQLiteStore(path, synchronous="NORMAL")
    _fill(store, 25)
    store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM bookings").fetchone() == (25,)
    conn.close()


def test_the_version_check_knows_the_fixed_releases() -> None:
    has_bug = sqlite_store.sqlite_version_has_wal_reset_bug
    assert has_bug((3, 40, 1)) and has_bug((3, 51, 2)) and has_bug((3, 44, 5))
    assert not has_bug((3, 51, 3)) and not has_bug((3, 44, 6)) and not has_bug((3, 50, 7))
    assert sqlite3.sqlite_version == sqlite_store.SQLITE_VERSION


class _FailingCheckpointStore(SQLiteStore):
    """Checkpoints fail as a busy lock or a connection that cannot open would."""

    failures: list[BaseException]

    def _checkpoint(self, other: sqlite3.Connection) -> None:
        if self.failures:
            raise self.failures.pop(0)
        super()._checkpoint(other)


def test_a_checkpoint_that_cannot_run_leaves_the_write_a_success(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "CHECKPOINT_EVERY", 1)
    _FailingCheckpointStore.failures = [
        sqlite3.OperationalError("database is locked"),
        StorageBusy("busy"),
        sqlite3.OperationalError("database is locked"),
        StorageBusy("busy"),
    ]
    store = _FailingCheckpointStore(tmp_path / "b.sqlite3", synchronous="NORMAL")
    try:
        # opening (two writes) and two adds: each commits, then its checkpoint fails
        _fill(store, 2)
        assert store.checkpoints == 0
        assert _FailingCheckpointStore.failures == []
        with store._connection() as conn:
            assert conn.execute("SELECT count(*) FROM bookings").fetchone() == (2,)
            assert not conn.in_transaction  # the checkpoint's lock was given back
        _fill(store, 1)  # the next write retries, and this time it runs
        assert store.checkpoints == 1
    finally:
        store.close()
