"""Print the target ratios from a pytest-benchmark JSON file (`--benchmark-json`).

    .venv/bin/python benchmarks/ratios.py bench.json [--staff 100 --bookings 5 --days 31]

Targets (issue): ours at most 2.5x the object-building baseline, at least 15x faster than
the portion approach and at least 100x faster than slotify-scheduling (slotify may be
measured at 7 days instead of 31 when it is too slow; the script says which it used).
Ratios use each benchmark's minimum and, in brackets, its median.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

IMPLEMENTATIONS = ("ours", "baseline", "naive", "portion", "slotify")
SLOTIFY_FALLBACK_DAYS = 7


def timings(report: dict[str, Any]) -> dict[tuple[str, int, int, int], dict[str, float]]:
    """`(implementation, staff, bookings, days) -> stats` for every benchmark in the report."""
    found = {}
    for bench in report.get("benchmarks", []):
        name = bench["name"].split("[")[0].removeprefix("test_")
        params = bench.get("params") or {}
        if name not in IMPLEMENTATIONS or not {"staff", "bookings", "days"} <= params.keys():
            continue
        key = (name, int(params["staff"]), int(params["bookings"]), int(params["days"]))
        found[key] = bench["stats"]
    return found


def ratio_line(label: str, top: dict[str, float], bottom: dict[str, float], goal: str) -> str:
    """`label: min-ratio (median-ratio)  goal`."""
    by_min = top["min"] / bottom["min"]
    by_median = top["median"] / bottom["median"]
    return f"{label:<28} {by_min:8.2f}x ({by_median:.2f}x)   target {goal}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="file written by --benchmark-json")
    parser.add_argument("--staff", type=int, default=100)
    parser.add_argument("--bookings", type=int, default=5)
    parser.add_argument("--days", type=int, default=31)
    args = parser.parse_args(argv)

    stats = timings(json.loads(args.report.read_text(encoding="utf-8")))
    case = (args.staff, args.bookings, args.days)
    print(f"case: {args.staff} staff x {args.bookings} bookings per weekday x {args.days} days")
    for name in IMPLEMENTATIONS:
        for days in sorted({args.days, SLOTIFY_FALLBACK_DAYS}):
            got = stats.get((name, args.staff, args.bookings, days))
            if got is not None and (days == args.days or name in {"ours", "slotify"}):
                print(
                    f"  {name:<9} {days:>2} days  min {got['min'] * 1e3:10.1f} ms"
                    f"  median {got['median'] * 1e3:10.1f} ms  rounds {got['rounds']}"
                )
    ours = stats.get(("ours", *case))
    if ours is None:
        print("no measurement of ours for this case", file=sys.stderr)
        return 1
    baseline = stats.get(("baseline", *case))
    if baseline:
        print(ratio_line("ours / baseline", ours, baseline, "<= 2.5"))
    naive = stats.get(("naive", *case))
    if naive:
        print(ratio_line("naive / ours", naive, ours, "(for information)"))
    portion = stats.get(("portion", *case))
    if portion:
        print(ratio_line("portion / ours", portion, ours, ">= 15"))
    slotify = stats.get(("slotify", *case))
    if slotify:
        print(ratio_line("slotify / ours", slotify, ours, ">= 100"))
    fallback = (args.staff, args.bookings, SLOTIFY_FALLBACK_DAYS)
    slotify_short, ours_short = stats.get(("slotify", *fallback)), stats.get(("ours", *fallback))
    if args.days != SLOTIFY_FALLBACK_DAYS and slotify_short and ours_short:
        label = f"slotify / ours at {SLOTIFY_FALLBACK_DAYS} days"
        print(ratio_line(label, slotify_short, ours_short, ">= 100"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
