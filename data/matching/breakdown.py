"""A match's score, criterion by criterion, as the website stored it (``criteres``)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

CRITERIA_LABELS: Final[Mapping[str, str]] = {
    "competences": "Compétences",
    "formation": "Formation",
    "distance_km": "Distance (km)",
    "experience": "Expérience",
    "experience_annees": "Expérience (années)",
    "mobilite": "Mobilité",
    "disponibilite": "Disponibilité",
    "langues": "Langues",
    "permis": "Permis",
    "domaine": "Domaine",
    "contrat": "Type de contrat",
    "salaire": "Salaire",
}


@dataclass(frozen=True)
class Breakdown:
    """``criteres`` made displayable: scores in [0, 1] as bars, everything else as facts."""

    bars: tuple[tuple[str, float], ...]  # (label, percentage 0..100)
    facts: tuple[tuple[str, str], ...]  # (label, value as text)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, str):
        return value
    if value is None:
        return "—"
    return json.dumps(value, ensure_ascii=False, default=str)[:500]


def score_breakdown(criteres: Any, formation_titles: Mapping[str, str] | None = None) -> Breakdown:
    """The "why this match" view of ``criteres``, whatever its shape.

    Known keys get French labels, unknown keys keep their name; a formation's
    slug reads as its title (``formation_titles``: slug -> title); numbers in
    [0, 1] become percentage bars; other numbers, text, booleans, lists and
    nested objects become facts shown as text. Not a JSON object: one fact.
    """
    if isinstance(criteres, str):
        try:
            criteres = json.loads(criteres)
        except ValueError:
            return Breakdown((), (("Critères", criteres[:500]),))
    if criteres is None:
        return Breakdown((), ())
    if not isinstance(criteres, Mapping):
        return Breakdown((), (("Critères", _as_text(criteres)),))
    bars: list[tuple[str, float]] = []
    facts: list[tuple[str, str]] = []
    for key, value in criteres.items():
        label = CRITERIA_LABELS.get(str(key), str(key))
        number = _number(value)
        if number is not None and 0 <= number <= 1:
            bars.append((label, round(number * 100, 1)))
        elif key == "formation" and isinstance(value, str) and formation_titles:
            facts.append((label, formation_titles.get(value, value)))
        else:
            facts.append((label, _as_text(value)))
    return Breakdown(tuple(bars), tuple(facts))
