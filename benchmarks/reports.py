"""Reports (``reports/``): the monthly report, and a large Excel export's memory.

- the monthly report of the benchmark month, built from the database and
  written as PDF and Excel (target: under 5 s together);
- 100,000 applications streamed from the database into a workbook
  (``reports.excel.write_workbook``, write-only mode), in a subprocess whose
  peak resident memory is read from ``/proc/self/status`` (target: under 300 MB).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.harness import Metrics, Operation
from benchmarks.kpis import Bench
from data.periods import Period
from data.settings import get_settings
from reports.builders import build_report
from reports.render import render_files

REPORT_MS = 5000.0
EXPORT_MB = 300.0
EXPORT_ROWS = 100_000
PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Runs in a fresh interpreter: its peak RSS is the export's, not the suite's.
EXPORT_SCRIPT = """
import json, sys, time
from zoneinfo import ZoneInfo
from sqlalchemy import text
from data.db import create_db_engine
from reports.excel import write_workbook
from reports.model import Column, TableSpec

url, path, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
engine = create_db_engine(url, statement_timeout_ms=300_000)
columns = (
    Column("id", "N°", "id"), Column("created_at", "Reçue le", "datetime"),
    Column("applicant", "Candidat"), Column("email", "Courriel"),
    Column("formation", "Formation"), Column("statut", "Statut"),
    Column("source", "Source"), Column("financement", "Financement"),
)
sql = text(
    "SELECT c.id, c.created_at, u.prenom || ' ' || u.nom, u.email, f.titre, c.statut, "
    "c.source, c.financement FROM candidatures c JOIN users u ON u.id = c.user_id "
    "JOIN formations f ON f.id = c.formation_id ORDER BY c.id DESC LIMIT :limit"
)
start = time.perf_counter()
with engine.connect().execution_options(stream_results=True, yield_per=2000) as connection:
    rows = (tuple(row) for row in connection.execute(sql, {"limit": limit}))
    written = write_workbook([TableSpec("Candidatures", columns, rows)], path,
                             tz=ZoneInfo("America/Guadeloupe"))
seconds = time.perf_counter() - start
# VmHWM: this process image's peak resident memory. (ru_maxrss would also
# count the parent's memory at fork time, on Linux.)
status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
peak_mb = int(status) / 1024
print(json.dumps({"rows": written["Candidatures"], "peak_mb": peak_mb, "seconds": seconds}))
"""


def monthly_report(bench: Bench) -> Metrics:
    settings = get_settings()
    report = build_report(
        bench.engine,
        settings,
        kind="monthly",
        period=Period(bench.month.start, bench.month.end),
        now=bench.now,
    )
    with tempfile.TemporaryDirectory(prefix="cipfaro-bench-") as directory:
        files = render_files(report, Path(directory), ("pdf", "xlsx"), settings.tz)
        sizes = ", ".join(f"{file.filename} {file.size // 1024} KB" for file in files)
    return Metrics(detail=sizes)


def large_export(bench: Bench) -> Metrics:
    with tempfile.TemporaryDirectory(prefix="cipfaro-bench-") as directory:
        path = Path(directory) / "export.xlsx"
        done = subprocess.run(
            [sys.executable, "-c", EXPORT_SCRIPT, bench.url, str(path), str(EXPORT_ROWS)],
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT,
            check=True,
            timeout=600,
            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        )
        outcome = json.loads(done.stdout.strip().splitlines()[-1])
        size = path.stat().st_size // 1024
    detail = (
        f"{outcome['rows']} rows, {size} KB, export {outcome['seconds']:.1f} s "
        "(wall time includes the interpreter's start)"
    )
    return Metrics(peak_mb=round(outcome["peak_mb"], 1), detail=detail)


def operations(bench: Bench) -> list[Operation]:
    return [
        Operation(
            "reports",
            "monthly report PDF + Excel",
            lambda: monthly_report(bench),
            target_ms=REPORT_MS,
            runs=3,
        ),
        Operation(
            "reports",
            f"Excel export {EXPORT_ROWS:,} rows".replace(",", " "),
            lambda: large_export(bench),
            target_mb=EXPORT_MB,
            runs=1,
        ),
    ]
