"""Reads the weekly secretariat report needs beyond the KPI engine and the triage queue.

The overdue list comes from :mod:`data.triage.queue` (the queue's own
definition of "overdue", the KPI's ``backlog_overdue``); the decisions of the
period are read here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import aliased

from data.db import translate_errors
from data.kpis import KpiQuery
from data.kpis.sql import formation_conditions
from data.labels import status_label
from data.models import Candidature, CandidatureEvent, Formation, User
from data.triage.filters import QueueFilters
from data.triage.queue import queue_page

DECISION_STATUSES: Final[tuple[str, ...]] = ("admise", "refusee", "inscrite")
DECISION_COLUMNS: Final = [
    "changed_at",
    "candidature_id",
    "applicant",
    "formation",
    "from_label",
    "to_statut",
    "to_label",
    "decided_by",
]
OVERDUE_COLUMNS: Final = [
    "id",
    "created_at",
    "applicant",
    "formation",
    "age_days",
    "assignee",
    "statut_label",
]
LIST_LIMIT: Final = 5000

Applicant = aliased(User, name="applicant")
Staff = aliased(User, name="staff")


def decisions_in_period(
    engine: Engine, query: KpiQuery, *, limit: int = LIST_LIMIT
) -> pd.DataFrame:
    """Admissions, refusals and enrolments recorded in the period, oldest first."""
    lo, hi = query.utc_bounds()
    e, c = CandidatureEvent, Candidature
    statement = (
        select(
            e.changed_at,
            c.id,
            Applicant.prenom,
            Applicant.nom,
            Formation.titre,
            e.from_statut,
            e.to_statut,
            Staff.prenom,
            Staff.nom,
        )
        .join(c, c.id == e.candidature_id)
        .join(Applicant, Applicant.id == c.user_id)
        .join(Formation, Formation.id == c.formation_id)
        .outerjoin(Staff, Staff.id == e.changed_by)
        .where(e.to_statut.in_(DECISION_STATUSES), e.changed_at >= lo, e.changed_at < hi)
        .where(*formation_conditions(c.__table__.c.formation_id, query))
        .order_by(e.changed_at, e.id)
        .limit(limit)
    )
    with translate_errors(), engine.connect() as connection:
        rows = connection.execute(statement).all()
    records = [
        {
            "changed_at": at,
            "candidature_id": cid,
            "applicant": f"{prenom} {nom}".strip(),
            "formation": titre,
            "from_label": status_label(old) if old else "",
            "to_statut": new,
            "to_label": status_label(new),
            "decided_by": f"{s_prenom} {s_nom}".strip() if s_prenom is not None else "Site web",
        }
        for at, cid, prenom, nom, titre, old, new, s_prenom, s_nom in rows
    ]
    return pd.DataFrame(records, columns=DECISION_COLUMNS)


def formation_id(engine: Engine, slug: str | None) -> int | None:
    if slug is None:
        return None
    with translate_errors(), engine.connect() as connection:
        return connection.execute(
            select(Formation.id).where(Formation.slug == slug)
        ).scalar_one_or_none()


def overdue_applications(
    engine: Engine, query: KpiQuery, *, now: datetime, limit: int = LIST_LIMIT
) -> pd.DataFrame:
    """New applications waiting longer than the triage SLA at ``now``, oldest first."""
    filters = QueueFilters(
        statuses=("nouvelle",),
        overdue_only=True,
        formation_id=formation_id(engine, query.formation),
    )
    page = queue_page(
        engine,
        filters,
        actor_id=None,
        now=now,
        sla_hours=query.sla_hours,
        tz=query.tz,
        limit=limit,
    )
    records = [
        {
            "id": row.id,
            "created_at": row.created_at,
            "applicant": row.applicant,
            "formation": row.formation,
            "age_days": row.age_hours / 24,
            "assignee": row.assignee or "Non assignée",
            "statut_label": status_label(row.statut),
        }
        for row in page.rows
    ]
    return pd.DataFrame(records, columns=OVERDUE_COLUMNS)
