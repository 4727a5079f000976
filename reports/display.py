"""Report values as French text, for the PDF and the email body.

Every figure goes through :mod:`data.formatting`; this module only picks the
formatter for a column kind and words a change against the previous period.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from data import formatting
from reports.excel import is_missing
from reports.model import ColumnKind, Figure, Report


def value_text(value: Any, kind: ColumnKind, tz: ZoneInfo) -> str:
    """``value`` shown the French way for its kind; a dash when missing."""
    if is_missing(value):
        return formatting.MISSING
    if isinstance(value, str):
        return value
    if kind == "money":
        return formatting.money(value)
    if kind == "percent":
        return formatting.percent(value)
    if kind == "integer":
        return formatting.number(value)
    if kind == "id":
        return str(int(value)) if float(value).is_integer() else str(value)
    if kind == "number":
        return formatting.number(value, decimals=1)
    if kind == "hours":
        return formatting.hours(value)
    if kind == "score":
        return f"{formatting.number(value, decimals=1)}{formatting.NBSP}/{formatting.NBSP}5"
    if kind == "datetime" and isinstance(value, datetime):
        return formatting.timestamp(value, tz)
    if kind in ("date", "datetime") and isinstance(value, date):
        return formatting.day(value, tz)
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    return str(value)


def period_text(report: Report) -> str:
    """``du 01/10/2026 au 31/10/2026`` (the last day included)."""
    return f"du {formatting.day(report.start)} au {formatting.day(report.last_day)}"


def generated_text(report: Report, tz: ZoneInfo) -> str:
    return f"Généré le {formatting.timestamp(report.generated_at, tz)} (heure de {tz.key})"


def figure_line(figure: Figure) -> str:
    """``Candidatures : 1 234 — +134 (+12,2 %) par rapport à la période précédente``."""
    text = f"{figure.label} : {figure.text}"
    if figure.change is not None:
        text += f" — {figure.change} par rapport à la période précédente"
    if figure.note:
        text += f" ({figure.note})"
    return text


def as_number(value: Any) -> float | None:
    """A chart value: a float, or None when missing."""
    if is_missing(value):
        return None
    return float(value) if isinstance(value, int | float | Decimal) else float(str(value))
