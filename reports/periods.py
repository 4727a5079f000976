"""The period a scheduled report covers, from the local date it is due.

A run due on day ``d`` (the local date in the schedule's time zone) covers
complete days before ``d``: the report at 07:00 on the 1st covers the whole
previous month, never a part of today.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

from data.errors import InvalidInput
from data.periods import Period
from data.sqlfuncs import add_months_to

SCHEDULE_PERIODS: Final[tuple[str, ...]] = (
    "previous_day",
    "previous_week",
    "previous_month",
    "quarter_to_date",
    "previous_year",
)
PERIOD_LABELS: Final[dict[str, str]] = {
    "previous_day": "La veille",
    "previous_week": "La semaine précédente (lundi à dimanche)",
    "previous_month": "Le mois précédent",
    "quarter_to_date": "Le trimestre en cours, jusqu'à la veille",
    "previous_year": "L'année précédente",
}


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def schedule_period(period: str, due_day: date) -> Period:
    """``[start, end)`` covered by a run due on ``due_day``.

    ``quarter_to_date`` on the first day of a quarter covers the whole
    quarter just ended (there is nothing yet of the new one).
    """
    if period == "previous_day":
        return Period(due_day - timedelta(days=1), due_day)
    if period == "previous_week":
        monday = due_day - timedelta(days=due_day.weekday())
        return Period(monday - timedelta(days=7), monday)
    if period == "previous_month":
        first = due_day.replace(day=1)
        return Period(add_months_to(first, -1), first)
    if period == "quarter_to_date":
        start = quarter_start(due_day)
        if start == due_day:
            return Period(add_months_to(start, -3), start)
        return Period(start, due_day)
    if period == "previous_year":
        return Period(date(due_day.year - 1, 1, 1), date(due_day.year, 1, 1))
    raise InvalidInput(f"Période de rapport inconnue : « {period[:40]} ».")
