"""Timing, the results table and the JSON file of the benchmark suite.

An :class:`Operation` is timed by :func:`measure`: one cold run (the first
call after the process started, whatever the database's own caches hold),
then ``runs`` warm runs whose median is the figure compared with the target.
Operations that measure memory return a :class:`Metrics` with ``peak_mb``.
Operations of the naive and hand-SQL sections name the operation of the
engine they redo (``compares``), so the table shows both ratios in the same
run.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SAME_FIGURES = "same figures as the engine"


@dataclass(frozen=True)
class Metrics:
    """What an operation may report besides its time (e.g. a subprocess's peak memory)."""

    peak_mb: float | None = None
    detail: str | None = None
    database_ms: float | None = None  # time spent executing statements, when measured


@dataclass(frozen=True)
class Operation:
    """One thing to time. ``target_ms`` applies to the warm median; ``target_mb`` to
    the peak memory; ``target_database_ms`` to the warm median of the database time
    the operation reports (:attr:`Metrics.database_ms`); ``compares``: the engine
    operation a baseline redoes."""

    section: str
    name: str
    run: Callable[[], Any]
    target_ms: float | None = None
    target_mb: float | None = None
    target_database_ms: float | None = None
    compares: str | None = None
    runs: int | None = None  # overrides the suite's --runs (slow baselines)


@dataclass
class Measurement:
    section: str
    name: str
    cold_ms: float
    warm_ms: float
    warm_runs_ms: list[float]
    target_ms: float | None
    target_mb: float | None
    peak_mb: float | None
    detail: str | None
    compares: str | None
    error: str | None = None
    database_ms: float | None = None
    target_database_ms: float | None = None
    vs_naive: float | None = None
    vs_handsql: float | None = None
    passed: bool | None = field(default=None)

    def judge(self) -> None:
        """``passed``: every target met (None when the operation has no target)."""
        if self.error is not None:
            self.passed = False
            return
        checks = []
        if self.target_ms is not None:
            checks.append(self.warm_ms < self.target_ms)
        if self.target_mb is not None and self.peak_mb is not None:
            checks.append(self.peak_mb < self.target_mb)
        if self.target_database_ms is not None:
            checks.append(
                self.database_ms is not None and self.database_ms < self.target_database_ms
            )
        self.passed = all(checks) if checks else None


def baseline_operations(
    section: str,
    kpi_set: Callable[[str], Any],
    conversion: Callable[[], Any],
    revenue: Callable[[], Any],
    runs: int,
) -> list[Operation]:
    """The engine operations a baseline redoes, under the engine's names (for the ratios):
    the KPI set (``kpi_set("month")``, ``kpi_set("year")``), conversion by formation and
    revenue by month over 12 months."""
    redone = {
        "kpi_set_1m": lambda: kpi_set("month"),
        "kpi_set_12m": lambda: kpi_set("year"),
        "conversion_by formation 12m": conversion,
        "revenue_by month 12m": revenue,
    }
    return [Operation(section, name, run, compares=name, runs=runs) for name, run in redone.items()]


def _timed(run: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = run()
    return (time.perf_counter() - start) * 1000, value


def measure(operation: Operation, runs: int) -> Measurement:
    """The cold run, then the median of ``runs`` warm runs (``operation.runs`` if set)."""
    count = operation.runs if operation.runs is not None else runs
    error = None
    peaks: list[float] = []
    database: list[float] = []  # warm runs only
    detail = None
    cold, warm = float("nan"), []
    try:
        cold, value = _timed(operation.run)
        peaks, detail = _metrics(value, peaks, detail)
        for _ in range(count):
            elapsed, value = _timed(operation.run)
            warm.append(elapsed)
            peaks, detail = _metrics(value, peaks, detail)
            if isinstance(value, Metrics) and value.database_ms is not None:
                database.append(value.database_ms)
    except Exception as exc:  # noqa: BLE001 - a failing operation is reported, the suite goes on
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    result = Measurement(
        section=operation.section,
        name=operation.name,
        cold_ms=round(cold, 1),
        warm_ms=round(statistics.median(warm), 1) if warm else float("nan"),
        warm_runs_ms=[round(value, 1) for value in warm],
        target_ms=operation.target_ms,
        target_mb=operation.target_mb,
        peak_mb=max(peaks) if peaks else None,
        detail=detail,
        compares=operation.compares,
        error=error,
        database_ms=round(statistics.median(database), 1) if database else None,
        target_database_ms=operation.target_database_ms,
    )
    result.judge()
    return result


def _metrics(value: Any, peaks: list[float], detail: str | None) -> tuple[list[float], str | None]:
    if isinstance(value, Metrics):
        if value.peak_mb is not None:
            peaks = [*peaks, value.peak_mb]
        detail = value.detail or detail
    return peaks, detail


def add_ratios(results: Sequence[Measurement]) -> None:
    """On each engine operation: naive time / its time, hand-SQL time / its time."""
    by_name = {(m.section, m.name): m for m in results}
    for baseline in results:
        if baseline.compares is None or baseline.error is not None:
            continue
        engine_op = next(
            (
                m
                for (section, name), m in by_name.items()
                if name == baseline.compares and section not in ("naive", "handsql")
            ),
            None,
        )
        if engine_op is None or not engine_op.warm_ms or engine_op.error is not None:
            continue
        ratio = round(baseline.warm_ms / engine_op.warm_ms, 1)
        if baseline.section == "naive":
            engine_op.vs_naive = ratio
        elif baseline.section == "handsql":
            engine_op.vs_handsql = ratio


# --- Output -------------------------------------------------------------------------

HEADERS = ("section", "operation", "cold ms", "warm ms", "target", "result", "x naive", "x SQL")


def _target_text(m: Measurement) -> str:
    parts = []
    if m.target_ms is not None:
        parts.append(f"< {m.target_ms:g} ms")
    if m.target_mb is not None:
        parts.append(f"< {m.target_mb:g} MB")
    if m.target_database_ms is not None:
        parts.append(f"< {m.target_database_ms:g} ms in the database")
    return ", ".join(parts) or "-"


def _result_text(m: Measurement) -> str:
    if m.error is not None:
        return "ERROR"
    verdict = {True: "pass", False: "FAIL", None: ""}[m.passed]
    if m.peak_mb is not None:
        verdict = f"{verdict} ({m.peak_mb:.0f} MB)".strip()
    if m.database_ms is not None:
        verdict = f"{verdict} ({m.database_ms:,.0f} ms in the database)".replace(",", " ").strip()
    return verdict or "-"


def table(results: Sequence[Measurement]) -> str:
    """The results as a plain text table."""
    rows = [HEADERS]
    for m in results:
        rows.append(
            (
                m.section,
                m.name,
                f"{m.cold_ms:,.0f}".replace(",", " "),
                f"{m.warm_ms:,.0f}".replace(",", " "),
                _target_text(m),
                _result_text(m),
                "-" if m.vs_naive is None else f"{m.vs_naive:g}x",
                "-" if m.vs_handsql is None else f"{m.vs_handsql:g}x",
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(HEADERS))]
    lines = []
    for index, row in enumerate(rows):
        cells = [
            str(cell).ljust(w) if i < 2 else str(cell).rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells))
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    errors = [f"  {m.section}/{m.name}: {m.error}" for m in results if m.error]
    return "\n".join(lines + (["", "Errors:", *errors] if errors else []))


def machine_info(url: str) -> dict[str, Any]:
    """Cores, memory, load, PostgreSQL version and its relevant settings."""
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    with psycopg.connect(libpq_url(url)) as connection:
        info["postgresql"] = connection.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        for setting in ("shared_buffers", "work_mem", "max_parallel_workers_per_gather"):
            info[setting] = connection.execute(f"SHOW {setting}").fetchone()[0]  # type: ignore[index]
    return info


def write_json(
    results: Sequence[Measurement], machine: dict[str, Any], options: dict[str, Any]
) -> Path:
    """``results/<timestamp>.json`` and ``results/latest.json``; returns the first."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    document = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "options": options,
        "results": [_json_safe(asdict(m)) for m in results],
    }
    text = json.dumps(document, indent=2, ensure_ascii=False)
    path = RESULTS_DIR / f"{stamp}.json"
    path.write_text(text, encoding="utf-8")
    (RESULTS_DIR / "latest.json").write_text(text, encoding="utf-8")
    return path


def _json_safe(record: dict[str, Any]) -> dict[str, Any]:
    return {
        key: None if isinstance(value, float) and value != value else value  # NaN -> null
        for key, value in record.items()
    }


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://``) as libpq understands it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)
