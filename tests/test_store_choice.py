"""Choosing a store by URL and copying between stores, on the stores every machine has
(the PostgreSQL side is in test_postgres.py): `store_from_url`, `redacted`, the CLI's
`serve --store`/`--db` and `store copy`, and a copy that does not match its source."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from conftest import BOOK_DAY, BOOK_SITE, GOOD_CUSTOMER, FakeClock, booking_catalog
from optimo_booking import BookingError, Engine, MemoryStore, SQLiteStore
from optimo_booking.cli import main
from optimo_booking.stores import redacted, store_from_url
from optimo_booking.stores.copy import copy_store, inventory

REQUEST = {"service_id": "cut", "date": BOOK_DAY, "start_time": "10:00", "customer": GOOD_CUSTOMER}


def test_paths_and_sqlite_urls_open_sqlite(tmp_path: Path) -> None:
    for url, path in [
        (str(tmp_path / "a.sqlite3"), tmp_path / "a.sqlite3"),
        (f"sqlite:///{tmp_path}/b.sqlite3", tmp_path / "b.sqlite3"),
    ]:
        store = store_from_url(url)
        assert isinstance(store, SQLiteStore) and Path(store.path) == path
        store.close()


@pytest.mark.parametrize("bad", ["mysql://x/y", "sqlite://relative", "sqlite:///"])
def test_an_unknown_store_url_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        store_from_url(bad)


def test_a_password_never_reaches_a_banner() -> None:
    assert redacted("postgresql://app:s3cret@db:5432/x") == "postgresql://app:***@db:5432/x"
    assert redacted("postgresql://app@db/x") == "postgresql://app@db/x"
    assert redacted("bookings.sqlite3") == "bookings.sqlite3"


def test_serve_takes_db_or_store_not_both(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["serve", "--db", "a.sqlite3", "--store", "b.sqlite3"])
    assert info.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_store_copy_with_a_bad_url_is_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["store", "copy", "mysql://x/y", str(tmp_path / "t.sqlite3")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("optimo-booking: error: unknown store URL scheme 'mysql'")
    assert err.count("\n") == 1


def _filled_sqlite(path: Path) -> SQLiteStore:
    store = SQLiteStore(path)
    engine = Engine(booking_catalog(), store=store, clock=FakeClock())
    engine.create_booking(BOOK_SITE, **REQUEST, idempotency_key="k", notes="Grüße\x00")
    made = engine.create_booking(BOOK_SITE, **dict(REQUEST, start_time="11:00"))
    engine.set_status(BOOK_SITE, made.id, "cancelled")
    return store


def test_store_copy_between_sqlite_files_is_verified(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _filled_sqlite(tmp_path / "a.sqlite3").close()
    assert main(["store", "copy", str(tmp_path / "a.sqlite3"), str(tmp_path / "b.sqlite3")]) == 0
    assert "copied 2 bookings and 1 idempotency keys" in capsys.readouterr().out
    a, b = SQLiteStore(tmp_path / "a.sqlite3"), SQLiteStore(tmp_path / "b.sqlite3")
    try:
        assert inventory(a) == inventory(b)
        assert a.cursor_secret() == b.cursor_secret()
        replay = Engine(booking_catalog(), store=b, clock=FakeClock()).create_booking_outcome(
            BOOK_SITE, **REQUEST, idempotency_key="k", notes="Grüße\x00"
        )
        assert replay.replayed
    finally:
        a.close()
        b.close()
    # A second copy into the same, now non-empty, file is refused and changes nothing.
    assert main(["store", "copy", str(tmp_path / "a.sqlite3"), str(tmp_path / "b.sqlite3")]) == 2
    assert "not empty" in capsys.readouterr().err
    b = SQLiteStore(tmp_path / "b.sqlite3")
    assert inventory(b).bookings == 2
    b.close()


class _LossyStore(MemoryStore):
    """A target that silently drops the last booking it is given."""

    def import_rows(self, bookings: Iterable[Any], *rest: Any, **kw: Any) -> None:
        super().import_rows(list(bookings)[:-1], *rest, **kw)


class _AlteringStore(MemoryStore):
    """A target that silently changes one booking's notes."""

    def import_rows(self, bookings: Iterable[Any], *rest: Any, **kw: Any) -> None:
        rows = list(bookings)
        rows[0] = dataclasses.replace(rows[0], notes="changed")
        super().import_rows(rows, *rest, **kw)


@pytest.mark.parametrize("target", [_LossyStore, _AlteringStore])
def test_a_copy_that_differs_from_its_source_is_an_error(
    tmp_path: Path, target: type[MemoryStore]
) -> None:
    source = _filled_sqlite(tmp_path / "a.sqlite3")
    try:
        with pytest.raises(BookingError, match="does not match its source"):
            copy_store(source, target())  # type: ignore[arg-type]
    finally:
        source.close()
