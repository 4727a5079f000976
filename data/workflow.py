"""The workflows of the secretariat, in one place: which status may follow which.

Applications (``candidatures.statut``) and matches (``matchings.statut``) each
have one transition table. Screens offer only the moves listed here and the
write functions refuse any other, so the two can never disagree.

Undo: the last status change of an application may be undone (by a *new*
event back to the previous status, never by deleting history) when it was a
step of the triage itself, taken before enrolment: see :func:`can_undo`.
Enrolment, training and its outcome are not undone from the dashboard.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Final

from sqlalchemy import ColumnElement, SQLColumnExpression, and_

from data.errors import InvalidInput
from data.labels import status_label
from data.models import APPLICATION_STATUSES, MATCH_STATUSES

# --- Applications -----------------------------------------------------------

TRANSITIONS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "nouvelle": ("en_etude", "refusee", "desistement"),
        "en_etude": ("entretien", "admise", "refusee", "desistement"),
        "entretien": ("admise", "refusee", "desistement"),
        "admise": ("inscrite", "desistement"),
        "inscrite": ("en_formation", "desistement"),
        "en_formation": ("terminee", "abandon"),
        "refusee": (),
        "desistement": (),
        "abandon": (),
        "terminee": (),
    }
)
"""Allowed next statuses of an application, in the order screens offer them."""

PENDING_STATUSES: Final[tuple[str, ...]] = ("nouvelle", "en_etude", "entretien", "admise")
"""Applications still waiting for a decision of the secretariat (the default queue).

The same set is where a status change may still be undone (see :func:`can_undo`)."""

NEW: Final = "nouvelle"
"""Received and not yet looked at: the only status the triage SLA applies to."""

TERMINAL_STATUSES: Final[frozenset[str]] = frozenset(
    status for status, following in TRANSITIONS.items() if not following
)

REFUSED: Final = "refusee"
"""Refusal needs a reason: it goes through its own action, never a plain move."""

SEAT_STATUSES: Final[tuple[str, ...]] = (
    "admise",
    "inscrite",
    "en_formation",
    "terminee",
    "abandon",
)
"""Applications attached to a session that take one of its places."""

REFUSAL_REASONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "prerequis": "Prérequis non remplis",
        "dossier_incomplet": "Dossier incomplet",
        "financement": "Financement non trouvé",
        "projet": "Projet professionnel inadapté",
        "session_complete": "Session complète",
        "injoignable": "Candidat injoignable",
        "autre": "Autre motif",
    }
)
"""Reasons of refusal offered on screen; ``autre`` requires a free text."""

MAX_COMMENT_CHARS: Final = 2000

assert set(TRANSITIONS) == set(APPLICATION_STATUSES), "every status has a row"


def next_statuses(current: str) -> tuple[str, ...]:
    """The statuses an application in ``current`` may move to (none for unknown ones)."""
    return TRANSITIONS.get(current, ())


def can_move(current: str, target: str) -> bool:
    return target in next_statuses(current)


def check_move(current: str, target: str) -> None:
    """Raise :class:`InvalidInput` unless ``current -> target`` is in the table."""
    if target not in APPLICATION_STATUSES:
        raise InvalidInput(f"Statut inconnu : « {target} ».")
    if not can_move(current, target):
        raise InvalidInput(
            f"Passage impossible de « {status_label(current)} » à « {status_label(target)} »."
        )


def can_undo(from_status: str | None, to_status: str) -> bool:
    """May the status change ``from_status -> to_status`` be undone?

    Only a forward step of the table taken from a triage stage (before
    enrolment): a refusal, an admission, a withdrawal before enrolment.
    An undo itself is not in the table, so it cannot be undone in turn.
    """
    if from_status is None or from_status not in PENDING_STATUSES:
        return False
    return can_move(from_status, to_status) and to_status != "inscrite"


def needs_confirmation(current: str, target: str) -> bool:
    """Moves that cannot be undone ask for a confirmation on screen."""
    return not can_undo(current, target)


def refusal_text(reason_code: str, detail: str | None) -> str:
    """``motif_refus`` from a reason of the list and an optional free text."""
    if reason_code not in REFUSAL_REASONS:
        raise InvalidInput("Choisissez un motif de refus dans la liste.")
    cleaned = clean_comment(detail)
    if reason_code == "autre" and not cleaned:
        raise InvalidInput("Précisez le motif du refus.")
    label = REFUSAL_REASONS[reason_code]
    return f"{label} — {cleaned}" if cleaned else label


def clean_comment(text: str | None) -> str | None:
    """A free text as stored: NUL removed, trimmed, bounded; empty -> None."""
    if text is None:
        return None
    cleaned = text.replace("\x00", "").strip()
    if len(cleaned) > MAX_COMMENT_CHARS:
        raise InvalidInput(
            f"Texte trop long ({len(cleaned)} caractères, maximum {MAX_COMMENT_CHARS})."
        )
    return cleaned or None


# --- Matches ------------------------------------------------------------------

MATCH_TRANSITIONS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "propose": ("valide", "entretien", "embauche", "rejete"),
        "valide": ("entretien", "embauche", "rejete"),
        "entretien": ("embauche", "rejete"),
        "embauche": (),
        "rejete": (),
    }
)
"""Allowed decisions on a match, by its current status."""

MATCH_LABELS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "propose": "Proposé",
        "valide": "Validé",
        "rejete": "Rejeté",
        "entretien": "Entretien",
        "embauche": "Embauché",
    }
)

MATCH_ACTION_LABELS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "valide": "Valider",
        "entretien": "Entretien",
        "embauche": "Embauché",
        "rejete": "Rejeter",
    }
)

assert set(MATCH_TRANSITIONS) == set(MATCH_STATUSES), "every match status has a row"


def match_label(code: str | None) -> str:
    return MATCH_LABELS.get(code, code) if code is not None else "—"


def next_match_statuses(current: str) -> tuple[str, ...]:
    return MATCH_TRANSITIONS.get(current, ())


def check_match_decision(current: str, decision: str) -> None:
    if decision not in MATCH_STATUSES:
        raise InvalidInput(f"Décision inconnue : « {decision} ».")
    if decision not in next_match_statuses(current):
        raise InvalidInput(
            f"Décision impossible : « {match_label(current)} » → « {match_label(decision)} »."
        )


# --- The triage SLA ---------------------------------------------------------
# One rule, read by the queue, its filter, the overview and the KPI engine:
# an application is overdue while it is still new and was received more than
# ``sla_hours`` ago. The SQL condition and the Python twin are tested together
# (tests/test_overdue_rule.py).


def overdue_before(now: datetime, sla_hours: float) -> datetime:
    """The instant before which a still-new application is overdue."""
    return now - timedelta(hours=sla_hours)


def overdue_condition(
    status: SQLColumnExpression[str],
    received_at: SQLColumnExpression[datetime],
    *,
    now: datetime,
    sla_hours: float,
) -> ColumnElement[bool]:
    """SQL: the application of these columns is overdue at ``now``."""
    return and_(status == NEW, received_at < overdue_before(now, sla_hours))


def is_overdue(status: str, received_at: datetime, *, now: datetime, sla_hours: float) -> bool:
    """Python twin of :func:`overdue_condition`, for rows already read."""
    return status == NEW and received_at < overdue_before(now, sla_hours)
