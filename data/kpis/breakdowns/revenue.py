"""Revenue invoiced and collected by funder, formation or month."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Engine,
    Select,
    literal,
    null,
    select,
    union_all,
)

from data import formatting
from data.kpis.breakdowns.common import (
    REVENUE_COLUMNS,
    RevenueDimension,
    check_choice,
    first_of_next_month,
    frame_of,
    rows_of,
)
from data.kpis.query import KpiQuery
from data.kpis.sql import (
    FORMATIONS,
    INVOICES,
    cents_sum,
    date_in_period,
    invoice_formation_conditions,
    invoice_formation_id,
    invoices_with_formation,
    money_from_cents,
)
from data.labels import FUNDER_LABELS

# --- Revenue ----------------------------------------------------------------


def revenue_by(engine: Engine, query: KpiQuery, dimension: RevenueDimension) -> pd.DataFrame:
    """Invoiced and collected euros (floats) per funder, formation or month.

    Invoiced counts by ``date_emission``, collected by ``date_paiement``
    (so "month" puts them in their own months). Months cover the period.
    """
    check_choice(dimension, ("financeur", "formation", "month"), "dimension")
    if dimension == "month":
        return _revenue_months(query, rows_of(engine, _revenue_by_day(query)))
    stmt = _revenue_by_key(query, dimension)
    found = {
        key: (label, float(money_from_cents(invoiced)), float(money_from_cents(collected)))
        for key, label, invoiced, collected in rows_of(engine, stmt)
    }
    records = [
        {
            "key": key,
            "label": label if dimension == "formation" else FUNDER_LABELS.get(key, key),
            "invoiced": invoiced,
            "collected": collected,
        }
        for key, (label, invoiced, collected) in found.items()
    ]
    records.sort(key=lambda r: (-r["invoiced"], -r["collected"], r["label"]))
    return frame_of(records, REVENUE_COLUMNS)


def _invoiced(query: KpiQuery) -> ColumnElement[bool]:
    return (INVOICES.c.statut != "annulee") & date_in_period(INVOICES.c.date_emission, query)


def _collected(query: KpiQuery) -> ColumnElement[bool]:
    return (INVOICES.c.statut == "payee") & date_in_period(INVOICES.c.date_paiement, query)


def _revenue_by_key(query: KpiQuery, dimension: str) -> Select[Any]:
    """One pass over the invoices issued or paid in the period (each looked up once
    in its application or quote for its formation), summed per funder or formation."""
    invoiced, collected = _invoiced(query), _collected(query)
    totals = [cents_sum(INVOICES.c.montant, invoiced), cents_sum(INVOICES.c.montant, collected)]
    conditions = [invoiced | collected, *invoice_formation_conditions(query)]
    if dimension == "financeur":
        return (
            select(INVOICES.c.financeur, null().label("label"), *totals)
            .where(*conditions)
            .group_by(INVOICES.c.financeur)
        )
    per_formation = (
        select(
            invoice_formation_id().label("key"), *(t.label(f"t{i}") for i, t in enumerate(totals))
        )
        .select_from(invoices_with_formation())
        .where(*conditions)
        .group_by(invoice_formation_id())
        .subquery("per_formation")
    )
    return select(
        FORMATIONS.c.slug, FORMATIONS.c.titre, per_formation.c.t0, per_formation.c.t1
    ).join_from(per_formation, FORMATIONS, FORMATIONS.c.id == per_formation.c.key)


def _revenue_by_day(query: KpiQuery) -> Any:
    """Cents invoiced per issue day and collected per payment day (each sum read from
    its own index in date order); :func:`_revenue_months` adds the days up."""
    scope = invoice_formation_conditions(query)
    zero = literal(0)
    invoiced = (
        select(INVOICES.c.date_emission, cents_sum(INVOICES.c.montant), zero)
        .where(_invoiced(query), *scope)
        .group_by(INVOICES.c.date_emission)
    )
    collected = (
        select(INVOICES.c.date_paiement, zero, cents_sum(INVOICES.c.montant))
        .where(_collected(query), *scope)
        .group_by(INVOICES.c.date_paiement)
    )
    return union_all(invoiced, collected)


def _revenue_months(query: KpiQuery, days: Iterable[Any]) -> pd.DataFrame:
    """Every month of the period, with the cents of its days summed exactly."""
    found: dict[date, list[Any]] = {}
    for day, invoiced, collected in days:
        totals = found.setdefault(day.replace(day=1), [0, 0])
        totals[0] += Decimal(invoiced or 0)
        totals[1] += Decimal(collected or 0)
    records = []
    month = query.start.replace(day=1)
    while month < query.end:
        invoiced, collected = found.pop(month, (0, 0))
        records.append(
            {
                "key": month,
                "label": formatting.month_label(month),
                "invoiced": float(money_from_cents(invoiced)),
                "collected": float(money_from_cents(collected)),
            }
        )
        month = first_of_next_month(month)
    if found:
        raise RuntimeError(f"unexpected months {sorted(found)}")
    return frame_of(records, REVENUE_COLUMNS)
