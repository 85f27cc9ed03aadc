"""The rules lab: `simulate` against a case counted by hand, determinism, demand from CSV
and at random, and the `optimo-booking simulate` command."""

from __future__ import annotations

import io
import json
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import BERLIN
from optimo_booking import SQLiteStore, load_catalog
from optimo_booking.cli import main
from optimo_booking.demo import demo_catalog
from optimo_booking.errors import NotFound, ValidationError
from optimo_booking.schedule import working_time
from optimo_booking.simulate import (
    Report,
    Request,
    demand_from_csv,
    report_table,
    simulate,
    synthetic_demand,
)

MONDAY = date(2026, 3, 9)
SUNDAY_NOON = datetime(2026, 3, 8, 12, 0, tzinfo=BERLIN)

# ann: Monday 09:00-12:00 less a 10:00-10:30 break (150 working minutes; grid 09:00, 10:30);
# ben: Monday 09:00-11:00 (120 minutes; grid 09:00, 10:00); cat offers the service but does
# not work on Monday. `cut` is 60 minutes on a 60-minute grid with a 15-minute buffer after.
HAND_CATALOG: dict[str, Any] = {
    "sites": [
        {
            "id": "lab",
            "timezone": "Europe/Berlin",
            "services": [
                {"id": "cut", "durationMinutes": 60, "bufferAfterMinutes": 15,
                 "staffIds": ["ann", "ben", "cat"], "assignment": "first_available"}
            ],
            "staff": [
                {"id": "ann", "weeklyHours": {"mon": ["09:00-12:00"]},
                 "breaks": {"mon": ["10:00-10:30"]}},
                {"id": "ben", "weeklyHours": {"mon": ["09:00-11:00"]}},
                {"id": "cat", "weeklyHours": {"tue": ["09:00-17:00"]}},
            ],
        }
    ]
}  # fmt: skip


def ask(minutes_after: int, start: str | None, *, service: str = "cut", at: Any = None) -> Request:
    when = at or SUNDAY_NOON + timedelta(minutes=minutes_after)
    return Request(when, "lab", service, MONDAY, start)


HAND_DEMAND = [
    ask(0, "09:00"),  # ann, the first in order
    ask(1, "09:00"),  # ben
    ask(2, "09:00"),  # booked: both taken
    ask(3, "10:00"),  # off ann's grid (her break); ben's 09:00 buffer runs to 10:15: booked
    ask(4, "10:30"),  # ann
    ask(5, "09:15"),  # on nobody's grid: off_grid
    ask(6, None),  # the first free slot of Monday: none left (no_slot)
    ask(7, "09:00", service="perm"),  # no such service: not_found
    ask(0, "10:30", at=datetime(2026, 3, 9, 12, 0, tzinfo=BERLIN)),  # asked after it: past
]


def test_a_small_demand_counted_by_hand() -> None:
    report = simulate(load_catalog(HAND_CATALOG), HAND_DEMAND)
    assert report == Report(
        requests=9,
        booked=3,
        refused={"booked": 2, "no_slot": 1, "not_found": 1, "off_grid": 1, "past": 1},
        # ann: two 60-minute bookings in 150 working minutes (buffers not counted);
        # ben: one in 120; cat works no minute on Monday, so has no ratio.
        utilization={"ann": 120 / 150, "ben": 60 / 120},
        spread=2,  # ann 2, cat 0
    )
    assert report.refused_total == 6
    assert report.mean_utilization == pytest.approx((0.8 + 0.5) / 2)


def test_requests_replay_in_order_of_their_time() -> None:
    shuffled = list(reversed(HAND_DEMAND))
    assert simulate(load_catalog(HAND_CATALOG), shuffled) == simulate(
        load_catalog(HAND_CATALOG), HAND_DEMAND
    )


def test_named_staff_are_booked_or_refused_as_named() -> None:
    demand = [
        Request(SUNDAY_NOON, "lab", "cut", MONDAY, "09:00", "ben"),
        Request(SUNDAY_NOON, "lab", "cut", MONDAY, "09:00", "ben"),  # ben is taken: booked
        Request(SUNDAY_NOON, "lab", "cut", MONDAY, None, "ann"),  # ann's first free: 09:00
        Request(SUNDAY_NOON, "lab", "cut", MONDAY, "09:00", "ann"),  # taken: booked
    ]
    report = simulate(load_catalog(HAND_CATALOG), demand)
    assert (report.booked, report.refused) == (2, {"booked": 2})
    assert report.spread == 1  # ann 1, ben 1, cat 0


