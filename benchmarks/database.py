"""The benchmark database: build it or reuse it, then bring it up to date.

"Build or reuse": a database that already holds applications is reused as
it is (whatever their number: the count is printed and recorded); a missing
or empty one is filled with ``python -m data.demo``. A demo load still
running on it (another process) is waited for, never doubled. Then
``python -m data.migrate`` (our indexes and the KPI summary) and ``VACUUM
ANALYZE``, which autovacuum would have done on a live database: fresh
statistics and the visibility map that index-only scans rely on.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

from benchmarks.harness import libpq_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cipfaro_bench"
LOAD_WAIT_SECONDS = 1800


def _server_url(url: str) -> tuple[str, str]:
    """(URL of the server's ``postgres`` database, name of the benchmark database)."""
    info = psycopg.conninfo.conninfo_to_dict(libpq_url(url))
    name = str(info.get("dbname") or "cipfaro_bench")
    return psycopg.conninfo.make_conninfo(libpq_url(url), dbname="postgres"), name


def _create_if_missing(url: str) -> None:
    admin, name = _server_url(url)
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if exists.fetchone() is None:
            print(f"Création de la base {name}…", file=sys.stderr)
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _loading(url: str) -> bool:
    """True while another session writes the demo data (COPY, TRUNCATE) into the base."""
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state = 'active' "
            "AND (query ILIKE 'COPY %%' OR query ILIKE 'TRUNCATE %%')"
        ).fetchone()
    return bool(row and row[0])


def application_count(url: str) -> int:
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        table = connection.execute("SELECT to_regclass('public.candidatures')").fetchone()
        if table is None or table[0] is None:
            return 0
        row = connection.execute("SELECT count(*) FROM candidatures").fetchone()
    return int(row[0]) if row else 0


def _run(args: list[str], url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run(args, cwd=PROJECT_ROOT, env=env, check=True)


def ensure_database(url: str, applications: int) -> int:
    """Build (demo data) or reuse the database; returns how many applications it holds."""
    _create_if_missing(url)
    waited = 0.0
    while _loading(url):
        if waited == 0:
            print("Un chargement de démonstration est en cours : attente…", file=sys.stderr)
        if waited > LOAD_WAIT_SECONDS:
            raise RuntimeError("the demo load running on the benchmark database never ended")
        time.sleep(10)
        waited += 10
    count = application_count(url)
    if count == 0:
        print(f"Base vide : génération de {applications} candidatures…", file=sys.stderr)
        command = [sys.executable, "-m", "data.demo", "--url", url]
        _run([*command, "--applications", str(applications)], url)
        count = application_count(url)
    return count


def migrate_and_analyze(url: str, *, vacuum: bool = True) -> float:
    """``python -m data.migrate`` then ``VACUUM ANALYZE``; returns the seconds taken."""
    start = time.perf_counter()
    _run([sys.executable, "-m", "data.migrate"], url)
    if vacuum:
        with psycopg.connect(libpq_url(url), autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
    return time.perf_counter() - start
