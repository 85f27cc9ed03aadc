"""PostgreSQL against SQLite, in the same run (pytest-benchmark).

* POST throughput and p99 latency over HTTP: gunicorn with 4 workers on an SQLite file and
  on a PostgreSQL schema, both running, driven in turn in 5 batches of 400 POSTs each by 16
  client threads, each request a distinct free slot;
* `Engine.slots` for one day on PostgreSQL stores of 1,000 and 100,000 bookings, and of
  100,000 of which 99,000 belong to another site, built like `test_booking_bench.py`'s
  SQLite files (the day asked holds the same 100 bookings in each): the
  `(site_id, staff_id, start_ts)` index keeps the lookup flat.

    eval "$(scripts/pg_test_cluster.sh start /tmp/optimo-pg)"
    .venv/bin/pytest benchmarks/test_postgres_bench.py -s

The last test prints the ratios quoted in benchmarks/README.md. Skipped without
OPTIMO_TEST_POSTGRES_URL.
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from load_api import SITE as LOAD_SITE
from load_api import (
    booking_requests,
    catalog,
    gunicorn,
    http_call,
    run_clients,
)
from optimo_booking import Engine, PostgresStore
from test_booking_bench import CATALOG, QUARTERS, QUERY_DAY, SITE, STAFF, _clock, _rows

URL = os.environ.get("OPTIMO_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(
    URL is None, reason="needs OPTIMO_TEST_POSTGRES_URL (scripts/pg_test_cluster.sh start DIR)"
)

WORKERS = 4
CLIENTS = 16
POSTS = 2_000
BATCHES = 5  # per store, alternating
RESULTS: dict[str, float] = {}


def _schema() -> str:
    return f"bench_{uuid.uuid4().hex[:12]}"


def _drop(schema: str) -> None:
    import psycopg

    assert URL is not None
    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# -- POST throughput and p99 over HTTP, 4 workers ----------------------------------------------


def test_post_throughput_with_four_workers(benchmark: Any, tmp_path: Path) -> None:
    """Both deployments run at once and are driven in turn, batch by batch, so a burst of
    load from elsewhere on the machine falls on both alike."""
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(json.dumps(catalog()))
    schema = _schema()
    bodies = list(itertools.islice(booking_requests(date(2027, 6, 1)), POSTS))
    path = f"/v1/sites/{LOAD_SITE}/booking/bookings"
    rates: dict[str, list[float]] = {"sqlite": [], "postgres": []}
    latencies: dict[str, list[float]] = {"sqlite": [], "postgres": []}
    per_batch = POSTS // BATCHES
    try:
        with (
            gunicorn(WORKERS, catalog_path, tmp_path / "b.sqlite3", tmp_path / "s.log") as lite,
            gunicorn(
                WORKERS,
                catalog_path,
                tmp_path / "unused.sqlite3",
                tmp_path / "p.log",
                f"{URL}?schema={schema}",
            ) as pg,
        ):

            def run() -> None:
                for batch in range(BATCHES):
                    for store, port in (("sqlite", lite), ("postgres", pg)):
                        first = batch * per_batch
                        lat, took, fail = run_clients(
                            lambda i, port=port, first=first: http_call(
                                port, "POST", path, bodies[first + i], expect=201
                            ),
                            count=per_batch,
                            clients=CLIENTS,
                            max_seconds=300,
                        )
                        assert fail == 0 and len(lat) == per_batch, (store, batch, fail)
                        rates[store].append(per_batch / took)
                        latencies[store].extend(lat)

            benchmark.pedantic(run, rounds=1, iterations=1)
    finally:
        _drop(schema)
    for store in ("sqlite", "postgres"):
        ordered = sorted(latencies[store])
        RESULTS[f"rate {store}"] = statistics.median(rates[store])
        RESULTS[f"p99 {store}"] = ordered[min(len(ordered) - 1, round(0.99 * len(ordered)) - 1)]
        RESULTS[f"p50 {store}"] = ordered[len(ordered) // 2]
        benchmark.extra_info[f"{store}_posts_per_second"] = round(RESULTS[f"rate {store}"], 1)
        benchmark.extra_info[f"{store}_p99_ms"] = round(RESULTS[f"p99 {store}"] * 1e3, 2)


# -- one day's slots against the store's size -----------------------------------------------------


def _filled(count: int, site_share: float = 1.0) -> tuple[PostgresStore, str]:
    schema = _schema()
    assert URL is not None
    store = PostgresStore(URL, schema=schema)
    columns = (
        "id, site_id, service_id, staff_id, branch_id, status, start_ts, end_ts, zone, "
        "local_date, customer, notes, created_at, updated_at, held, share_key"
    )
    import psycopg

    with psycopg.connect(URL) as conn, conn.cursor() as cur:
        with cur.copy(f'COPY "{schema}".bookings ({columns}) FROM STDIN') as copy:
            for row in _rows(count, site_share=site_share):
                start, end = row[6], row[7]
                held = f"[{_iso(start)},{_iso(end)})"
                copy.write_row((*row, held, row[0]))
        cur.execute(f'ANALYZE "{schema}".bookings')
    return store, schema


def _iso(ts: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).isoformat()


STORE_SIZES: dict[str, dict[str, Any]] = {
    "1k": {"count": 1_000},
    "100k": {"count": 100_000},
    "100k-99k-elsewhere": {"count": 100_000, "site_share": 0.01},
}


@pytest.fixture(scope="module", params=list(STORE_SIZES))
def sized_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    store, schema = _filled(**STORE_SIZES[request.param])
    engine = Engine(CATALOG, store=store, clock=_clock)
    engine.size = request.param  # type: ignore[attr-defined]
    yield engine
    store.close()
    _drop(schema)


def test_postgres_slots_for_one_day(benchmark: Any, sized_engine: Engine) -> None:
    slots = benchmark(sized_engine.slots, SITE, "trim", QUERY_DAY)
    assert len(slots) == QUARTERS * len(STAFF)
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        size = sized_engine.size  # type: ignore[attr-defined]
        RESULTS[f"slots {size}"] = stats.stats.median
        RESULTS[f"slots-min {size}"] = stats.stats.min


def test_report() -> None:
    """Print the ratios (run with -s); nothing to assert about a machine's speed."""
    lines = []
    for store in ("sqlite", "postgres"):
        if f"rate {store}" in RESULTS:
            lines.append(
                f"POST, gunicorn {WORKERS} workers, {CLIENTS} clients, {store}: median batch "
                f"{RESULTS[f'rate {store}']:.0f}/s, p50 {RESULTS[f'p50 {store}'] * 1e3:.1f} ms, "
                f"p99 {RESULTS[f'p99 {store}'] * 1e3:.1f} ms"
            )
    if "rate sqlite" in RESULTS and "rate postgres" in RESULTS:
        rate = RESULTS["rate postgres"] / RESULTS["rate sqlite"]
        p99 = RESULTS["p99 postgres"] / RESULTS["p99 sqlite"]
        lines.append(f"postgres / sqlite: throughput {rate:.2f}x, p99 {p99:.2f}x")
    for size in STORE_SIZES:
        if f"slots {size}" in RESULTS:
            lines.append(
                f"postgres slots for one day, {size} store: {RESULTS[f'slots {size}'] * 1e3:.2f} ms"
                f" median, {RESULTS[f'slots-min {size}'] * 1e3:.2f} ms min"
            )
    for big in ("100k", "100k-99k-elsewhere"):
        if "slots 1k" in RESULTS and f"slots {big}" in RESULTS:
            by_median = RESULTS[f"slots {big}"] / RESULTS["slots 1k"]
            by_min = RESULTS[f"slots-min {big}"] / RESULTS["slots-min 1k"]
            lines.append(f"postgres {big} / 1k: {by_median:.2f}x median, {by_min:.2f}x min")
    print("\n" + "\n".join(lines))
