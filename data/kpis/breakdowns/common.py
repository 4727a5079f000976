"""What every breakdown module shares: the column lists, running one statement,
and building the frame."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Engine

from data.db import translate_errors
from data.kpis.headline import kpi_connection

ConversionDimension = Literal["formation", "source", "financement"]
RevenueDimension = Literal["financeur", "formation", "month"]
Grain = Literal["week", "month"]

CONVERSION_COLUMNS = ["key", "label", "applications", "enrolments", "conversion_rate"]
REVENUE_COLUMNS = ["key", "label", "invoiced", "collected"]
TREND_COLUMNS = ["bucket", "applications", "enrolments"]
PLACEMENT_COLUMNS = [
    "key",
    "label",
    "cohort",
    "placed",
    "placement_rate",
    "durable",
    "durable_rate",
]
QUALITY_COLUMNS = [
    "key",
    "label",
    "completions",
    "dropouts",
    "completion_rate",
    "evaluations",
    "satisfaction_avg",
    "satisfaction_rate",
]
SESSION_COLUMNS = [
    "session_id",
    "formation",
    "label",
    "date_debut",
    "date_fin",
    "places",
    "enrolled",
    "fill_rate",
]
COMPANY_COLUMNS = ["entreprise_id", "label", "offers_posted", "hires", "activity"]


def rows_of(engine: Engine, stmt: Any) -> list[Any]:
    with translate_errors(), kpi_connection(engine) as connection:
        return list(connection.execute(stmt))


def frame_of(records: Iterable[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(list(records), columns=list(columns))


def check_choice(value: str, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")


def first_of_next_month(day: date) -> date:
    """The first day of the month after ``day``'s."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)
