"""« Charge de l'équipe »: the open work each active secretariat member holds.

Per member: open applications assigned (pending statuses), how many of them are
past the triage SLA (the one rule, :func:`data.workflow.overdue_condition`), the
oldest one, and the status changes they made in the last 7 days. The same
count of open work is what "Répartir" balances (``data.triage.bulk``) and what
the alert rule ``staff_workload`` watches.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, func, select

from data.db import translate_errors
from data.models import Candidature, CandidatureEvent, User
from data.triage.dossier import may_receive_applications
from data.workflow import PENDING_STATUSES, overdue_condition

WORKLOAD_COLUMNS = ("user_id", "name", "open", "overdue", "oldest", "decisions_7d")


def team_workload(engine: Engine, *, now: datetime, sla_hours: float) -> pd.DataFrame:
    """One row per active secretariat member, most loaded first."""
    c = Candidature
    overdue = overdue_condition(c.statut, c.created_at, now=now, sla_hours=sla_hours)
    held = (
        select(
            c.assigned_to.label("user_id"),
            func.count().label("open"),
            func.count().filter(overdue).label("overdue"),
            func.min(c.created_at).label("oldest"),
        )
        .where(c.statut.in_(PENDING_STATUSES), c.assigned_to.is_not(None))
        .group_by(c.assigned_to)
        .subquery()
    )
    decided = (
        select(CandidatureEvent.changed_by.label("user_id"), func.count().label("decisions"))
        .where(
            CandidatureEvent.changed_at >= now - timedelta(days=7),
            CandidatureEvent.from_statut.is_not(None),
        )
        .group_by(CandidatureEvent.changed_by)
        .subquery()
    )
    statement = (
        select(
            User.id,
            User.prenom,
            User.nom,
            func.coalesce(held.c.open, 0),
            func.coalesce(held.c.overdue, 0),
            held.c.oldest,
            func.coalesce(decided.c.decisions, 0),
        )
        .outerjoin(held, held.c.user_id == User.id)
        .outerjoin(decided, decided.c.user_id == User.id)
        .where(may_receive_applications("triage.dispatched"))
        .order_by(func.coalesce(held.c.open, 0).desc(), User.id)
    )
    with translate_errors(), engine.connect() as connection:
        rows = [
            (r[0], f"{r[1]} {r[2]}".strip(), int(r[3]), int(r[4]), r[5], int(r[6]))
            for r in connection.execute(statement)
        ]
    return pd.DataFrame(rows, columns=WORKLOAD_COLUMNS)
