"""``python -m benchmarks [--url URL] [--analytics-url URL] [--runs N] [--sections ...]``

Sections: kpis, breakdowns, naive, handsql, triage, reports, alerts (all by default).
With ``--analytics-url`` (a streaming replica of ``--url``), the KPI set and
the breakdowns are also measured there, each with its ratio to the primary.

Builds or reuses the benchmark database (``python -m data.demo`` when it is
missing or empty), runs ``python -m data.migrate`` and ``VACUUM ANALYZE`` on
it, then times each section; prints the table and writes the JSON file
(``benchmarks/results/<timestamp>.json`` and ``latest.json``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable

from benchmarks import alerts, handsql, naive, reports, triage
from benchmarks import kpis as kpi_ops
from benchmarks.database import DEFAULT_URL, ensure_database, migrate_and_analyze
from benchmarks.harness import (
    Measurement,
    Operation,
    add_ratios,
    machine_info,
    measure,
    table,
    write_json,
)
from benchmarks.kpis import Bench
from data.db import create_db_engine
from data.settings import get_settings

SECTIONS = ("kpis", "breakdowns", "naive", "handsql", "triage", "reports", "alerts")
DEFAULT_APPLICATIONS = 1_000_000
BUILDERS: dict[str, Callable[[Bench], list[Operation]]] = {
    "kpis": kpi_ops.operations,  # "kpis" and "breakdowns" come from the same list
    "naive": naive.operations,
    "handsql": handsql.operations,
    "triage": triage.operations,
    "reports": reports.operations,
    "alerts": alerts.operations,
}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--runs", type=int, default=5, help="warm runs per operation")
    parser.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated")
    parser.add_argument(
        "--applications",
        type=int,
        default=DEFAULT_APPLICATIONS,
        help="size of a database built from scratch",
    )
    parser.add_argument("--no-vacuum", action="store_true", help="skip VACUUM ANALYZE")
    parser.add_argument(
        "--analytics-url",
        default=os.environ.get("BENCH_ANALYTICS_URL"),
        help="a read replica of --url: the KPI sections run there too, side by side",
    )
    args = parser.parse_args(argv)
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(args.sections) - set(SECTIONS))
    if unknown or args.runs < 1:
        parser.error(f"unknown sections {unknown}" if unknown else "--runs must be >= 1")
    return args


def _operations(bench: Bench, sections: list[str]) -> list[Operation]:
    wanted: list[Operation] = []
    if {"kpis", "breakdowns"} & set(sections):
        wanted += [op for op in kpi_ops.operations(bench) if op.section in sections]
    for section in ("naive", "handsql", "triage", "reports", "alerts"):
        if section in sections:
            wanted += BUILDERS[section](bench)
    return wanted


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ["DATABASE_URL"] = args.url  # the data layer's settings follow the benchmark base
    get_settings.cache_clear()
    started = time.perf_counter()
    count = ensure_database(args.url, args.applications)
    prepare_seconds = migrate_and_analyze(args.url, vacuum=not args.no_vacuum)
    print(
        f"Base : {count:,} candidatures ; migrations et ANALYZE en {prepare_seconds:.1f} s.".replace(
            ",", " "
        ),
        file=sys.stderr,
    )
    engine = create_db_engine(args.url, statement_timeout_ms=600_000)
    bench = Bench.for_database(engine, args.url)
    machine = machine_info(args.url)
    results: list[Measurement] = []
    operations = _operations(bench, args.sections)
    if args.analytics_url:
        operations += kpi_ops.on_replica(bench, args.analytics_url, args.sections)
    for operation in operations:
        print(f"… {operation.section} / {operation.name}", file=sys.stderr, flush=True)
        results.append(measure(operation, args.runs))
    add_ratios(results)
    kpi_ops.add_replica_ratios(results)
    machine["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    options = {
        "url": args.url,
        "analytics_url": args.analytics_url,
        "runs": args.runs,
        "sections": args.sections,
        "applications": count,
        "month": [bench.month.start.isoformat(), bench.month.end.isoformat()],
        "year": [bench.year.start.isoformat(), bench.year.end.isoformat()],
        "seconds": round(time.perf_counter() - started, 1),
    }
    path = write_json(results, machine, options)
    print(table(results))
    print(
        f"\n{machine['nproc']} cœurs, {machine['memory_gb']} Go, PostgreSQL {machine['postgresql']}, "
        f"charge {machine['load_average']} -> {machine['load_average_after']} ; "
        f"mois {options['month']}, 12 mois {options['year']}.\nJSON : {path}"
    )
    for m in results:
        if m.detail:
            print(f"  {m.section}/{m.name}: {m.detail}")
    return 0 if all(m.passed is not False for m in results) else 1


if __name__ == "__main__":
    sys.exit(main())
