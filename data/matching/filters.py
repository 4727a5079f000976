"""The review list's filters, and their round trip through the page URL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from data.models import (
    MATCH_STATUSES,
)


@dataclass(frozen=True)
class FilterOptions:
    formations: tuple[tuple[int, str], ...]
    companies: tuple[tuple[int, str], ...]  # those with the most proposed matches


@dataclass(frozen=True)
class MatchFilters:
    statuses: tuple[str, ...] = ("propose",)
    formation_id: int | None = None  # the candidate applied to this formation
    offre_id: int | None = None
    entreprise_id: int | None = None
    min_score: float = 0.0


def filters_from_params(
    params: Mapping[str, str], choices: FilterOptions
) -> tuple[MatchFilters, tuple[str, ...]]:
    """Match filters from the URL; a malformed or unknown value is ignored with a notice."""
    notices: list[str] = []
    values: dict[str, Any] = {}
    if "statut" in params:
        codes = tuple(code for code in params["statut"].split(",") if code)
        if params["statut"] == "tous":
            values["statuses"] = ()
        elif codes and all(code in MATCH_STATUSES for code in codes):
            values["statuses"] = codes
        else:
            notices.append("Paramètre « statut » invalide dans l'adresse : filtre ignoré.")
    formations = {i for i, _ in choices.formations}
    for name, field in (
        ("formation", "formation_id"),
        ("offre", "offre_id"),
        ("entreprise", "entreprise_id"),
    ):
        if name in params:
            text = params[name]
            number = int(text) if text.isdigit() and 0 < len(text) < 19 else None
            if number is not None and (name != "formation" or number in formations):
                values[field] = number
            else:
                notices.append(f"Paramètre « {name} » invalide dans l'adresse : filtre ignoré.")
    if "score" in params:
        text = params["score"]
        if text.isdigit() and int(text) <= 100:
            values["min_score"] = float(int(text))
        else:
            notices.append("Paramètre « score » invalide dans l'adresse : filtre ignoré.")
    return MatchFilters(**values), tuple(notices)


def params_from_filters(filters: MatchFilters) -> dict[str, str]:
    """The URL parameters of ``filters`` (defaults left out)."""
    params: dict[str, str] = {}
    if filters.statuses != MatchFilters().statuses:
        params["statut"] = ",".join(filters.statuses) or "tous"
    for name, value in (
        ("formation", filters.formation_id),
        ("offre", filters.offre_id),
        ("entreprise", filters.entreprise_id),
    ):
        if value is not None:
            params[name] = str(value)
    if filters.min_score > 0:
        params["score"] = str(int(filters.min_score))
    return params
