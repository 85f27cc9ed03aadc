"""`optimo-booking busy import FILE.ics`: another calendar's busy time blocks slots, end to end."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import tz
from optimo_booking import Engine, SQLiteStore, load_catalog
from optimo_booking.cli import main

pytest.importorskip("icalendar", reason="the `ics` extra is not installed: pip install -e '.[ics]'")

BERLIN = tz("Europe/Berlin")
# Monday 16 March 2026, 08:00 in Berlin; the clocks spring forward on Sunday 29 March.
NOW = datetime(2026, 3, 16, 8, 0, tzinfo=BERLIN)
CATALOG = {
    "sites": [
        {
            "id": "salon",
            "timezone": "Europe/Berlin",
            "services": [{"id": "cut", "name": "Haircut", "durationMinutes": 60}],
            "staff": [
                {"id": "alice", "name": "Alice", "weeklyHours": {"mon": ["09:00-17:00"]}},
                {"id": "bob", "name": "Bob", "weeklyHours": {"mon": ["09:00-17:00"]}},
            ],
        }
    ]
}
# Weekly on Mondays 10:00-11:00 Berlin time; the one on 30 March (after the change) moved
# to 14:00-15:00.
WEEKLY_WITH_EXCEPTION = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//tests//weekly with one exception//EN
BEGIN:VEVENT
UID:physio@tests
DTSTAMP:20260301T000000Z
DTSTART;TZID=Europe/Berlin:20260302T100000
DTEND;TZID=Europe/Berlin:20260302T110000
RRULE:FREQ=WEEKLY;BYDAY=MO
END:VEVENT
BEGIN:VEVENT
UID:physio@tests
DTSTAMP:20260301T000000Z
RECURRENCE-ID;TZID=Europe/Berlin:20260330T100000
DTSTART;TZID=Europe/Berlin:20260330T140000
DTEND;TZID=Europe/Berlin:20260330T150000
END:VEVENT
END:VCALENDAR
""".replace("\n", "\r\n")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    catalog = tmp_path / "salon.json"
    catalog.write_text(json.dumps(CATALOG), "utf-8")
    weekly = tmp_path / "physio.ics"
    weekly.write_text(WEEKLY_WITH_EXCEPTION, "utf-8", newline="")
    return {"catalog": catalog, "weekly": weekly, "db": tmp_path / "bookings.sqlite3"}


def busy_import(files: dict[str, Path], *extra: str, ics: Path | str | None = None) -> int:
    return main(
        [
            "busy", "import", str(ics or files["weekly"]),
            "--catalog", str(files["catalog"]), "--store", str(files["db"]),
            "--staff", "alice", "--now", NOW.isoformat(), *extra,
        ]
    )  # fmt: skip


def engine_over(files: dict[str, Path]) -> Engine:
    return Engine(load_catalog(files["catalog"]), SQLiteStore(str(files["db"])), clock=lambda: NOW)


def blocked(engine: Engine, staff: str = "alice") -> list[tuple[str, str | None]]:
    """Local start and reason of every unavailable slot of `staff` over five Mondays."""
    slots = engine.slots_between("salon", "cut", date(2026, 3, 16), date(2026, 4, 13))
    return [
        (s.start.isoformat(), s.reason) for s in slots if s.staff_id == staff and not s.available
    ]


