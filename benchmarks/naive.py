"""The naive way: ``pd.read_sql`` of whole tables, then pandas.

What a dashboard without an aggregation layer does: load every table the
figures need (``SELECT *``), then filter, join and count in pandas. Each
operation loads its tables afresh (no cache between runs, like the engine's
operations). The results are checked against the engine's, so the ratios
compare the same figures.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from benchmarks.harness import SAME_FIGURES, Metrics, Operation, baseline_operations
from benchmarks.kpis import Bench
from data.kpis import KpiQuery, KpiSet
from data.labels import RANKS
from data.sqlfuncs import add_months_to

KPI_TABLES = (
    "candidatures",
    "candidature_events",
    "sessions_formation",
    "factures",
    "devis",
    "matchings",
    "offres_emploi",
    "placements",
    "evaluations",
)
RUNS = 1  # each run loads millions of rows: one warm run after the cold one


def load(engine: Engine, *tables: str) -> dict[str, pd.DataFrame]:
    """Every row of each table, as the naive dashboard reads them."""
    with engine.connect() as connection:
        return {name: pd.read_sql(f"SELECT * FROM {name}", connection) for name in tables}


def _local_bounds(query: KpiQuery) -> tuple[pd.Timestamp, pd.Timestamp]:
    lo, hi = query.utc_bounds()
    return pd.Timestamp(lo), pd.Timestamp(hi)


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series)


def reached_ranks(frames: dict[str, pd.DataFrame]) -> pd.Series:
    """Per application id: the highest rank of its status and its events."""
    apps, events = frames["candidatures"], frames["candidature_events"]
    event_rank = events["to_statut"].map(RANKS).fillna(-1)
    by_app = event_rank.groupby(events["candidature_id"]).max()
    status_rank = apps["statut"].map(RANKS).fillna(-1)
    status_rank.index = apps["id"]
    return pd.concat([status_rank, by_app.reindex(status_rank.index).fillna(-1)], axis=1).max(
        axis=1
    )


def naive_kpis(engine: Engine, query: KpiQuery, now: datetime) -> dict[str, Any]:
    """The overview KPI set (no formation filter), from whole tables."""
    frames = load(engine, *KPI_TABLES)
    lo, hi = _local_bounds(query)
    apps = frames["candidatures"]
    reached = reached_ranks(frames)
    cohort = apps[(apps["created_at"] >= lo) & (apps["created_at"] < hi)]
    ranks = reached.reindex(cohort["id"]).to_numpy()
    figures: dict[str, Any] = {"applications": len(cohort)}
    for stage in ("en_etude", "entretien", "admise", "inscrite", "terminee"):
        figures[f"reached_{stage}"] = int((ranks >= RANKS[stage]).sum())
    figures["enrolments"] = figures["reached_inscrite"]
    figures["refusals"] = int((cohort["statut"] == "refusee").sum())
    events = frames["candidature_events"]
    answered = events[events["from_statut"] == "nouvelle"].groupby("candidature_id")["changed_at"]
    first = answered.min().reindex(cohort["id"]).reset_index(drop=True)
    hours = (first - cohort["created_at"].reset_index(drop=True)).dt.total_seconds()
    median = hours.dropna().median() / 3600
    figures["median_first_response_hours"] = None if math.isnan(median) else float(median)
    new = apps[apps["statut"] == "nouvelle"]
    figures["backlog_new"] = len(new)
    figures["backlog_overdue"] = int(
        (new["created_at"] < now - timedelta(hours=query.sla_hours)).sum()
    )
    figures.update(_money(frames, query, now))
    figures.update(_sessions_and_outcomes(frames, query, reached))
    figures.update(_others(frames, query, lo, hi))
    return figures


def _money(frames: dict[str, pd.DataFrame], query: KpiQuery, now: datetime) -> dict[str, Any]:
    invoices, quotes = frames["factures"], frames["devis"]
    emitted, paid, due = (
        _dates(invoices[c]) for c in ("date_emission", "date_paiement", "date_echeance")
    )
    start, end = pd.Timestamp(query.start), pd.Timestamp(query.end)
    today = pd.Timestamp(query.today(now))
    lo, hi = _local_bounds(query)
    sent = quotes[(quotes["sent_at"] >= lo) & (quotes["sent_at"] < hi)]

    def total(mask: pd.Series) -> Decimal:
        return Decimal(str(invoices.loc[mask, "montant"].map(Decimal).sum())).quantize(
            Decimal("0.01")
        )

    return {
        "revenue_invoiced": total(
            (invoices["statut"] != "annulee") & (emitted >= start) & (emitted < end)
        ),
        "revenue_collected": total(
            (invoices["statut"] == "payee") & (paid >= start) & (paid < end)
        ),
        "receivables_overdue": total((invoices["statut"] == "emise") & (due < today)),
        "quotes_sent": len(sent),
        "quotes_accepted": int((sent["statut"] == "accepte").sum()),
    }


def _sessions_and_outcomes(
    frames: dict[str, pd.DataFrame], query: KpiQuery, reached: pd.Series
) -> dict[str, Any]:
    apps, sessions, placements = (
        frames["candidatures"],
        frames["sessions_formation"],
        frames["placements"],
    )
    begins, ends = _dates(sessions["date_debut"]), _dates(sessions["date_fin"])
    start, end = pd.Timestamp(query.start), pd.Timestamp(query.end)
    started = sessions[(begins >= start) & (begins < end)]
    attached = apps[apps["session_id"].isin(started["id"])]
    enrolled = int((reached.reindex(attached["id"]) >= RANKS["inscrite"]).sum())
    ended = sessions.assign(date_fin=ends)[(ends >= start) & (ends < end)]
    finished = apps[apps["statut"].isin(("terminee", "abandon"))].merge(
        ended[["id", "date_fin"]], left_on="session_id", right_on="id", suffixes=("", "_session")
    )
    completed = finished[finished["statut"] == "terminee"]
    jobs = placements[placements["type_contrat"] != "formation"].assign(
        date_debut=lambda p: _dates(p["date_debut"])
    )
    pairs = completed[["id", "user_id", "date_fin"]].merge(jobs, on="user_id", suffixes=("", "_p"))
    limit = pairs["date_fin"].map(lambda d: pd.Timestamp(add_months_to(d.date(), 6)))
    pairs = pairs[(pairs["date_debut"] >= pairs["date_fin"]) & (pairs["date_debut"] <= limit)]
    durable = pairs["type_contrat"].isin(("cdi", "creation_entreprise")) | (
        pairs["type_contrat"].isin(("cdd", "interim", "alternance")) & (pairs["duree_mois"] >= 6)
    )
    return {
        "sessions_started": len(started),
        "places": int(started["places"].sum()),
        "enrolled": enrolled,
        "completions": len(completed),
        "dropouts": int((finished["statut"] == "abandon").sum()),
        "placed_6m": int(pairs["id"].nunique()),
        "durable": int(pairs.loc[durable, "id"].nunique()),
    }


def _others(
    frames: dict[str, pd.DataFrame], query: KpiQuery, lo: pd.Timestamp, hi: pd.Timestamp
) -> dict[str, Any]:
    evaluations, matches, offers = (
        frames["evaluations"],
        frames["matchings"],
        frames["offres_emploi"],
    )
    rated = evaluations[(evaluations["created_at"] >= lo) & (evaluations["created_at"] < hi)]
    matched = matches[(matches["date_match"] >= lo) & (matches["date_match"] < hi)]
    return {
        "evaluations": len(rated),
        "notes": int(rated["note"].sum()),
        "satisfied": int((rated["note"] >= 4).sum()),
        "matches_proposed": len(matched),
        "matches_validated": int(matched["statut"].isin(("valide", "entretien", "embauche")).sum()),
        "match_hires": int((matched["statut"] == "embauche").sum()),
        "offers_open": int((offers["statut"] == "ouverte").sum()),
    }


CHECKED = (
    "applications",
    "reached_en_etude",
    "reached_entretien",
    "reached_admise",
    "reached_inscrite",
    "reached_terminee",
    "backlog_new",
    "backlog_overdue",
    "revenue_invoiced",
    "revenue_collected",
    "receivables_overdue",
    "quotes_sent",
    "quotes_accepted",
    "sessions_started",
    "completions",
    "dropouts",
    "placed_6m",
    "matches_proposed",
    "matches_validated",
    "match_hires",
    "offers_open",
)


def agreement(naive: dict[str, Any], engine: KpiSet) -> str:
    """Which figures differ between the naive result and the engine's (none, hopefully)."""
    wanted = engine.as_dict()
    differ = [key for key in CHECKED if naive[key] != wanted[key]]
    median, expected = naive["median_first_response_hours"], wanted["median_first_response_hours"]
    if (median is None) != (expected is None) or (
        median is not None and not math.isclose(median, float(expected), rel_tol=1e-9)  # type: ignore[arg-type]
    ):
        differ.append("median_first_response_hours")
    if differ:  # a baseline that computes other figures is no comparison: fail it
        raise AssertionError(f"differs from the engine: {differ}")
    return SAME_FIGURES


