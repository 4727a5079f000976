"""``python -m data.kpis``: run as a subprocess, as the centre's scripts will."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, inspect, select, text

from data.db import create_db_engine
from data.kpis import KPI_IDS, KpiQuery, compute_kpis
from data.kpis.query import utc_now
from data.kpis.summary import FACTS, STATE
from data.schema import create_operational_tables
from data.settings import PROJECT_ROOT, Settings
from tests.conftest import _admin_engine, _drop_database, _url_for, require_postgresql
from tests.kpi_data import EDGE_SLUG, SeededDatabase, build_dataset, seeded_database

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/x"


def run_cli(
    *args: str, database_url: str | None, **settings: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
    env.update({"TIMEZONE": "America/Guadeloupe", "TRIAGE_SLA_HOURS": "48", **settings})
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "data.kpis", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )


def assert_short_error(result: subprocess.CompletedProcess[str], status: int) -> None:
    assert result.returncode == status, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("python -m data.kpis: erreur : ")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request: pytest.FixtureRequest) -> Iterator[SeededDatabase]:
    with seeded_database(request, request.param) as database:
        yield database


CASES = {
    "first-half-2026": ("2026-01-01", "2026-07-01", None),
    "edge-formation": ("2026-01-01", "2027-01-01", EDGE_SLUG),
    "empty-period": ("2030-01-01", "2030-02-01", None),
}


@pytest.mark.parametrize(("start", "end", "formation"), CASES.values(), ids=CASES.keys())
def test_json_output_equals_compute_kpis(
    seeded: SeededDatabase, start: str, end: str, formation: str | None
) -> None:
    args = ["--from", start, "--to", end, "--json"] + (
        ["--formation", formation] if formation else []
    )
    result = run_cli(*args, database_url=seeded.url)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    query = KpiQuery(date.fromisoformat(start), date.fromisoformat(end), formation=formation)
    closed_from, closed_to = query.placement_closed_bounds(utc_now())
    assert document["period"] == {
        "from": start,
        "to": end,
        "timezone": "America/Guadeloupe",
        "formation": formation,
        "placement_closed": {"from": closed_from.isoformat(), "to": closed_to.isoformat()},
    }
    assert list(document["kpis"]) == list(KPI_IDS)
    assert document["kpis"] == compute_kpis(seeded.engine, query).as_json_dict()


def test_the_command_leaves_the_dashboard_summary_untouched(seeded: SeededDatabase) -> None:
    """It only reads: the KPI summary, which a screen refreshes before use, is not written."""
    with seeded.engine.begin() as connection:
        connection.execute(delete(FACTS))
        connection.execute(delete(STATE))
    result = run_cli(
        "--from", "2026-01-01", "--to", "2026-07-01", "--json", database_url=seeded.url
    )
    assert result.returncode == 0, result.stderr
    with seeded.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(STATE)).scalar_one() == 0
        assert connection.execute(select(func.count()).select_from(FACTS)).scalar_one() == 0
    query = KpiQuery(date(2026, 1, 1), date(2026, 7, 1))
    assert json.loads(result.stdout)["kpis"] == compute_kpis(seeded.engine, query).as_json_dict()


def test_json_types_are_integers_numbers_booleans_or_null(seeded: SeededDatabase) -> None:
    result = run_cli(
        "--from", "2026-01-01", "--to", "2026-07-01", "--json", database_url=seeded.url
    )
    kpis: dict[str, Any] = json.loads(result.stdout)["kpis"]
    assert type(kpis["applications"]) is int and kpis["applications"] > 0
    assert type(kpis["revenue_invoiced"]) is float and kpis["revenue_invoiced"] > 0
    assert type(kpis["placement_window_complete"]) is bool
    assert all(type(v) in (int, float, bool, type(None)) for v in kpis.values())
    assert all(
        type(kpis[k]) is int for k in ("backlog_new", "quotes_sent", "completions", "offers_open")
    )


def test_time_zone_and_sla_come_from_the_settings(seeded: SeededDatabase) -> None:
    result = run_cli(
        "--from",
        "2026-01-01",
        "--to",
        "2026-07-01",
        "--json",
        database_url=seeded.url,
        TIMEZONE="Europe/Paris",
        TRIAGE_SLA_HOURS="2000",
    )
    document = json.loads(result.stdout)
    assert document["period"]["timezone"] == "Europe/Paris"
    query = KpiQuery(date(2026, 1, 1), date(2026, 7, 1), timezone="Europe/Paris", sla_hours=2000)
    assert document["kpis"] == compute_kpis(seeded.engine, query).as_json_dict()


def test_without_json_prints_a_french_table(seeded: SeededDatabase) -> None:
    result = run_cli("--from", "2026-01-01", "--to", "2026-07-01", database_url=seeded.url)
    assert result.returncode == 0, result.stderr
    assert "Indicateurs du 01/01/2026 au 01/07/2026" in result.stdout
    lines = result.stdout.splitlines()
    assert any(line.startswith("Candidatures ") for line in lines)
    assert any(
        line.startswith("Chiffre d'affaires facturé") and line.endswith("\u00a0€") for line in lines
    )
    assert any(line.startswith("Taux de conversion") and line.endswith("\u00a0%") for line in lines)
    closed_from, closed_to = KpiQuery(date(2026, 1, 1), date(2026, 7, 1)).placement_closed_bounds(
        utc_now()
    )
    closed_line = next(line for line in lines if line.startswith("Insertion à 6 mois définitive"))
    assert f"du {closed_from:%d/%m/%Y} au {closed_to - timedelta(days=1):%d/%m/%Y}" in closed_line


@pytest.mark.parametrize(
    "args",
    [
        ["--from", "2026-02-30", "--to", "2026-07-01"],
        ["--from", "2026/01/01", "--to", "2026-07-01"],
        ["--from", "20260101", "--to", "2026-07-01"],
        ["--from", "2026-07-01", "--to", "2026-07-01"],
        ["--from", "2026-07-02", "--to", "2026-07-01"],
        ["--from", "2026-01-01"],
        ["--from", "2026-01-01", "--to", "2026-07-01", "--bogus"],
    ],
    ids=[
        "impossible-date",
        "slashes",
        "basic-format",
        "empty-period",
        "reversed",
        "missing-to",
        "unknown-option",
    ],
)
def test_bad_arguments_exit_2_without_touching_the_database(args: list[str]) -> None:
    assert_short_error(run_cli(*args, "--json", database_url=UNREACHABLE), 2)


def test_unknown_formation_exits_2(seeded: SeededDatabase) -> None:
    result = run_cli(
        "--from",
        "2026-01-01",
        "--to",
        "2026-07-01",
        "--formation",
        "n-existe-pas",
        "--json",
        database_url=seeded.url,
    )
    assert_short_error(result, 2)
    assert "n-existe-pas" in result.stderr


@pytest.mark.parametrize(
    ("settings", "extra"),
    [
        ({"DATABASE_URL": UNREACHABLE}, []),
        ({"DATABASE_URL": UNREACHABLE}, ["--formation", "x"]),
        ({"DATABASE_URL": "mysql://root@localhost/x"}, []),
        ({"DATABASE_URL": "sqlite:////nonexistent-dir/none.sqlite3"}, []),
        ({"TIMEZONE": "Mars/Olympus"}, []),
    ],
    ids=[
        "unreachable",
        "unreachable-with-formation",
        "unsupported-url",
        "missing-sqlite-file",
        "bad-timezone",
    ],
)
def test_database_or_settings_problems_exit_1(settings: dict[str, str], extra: list[str]) -> None:
    url = settings.pop("DATABASE_URL", UNREACHABLE)
    result = run_cli(
        "--from", "2026-01-01", "--to", "2026-07-01", "--json", *extra, database_url=url, **settings
    )
    assert_short_error(result, 1)
    assert not Path("/nonexistent-dir").exists()


@pytest.fixture(params=["sqlite", "postgresql"])
def operational_only_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with the website's tables only: no migrations, no dashboard tables."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'website.sqlite3'}"
        return
    require_postgresql()
    name = f"cipfaro_ops_{uuid.uuid4().hex[:12]}"
    with _admin_engine().connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield _url_for(name)
    _drop_database(name)


def test_works_on_a_database_with_only_the_operational_tables(operational_only_url: str) -> None:
    engine: Engine = create_db_engine(operational_only_url)
    try:
        create_operational_tables(engine)
        build_dataset(engine, size=60)
        assert not [
            t for t in inspect(engine).get_table_names() if t.startswith(("dashboard_", "alembic"))
        ]
        result = run_cli(
            "--from",
            "2025-01-01",
            "--to",
            "2028-01-01",
            "--json",
            database_url=operational_only_url,
        )
        assert result.returncode == 0, result.stderr
        query = KpiQuery(date(2025, 1, 1), date(2028, 1, 1))
        assert json.loads(result.stdout)["kpis"] == compute_kpis(engine, query).as_json_dict()
        assert json.loads(result.stdout)["kpis"]["applications"] > 60
    finally:
        engine.dispose()
