"""One specification per KPI id (``data.kpis.specs``): its texts, its changes, and
the same label and value text on a screen card, in the PDF, in the workbook and
on the command line."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy import Engine

from data.demo import generate
from data.kpis import KPI_IDS, KPI_SPECS, KpiQuery, compute_kpis
from data.kpis.__main__ import render_table
from data.periods import Period
from data.settings import load_settings
from reports.builders import build_report, kpi_figure
from reports.render import render_files

GUADELOUPE = ZoneInfo("America/Guadeloupe")


def test_every_kpi_id_has_one_specification_with_its_own_label() -> None:
    assert tuple(KPI_SPECS) == KPI_IDS
    labels = [spec.label for spec in KPI_SPECS.values()]
    assert len(set(labels)) == len(labels)
    assert all(spec.kind == "rate" for i, spec in KPI_SPECS.items() if i.endswith("_rate"))


@pytest.mark.parametrize(
    ("kpi_id", "current", "previous", "expected"),
    [
        ("applications", 212, 187, "+25 (+13,4\u00a0%)"),
        ("applications", 10, 16, "\u22126 (\u221237,5\u00a0%)"),
        ("applications", 5, 0, "+5"),
        ("applications", 7, 7, "stable"),
        ("revenue_invoiced", Decimal("49380.00"), Decimal("29380.00"), None),
        ("conversion_rate", 0.455, 0.593, "\u221213,8\u00a0pts"),
        ("conversion_rate", 0.5001, 0.5, "stable"),
        ("satisfaction_avg", 4.3, 4.0, "+0,3"),
        ("satisfaction_avg", 4.12, 4.14, "stable"),
        ("median_first_response_hours", 51.0, 27.0, "+1\u00a0j"),
        ("conversion_rate", None, 0.5, None),
        ("conversion_rate", 0.5, None, None),
        ("backlog_new", 12, 4, None),  # as of now: never compared
    ],
)
def test_change_texts(kpi_id: str, current: Any, previous: Any, expected: str | None) -> None:
    change = KPI_SPECS[kpi_id].change(current, previous)
    if kpi_id == "revenue_invoiced":  # full and compact amounts
        assert change is not None and change.text == "+20\u00a0000,00\u00a0€ (+68,1\u00a0%)"
        compact = KPI_SPECS[kpi_id].change(current, previous, compact=True)
        assert compact is not None and compact.text == "+20\u00a0000\u00a0€ (+68,1\u00a0%)"
        return
    assert (None if change is None else change.text) == expected


@pytest.mark.parametrize(
    ("kpi_id", "current", "previous", "direction", "favourable"),
    [
        ("applications", 3, 2, 1, True),
        ("dropouts", 3, 2, 1, False),
        ("median_first_response_hours", 10.0, 20.0, -1, True),
        ("conversion_rate", 0.2, 0.3, -1, False),
        ("applications", 2, 2, 0, None),
    ],
)
def test_direction_and_good_news_follow_the_figure(
    kpi_id: str, current: Any, previous: Any, direction: int, favourable: bool | None
) -> None:
    change = KPI_SPECS[kpi_id].change(current, previous)
    assert change is not None
    assert (change.direction, change.favourable) == (direction, favourable)


@pytest.mark.parametrize(
    ("kpi_id", "value", "expected"),
    [
        ("median_first_response_hours", 51.0, "2\u00a0j 3\u00a0h"),
        ("satisfaction_avg", 4.25, "4,2\u00a0/\u00a05"),
        ("placement_closed_shift_months", 6, "6\u00a0mois"),
        ("placement_window_complete", False, "non"),
        ("revenue_invoiced", Decimal("5813150.00"), "5\u00a0813\u00a0150,00\u00a0€"),
        ("conversion_rate", None, "—"),
    ],
)
def test_value_texts(kpi_id: str, value: Any, expected: str) -> None:
    assert KPI_SPECS[kpi_id].value_text(value) == expected


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    generate(engine, applications=300, seed=5, today=date(2026, 11, 20))
    return engine


NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


def _plain(text: str) -> str:
    return " ".join(text.split())


def test_a_figure_reads_the_same_in_the_pdf_the_workbook_and_the_command_line(
    seeded: Engine, tmp_path: Path
) -> None:
    settings = load_settings()
    report = build_report(
        seeded,
        settings,
        kind="monthly",
        period=Period(date(2026, 10, 1), date(2026, 11, 1)),
        now=NOW,
    )
    files = {
        f.filename: tmp_path / f.filename
        for f in render_files(report, tmp_path, ("pdf", "xlsx"), GUADELOUPE)
    }
    pdf = _plain(
        "\n".join(
            page.extract_text() for page in PdfReader(files[f"{report.file_stem()}.pdf"]).pages
        )
    )
    book = openpyxl.load_workbook(files[f"{report.file_stem()}.xlsx"])
    summary = {row[0].value: row[1].value for row in book["Synthèse"].iter_rows() if row[0].value}
    query = KpiQuery.from_settings(settings, date(2026, 10, 1), date(2026, 11, 1))
    kpis = compute_kpis(seeded, query, now=NOW)
    table = _plain(render_table(query, kpis))
    by_label = {spec.label: kpi_id for kpi_id, spec in KPI_SPECS.items()}
    shown = [figure for figure in report.figures if figure.label in by_label]
    assert len(shown) >= 8
    for figure in shown:
        spec = KPI_SPECS[by_label[figure.label]]
        value = getattr(kpis, spec.kpi_id)
        assert figure.text == spec.value_text(value)
        assert _plain(f"{spec.label} {figure.text}") in pdf, spec.kpi_id
        assert _plain(f"{spec.label} {spec.value_text(value)}") in table, spec.kpi_id
        stored = summary[spec.label]
        assert stored == pytest.approx(float(value)) if value is not None else stored is None


def test_report_figures_take_label_and_texts_from_the_specification(seeded: Engine) -> None:
    query = KpiQuery(date(2026, 10, 1), date(2026, 11, 1))
    kpis = compute_kpis(seeded, query, now=NOW)
    for kpi_id in KPI_IDS:
        figure = kpi_figure(kpi_id, kpis)
        spec = KPI_SPECS[kpi_id]
        assert (figure.label, figure.text) == (spec.label, spec.value_text(getattr(kpis, kpi_id)))
