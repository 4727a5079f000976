"""The one export module of the dashboard: CSV bytes and Excel workbooks.

Workbooks are written with openpyxl in write-only mode (rows stream to disk,
memory stays flat however long the table): a summary sheet, then one sheet
per table with a frozen, filterable header row, real numbers with French
display formats, real date cells in the centre's time zone, and text cells
neutralised against formula injection. Numbers are never touched: a negative
amount stays a negative number.

Number format codes are stored the way the file format wants them
(``#,##0.00 "€"``): a French Excel or LibreOffice shows them as
``1 234,56 €`` and ``31,2 %``.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from data import formatting
from data.settings import get_settings
from reports.model import CENTRE_NAME, Column, ColumnKind, TableSpec

MONEY_FORMAT = '#,##0.00 "€"'
PERCENT_FORMAT = "0.0 %"
INTEGER_FORMAT = "#,##0"
NUMBER_FORMAT = "#,##0.0"
DATE_FORMAT = "DD/MM/YYYY"
DATETIME_FORMAT = "DD/MM/YYYY HH:MM"
NUMBER_FORMATS: dict[ColumnKind, str | None] = {
    "id": "0",
    "money": MONEY_FORMAT,
    "percent": PERCENT_FORMAT,
    "integer": INTEGER_FORMAT,
    "number": NUMBER_FORMAT,
    "hours": '#,##0.0 "h"',
    "score": '0.0 "/ 5"',
    "date": DATE_FORMAT,
    "datetime": DATETIME_FORMAT,
    "text": None,
}
# Text a spreadsheet reads as a formula (or DDE): it starts with = + - @, or
# their full-width and small forms, possibly after spaces, tabs or line breaks
# (trimmed on import); or it starts with a tab or carriage return at all.
FORMULA_START = re.compile(
    r"^(?:[\t\r]|\s*[=+\-@\uff1d\uff0b\uff0d\uff20\ufe66\ufe62\ufe63\ufe6b\u2212])"
)
# A plain number written as text ("-1234,5") is read as that number, nothing more.
PLAIN_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")
WIDTH_SAMPLE_ROWS = 200
MIN_WIDTH, MAX_WIDTH = 8, 60
SHEET_NAME_MAX = 31
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", start_color="DCE6F1")
_TITLE_FONT = Font(bold=True, size=14)


@dataclass(frozen=True)
class SummaryRow:
    """One line of the summary sheet: a headline figure (and its previous value)."""

    label: str
    value: Any
    kind: ColumnKind
    previous: Any = None


@dataclass(frozen=True)
class WorkbookSummary:
    """The first sheet: a title, a few lines of context, the headline figures."""

    title: str
    lines: tuple[str, ...] = ()
    rows: tuple[SummaryRow, ...] = ()
    compared: bool = False


# --- Cell values -------------------------------------------------------------


def neutralise_text(value: str) -> str:
    """Text safe for a spreadsheet cell: control characters dropped, formulas defused.

    Text a spreadsheet would evaluate (:data:`FORMULA_START`: ``=``, ``+``,
    ``-``, ``@``, their full-width forms ``＝ ＋ － ＠``, after any leading
    whitespace; or a leading tab or CR) gets a leading single quote, so no
    spreadsheet evaluates it. A plain number such as ``-1234,5`` is left as is.
    """
    cleaned = ILLEGAL_CHARACTERS_RE.sub("", value)
    if FORMULA_START.match(cleaned) and not PLAIN_NUMBER.fullmatch(cleaned):
        return "'" + cleaned
    return cleaned


def is_missing(value: Any) -> bool:
    """None, NaN, NaT or NA: an empty cell."""
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def _local_datetime(value: datetime, tz: ZoneInfo) -> datetime:
    """A naive local datetime (spreadsheets have no time zones)."""
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if value.tzinfo is not None:
        value = value.astimezone(tz)
    return value.replace(tzinfo=None)


def cell_value(value: Any, kind: ColumnKind, tz: ZoneInfo) -> Any:
    """The value to store for ``kind``: numbers as numbers, dates as local dates."""
    if is_missing(value):
        return None
    if isinstance(value, str):
        return neutralise_text(value)
    if kind == "date" and isinstance(value, datetime):
        return _local_datetime(value, tz).date()
    if kind in ("date", "datetime") and isinstance(value, date):
        return _local_datetime(value, tz) if isinstance(value, datetime) else value
    if kind == "text":
        if isinstance(value, bool):
            return "Oui" if value else "Non"
        if isinstance(value, datetime):
            return formatting.timestamp(value, tz)
        if isinstance(value, date):
            return formatting.day(value)
        return value if isinstance(value, int | float) else neutralise_text(str(value))
    if isinstance(value, bool):
        return value
    if kind in ("integer", "id") and float(value).is_integer():
        return int(value)
    if isinstance(value, Decimal | int | float) or hasattr(value, "dtype"):
        return float(value)
    return neutralise_text(str(value))


# --- Widths ------------------------------------------------------------------


def _display_length(value: Any, kind: ColumnKind) -> int:
    if is_missing(value):
        return 0
    if kind == "money" and isinstance(value, int | float | Decimal):
        return len(formatting.money(value))
    if kind == "percent" and isinstance(value, int | float | Decimal):
        return len(formatting.percent(value))
    if kind == "date":
        return 10
    if kind == "datetime":
        return 16
    text = str(value)
    return max((len(line) for line in text.splitlines()), default=0)


def column_widths(columns: Sequence[Column], sample: Sequence[Sequence[Any]]) -> list[float]:
    """A width per column from its header and a sample of its values, within bounds."""
    widths = []
    for index, column in enumerate(columns):
        longest = max((_display_length(row[index], column.kind) for row in sample), default=0)
        widest = max(len(column.header) + 3, longest + 2)  # +3: the filter button
        widths.append(float(min(MAX_WIDTH, max(MIN_WIDTH, widest))))
    return widths


# --- Sheets ------------------------------------------------------------------


def sheet_title(name: str, taken: set[str]) -> str:
    """A valid, unique sheet name (31 characters, no ``[]:*?/\\``)."""
    base = " ".join(_SHEET_NAME_FORBIDDEN.sub(" ", name).split()).strip("'") or "Feuille"
    base = base[:SHEET_NAME_MAX]
    candidate, counter = base, 2
    while candidate.lower() in taken:
        suffix = f" ({counter})"
        candidate = base[: SHEET_NAME_MAX - len(suffix)] + suffix
        counter += 1
    taken.add(candidate.lower())
    return candidate


def _row_tuples(table: TableSpec) -> Iterator[Sequence[Any]]:
    if isinstance(table.rows, pd.DataFrame):
        keys = [column.key for column in table.columns]
        yield from table.rows[keys].itertuples(index=False, name=None)
    else:
        yield from table.rows


def _style_of(ws: WriteOnlyWorksheet, number_format: str | None) -> StyleArray | None:
    """The style array of a cell with ``number_format``, shared by a column's cells."""
    if number_format is None:
        return None
    template = WriteOnlyCell(ws, value=0)
    template.number_format = number_format
    return template._style


