"""Who may do what: one table, used by navigation and by every write function."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from data.errors import NotAllowed

# Capabilities by role. A page lists the capability it needs; a write checks it.
CAPABILITIES: Final[dict[str, frozenset[str]]] = {
    "admin": frozenset(
        {
            "kpi.view",
            "kpi.money",
            "kpi.analysis",
            "triage.view",
            "triage.write",
            "matching.view",
            "matching.write",
            "messages.view",
            "messages.write",
            "reports.view",
            "schedules.write",
            "team.manage",
            "audit.view",
            "system.view",
            "alerts.view",
            "alerts.manage",
        }
    ),
    "direction": frozenset(
        {
            "kpi.view",
            "kpi.money",
            "kpi.analysis",
            "triage.view",
            "matching.view",
            "messages.view",
            "reports.view",
            "schedules.write",
            "alerts.view",
            "alerts.manage",
        }
    ),
    "secretariat": frozenset(
        {
            "kpi.view",
            "triage.view",
            "triage.write",
            "triage.dispatched",  # "Répartir" shares new applications among these roles
            "matching.view",
            "matching.write",
            "messages.view",
            "messages.write",
            "alerts.view",
        }
    ),
}

ROLE_REFUSAL: Final = "Votre rôle ne permet pas cette action."

ROLE_LABELS: Final[dict[str, str]] = {
    "admin": "Administration",
    "direction": "Direction",
    "secretariat": "Secrétariat",
}
# The website's other roles (accounts with no access to the dashboard).
OTHER_ROLE_LABELS: Final[dict[str, str]] = {
    "formateur": "Formateur",
    "stagiaire": "Stagiaire",
    "recruteur": "Recruteur",
}


def role_label(role: str) -> str:
    """Any account's role in French (staff or not); an unknown code stays as it is."""
    return ROLE_LABELS.get(role) or OTHER_ROLE_LABELS.get(role, role)


@dataclass(frozen=True)
class Actor:
    """The signed-in staff member on whose behalf a read or write happens."""

    id: int
    email: str
    role: str
    prenom: str
    nom: str

    @property
    def display_name(self) -> str:
        return f"{self.prenom} {self.nom}".strip() or self.email


def can(role: str, capability: str) -> bool:
    return capability in CAPABILITIES.get(role, frozenset())


def require(actor: Actor, capability: str) -> None:
    """Raise :class:`NotAllowed` unless ``actor``'s role grants ``capability``.

    A first check on the role the caller holds; every write repeats it on the
    account as it is now, in its own transaction (:func:`data.acting.acting_account`).
    """
    if not can(actor.role, capability):
        raise NotAllowed(ROLE_REFUSAL)
