"""The document model every report is built into, before it becomes a PDF or a workbook.

Builders (``reports.builders``) turn KPI figures and tables into a
:class:`Report`; ``reports.pdf`` and ``reports.excel`` render it. Values stay
raw (numbers, dates, database strings) until a renderer formats them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import pandas as pd

# "id": a number shown without thousands separator (an application's N°).
# "hours": a duration in hours; "score": a mean note out of 5.
ColumnKind = Literal[
    "money", "percent", "integer", "number", "hours", "score", "date", "datetime", "text", "id"
]
ReportKind = Literal["monthly", "weekly", "qualiopi"]
REPORT_KINDS: tuple[ReportKind, ...] = ("monthly", "weekly", "qualiopi")

CENTRE_NAME = "CIP FARO"


@dataclass(frozen=True)
class Column:
    """One column of a table: the DataFrame column, its French header, how to show it."""

    key: str
    header: str
    kind: ColumnKind = "text"


@dataclass(frozen=True)
class TableSpec:
    """A table of a report: PDF table and workbook sheet alike.

    ``rows`` is a DataFrame holding at least the columns' keys, or (for large
    exports) an iterable of row tuples in the columns' order, consumed once.
    """

    title: str
    columns: tuple[Column, ...]
    rows: pd.DataFrame | Iterable[Sequence[Any]]
    sheet_name: str | None = None
    note: str | None = None

    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame (small tables only)."""
        if isinstance(self.rows, pd.DataFrame):
            return self.rows
        return pd.DataFrame(list(self.rows), columns=[c.key for c in self.columns])


@dataclass(frozen=True)
class Figure:
    """A headline figure as every renderer shows it (PDF card, email line, workbook
    row). For a KPI, the label and the texts come from its one specification
    (``data.kpis.specs``), as on the screens; ``value`` and ``previous`` stay raw
    for the workbook, whose cells are numbers."""

    label: str
    value: Any
    kind: ColumnKind  # the workbook cell's format
    text: str  # the value in French
    previous: Any = None
    previous_text: str | None = None
    change: str | None = None  # against the previous period; None: not compared
    note: str | None = None  # what the figure covers, when that must be said

    @property
    def compared(self) -> bool:
        return self.previous_text is not None


@dataclass(frozen=True)
class ChartSeries:
    name: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class ChartSpec:
    """A bar or line chart drawn from the data (no browser, no screenshot)."""

    title: str
    kind: Literal["bar", "hbar", "line"]
    categories: tuple[str, ...]
    series: tuple[ChartSeries, ...]
    value_kind: ColumnKind = "integer"


@dataclass(frozen=True)
class Section:
    title: str
    charts: tuple[ChartSpec, ...] = ()
    tables: tuple[TableSpec, ...] = ()
    paragraphs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    """A built report: what both renderers need, nothing formatted yet."""

    kind: ReportKind
    title: str
    start: date
    end: date  # excluded
    generated_at: datetime  # aware
    timezone: str
    formation: str | None = None
    formation_label: str | None = None
    figures: tuple[Figure, ...] = ()
    key_figures: tuple[Figure, ...] = ()  # the 3-4 quoted in the email body
    sections: tuple[Section, ...] = ()
    has_content: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def last_day(self) -> date:
        """The last day covered (``end`` is excluded)."""
        return self.end - timedelta(days=1)

    @property
    def tables(self) -> tuple[TableSpec, ...]:
        return tuple(table for section in self.sections for table in section.tables)

    def file_stem(self) -> str:
        """``rapport-mensuel_2026-10-01_2026-10-31`` (ASCII, safe as a file name)."""
        stems = {"monthly": "rapport-mensuel", "weekly": "rapport-hebdo", "qualiopi": "qualiopi"}
        slug = re.sub(r"[^a-z0-9-]+", "-", (self.formation or "").lower()).strip("-")
        suffix = f"_{slug}" if slug else ""
        return f"{stems[self.kind]}_{self.start.isoformat()}_{self.last_day.isoformat()}{suffix}"
