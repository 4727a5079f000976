"""French display labels of the codes stored in the operational database.

Screens, reports and the KPI engine all take their labels from here, so a
code is spelt the same way everywhere. The stage ranks of the KPI
definitions (``shared/kpi-definitions.md``, "Application stages") live here
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


KPI_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "applications": "Candidatures",
        "reached_en_etude": "Passées en étude",
        "reached_entretien": "Passées en entretien",
        "reached_admise": "Admises",
        "reached_inscrite": "Inscrites",
        "reached_terminee": "Formations terminées",
        "enrolments": "Inscriptions",
        "conversion_rate": "Taux de conversion",
        "refusal_rate": "Taux de refus",
        "median_first_response_hours": "Délai médian de première réponse",
        "backlog_new": "Candidatures à traiter",
        "backlog_overdue": "Candidatures en retard de traitement",
        "revenue_invoiced": "Chiffre d'affaires facturé",
        "revenue_collected": "Encaissements",
        "receivables_overdue": "Créances échues",
        "quotes_sent": "Devis envoyés",
        "quotes_accepted": "Devis acceptés",
        "quote_conversion_rate": "Taux d'acceptation des devis",
        "sessions_started": "Sessions démarrées",
        "fill_rate": "Taux de remplissage",
        "completions": "Parcours terminés",
        "dropouts": "Abandons",
        "completion_rate": "Taux de réussite",
        "placement_cohort": "Cohorte d'insertion",
        "placed_6m": "Insérés à 6 mois",
        "placement_rate_6m": "Taux d'insertion à 6 mois",
        "durable_placement_rate_6m": "Taux d'insertion durable à 6 mois",
        "placement_window_complete": "Taux d'insertion définitifs",
        "satisfaction_avg": "Satisfaction moyenne (sur 5)",
        "satisfaction_rate": "Taux de satisfaction",
        "matches_proposed": "Rapprochements proposés",
        "matches_validated": "Rapprochements validés",
        "match_hires": "Embauches par rapprochement",
        "offers_open": "Offres d'emploi ouvertes",
    }
)
"""French name of every KPI id (``data.kpis.KPI_IDS``)."""
