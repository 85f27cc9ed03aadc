"""PostgreSQL against SQLite, in the same run (pytest-benchmark).

* POST throughput and p99 latency over HTTP: gunicorn with 4 workers on an SQLite file and
  on a PostgreSQL schema, 16 client threads, each request a distinct free slot;
* `Engine.slots` for one day on a PostgreSQL store holding 1,000 vs 100,000 bookings over a
  year (the day itself then holds 100x the bookings, so slot work grows), and 100,000 of
  which 99,000 belong to another site (the same day as the 1k store: the
  `(site_id, staff_id, start_ts)` index keeps the lookup flat).

    eval "$(scripts/pg_test_cluster.sh start /tmp/optimo-pg)"
    .venv/bin/pytest benchmarks/test_postgres_bench.py -s

The last test prints the ratios quoted in benchmarks/README.md. Skipped without
OPTIMO_TEST_POSTGRES_URL.
"""

from __future__ import annotations

import itertools
import json
import os
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
POSTS = 1_500
RESULTS: dict[str, float] = {}


def _schema() -> str:
    return f"bench_{uuid.uuid4().hex[:12]}"


def _drop(schema: str) -> None:
    import psycopg

    assert URL is not None
    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# -- POST throughput and p99 over HTTP, 4 workers ----------------------------------------------


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_post_throughput_with_four_workers(benchmark: Any, tmp_path: Path, store: str) -> None:
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(json.dumps(catalog()))
    schema = _schema()
    store_url = f"{URL}?schema={schema}" if store == "postgres" else None
    bodies = list(itertools.islice(booking_requests(date(2027, 6, 1)), POSTS))
    path = f"/v1/sites/{LOAD_SITE}/booking/bookings"
    measured: dict[str, Any] = {}
    try:
        with gunicorn(
            WORKERS, catalog_path, tmp_path / "b.sqlite3", tmp_path / "g.log", store_url
        ) as port:

            def run() -> None:
                lat, took, fail = run_clients(
                    lambda i: http_call(port, "POST", path, bodies[i], expect=201),
                    count=POSTS,
                    clients=CLIENTS,
                    max_seconds=300,
                )
                measured.update(latencies=sorted(lat), elapsed=took, failures=fail)

            benchmark.pedantic(run, rounds=1, iterations=1)
    finally:
        if store == "postgres":
            _drop(schema)
    latencies = measured["latencies"]
    assert measured["failures"] == 0 and len(latencies) == POSTS
    rate = POSTS / measured["elapsed"]
    p99 = latencies[min(len(latencies) - 1, round(0.99 * len(latencies)) - 1)]
    benchmark.extra_info.update(posts_per_second=round(rate, 1), p99_ms=round(p99 * 1e3, 2))
    RESULTS[f"rate {store}"] = rate
    RESULTS[f"p99 {store}"] = p99
    RESULTS[f"p50 {store}"] = latencies[len(latencies) // 2]


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
                f"POST, gunicorn {WORKERS} workers, {CLIENTS} clients, {store}: "
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