def test_a_group_session_counts_its_time_once() -> None:
    raw = json.loads(json.dumps(HAND_CATALOG))
    raw["sites"][0]["services"][0]["capacity"] = 3
    report = simulate(load_catalog(raw), [ask(i, "09:00") for i in range(3)])
    assert report.booked == 3
    assert report.utilization["ann"] == pytest.approx(60 / 150)
    assert report.spread == 3  # three seats for ann, none for ben or cat


def test_any_store_gives_the_same_report(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "lab.sqlite3")
    try:
        on_sqlite = simulate(load_catalog(HAND_CATALOG), HAND_DEMAND, store=store)
    finally:
        store.close()
    assert on_sqlite == simulate(load_catalog(HAND_CATALOG), HAND_DEMAND)


def test_the_catalog_may_be_a_dict_or_a_path(tmp_path: Path) -> None:
    path = tmp_path / "lab.json"
    path.write_text(json.dumps(HAND_CATALOG), "utf-8")
    expected = simulate(load_catalog(HAND_CATALOG), HAND_DEMAND)
    assert simulate(HAND_CATALOG, HAND_DEMAND) == expected
    assert simulate(path, HAND_DEMAND) == expected


def test_progress_is_reported_every_thousand_and_at_the_end() -> None:
    seen: list[tuple[int, int]] = []
    demand = [ask(i, "09:15") for i in range(2500)]
    simulate(load_catalog(HAND_CATALOG), demand, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1000, 2500), (2000, 2500), (2500, 2500)]


def test_a_request_checks_its_fields() -> None:
    with pytest.raises(ValidationError) as info:
        Request(datetime(2026, 3, 8, 12, 0), "lab", "cut", "2026-02-30")  # noqa: DTZ001
    assert info.value.details["fields"] == ["at", "date"]
    assert Request(SUNDAY_NOON, "lab", "cut", "2026-03-09").date == MONDAY


# -- synthetic demand --------------------------------------------------------------------


def test_the_same_seed_gives_the_same_demand_and_report() -> None:
    catalog = demo_catalog()
    first = synthetic_demand(catalog, per_day=30, days=5, seed=7)
    again = synthetic_demand(catalog, per_day=30, days=5, seed=7)
    other = synthetic_demand(catalog, per_day=30, days=5, seed=8)
    assert first == again
    assert first != other
    assert simulate(catalog, first) == simulate(catalog, again)


def test_synthetic_requests_ask_for_quarter_hours_in_working_time() -> None:
    catalog = demo_catalog()
    site = catalog.site("demo-salon")
    demand = synthetic_demand(catalog, per_day=50, days=7, seed=3, first_date=MONDAY)
    assert demand == sorted(demand, key=lambda r: r.at)
    assert {r.date for r in demand} <= {MONDAY + timedelta(days=i) for i in range(7)}
    for request in demand:
        start = request.start_time
        assert isinstance(start, datetime)
        assert start.minute % 15 == 0 and start.second == 0
        opens = datetime.combine(request.date, datetime.min.time(), BERLIN)
        assert opens - timedelta(days=7) <= request.at < opens
        assert request.staff_id is None
        service = site.services[request.service_id]
        begin, end = int(start.timestamp()), int(start.timestamp()) + service.duration
        assert start.date() == request.date
        assert any(
            lo <= begin and end <= hi
            for member in site.staff_for(service)
            for spans in working_time(member, request.date, request.date).periods.values()
            for lo, hi in spans
        ), f"{request} is outside every offering staff member's hours"
    # Sunday: nobody works in the demo salon, so nobody asks for it.
    assert all(r.date.weekday() != 6 for r in demand)


def test_synthetic_counts_are_poisson_with_the_mean_asked() -> None:
    catalog = demo_catalog()
    demand = synthetic_demand(catalog, per_day=100, days=60, seed=11)
    per_date: dict[date, int] = {}
    for r in demand:
        per_date[r.date] = per_date.get(r.date, 0) + 1
    counts = list(per_date.values())
    mean = sum(counts) / len(counts)
    variance = sum((c - mean) ** 2 for c in counts) / (len(counts) - 1)
    # ~51 open dates: the mean is within 4 standard errors of 100; a Poisson count's
    # variance equals its mean (within a generous factor for 51 samples).
    assert abs(mean - 100) < 4 * math.sqrt(100 / len(counts))
    assert 50 < variance < 200


def test_synthetic_demand_refuses_bad_arguments() -> None:
    catalog = demo_catalog()
    with pytest.raises(ValidationError):
        synthetic_demand(catalog, per_day=-1, days=3, seed=1)
    with pytest.raises(ValidationError):
        synthetic_demand(catalog, per_day=math.nan, days=3, seed=1)
    with pytest.raises(ValidationError):
        synthetic_demand(catalog, per_day=1, days=0, seed=1)
    with pytest.raises(NotFound):
        synthetic_demand(catalog, per_day=1, days=1, seed=1, site_id="nowhere")
    assert synthetic_demand(catalog, per_day=0, days=3, seed=1) == []


