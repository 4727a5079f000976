"""The triage queue's filters, and their form in the URL.

The URL is user input: every parameter is checked, and one that does not
parse falls back to its default with a French notice (never an error page).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from data.models import APPLICATION_SOURCES, APPLICATION_STATUSES, FUNDERS
from data.text_search import normalise_search
from data.workflow import PENDING_STATUSES

ASSIGNMENTS: Final[Mapping[str, str]] = {
    "toutes": "Toutes",
    "moi": "Assignées à moi",
    "quelqu-un": "Assignées à quelqu'un",
    "personne": "Non assignées",
}
ALL_STATUSES: Final = "tous"
"""``statut`` URL value for "every status" (an empty status filter)."""
NO_FUNDING: Final = "aucun"
"""``financement`` filter value for applications without funding (NULL)."""


@dataclass(frozen=True)
class QueueFilters:
    """What the queue shows. Dates are local calendar days, both included."""

    statuses: tuple[str, ...] = PENDING_STATUSES  # empty: every status
    formation_id: int | None = None
    session_id: int | None = None
    source: str | None = None
    financement: str | None = None  # a funder code, or NO_FUNDING
    assignment: str = "toutes"
    overdue_only: bool = False
    received_from: date | None = None
    received_to: date | None = None
    search: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "search", normalise_search(self.search))
        ordered = tuple(s for s in APPLICATION_STATUSES if s in set(self.statuses))
        object.__setattr__(self, "statuses", ordered)

    def received_bounds(self, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        """The received-between days as UTC instants ``[start, end)``."""
        start = end = None
        if self.received_from is not None:
            start = datetime.combine(self.received_from, time(), tz).astimezone(UTC)
        if self.received_to is not None:
            next_day = self.received_to + timedelta(days=1)
            end = datetime.combine(next_day, time(), tz).astimezone(UTC)
        return start, end


DEFAULT_FILTERS: Final = QueueFilters()


def _positive_int(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < len(text) < 19 and int(text) > 0 else None


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def _statuses(text: str) -> tuple[str, ...] | None:
    if text == ALL_STATUSES:
        return ()
    codes = tuple(code for code in text.split(",") if code)
    return codes if codes and all(code in APPLICATION_STATUSES for code in codes) else None


def _parsers(formations: Mapping[str, int]) -> dict[str, tuple[str, Callable[[str], object]]]:
    """URL parameter -> (filter field, parser returning None for a bad value)."""

    def one_of(allowed: tuple[str, ...]) -> Callable[[str], object]:
        return lambda text: text if text in allowed else None

    return {
        "statut": ("statuses", _statuses),
        "formation": ("formation_id", formations.get),
        "session": ("session_id", _positive_int),
        "source": ("source", one_of(APPLICATION_SOURCES)),
        "financement": ("financement", one_of((*FUNDERS, NO_FUNDING))),
        "assignation": ("assignment", one_of(tuple(ASSIGNMENTS))),
        "retard": ("overdue_only", {"0": False, "1": True}.get),
        "du": ("received_from", _day),
        "au": ("received_to", _day),
        "q": ("search", str),
    }


def filters_from_params(
    params: Mapping[str, str], formations: Mapping[str, int]
) -> tuple[QueueFilters, tuple[str, ...]]:
    """Filters from URL parameters; ``formations`` maps slugs to ids.

    Returns the filters and the notices of what had to be ignored.
    """
    notices: list[str] = []
    values: dict[str, object] = {}
    for name, (field, parse) in _parsers(formations).items():
        if name not in params:
            continue
        value = parse(params[name])
        if value is None:
            notices.append(f"Paramètre « {name} » invalide dans l'adresse : filtre ignoré.")
        else:
            values[field] = value
    filters = replace(DEFAULT_FILTERS, **values)  # type: ignore[arg-type]
    start, end = filters.received_from, filters.received_to
    if start is not None and end is not None and start > end:
        notices.append("Dates de réception inversées dans l'adresse : filtre de dates ignoré.")
        filters = replace(filters, received_from=None, received_to=None)
    return filters, tuple(notices)


def params_from_filters(
    filters: QueueFilters, formation_slugs: Mapping[int, str]
) -> dict[str, str]:
    """The URL parameters of ``filters`` (defaults left out, so a plain URL is the default)."""
    params: dict[str, str] = {}
    if filters.statuses != DEFAULT_FILTERS.statuses:
        params["statut"] = ",".join(filters.statuses) or ALL_STATUSES
    if filters.formation_id is not None and filters.formation_id in formation_slugs:
        params["formation"] = formation_slugs[filters.formation_id]
    if filters.session_id is not None:
        params["session"] = str(filters.session_id)
    if filters.source:
        params["source"] = filters.source
    if filters.financement:
        params["financement"] = filters.financement
    if filters.assignment != DEFAULT_FILTERS.assignment:
        params["assignation"] = filters.assignment
    if filters.overdue_only:
        params["retard"] = "1"
    if filters.received_from:
        params["du"] = filters.received_from.isoformat()
    if filters.received_to:
        params["au"] = filters.received_to.isoformat()
    if filters.search:
        params["q"] = filters.search
    return params
