"""The French names of the KPI tables' columns and of the funnel's stages.

One module, so that a figure carries the same name on a screen, in its CSV or
Excel download and in a PDF or Excel report: the pages (``pages/``) and the
report builders (``reports.builders``) both take their columns from here.
"""

from __future__ import annotations

from reports.model import Column

# (KPI id, French label) from application to completion: the funnel of the
# Conversion screen and of the monthly report.
FUNNEL: tuple[tuple[str, str], ...] = (
    ("applications", "Candidatures"),
    ("reached_en_etude", "En étude"),
    ("reached_entretien", "Entretien"),
    ("reached_admise", "Admises"),
    ("reached_inscrite", "Inscrites"),
    ("reached_terminee", "Terminées"),  # short: a PDF chart label holds ~15 characters
)

# The header of a breakdown's first column, per dimension of data.kpis.
DIMENSION_HEADERS = {
    "formation": "Formation",
    "source": "Source",
    "financement": "Financement",
    "financeur": "Financeur",
    "month": "Mois",
}


def funnel_stage(kpi_id: str) -> str | None:
    """The stage a funnel step counts (``reached_admise`` -> ``admise``); None for the
    first step, every application."""
    return kpi_id.removeprefix("reached_") if kpi_id.startswith("reached_") else None


def conversion_columns(dimension: str = "formation") -> tuple[Column, ...]:
    """Applications, enrolments and conversion per formation, source or funding."""
    return (
        Column("label", DIMENSION_HEADERS[dimension]),
        Column("applications", "Candidatures", "integer"),
        Column("enrolments", "Inscriptions", "integer"),
        Column("conversion_rate", "Taux de conversion", "percent"),
    )


def revenue_columns(dimension: str) -> tuple[Column, ...]:
    """Invoiced and collected euros per funder, formation or month."""
    return (
        Column("label", DIMENSION_HEADERS[dimension]),
        Column("invoiced", "Facturé", "money"),
        Column("collected", "Encaissé", "money"),
    )


PLACEMENT_COLUMNS = (
    Column("label", "Formation"),
    Column("cohort", "Parcours terminés", "integer"),
    Column("placed", "En emploi à 6 mois", "integer"),
    Column("placement_rate", "Taux d'insertion", "percent"),
    Column("durable", "En emploi durable", "integer"),
    Column("durable_rate", "Taux d'insertion durable", "percent"),
)
COMPLETION_COLUMNS = (
    Column("label", "Formation"),
    Column("completions", "Parcours terminés", "integer"),
    Column("dropouts", "Abandons", "integer"),
    Column("completion_rate", "Taux de réussite", "percent"),
)
SATISFACTION_COLUMNS = (
    Column("label", "Formation"),
    Column("evaluations", "Évaluations", "integer"),
    Column("satisfaction_avg", "Note moyenne (sur 5)", "number"),
    Column("satisfaction_rate", "Notes de 4 ou 5", "percent"),
)
# Completion and satisfaction side by side (data.kpis.quality_by_formation).
QUALITY_COLUMNS = COMPLETION_COLUMNS + SATISFACTION_COLUMNS[1:]
