"""Drill-downs: the rows behind a headline figure, capped by ``limit``.

Codes (``statut``, ``source``, ``financement``, ``financeur``) are returned
as stored; screens turn them into words with :mod:`data.labels`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select

from data.db import translate_errors
from data.errors import InvalidInput
from data.kpis.query import KpiQuery, aware
from data.kpis.sql import (
    APPLICATIONS,
    FORMATIONS,
    INVOICES,
    USERS,
    cohort_base,
    invoice_formation_conditions,
    invoice_formation_id,
    invoices_with_formation,
    stage_rank,
    with_reached_rank,
)
from data.labels import RANKS

APPLICATION_COLUMNS = [
    "id",
    "created_at",
    "applicant",
    "email",
    "formation",
    "statut",
    "source",
    "financement",
]
OVERDUE_COLUMNS = [
    "numero",
    "financeur",
    "montant",
    "date_emission",
    "date_echeance",
    "days_overdue",
    "formation",
]
REACHABLE_STAGES = tuple(stage for stage, rank in RANKS.items() if rank >= 0)


def applications_in_period(
    engine: Engine, query: KpiQuery, *, reached: str | None = None, limit: int = 5000
) -> pd.DataFrame:
    """Applications created in the period (newest first), optionally only those
    that reached a stage (``reached="entretien"``: the funnel's bar)."""
    if reached is not None and reached not in REACHABLE_STAGES:
        raise InvalidInput(f"Étape inconnue « {reached} ».")
    cohort = with_reached_rank(
        cohort_base(
            query,
            APPLICATIONS.c.created_at,
            APPLICATIONS.c.user_id,
            APPLICATIONS.c.formation_id,
            APPLICATIONS.c.source,
            APPLICATIONS.c.financement,
        ),
        "cohort",
    )
    stmt = (
        select(
            cohort.c.id,
            cohort.c.created_at,
            (USERS.c.prenom + " " + USERS.c.nom).label("applicant"),
            USERS.c.email,
            FORMATIONS.c.titre.label("formation"),
            cohort.c.statut,
            cohort.c.source,
            cohort.c.financement,
        )
        .select_from(cohort)
        .join(USERS, USERS.c.id == cohort.c.user_id)
        .join(FORMATIONS, FORMATIONS.c.id == cohort.c.formation_id)
        .order_by(cohort.c.created_at.desc(), cohort.c.id.desc())
        .limit(limit)
    )
    if reached is not None:
        stmt = stmt.where(cohort.c.reached_rank >= stage_rank(reached))
    with translate_errors(), engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(stmt).mappings()]
    return pd.DataFrame(rows, columns=APPLICATION_COLUMNS)


def overdue_invoices(
    engine: Engine, query: KpiQuery, *, now: datetime | None = None, limit: int = 5000
) -> pd.DataFrame:
    """Issued invoices past their due date today, whatever the period (oldest due first).

    The rows behind ``receivables_overdue``; ``montant`` in euros (float).
    """
    today = query.today(aware(now))
    stmt = (
        select(
            INVOICES.c.numero,
            INVOICES.c.financeur,
            INVOICES.c.montant,
            INVOICES.c.date_emission,
            INVOICES.c.date_echeance,
            FORMATIONS.c.titre.label("formation"),
        )
        .select_from(
            invoices_with_formation().join(FORMATIONS, FORMATIONS.c.id == invoice_formation_id())
        )
        .where(
            INVOICES.c.statut == "emise",
            INVOICES.c.date_echeance < today,
            *invoice_formation_conditions(query),
        )
        .order_by(INVOICES.c.date_echeance, INVOICES.c.numero)
        .limit(limit)
    )
    with translate_errors(), engine.connect() as connection:
        rows: list[dict[str, Any]] = [dict(row) for row in connection.execute(stmt).mappings()]
    for row in rows:
        row["montant"] = float(row["montant"])
        row["days_overdue"] = (today - row["date_echeance"]).days
    return pd.DataFrame(rows, columns=OVERDUE_COLUMNS)
