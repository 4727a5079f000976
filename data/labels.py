"""French display labels of the codes stored in the operational database.

Screens, reports and the KPI engine all take their labels from here, so a
code is spelt the same way everywhere. The stage ranks of the KPI
definitions (``contract/kpi-definitions.md``, "Application stages") live here
too: they are the one place an application's progress is measured.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

NOT_PROVIDED = "Non renseigné"

FUNDER_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "cpf": "CPF",
        "france_travail": "France Travail",
        "opco": "OPCO",
        "region": "Région",
        "employeur": "Employeur",
        "personnel": "Personnel",
    }
)
"""``factures.financeur`` and ``candidatures.financement``."""

SOURCE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "site": "Site web",
        "salon": "Salon",
        "france_travail": "France Travail",
        "mission_locale": "Mission locale",
        "entreprise": "Entreprise",
        "prescripteur": "Prescripteur",
        "autre": "Autre",
    }
)
"""``candidatures.source``."""

STATUS_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "nouvelle": "Nouvelle",
        "en_etude": "En étude",
        "entretien": "Entretien",
        "admise": "Admise",
        "refusee": "Refusée",
        "desistement": "Désistement",
        "inscrite": "Inscrite",
        "en_formation": "En formation",
        "abandon": "Abandon",
        "terminee": "Terminée",
    }
)
"""``candidatures.statut`` (and ``candidature_events.to_statut``)."""

RANKS: Mapping[str, int] = MappingProxyType(
    {
        "nouvelle": 0,
        "en_etude": 1,
        "entretien": 2,
        "admise": 3,
        "inscrite": 4,
        "en_formation": 5,
        "terminee": 6,
        "abandon": 5,
        "refusee": -1,
        "desistement": -1,
    }
)
"""Rank of each application status on the main path; any other value ranks -1."""

UNRANKED = -1


def funder_label(code: str | None) -> str:
    """``"region"`` → ``"Région"``; ``None`` → ``"Non renseigné"``."""
    return _label(FUNDER_LABELS, code)


def source_label(code: str | None) -> str:
    """``"site"`` → ``"Site web"``."""
    return _label(SOURCE_LABELS, code)


def status_label(code: str | None) -> str:
    """``"en_etude"`` → ``"En étude"``."""
    return _label(STATUS_LABELS, code)


def _label(labels: Mapping[str, str], code: str | None) -> str:
    if code is None:
        return NOT_PROVIDED
    return labels.get(code, code)


# The time zones this centre uses, offered first (the rest of the IANA list
# follows, each shown as "Autre : <name>").
CENTRE_TIMEZONES: Mapping[str, str] = MappingProxyType(
    {
        "America/Guadeloupe": "Guadeloupe",
        "Europe/Paris": "Paris",
        "America/Martinique": "Martinique",
        "America/Cayenne": "Guyane",
        "UTC": "UTC",
    }
)


def timezone_choice_label(zone: str) -> str:
    """How a zone reads in a list: ``Guadeloupe``, or ``Autre : Asia/Tokyo``."""
    return CENTRE_TIMEZONES.get(zone, f"Autre : {zone}")


def timezone_clause(zone: str) -> str:
    """What follows a time so it says its zone: ``heure de Guadeloupe``, ``UTC``,
    ``fuseau Asia/Tokyo``."""
    if zone == "UTC":
        return "UTC"
    if zone in CENTRE_TIMEZONES:
        return f"heure de {CENTRE_TIMEZONES[zone]}"
    return f"fuseau {zone}"
