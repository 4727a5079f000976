"""SQL constructs that read the same on PostgreSQL and SQLite.

Each construct compiles to native SQL on PostgreSQL and to a call of a Python
function that :func:`register_sqlite_functions` installs on every SQLite
connection, so one query serves both databases with identical results.
"""

from __future__ import annotations

import calendar
import sqlite3
import statistics
import unicodedata
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Date, Float, Text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement, GenericFunction


class add_months(FunctionElement[date]):  # noqa: N801
    """``add_months(date_column, n)``: calendar months, clamped to the month's end."""

    type = Date()
    inherit_cache = True
    name = "add_months"


@compiles(add_months, "postgresql")
def _add_months_pg(element: add_months, compiler: SQLCompiler, **kw: Any) -> str:
    day, months = list(element.clauses)
    return (
        f"CAST({compiler.process(day, **kw)} + make_interval(months => "
        f"CAST({compiler.process(months, **kw)} AS INTEGER)) AS DATE)"
    )


@compiles(add_months, "sqlite")
def _add_months_sqlite(element: add_months, compiler: SQLCompiler, **kw: Any) -> str:
    return f"cipfaro_add_months({compiler.process(element.clauses, **kw)})"


class median(GenericFunction[float]):  # noqa: N801
    """The 50th percentile with linear interpolation (``percentile_cont(0.5)``)."""

    type = Float()
    inherit_cache = True
    name = "median"


@compiles(median, "postgresql")
def _median_pg(element: median, compiler: SQLCompiler, **kw: Any) -> str:
    return f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {compiler.process(element.clauses, **kw)})"


@compiles(median, "sqlite")
def _median_sqlite(element: median, compiler: SQLCompiler, **kw: Any) -> str:
    return f"cipfaro_median({compiler.process(element.clauses, **kw)})"


class epoch_seconds(FunctionElement[float]):  # noqa: N801
    """Seconds since 1970 of a timestamp, for durations (``b - a`` in seconds)."""

    type = Float()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "postgresql")
def _epoch_pg(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"cipfaro_epoch({compiler.process(element.clauses, **kw)})"


# --- Python implementations for SQLite -------------------------------------


def add_months_to(day: date, months: int) -> date:
    """Calendar month arithmetic clamped to the month's last day (as PostgreSQL)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _parse_utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _sqlite_add_months(value: str | None, months: int | None) -> str | None:
    if value is None or months is None:
        return None
    return add_months_to(date.fromisoformat(value[:10]), int(months)).isoformat()


def _sqlite_epoch(value: str | None) -> float | None:
    return None if value is None else _parse_utc(value).timestamp()


class _Median:
    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, value: float | None) -> None:
        if value is not None:
            self.values.append(float(value))

    def finalize(self) -> float | None:
        return statistics.median(self.values) if self.values else None


def register_sqlite_functions(connection: sqlite3.Connection) -> None:
    """Install the Python side of the constructs above on a SQLite connection."""
    connection.create_function("cipfaro_add_months", 2, _sqlite_add_months, deterministic=True)
    connection.create_function("cipfaro_epoch", 1, _sqlite_epoch, deterministic=True)
    connection.create_aggregate("cipfaro_median", 1, _Median)  # type: ignore[arg-type]
    register_fold_function(connection)


# --- Accent- and case-insensitive text (appended for the triage search) --------

# Letters that do not decompose into a base letter and accents (as PostgreSQL's
# unaccent rules spell them).
_FOLD_SPECIAL = str.maketrans(
    {
        "Œ": "OE",
        "œ": "oe",
        "Æ": "AE",
        "æ": "ae",
        "ß": "ss",
        "Ø": "O",
        "ø": "o",
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Þ": "TH",
        "þ": "th",
        "ı": "i",
    }
)


class fold_text(FunctionElement[str]):  # noqa: N801
    """``fold_text(expr)``: lower case without accents (``'José'`` -> ``'jose'``).

    PostgreSQL: ``cipfaro_fold(expr)``, the immutable function of migration
    0002 (``lower(unaccent(...))``), on which the trigram index of the
    applicant search is built. SQLite: the Python :func:`fold`.
    """

    type = Text()
    inherit_cache = True
    name = "fold_text"


@compiles(fold_text)
def _fold_text(element: fold_text, compiler: SQLCompiler, **kw: Any) -> str:
    return f"cipfaro_fold({compiler.process(element.clauses, **kw)})"


def fold(value: str | None) -> str | None:
    """Accents removed (Unicode decomposition), ligatures spelt out, lower case."""
    if value is None:
        return None
    decomposed = unicodedata.normalize("NFKD", value.translate(_FOLD_SPECIAL))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def register_fold_function(connection: sqlite3.Connection) -> None:
    connection.create_function("cipfaro_fold", 1, fold, deterministic=True)
