"""Print the slot targets as a Markdown table from pytest-benchmark JSON files.

    .venv/bin/python benchmarks/ratios.py slots.json paths.json store.json

Each file is one `--benchmark-json` report (the ratios compare benchmarks of one run, so
each ratio's two sides always come from the same file). Ratios use each benchmark's minimum
and, in brackets, its median; a "paired" ratio times its two sides alternately, round by
round, and gives the ratio of the two minimums and, in brackets, the median of the per-round
ratios, which a busy machine disturbs least. Targets (issue 12):

* `Engine.slots_between`, 100 staff x 7 and x 31 days x 5 bookings a working day: at most
  1.2x the answer floor (`floor`: only the values of each slot; see `slot_workload.floor`);
* at least 10x faster than the `portion` approach on both;
* GET slots over HTTP (in-process WSGI, JSON included) at most 2x the engine call, 100 staff
  for one day;
* `Engine.slots` for one day on SQLite with 100k stored bookings within 1.5x of 1k;
* the peak memory of a 100-staff month view at most 2x the answer's own size.

20 bookings a day and slotify-scheduling (where it finishes) are shown for information.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

IMPLEMENTATIONS = ("engine", "ours", "floor", "baseline", "naive", "portion", "slotify")
TARGET_STAFF = 100
_SIZE = re.compile(r"\[(.+)\]$")

Stats = dict[str, float]


def slot_timings(report: dict[str, Any]) -> dict[tuple[str, int, int, int], Stats]:
    """`(implementation, staff, bookings, days) -> stats` of the slot-generation grid."""
    found = {}
    for bench in report.get("benchmarks", []):
        name = bench["name"].split("[")[0].removeprefix("test_")
        params = bench.get("params") or {}
        if name not in IMPLEMENTATIONS or not {"staff", "bookings", "days"} <= params.keys():
            continue
        key = (name, int(params["staff"]), int(params["bookings"]), int(params["days"]))
        found[key] = bench["stats"]
    return found


def named(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Benchmarks by their full name (`test_x[param]`)."""
    return {bench["name"]: bench for bench in report.get("benchmarks", [])}


def ratio(top: Stats, bottom: Stats) -> tuple[float, float]:
    """`top / bottom` by minimum and by median."""
    return top["min"] / bottom["min"], top["median"] / bottom["median"]


def row(what: str, case: str, got: tuple[float, float], goal: str, met: bool | None) -> str:
    verdict = "-" if met is None else ("met" if met else "**not met**")
    return f"| {what} | {case} | {got[0]:.2f}x ({got[1]:.2f}x) | {goal} | {verdict} |"


def paired_row(what: str, case: str, info: dict[str, Any], goal: float | None) -> str:
    """A ratio timed side by side: the ratio of the minimums, then the median round's ratio."""
    got = info["ratio_of_minimums"], info["median_round_ratio"]
    if goal is None:
        return row(what, case, got, "(information)", None)
    return row(what, case, got, f"<= {goal}", got[0] <= goal)


def slot_rows(
    stats: dict[tuple[str, int, int, int], Stats], by_name: dict[str, dict[str, Any]]
) -> Iterator[str]:
    for bookings in (5, 20):
        for days in (7, 31):
            case = f"{TARGET_STAFF} staff x {days} days x {bookings} bookings"
            get = {
                name: stats.get((name, TARGET_STAFF, bookings, days)) for name in IMPLEMENTATIONS
            }
            floor, engine, ours = get["floor"], get["engine"], get["ours"]
            target = bookings == 5
            pair = by_name.get(f"test_engine_over_floor[{TARGET_STAFF}staff-{bookings}bk-{days}d]")
            if pair:
                info = pair["extra_info"]
                yield paired_row(
                    "`Engine.slots_between` / answer floor, paired",
                    case,
                    info,
                    1.2 if target else None,
                )
                yield (
                    f"| of which: `generate_slots` / floor, the store's window read | {case} | "
                    f"({info['generate_over_floor']:.2f}x), {info['store_min_ms']:.1f} ms "
                    f"of {info['engine_min_ms']:.1f} ms | | |"
                )
            if engine and floor:
                # Timed apart, so a busy machine shifts it: the verdict is the paired row's.
                got = ratio(engine, floor)
                verdict = target and not pair
                yield row(
                    "`Engine.slots_between` / answer floor, timed apart",
                    case,
                    got,
                    "<= 1.2" if verdict else "(information)",
                    got[0] <= 1.2 if verdict else None,
                )
            if ours and floor:
                yield row(
                    "`generate_slots` / answer floor",
                    case,
                    ratio(ours, floor),
                    "(information)",
                    None,
                )
            if get["portion"] and engine:
                got = ratio(get["portion"], engine)
                yield row("`portion` / engine", case, got, ">= 10", got[0] >= 10)
            if get["slotify"] and engine:
                got = ratio(get["slotify"], engine)
                yield row("slotify-scheduling / engine", case, got, "(information)", None)


