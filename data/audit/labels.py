"""The audit log in words: the object a row is about and its details, in French.

The audit rows keep their codes (table names, JSON keys, status codes); the
audit screen shows them through these labels, so no table name or raw JSON
reaches it. A key or an object without a label is still shown, as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from data.labels import status_label
from data.permissions import ROLE_LABELS

ENTITY_LABELS: Final[dict[str, str]] = {
    "candidatures": "Candidature",
    "contacts": "Message de contact",
    "matchings": "Matching",
    "users": "Compte",
    "dashboard_report_schedules": "Planification de rapport",
    "dashboard_report_runs": "Envoi de rapport",
    "dashboard_alerts": "Alerte",
    "dashboard_alert_rules": "Règle d'alerte",
    "dashboard_alert_preferences": "Préférences de notification",
    "dashboard_notifications": "Notification",
}

# JSON key -> (French label, how its value reads).
_STATUS = ("statut", status_label)


def _yes_no(value: Any) -> str:
    return "oui" if value else "non"


def _role(value: Any) -> str:
    return ROLE_LABELS.get(str(value), str(value))


def _plain(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, list | tuple):
        return ", ".join(_plain(item) for item in value) or "—"
    return str(value)


DETAIL_LABELS: Final[dict[str, tuple[str, Callable[[Any], str]]]] = {
    "from_statut": ("Statut avant", status_label),
    "to_statut": ("Statut après", status_label),
    "status": ("État", _plain),
    "comment": ("Commentaire", _plain),
    "reason": ("Code du motif", _plain),
    "motif_refus": ("Motif de refus", _plain),
    "previous_motif": ("Motif précédent", _plain),
    "undone_motif_refus": ("Motif annulé", _plain),
    "from_assigned_to": ("Assignée avant (compte n°)", _plain),
    "to_assigned_to": ("Assignée après (compte n°)", _plain),
    "from_session_id": ("Session avant (n°)", _plain),
    "to_session_id": ("Session après (n°)", _plain),
    "session_full": ("Session complète", _yes_no),
    "simulation": ("Simulation", _yes_no),
    "note_id": ("Note n°", _plain),
    "length": ("Longueur (caractères)", _plain),
    "traite_at": ("Traité le", _plain),
    "previous_traite_par": ("Traité auparavant par (compte n°)", _plain),
    "previous_traite_at": ("Traité auparavant le", _plain),
    "email": ("Adresse e-mail", _plain),
    "actif": ("Actif", _yes_no),
    "role": ("Rôle", _role),
    "sessions_revoked": ("Sessions fermées", _plain),
    "schedule_id": ("Planification n°", _plain),
    "name": ("Nom", _plain),
    "recipients": ("Destinataires", _plain),
    "paused": ("En pause", _yes_no),
    "owner": ("Responsable", _plain),
    "failed_recipients": ("Destinataires en échec", _plain),
    "interrupted_recipients": ("Envois interrompus", _plain),
}


def entity_label(entity: str) -> str:
    return ENTITY_LABELS.get(entity, entity)


def _detail(key: str, value: Any) -> str:
    label, reads = DETAIL_LABELS.get(key, (key, _plain))
    if isinstance(value, list) and len(value) == 2 and key in ("actif", "role", "paused"):
        return f"{label} : {reads(value[0])} → {reads(value[1])}"  # [before, after]
    return f"{label} : {reads(value) if value is not None else '—'}"


def details_text(details: Any) -> str:
    """``Statut avant : Nouvelle · Statut après : En étude``; '' for no details."""
    if details is None or details == {}:
        return ""
    if not isinstance(details, dict):
        return _plain(details)
    return " · ".join(_detail(str(key), value) for key, value in details.items())