def operations(bench: Bench) -> list[Operation]:
    def kpi_set(which: str) -> Metrics:
        query = bench.month if which == "month" else bench.year
        figures = naive_kpis(bench.engine, query, bench.now)
        return Metrics(detail=agreement(figures, bench.expected(which)))

    return baseline_operations(
        "naive",
        kpi_set,
        lambda: naive_conversion(bench),
        lambda: naive_revenue_by_month(bench),
        runs=RUNS,
    )


def naive_conversion(bench: Bench) -> pd.DataFrame:
    frames = load(bench.engine, "candidatures", "candidature_events", "formations")
    lo, hi = _local_bounds(bench.year)
    apps = frames["candidatures"]
    cohort = apps[(apps["created_at"] >= lo) & (apps["created_at"] < hi)].copy()
    cohort["enrolled"] = reached_ranks(frames).reindex(cohort["id"]).to_numpy() >= RANKS["inscrite"]
    grouped = cohort.groupby("formation_id").agg(
        applications=("id", "size"), enrolments=("enrolled", "sum")
    )
    grouped["conversion_rate"] = grouped["enrolments"] / grouped["applications"]
    return grouped.join(frames["formations"].set_index("id")[["slug", "titre"]])


def naive_revenue_by_month(bench: Bench) -> pd.DataFrame:
    invoices = load(bench.engine, "factures")["factures"]
    start, end = pd.Timestamp(bench.year.start), pd.Timestamp(bench.year.end)
    emitted, paid = _dates(invoices["date_emission"]), _dates(invoices["date_paiement"])
    issued = invoices[(invoices["statut"] != "annulee") & (emitted >= start) & (emitted < end)]
    cashed = invoices[(invoices["statut"] == "payee") & (paid >= start) & (paid < end)]
    by_issue = issued.groupby(emitted[issued.index].dt.to_period("M"))["montant"].sum()
    by_payment = cashed.groupby(paid[cashed.index].dt.to_period("M"))["montant"].sum()
    return pd.DataFrame({"invoiced": by_issue, "collected": by_payment}).fillna(0)