def test_a_weekly_event_with_one_exception_blocks_exactly_its_slots_for_four_weeks(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert busy_import(files, "--source", "physio", "--days", "28") == 0
    assert blocked(engine_over(files)) == [
        ("2026-03-16T10:00:00+01:00", "busy"),
        ("2026-03-23T10:00:00+01:00", "busy"),
        ("2026-03-30T14:00:00+02:00", "busy"),  # the exception, after the change
        ("2026-04-06T10:00:00+02:00", "busy"),  # 10:00 local, not 11:00, after the change
    ]  # 13 April 10:00 is past the four weeks (they end at 08:00 that day): not imported
    # Bob's calendar is his own
    assert blocked(engine_over(files), "bob") == []
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(
        "Alice [alice] Europe/Berlin: 4 busy spans stored from source 'physio'"
    )
    assert out[1:] == [
        "  2026-03-16T10:00:00+01:00  2026-03-16T11:00:00+01:00",
        "  2026-03-23T10:00:00+01:00  2026-03-23T11:00:00+01:00",
        "  2026-03-30T14:00:00+02:00  2026-03-30T15:00:00+02:00",
        "  2026-04-06T10:00:00+02:00  2026-04-06T11:00:00+02:00",
    ]


def test_an_import_replaces_that_source_only(files: dict[str, Path], tmp_path: Path) -> None:
    assert busy_import(files, "--source", "physio", "--days", "28") == 0
    other = tmp_path / "dentist.ics"
    events = "".join(
        f"BEGIN:VEVENT\r\nUID:dentist-{day}@tests\r\nDTSTAMP:20260301T000000Z\r\n"
        f"DTSTART;TZID=Europe/Berlin:202603{day}T120000\r\n"
        f"DTEND;TZID=Europe/Berlin:202603{day}T130000\r\nEND:VEVENT\r\n"
        for day in (16, 23)
    )
    other.write_text(
        f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{events}END:VCALENDAR\r\n", "utf-8", newline=""
    )
    assert busy_import(files, "--source", "dentist", "--days", "28", ics=other) == 0
    assert len(engine_over(files).busy("salon", "alice")) == 4 + 2
    empty = tmp_path / "empty.ics"
    empty.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "utf-8", newline="")
    assert busy_import(files, "--source", "physio", ics=empty) == 0  # clears physio
    starts = [s.isoformat() for s, _ in engine_over(files).busy("salon", "alice")]
    assert starts == ["2026-03-16T12:00:00+01:00", "2026-03-23T12:00:00+01:00"]


@pytest.mark.parametrize(
    "ics",
    sorted((Path(__file__).parent / "ics" / "malformed").glob("*.ics")),
    ids=lambda p: p.name,
)
def test_a_malformed_file_is_refused_and_nothing_changes(
    files: dict[str, Path], ics: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert busy_import(files, "--source", "physio", "--days", "28") == 0
    before = engine_over(files).busy("salon", "alice")
    capsys.readouterr()
    assert busy_import(files, "--source", "physio", ics=ics) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("optimo-booking: error: not a usable iCalendar file")
        and "Traceback" not in err
    )
    assert engine_over(files).busy("salon", "alice") == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "physio", "--staff", "nobody"], "nobody"),
        (["--source", "no spaces"], "source"),
        (["--source", "physio", "--site", "elsewhere"], "elsewhere"),
    ],
)
def test_bad_names_are_refused(
    files: dict[str, Path], args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert busy_import(files, *args) == 2
    assert message in capsys.readouterr().err
    assert engine_over(files).busy("salon", "alice") == []


def test_a_missing_file_and_bad_days_are_usage_errors(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert busy_import(files, "--source", "x", ics=tmp_path / "nope.ics") == 2
    assert "cannot read" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        busy_import(files, "--source", "x", "--days", "0")
    assert exited.value.code == 2


def test_the_file_may_come_on_stdin(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(WEEKLY_WITH_EXCEPTION.encode()))
    monkeypatch.setattr("sys.stdin", stdin)
    assert busy_import(files, "--source", "physio", "--days", "8", ics="-") == 0
    assert [s.isoformat() for s, _ in engine_over(files).busy("salon", "alice")] == [
        "2026-03-16T10:00:00+01:00",
        "2026-03-23T10:00:00+01:00",
    ]


def test_imported_busy_time_blocks_slots_with_reason_busy(files: dict[str, Path]) -> None:
    # the library path end to end: parse, store, and the slot list says why
    from optimo_booking.ics import busy_from_ics

    engine = engine_over(files)
    spans = busy_from_ics(WEEKLY_WITH_EXCEPTION, NOW, NOW + timedelta(days=7), zone=BERLIN)
    engine.set_busy("salon", "alice", "physio", spans)
    slots = engine.slots("salon", "cut", "2026-03-16", staff_id="alice")
    reasons: dict[str, Any] = {s.start.strftime("%H:%M"): s.reason for s in slots}
    assert reasons == {f"{h:02d}:00": ("busy" if h == 10 else None) for h in range(9, 17)}