def path_rows(by_name: dict[str, dict[str, Any]]) -> Iterator[str]:
    pair = by_name.get("test_http_over_engine")
    if pair:
        yield paired_row(
            "GET slots / `Engine.slots`, paired", "100 staff x 1 day", pair["extra_info"], 2
        )
    http, engine = by_name.get("test_http_day"), by_name.get("test_engine_day")
    if http and engine and not pair:
        got = ratio(http["stats"], engine["stats"])
        yield row(
            "GET slots (WSGI, JSON) / `Engine.slots`", "100 staff x 1 day", got, "<= 2", got[0] <= 2
        )
    floor = by_name.get("test_floor_day")
    if engine and floor:
        got = ratio(engine["stats"], floor["stats"])
        yield row("`Engine.slots` / answer floor", "100 staff x 1 day", got, "(information)", None)
    small = by_name.get("test_slots_for_one_day[1k]")
    for size in ("100k", "100k-99k-elsewhere"):
        big = by_name.get(f"test_slots_for_one_day[{size}]")
        if small and big:
            got = ratio(big["stats"], small["stats"])
            case = "SQLite, one day, 10 staff" + (
                ", 99k rows of another site" if "else" in size else ""
            )
            yield row(
                f"day lookup {size.split('-')[0]} / 1k bookings", case, got, "<= 1.5", got[0] <= 1.5
            )
    memory = by_name.get("test_month_view_memory")
    if memory:
        info = memory["extra_info"]
        peak, held = info["peak_bytes"], info["answer_bytes"]
        over = peak / held
        yield (
            f"| peak memory / answer size | 100 staff x 31 days, {info['slots']} slots | "
            f"{over:.2f}x ({peak / 1e6:.1f} MB / {held / 1e6:.1f} MB) "
            f"| <= 2 | {'met' if over <= 2 else '**not met**'} |"
        )


def times_table(stats: dict[tuple[str, int, int, int], Stats]) -> Iterator[str]:
    yield "| case | " + " | ".join(IMPLEMENTATIONS) + " |"
    yield "|---|" + "---:|" * len(IMPLEMENTATIONS)
    for bookings in (5, 20):
        for days in (7, 31):
            cells = []
            for name in IMPLEMENTATIONS:
                got = stats.get((name, TARGET_STAFF, bookings, days))
                cells.append(f"{got['min'] * 1e3:.1f}" if got else "-")
            yield f"| {TARGET_STAFF} x {days} d x {bookings} bk | " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", type=Path, nargs="+", help="files written by --benchmark-json")
    args = parser.parse_args(argv)
    rows: list[str] = []
    times: list[str] = []
    for path in args.reports:
        report = json.loads(path.read_text(encoding="utf-8"))
        stats, by_name = slot_timings(report), named(report)
        rows += slot_rows(stats, by_name)
        rows += path_rows(by_name)
        if stats:
            times += times_table(stats)
    if not rows:
        print("no target measurements in these reports", file=sys.stderr)
        return 1
    print("| ratio | case | by min (median) | target | |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    if times:
        print("\nMinimum times in ms:\n")
        print("\n".join(times))
    return 0


if __name__ == "__main__":
    sys.exit(main())