# -- demand from CSV ---------------------------------------------------------------------

GOOD_CSV = """at,site,service,date,start,staff
2026-03-08T12:00:00+01:00,lab,cut,2026-03-09,09:00,
2026-03-08T12:01:00+01:00,lab,cut,2026-03-09,2026-03-09T09:00:00+01:00,ben

2026-03-08T11:00:00Z,lab,cut,2026-03-09,,
"""


def test_csv_demand_reads_optional_cells_and_skips_blank_lines() -> None:
    demand = demand_from_csv(io.StringIO(GOOD_CSV))
    assert demand == [
        Request(datetime(2026, 3, 8, 11, 0, tzinfo=UTC), "lab", "cut", MONDAY, "09:00", None),
        Request(
            datetime(2026, 3, 8, 11, 1, tzinfo=UTC),
            "lab",
            "cut",
            MONDAY,
            "2026-03-09T09:00:00+01:00",
            "ben",
        ),
        Request(datetime(2026, 3, 8, 11, 0, tzinfo=UTC), "lab", "cut", MONDAY, None, None),
    ]


def test_csv_demand_needs_only_the_four_columns(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("\ufeffdate,service,site,at\n2026-03-09,cut,lab,2026-03-08T12:00Z\n", "utf-8")
    [request] = demand_from_csv(path)
    assert (request.start_time, request.staff_id, request.date) == (None, None, MONDAY)


def test_csv_demand_reports_every_bad_row_with_its_number() -> None:
    text = (
        "at,site,service,date,start,staff\n"
        "2026-03-08T12:00:00,lab,cut,2026-03-09,09:00,\n"  # no offset
        "2026-03-08T12:00:00Z,lab,cut,2026-03-09,9am,\n"  # bad start
        "2026-03-08T12:00:00Z,lab,cut,2026-03-09\n"  # too few fields
        "2026-03-08T12:00:00Z,lab,c u t,2026-02-30,,b@d\n"  # bad id, date, staff
    )
    with pytest.raises(ValidationError) as info:
        demand_from_csv(io.StringIO(text))
    message = info.value.message
    assert "row 1 (line 2): at: '2026-03-08T12:00:00' needs an offset" in message
    assert "row 2 (line 3): start: '9am' is not HH:MM" in message
    assert "row 3 (line 4): 4 fields, the header has 6" in message
    assert "row 4 (line 5): service: 'c u t' is not an id" in message
    assert "row 4 (line 5): date:" in message
    assert "row 4 (line 5): staff: 'b@d' is not an id" in message
    assert len(info.value.details["problems"]) == 6
    assert info.value.problem_map()["row 4 (line 5): staff"] == "'b@d' is not an id"


def test_csv_demand_header_problems() -> None:
    with pytest.raises(ValidationError) as info:
        demand_from_csv(io.StringIO("at,site,servce,date,date\n"))
    message = info.value.message
    assert "unknown column 'servce'" in message
    assert "column 'service' is required" in message
    assert "column 'date' appears twice" in message
    with pytest.raises(ValidationError, match="empty"):
        demand_from_csv(io.StringIO(""))


def test_csv_demand_from_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot read demand"):
        demand_from_csv(tmp_path / "nope.csv")


def test_a_long_list_of_bad_rows_is_cut_short() -> None:
    text = "at,site,service,date\n" + "x,lab,cut,2026-03-09\n" * 30
    with pytest.raises(ValidationError) as info:
        demand_from_csv(io.StringIO(text))
    assert "... and 10 more" in info.value.message
    assert len(info.value.details["problems"]) == 30


# -- the table and the command -----------------------------------------------------------


def test_the_table_has_a_column_per_catalog_and_a_row_per_reason() -> None:
    a = Report(requests=10, booked=7, refused={"booked": 2, "off_grid": 1},
               utilization={"x": 0.5}, spread=3)  # fmt: skip
    b = Report(requests=10, booked=9, refused={"booked": 1}, utilization={"x": 0.75}, spread=1)
    assert report_table({"a.json": a, "b.json": b}).splitlines() == [
        "                  a.json  b.json",
        "requests              10      10",
        "booked                 7       9",
        "refused                3       1",
        "  booked               2       1",
        "  off_grid             1       0",
        "mean utilization   50.0%   75.0%",
        "spread                 3       1",
    ]


def write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), "utf-8")
    return path


