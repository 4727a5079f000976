"""Who may do what: one table, used by navigation and by every write function."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from data.errors import NotAllowed

# Capabilities by role. A page lists the capability it needs; a write checks it.
CAPABILITIES: Final[dict[str, frozenset[str]]] = {
    "admin": frozenset(
        {
            "kpi.view", "kpi.money", "kpi.analysis",
            "triage.view", "triage.write",
            "matching.view", "matching.write",
            "messages.view", "messages.write",
            "reports.view", "schedules.write",
            "team.manage", "audit.view",
        }
    ),
    "direction": frozenset(
        {
            "kpi.view", "kpi.money", "kpi.analysis",
            "triage.view", "matching.view", "messages.view",
            "reports.view", "schedules.write",
        }
    ),
    "secretariat": frozenset(
        {
            "kpi.view",
            "triage.view", "triage.write",
            "matching.view", "matching.write",
            "messages.view", "messages.write",
        }
    ),
}  # fmt: skip

ROLE_LABELS: Final[dict[str, str]] = {
    "admin": "Administration",
    "direction": "Direction",
    "secretariat": "Secrétariat",
}


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
    """Raise :class:`NotAllowed` unless ``actor``'s role grants ``capability``."""
    if not can(actor.role, capability):
        raise NotAllowed("Votre rôle ne permet pas cette action.")
