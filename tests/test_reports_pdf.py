"""PDF rendering: real text, escaped database strings, paginated tables, page numbers."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from pypdf import PdfReader

from reports.model import ChartSeries, ChartSpec, Column, Figure, Report, Section, TableSpec
from reports.pdf import pdf_text, render_pdf

GUADELOUPE = ZoneInfo("America/Guadeloupe")
EVIL = "Développeur <b>& web</b> <i>non fermé"
COLUMNS = (
    Column("label", "Formation"),
    Column("applications", "Candidatures", "integer"),
    Column("rate", "Taux de conversion", "percent"),
    Column("invoiced", "Facturé", "money"),
)


def _report(rows: int = 120) -> Report:
    frame = pd.DataFrame(
        {
            "label": [EVIL if i == 0 else f"Formation n°{i}" for i in range(rows)],
            "applications": [1000 + i for i in range(rows)],
            "rate": [i / rows for i in range(rows)],
            "invoiced": [-1234.5 if i == 0 else i * 100.0 for i in range(rows)],
        }
    )
    figures = (
        Figure(
            "Candidatures", 1234, "integer", "1\u00a0234", 1000, "1\u00a0000", "+234 (+23,4\u00a0%)"
        ),
        Figure("Taux de conversion", 0.3125, "percent", "31,2 %", 0.29, "29,0 %", "+2,3 pts"),
        Figure("Chiffre d'affaires facturé", 184250.5, "money", "184 250,50 €", None, "—"),
    )
    charts = (
        ChartSpec("Entonnoir", "bar", ("Candidatures", "Admises"), (ChartSeries("n", (10, 4)),)),
        ChartSpec(
            "CA par financeur",
            "hbar",
            ("CPF", EVIL),
            (ChartSeries("Facturé", (1000.0, None)), ChartSeries("Encaissé", (500.0, 20.0))),
            "money",
        ),
        ChartSpec("Tendance", "line", ("janv.", "févr."), (ChartSeries("Candidatures", (3, 5)),)),
    )
    return Report(
        kind="monthly",
        title="Rapport mensuel de direction",
        start=date(2026, 10, 1),
        end=date(2026, 11, 1),
        generated_at=datetime(2026, 11, 1, 11, 0, tzinfo=UTC),
        timezone="America/Guadeloupe",
        formation="dev-web",
        formation_label=EVIL,
        figures=figures,
        sections=(
            Section(
                "Activité", charts=charts, tables=(TableSpec("Par formation", COLUMNS, frame),)
            ),
        ),
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    render_pdf(_report(), path, tz=GUADELOUPE)
    return path


def _pages(path: Path) -> list[str]:
    return [page.extract_text().replace("\u00a0", " ") for page in PdfReader(path).pages]


def test_header_states_centre_period_and_local_generation_time(rendered: Path) -> None:
    first = _pages(rendered)[0]
    assert "CIP FARO" in first
    assert "Période : du 01/10/2026 au 31/10/2026" in first
    assert "Généré le 01/11/2026 07:00" in first  # 11:00 UTC is 07:00 in Guadeloupe


def test_headline_figures_are_french_formatted_text(rendered: Path) -> None:
    first = _pages(rendered)[0]
    assert "1 234" in first
    assert "31,2 %" in first
    assert "184 250,50 €" in first
    assert "+234 (+23,4 %) vs période précédente (1 000)" in " ".join(first.split())
    assert "+2,3 pts vs période précédente (29,0 %)" in first


def test_database_text_is_printed_literally_not_as_markup(rendered: Path) -> None:
    text = "\n".join(_pages(rendered))
    assert "Formation : Développeur <b>& web</b> <i>non fermé" in text
    assert "Développeur <b>& web</b> <i>non fermé" in text.split("Par formation", 1)[1]


def test_long_table_repeats_its_header_and_pages_are_numbered(rendered: Path) -> None:
    pages = _pages(rendered)
    assert len(pages) >= 3
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} / {len(pages)}" in text
        assert "CIP FARO" in text
    continued = [text for text in pages[1:] if "Formation n°" in text]
    assert continued and all("Candidatures" in t and "Facturé" in t for t in continued)
    assert "-1 234,50 €" in "\n".join(pages)


def test_characters_outside_the_font_are_replaced_not_dropped() -> None:
    assert pdf_text("−2,4 pts → ok") == "-2,4 pts -> ok"
    assert pdf_text("Zoë ☃") == "Zoë ?"


def test_page_one_rendered_for_a_person_to_look_at(rendered: Path, artifacts_dir: Path) -> None:
    target = artifacts_dir / "report-page"
    for old in artifacts_dir.glob("report-page*.png"):
        old.unlink()  # only this run's page may satisfy the check
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(rendered), str(target)],
        check=True,
        timeout=60,
    )
    png = next(artifacts_dir.glob("report-page*.png"))
    assert png.stat().st_size > 10_000