def test_simulate_command_compares_catalogs_on_one_demand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write(tmp_path, "base.json", HAND_CATALOG)
    variant = json.loads(json.dumps(HAND_CATALOG))
    variant["sites"][0]["services"][0]["bufferAfterMinutes"] = 0
    other = write(tmp_path, "nobuffer.json", variant)
    rows = ["at,site,service,date,start"] + [
        f"{r.at.isoformat()},lab,{r.service_id},{r.date},{r.start_time or ''}" for r in HAND_DEMAND
    ]
    demand = write(tmp_path, "demand.csv", "\n".join(rows) + "\n")
    code = main(["simulate", "--catalog", str(base), "--compare", str(other),
                 "--demand", str(demand)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"demand: {demand}, 9 requests"
    assert lines[2].split() == [str(base), str(other)]
    width = len(lines[2]) - len(lines[2].lstrip()) - 2  # the label column
    table = {line[:width].rstrip(): line[width:].split() for line in lines[3:]}
    assert table["requests"] == ["9", "9"]
    # Without the buffer, ben's 10:00 is free: one more booked, one fewer `booked` refusal.
    assert table["booked"] == ["3", "4"]
    assert table["  booked"] == ["2", "1"]
    assert table["  past"] == ["1", "1"]
    assert table["spread"] == ["2", "2"]
    code = main(["simulate", "--catalog", str(base), "--demand", str(demand), "--json"])
    body = json.loads(capsys.readouterr().out)
    assert code == 0
    assert body["demand"] == {"source": str(demand), "requests": 9}
    [report] = body["reports"]
    assert report["catalog"] == str(base)
    assert report["refused"] == {
        "booked": 2, "no_slot": 1, "not_found": 1, "off_grid": 1, "past": 1,
    }  # fmt: skip
    assert report["meanUtilization"] == pytest.approx(0.65)


def test_simulate_command_with_synthetic_demand(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", "--synthetic", "12", "--days", "3", "--seed", "5", "--json"])
    first = capsys.readouterr().out
    assert code == 0
    assert main(["simulate", "--synthetic", "12", "--days", "3", "--seed", "5", "--json"]) == 0
    assert capsys.readouterr().out == first
    body = json.loads(first)
    assert body["demand"]["firstDate"] == "2026-03-02"
    assert body["reports"][0]["requests"] == body["demand"]["requests"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--demand", "x.csv", "--seed", "3"], "--seed: only with --synthetic"),
        (["--synthetic", "-3"], "is not a number of requests a day"),
        (["--synthetic", "5", "--days", "0"], "is not a number of days"),
        (["--synthetic", "5", "--first-date", "2026-13-01"], "2026-13-01"),
        (["--synthetic", "5", "--demand", "x.csv"], "not allowed with argument"),
        ([], "one of the arguments --demand --synthetic is required"),
    ],
)
def test_simulate_command_refuses_bad_arguments(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(["simulate", *args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    assert code == 2
    assert message in capsys.readouterr().err


def test_progress_shows_on_a_terminal_for_long_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from optimo_booking import cli

    stream = io.StringIO()
    stream.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(cli.sys, "stderr", stream)
    show = cli._progress("a.json", quiet=False)
    assert show is not None
    show(1000, 10)  # a short run: nothing
    show(1000, 6000)
    show(6000, 6000)
    assert stream.getvalue() == "\ra.json: 1000/6000 requests\ra.json: 6000/6000 requests\n"
    assert cli._progress("a.json", quiet=True) is None
    stream.isatty = lambda: False  # type: ignore[method-assign]
    assert cli._progress("a.json", quiet=False) is None


def test_the_booking_operations_reasons_are_counted() -> None:
    """Limits, busy time from other calendars and starts outside working hours are refusals
    like any other, keyed by their reason."""
    from optimo_booking import Engine, MemoryStore

    raw = json.loads(json.dumps(HAND_CATALOG))
    raw["sites"][0]["staff"][1]["limits"] = {"perDay": 1}  # ben: one booking a day
    catalog = load_catalog(raw)
    store = MemoryStore()
    busy_from = datetime(2026, 3, 9, 10, 30, tzinfo=BERLIN)
    Engine(catalog, store=store).set_busy(
        "lab", "ann", "calendar", [(busy_from, busy_from + timedelta(hours=1))]
    )
    report = simulate(
        catalog,
        [
            ask(0, "09:00"),  # ann
            ask(1, "09:00"),  # ben, his one booking of the day
            ask(2, "10:00"),  # off ann's hours (her break), ben at his limit
            ask(3, "10:30"),  # ann is busy in another calendar
            ask(4, "07:00"),  # nobody works then
        ],
        store=store,
    )
    assert (report.booked, report.refused) == (
        2,
        {"busy": 1, "limit_reached": 1, "outside_hours": 1},
    )
