"""The most active companies: job offers posted and hires from matches."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import (
    Engine,
    func,
    literal,
    select,
    union_all,
)

from data.kpis.breakdowns.common import COMPANY_COLUMNS, frame_of, rows_of
from data.kpis.query import KpiQuery
from data.kpis.sql import (
    COMPANIES,
    MATCHES,
    OFFERS,
    ts_in_period,
)

# --- Companies --------------------------------------------------------------


def most_active_companies(engine: Engine, query: KpiQuery, limit: int = 10) -> pd.DataFrame:
    """Companies by job offers posted in the period plus hires from its matches.

    Job-offer and matching figures ignore the formation filter.
    """
    one, zero = literal(1), literal(0)
    posted = select(
        OFFERS.c.entreprise_id.label("entreprise_id"), one.label("offer"), zero.label("hire")
    ).where(ts_in_period(OFFERS.c.created_at, query))
    hired = (
        select(
            OFFERS.c.entreprise_id.label("entreprise_id"), zero.label("offer"), one.label("hire")
        )
        .select_from(MATCHES.join(OFFERS, OFFERS.c.id == MATCHES.c.offre_id))
        .where(ts_in_period(MATCHES.c.date_match, query), MATCHES.c.statut == "embauche")
    )
    parts = union_all(posted, hired).subquery("parts")
    activity = (func.sum(parts.c.offer) + func.sum(parts.c.hire)).label("activity")
    stmt = (
        select(
            COMPANIES.c.id,
            COMPANIES.c.nom,
            func.sum(parts.c.offer),
            func.sum(parts.c.hire),
            activity,
        )
        .select_from(parts)
        .join(COMPANIES, COMPANIES.c.id == parts.c.entreprise_id)
        .group_by(COMPANIES.c.id, COMPANIES.c.nom)
        .order_by(activity.desc(), COMPANIES.c.nom, COMPANIES.c.id)
        .limit(limit)
    )
    records = [
        {
            "entreprise_id": int(company_id),
            "label": nom,
            "offers_posted": int(offers),
            "hires": int(hires),
            "activity": int(total),
        }
        for company_id, nom, offers, hires, total in rows_of(engine, stmt)
    ]
    return frame_of(records, COMPANY_COLUMNS)
