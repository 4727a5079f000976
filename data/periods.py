"""Reporting periods: ``[start, end)`` pairs of local calendar dates.

The screens' presets ("ce mois", "12 derniers mois"...) are computed here
from "today" (the centre's local date) so pages, reports and tests agree.
Presets that include today run up to today (``end = today + 1 day``), so a
comparison with the previous period compares like with like.

The period a scheduled report covers comes from the local date it is due
(:func:`schedule_period`): a run due on day ``d`` covers complete days before
``d``; the report at 07:00 on the 1st covers the whole previous month, never a
part of today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from data.errors import InvalidInput
from data.sqlfuncs import add_months_to

PRESET_LABELS: dict[str, str] = {
    "ce-mois": "Ce mois",
    "mois-dernier": "Mois dernier",
    "ce-trimestre": "Ce trimestre",
    "annee": "Année en cours",
    "12-mois": "12 derniers mois",
    "perso": "Personnalisé",
}
DEFAULT_PRESET = "12-mois"
# A custom period is at most ten years long, between these dates: every figure
# and its comparison period (one length earlier, or a year before) stay
# computable, and no request asks for centuries of rows.
MAX_CUSTOM_YEARS = 10
EARLIEST_DAY = date(1990, 1, 1)
LATEST_DAY = date(2100, 1, 1)


@dataclass(frozen=True)
class Period:
    start: date  # included
    end: date  # excluded

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise InvalidInput("La date de début doit précéder la date de fin.")

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)


def preset_period(preset: str, today: date) -> Period:
    """The period a preset means on ``today`` (``perso`` has no preset dates)."""
    tomorrow = today + timedelta(days=1)
    month_start = today.replace(day=1)
    if preset == "ce-mois":
        return Period(month_start, tomorrow)
    if preset == "mois-dernier":
        return Period(add_months_to(month_start, -1), month_start)
    if preset == "ce-trimestre":
        quarter_start = today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)
        return Period(quarter_start, tomorrow)
    if preset == "annee":
        return Period(today.replace(month=1, day=1), tomorrow)
    if preset == "12-mois":
        return Period(add_months_to(tomorrow, -12), tomorrow)
    raise InvalidInput(f"Période inconnue : {preset[:40]}")


def custom_period(start: date, end: date) -> Period:
    """A period typed by a person (``end`` excluded), within the limits above."""
    if not EARLIEST_DAY <= start < LATEST_DAY or not EARLIEST_DAY < end <= LATEST_DAY:
        raise InvalidInput(
            f"dates hors limites (entre le {EARLIEST_DAY:%d/%m/%Y} et le {LATEST_DAY:%d/%m/%Y})."
        )
    period = Period(start, end)
    if end > add_months_to(start, 12 * MAX_CUSTOM_YEARS):
        raise InvalidInput(f"période trop longue ({MAX_CUSTOM_YEARS} ans au plus).")
    return period


def parse_day(text: str) -> date:
    """``2026-11-22`` (the URL form) or ``22/11/2026`` (the French form)."""
    value = text.strip()
    try:
        if "/" in value:
            day, month, year = value.split("/")
            return date(int(year), int(month), int(day))
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"Date invalide : « {value[:20]} » (attendu AAAA-MM-JJ).") from None


# --- The periods of scheduled reports ------------------------------------------

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
