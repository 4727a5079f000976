"""Report content equals the KPI engine; the scheduler delivers it; the command line."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy import Engine

from data import formatting
from data.db import create_db_engine
from data.demo import generate
from data.errors import InvalidInput
from data.kpis import KPI_SPECS, KpiQuery, compute_kpis, placement_by_formation
from data.periods import Period
from data.schema import create_operational_tables
from data.settings import load_settings
from reports.builders import build_report
from reports.queries import overdue_applications
from reports.schedules import ScheduleInput, create_schedule
from reports.step import run_due
from tests import factories
from tests.conftest import SmtpSink
from tests.test_scheduler import mail_settings, owner

ROOT = Path(__file__).resolve().parent.parent
OCTOBER = Period(date(2026, 10, 1), date(2026, 11, 1))
FIRST_OF_NOVEMBER = datetime(2026, 11, 1, 11, 0, 20, tzinfo=UTC)  # 07:00:20 in Guadeloupe


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    generate(engine, applications=400, seed=11, today=date(2026, 11, 20))
    return engine


def _text(pdf_bytes: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf_bytes))
    return "\n".join(page.extract_text() for page in reader.pages).replace("\u00a0", " ")


def _plain(text: str) -> str:
    return text.replace("\u00a0", " ")


def test_scheduled_monthly_report_figures_equal_the_kpi_engine(
    seeded: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    settings = mail_settings(tmp_path, smtp_sink)
    spec = ScheduleInput(
        name="Direction",
        kind="monthly",
        formats=("pdf", "xlsx"),
        frequency="monthly",
        monthday=1,
        time_of_day="07:00",
        timezone="America/Guadeloupe",
        period="previous_month",
        recipients=("direction@cipfaro.fr",),
    )
    create_schedule(seeded, actor=owner(seeded), spec=spec, now=datetime(2026, 10, 20, tzinfo=UTC))
    run_due(seeded, settings, FIRST_OF_NOVEMBER)
    (message,) = smtp_sink.messages
    kpis = compute_kpis(
        seeded, KpiQuery.from_settings(settings, OCTOBER.start, OCTOBER.end), now=FIRST_OF_NOVEMBER
    )
    assert kpis.applications > 0 and kpis.revenue_invoiced > 0

    body = _plain(message.get_body(preferencelist=("plain",)).get_content())
    assert f"- Candidatures : {_plain(formatting.number(kpis.applications))}" in body
    assert f"- Taux de conversion : {_plain(formatting.percent(kpis.conversion_rate))}" in body
    assert (
        f"- Chiffre d'affaires facturé : {_plain(formatting.money(kpis.revenue_invoiced))}" in body
    )

    files = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    book = openpyxl.load_workbook(io.BytesIO(files["rapport-mensuel_2026-10-01_2026-10-31.xlsx"]))
    summary = {row[0].value: row[1].value for row in book["Synthèse"].iter_rows() if row[0].value}
    assert summary["Candidatures"] == kpis.applications
    assert summary["Chiffre d'affaires facturé"] == pytest.approx(float(kpis.revenue_invoiced))
    assert summary["Taux de conversion"] == pytest.approx(kpis.conversion_rate)
    conversion = book["Conversion par formation"]
    assert sum(r[1] for r in conversion.iter_rows(min_row=2, values_only=True)) == kpis.applications

    text = _text(files["rapport-mensuel_2026-10-01_2026-10-31.pdf"])
    assert _plain(formatting.money(kpis.revenue_invoiced)) in text

    # Placement leads with the last closed cohort: sent on 1 November, October's
    # report gives the training ends of April, over which the sheet is computed.
    assert kpis.placement_closed_shift_months == 6
    cohort = "parcours terminés du 01/04/2026 au 30/04/2026"
    closed_rate = KPI_SPECS["placement_rate_6m_closed"]
    assert f"{closed_rate.label} : " in body, body
    assert cohort.capitalize() in body, body
    assert closed_rate.label in text and cohort.capitalize() in " ".join(text.split())
    assert summary[closed_rate.label] == kpis.placement_rate_6m_closed
    sheet = [row for row in book["Insertion à 6 mois"].iter_rows(values_only=True) if any(row)]
    assert sheet[-1][0] == f"Cohorte close : {cohort}."
    closed = placement_by_formation(
        seeded, KpiQuery.from_settings(settings, date(2026, 4, 1), date(2026, 5, 1))
    )
    assert sum(row[1] for row in sheet[1:-1]) == int(closed["cohort"].sum())


def test_weekly_report_lists_every_overdue_application_with_age_and_assignee(
    engine: Engine,
) -> None:
    settings = load_settings()
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    applicant = factories.user(engine, prenom="Léa", nom="<Ravine & Fils>")
    staff = factories.user(engine, role="secretariat", prenom="Sam", nom="Secrétaire")
    formation = factories.formation(engine, titre="Aide-soignant")
    old = factories.application(
        engine,
        user_id=applicant,
        formation_id=formation,
        assigned_to=staff,
        created_at=now - timedelta(hours=72),
    )
    factories.application(
        engine, user_id=applicant, formation_id=formation, created_at=now - timedelta(hours=10)
    )
    report = build_report(
        engine,
        settings,
        kind="weekly",
        period=Period(date(2026, 11, 13), date(2026, 11, 20)),
        now=now,
    )
    figures = {f.label: f.value for f in report.figures}
    assert figures["Candidatures à traiter"] == 2
    assert figures["Candidatures en retard de traitement"] == 1
    overdue = report.tables[0].frame()
    assert overdue[["id", "applicant", "assignee"]].values.tolist() == [
        [old, "Léa <Ravine & Fils>", "Sam Secrétaire"]
    ]
    assert overdue["age_days"].tolist() == [3.0]
    assert report.has_content


def test_weekly_overdue_list_uses_the_kpi_definition(seeded: Engine) -> None:
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    query = KpiQuery(date(2026, 11, 13), date(2026, 11, 20))
    assert len(overdue_applications(seeded, query, now=now)) == (
        compute_kpis(seeded, query, now=now).backlog_overdue
    )


def test_qualiopi_report_of_a_calendar_year_is_titled_with_it(engine: Engine) -> None:
    report = build_report(
        engine,
        load_settings(),
        kind="qualiopi",
        period=Period(date(2025, 1, 1), date(2026, 1, 1)),
        now=datetime(2026, 11, 20, tzinfo=UTC),
    )
    assert report.title == "Résultats Qualiopi 2025"
    assert [f.label for f in report.key_figures] == [
        KPI_SPECS[i].label
        for i in (
            "completion_rate",
            "placement_rate_6m_closed",
            "satisfaction_avg",
            "satisfaction_rate",
        )
    ]


def test_unknown_formation_is_invalid_input(engine: Engine) -> None:
    with pytest.raises(InvalidInput, match="Formation inconnue"):
        build_report(
            engine,
            load_settings(),
            kind="monthly",
            period=OCTOBER,
            formation="x",
            now=datetime(2026, 11, 20, tzinfo=UTC),
        )


# --- Command line -------------------------------------------------------------------------------------


def _cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reports", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DATABASE_URL": url},
        timeout=180,
    )


@pytest.mark.slow
def test_cli_renders_pdf_and_excel_on_a_database_of_operational_tables_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'site.sqlite3'}"
    create_operational_tables(create_db_engine(url))  # no dashboard tables, no migrations
    done = _cli(
        "render",
        "monthly",
        "--from",
        "2026-10-01",
        "--to",
        "2026-11-01",
        "--out",
        str(tmp_path / "out"),
        url=url,
    )
    assert done.returncode == 0, done.stderr
    paths = [Path(line) for line in done.stdout.split()]
    assert [p.suffix for p in paths] == [".pdf", ".xlsx"]
    assert all(p.is_file() and p.stat().st_size > 1000 for p in paths)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("render", "monthly", "--from", "2026-13-01", "--to", "2026-11-01"), "Date invalide"),
        (("render", "monthly", "--from", "2026-11-01", "--to", "2026-10-01"), "doit précéder"),
        (("render", "yearly", "--from", "2026-10-01", "--to", "2026-11-01"), "invalid choice"),
        (
            ("render", "monthly", "--from", "2026-10-01", "--to", "2026-11-01", "--formation", "x"),
            "Formation inconnue",
        ),
        (("render", "monthly", "--to", "2026-11-01"), "required"),
    ],
)
def test_cli_bad_arguments_give_one_line_and_status_2(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    url = f"sqlite:///{tmp_path / 'site.sqlite3'}"
    create_operational_tables(create_db_engine(url))
    done = _cli(*args, "--out", str(tmp_path / "out"), url=url)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_cli_unreachable_database_gives_status_1(tmp_path: Path) -> None:
    done = _cli(
        "render",
        "weekly",
        "--from",
        "2026-10-01",
        "--to",
        "2026-11-01",
        "--out",
        str(tmp_path),
        url="postgresql+psycopg://postgres@127.0.0.1:1/x",
    )
    assert done.returncode == 1
    assert done.stderr.startswith("Erreur : ") and "Traceback" not in done.stderr