def _styled(ws: WriteOnlyWorksheet, value: Any, style: StyleArray | None) -> Any:
    # Sharing one style array is safe: the writer only reads it (and it is
    # several times faster than setting ``number_format`` on every cell).
    if value is None or style is None or isinstance(value, str):
        return value
    cell = WriteOnlyCell(ws, value=value)
    cell._style = style
    return cell


def _header_cells(ws: WriteOnlyWorksheet, headers: Iterable[str]) -> list[WriteOnlyCell]:
    cells = []
    for header in headers:
        cell = WriteOnlyCell(ws, value=neutralise_text(header))
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(vertical="center")
        cells.append(cell)
    return cells


def write_table_sheet(ws: WriteOnlyWorksheet, table: TableSpec, tz: ZoneInfo) -> int:
    """Stream ``table`` into ``ws``; returns the number of data rows written."""
    columns = table.columns
    rows = _row_tuples(table)
    sample = list(itertools.islice(rows, WIDTH_SAMPLE_ROWS))
    for index, width in enumerate(column_widths(columns, sample), start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"  # must precede the first row in write-only mode
    ws.append(_header_cells(ws, (column.header for column in columns)))
    styles = [_style_of(ws, NUMBER_FORMATS[column.kind]) for column in columns]
    kinds = [column.kind for column in columns]
    count = 0
    for row in itertools.chain(sample, rows):
        ws.append(
            [
                _styled(ws, cell_value(value, kind, tz), style)
                for value, kind, style in zip(row, kinds, styles, strict=True)
            ]
        )
        count += 1
    last_column = get_column_letter(max(len(columns), 1))
    ws.auto_filter.ref = f"A1:{last_column}{count + 1}"
    if table.note:  # below the rows, clear of the filtered range
        ws.append([])
        ws.append([neutralise_text(table.note)])
    return count


def _write_summary(ws: WriteOnlyWorksheet, summary: WorkbookSummary, tz: ZoneInfo) -> None:
    ws.column_dimensions["A"].width = 44
    ws.column_dimensions["B"].width = 22
    ws.column_dimensions["C"].width = 22
    title = WriteOnlyCell(ws, value=neutralise_text(summary.title))
    title.font = _TITLE_FONT
    ws.append([title])
    for line in summary.lines:
        ws.append([neutralise_text(line)])
    ws.append([])
    headers = ["Indicateur", "Valeur"] + (["Période précédente"] if summary.compared else [])
    ws.append(_header_cells(ws, headers))
    for row in summary.rows:
        style = _style_of(ws, NUMBER_FORMATS[row.kind])
        values = [row.value] + ([row.previous] if summary.compared else [])
        ws.append(
            [neutralise_text(row.label)]
            + [_styled(ws, cell_value(v, row.kind, tz), style) for v in values]
        )


def write_workbook(
    sheets: Sequence[TableSpec],
    destination: str | Path | BinaryIO,
    *,
    summary: WorkbookSummary | None = None,
    tz: ZoneInfo | None = None,
) -> dict[str, int]:
    """Write a workbook: the summary sheet (if any), then one sheet per table.

    Returns the number of data rows written per sheet name. ``tz`` (default:
    the centre's time zone) is where timestamps become local dates.
    """
    zone = tz if tz is not None else get_settings().tz
    workbook = Workbook(write_only=True)
    workbook.properties.creator = f"{CENTRE_NAME} — tableau de bord"
    taken: set[str] = set()
    if summary is not None:
        _write_summary(workbook.create_sheet(sheet_title("Synthèse", taken)), summary, zone)
    written: dict[str, int] = {}
    for table in sheets:
        name = sheet_title(table.sheet_name or table.title, taken)
        written[name] = write_table_sheet(workbook.create_sheet(name), table, zone)
    if not sheets and summary is None:
        workbook.create_sheet("Feuille")
    workbook.save(destination)
    return written


# --- CSV ---------------------------------------------------------------------


def _csv_value(value: Any, tz: ZoneInfo) -> Any:
    if is_missing(value):
        return None
    if isinstance(value, str):
        return neutralise_text(value)
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.strftime("%d/%m/%Y %H:%M")
        return formatting.timestamp(value, tz)
    if isinstance(value, date):
        return formatting.day(value)
    if isinstance(value, Decimal):
        return str(value).replace(".", ",")
    if isinstance(value, float):
        return repr(value).replace(".", ",")
    if hasattr(value, "dtype"):  # numpy scalar
        return _csv_value(value.item(), tz)
    if isinstance(value, int):
        return value
    return neutralise_text(str(value))  # anything else is written as its text


def dataframe_to_csv_bytes(df: pd.DataFrame, *, tz: ZoneInfo | None = None) -> bytes:
    """CSV for a French spreadsheet: ``;`` separator, decimal comma, UTF-8 with BOM.

    Text is neutralised against formula injection like workbook cells; dates
    are ``22/11/2026`` (timestamps in the centre's time zone).
    """
    zone = tz if tz is not None else get_settings().tz
    out = pd.DataFrame(
        {
            neutralise_text(str(name)): [_csv_value(v, zone) for v in df[name].tolist()]
            for name in df.columns
        },
        columns=[neutralise_text(str(name)) for name in df.columns],
    )
    text = out.to_csv(sep=";", decimal=",", index=False, lineterminator="\r\n")
    return text.encode("utf-8-sig")
