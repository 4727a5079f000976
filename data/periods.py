"""Reporting periods: ``[start, end)`` pairs of local calendar dates.

The screens' presets ("ce mois", "12 derniers mois"...) are computed here
from "today" (the centre's local date) so pages, reports and tests agree.
Presets that include today run up to today (``end = today + 1 day``), so a
comparison with the previous period compares like with like.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

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

    def previous(self) -> Period:
        """The period of equal length just before."""
        return Period(self.start - timedelta(days=self.days), self.start)

    def year_before(self) -> Period:
        """The same dates one year earlier (29 February clamps to the 28th)."""
        return Period(add_months_to(self.start, -12), add_months_to(self.end, -12))


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
