"""What each kind of report says: figures, charts and tables from the KPI engine.

Every number comes from :mod:`data.kpis` with the query the screens build
for the same period and filters (:meth:`KpiQuery.from_settings`), so a
report's figures equal the screen's.

- ``monthly``: the director's report: headline KPIs against the previous
  period, the funnel, revenue by funder and formation, placement and
  satisfaction.
- ``weekly``: the secretariat's report: backlog, overdue applications with
  their age and assignee, decisions of the week.
- ``qualiopi``: the Qualiopi results of a year, by formation: completion,
  dropout, placement at 6 months, satisfaction.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Engine, select

from data import formatting
from data.db import translate_errors
from data.errors import InvalidInput
from data.kpis import (
    MONEY_KPIS,
    RATE_KPIS,
    KpiQuery,
    KpiSet,
    applications_trend,
    compute_kpis,
    conversion_by,
    placement_by_formation,
    quality_by_formation,
    revenue_by,
)
from data.labels import KPI_LABELS
from data.models import Formation
from data.periods import Period
from data.settings import Settings
from reports.model import (
    ChartSeries,
    ChartSpec,
    Column,
    ColumnKind,
    Figure,
    Report,
    Section,
    TableSpec,
)
from reports.queries import LIST_LIMIT, decisions_in_period, overdue_applications
from reports.tables import (
    FUNNEL,
    PLACEMENT_COLUMNS,
    QUALITY_COLUMNS,
    conversion_columns,
    revenue_columns,
)

TITLES = {
    "monthly": "Rapport mensuel de direction",
    "weekly": "Rapport hebdomadaire du secrétariat",
    "qualiopi": "Résultats Qualiopi",
}
KIND_LABELS = {
    "monthly": "Rapport mensuel de direction",
    "weekly": "Rapport hebdomadaire du secrétariat",
    "qualiopi": "Résultats Qualiopi (par année)",
}
PROVISIONAL_NOTE = (
    "Taux d'insertion provisoires : la fenêtre de 6 mois après la fin de formation "
    "n'est pas encore close pour toute la cohorte."
)
WEEK_MAX_DAYS = 92
PARALLEL_READS = 4  # below the engine's pool size (5 on PostgreSQL)


def kpi_kind(kpi_id: str) -> ColumnKind:
    if kpi_id in MONEY_KPIS:
        return "money"
    if kpi_id in RATE_KPIS:
        return "percent"
    if kpi_id in ("satisfaction_avg", "median_first_response_hours"):
        return "number"
    return "integer"


def kpi_figure(kpi_id: str, current: KpiSet, previous: KpiSet | None = None) -> Figure:
    """A headline figure with its French label, compared when ``previous`` is given."""
    label = KPI_LABELS[kpi_id]
    if kpi_id == "median_first_response_hours":
        label += " (heures)"
    return Figure(
        label=label,
        value=getattr(current, kpi_id),
        kind=kpi_kind(kpi_id),
        previous=getattr(previous, kpi_id) if previous is not None else None,
        compared=previous is not None,
    )


def _figures(ids: tuple[str, ...], current: KpiSet, previous: KpiSet | None) -> tuple[Figure, ...]:
    return tuple(kpi_figure(i, current, previous) for i in ids)


def formation_title(engine: Engine, slug: str | None) -> str | None:
    """The formation's title; InvalidInput (French) for an unknown slug."""
    if slug is None:
        return None
    with translate_errors(), engine.connect() as connection:
        title = connection.execute(
            select(Formation.titre).where(Formation.slug == slug)
        ).scalar_one_or_none()
    if title is None:
        raise InvalidInput(f"Formation inconnue : « {slug[:60]} ».")
    return str(title)


def _labels(df: pd.DataFrame) -> tuple[str, ...]:
    return tuple(str(v) for v in df["label"])


def _values(df: pd.DataFrame, column: str) -> tuple[float | None, ...]:
    return tuple(None if pd.isna(v) else float(v) for v in df[column])


# --- Monthly director report ------------------------------------------------------------


def _funnel_chart(kpis: KpiSet) -> ChartSpec:
    return ChartSpec(
        "Entonnoir des candidatures de la période",
        "bar",
        tuple(label for _id, label in FUNNEL),
        (ChartSeries("Candidatures", tuple(float(getattr(kpis, i)) for i, _l in FUNNEL)),),
    )


def _grain(query: KpiQuery) -> Literal["week", "month"]:
    return "week" if (query.end - query.start).days <= WEEK_MAX_DAYS else "month"


def _trend_chart(trend: pd.DataFrame, weekly: bool) -> ChartSpec:
    names = tuple(
        f"sem. {formatting.day(b)[:5]}" if weekly else formatting.month_label(b)
        for b in trend["bucket"]
    )
    return ChartSpec(
        "Candidatures et inscriptions par " + ("semaine" if weekly else "mois"),
        "line",
        names,
        (
            ChartSeries("Candidatures", _values(trend, "applications")),
            ChartSeries("Inscriptions", _values(trend, "enrolments")),
        ),
    )


def _revenue_section(by_funder: pd.DataFrame, by_formation: pd.DataFrame) -> Section:
    chart = ChartSpec(
        "Chiffre d'affaires par financeur",
        "hbar",
        _labels(by_funder),
        (
            ChartSeries("Facturé", _values(by_funder, "invoiced")),
            ChartSeries("Encaissé", _values(by_funder, "collected")),
        ),
        "money",
    )
    return Section(
        "Chiffre d'affaires",
        charts=(chart,),
        tables=(
            TableSpec(
                "Chiffre d'affaires par financeur",
                revenue_columns("financeur"),
                by_funder,
                sheet_name="CA par financeur",
            ),
            TableSpec(
                "Chiffre d'affaires par formation",
                revenue_columns("formation"),
                by_formation,
                sheet_name="CA par formation",
            ),
        ),
    )


def _outcomes_section(placement: pd.DataFrame, quality: pd.DataFrame, title: str) -> Section:
    chart = ChartSpec(
        "Réussite et insertion à 6 mois par formation",
        "hbar",
        _labels(quality),
        (
            ChartSeries("Taux de réussite", _values(quality, "completion_rate")),
            ChartSeries(
                "Taux d'insertion à 6 mois",
                _values(
                    placement.set_index("key").reindex(quality["key"]).reset_index(),
                    "placement_rate",
                ),
            ),
        ),
        "percent",
    )
    return Section(
        title,
        charts=(chart,) if len(quality) else (),
        tables=(
            TableSpec(
                "Réussite et satisfaction par formation",
                QUALITY_COLUMNS,
                quality,
                sheet_name="Réussite et satisfaction",
            ),
            TableSpec(
                "Insertion à 6 mois par formation",
                PLACEMENT_COLUMNS,
                placement,
                sheet_name="Insertion à 6 mois",
            ),
        ),
    )


def fetch_all(calls: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run independent reads at once (each on its own pooled connection)."""
    with ThreadPoolExecutor(max_workers=PARALLEL_READS) as pool:
        futures = {name: pool.submit(call) for name, call in calls.items()}
        return {name: future.result() for name, future in futures.items()}


def _kpi_pair(engine: Engine, query: KpiQuery, now: datetime) -> dict[str, Callable[[], Any]]:
    return {
        "kpis": lambda: compute_kpis(engine, query, now=now),
        "previous": lambda: compute_kpis(engine, query.previous(), now=now),
    }


def _outcome_reads(engine: Engine, query: KpiQuery, now: datetime) -> dict[str, Callable[[], Any]]:
    return {
        "placement": lambda: placement_by_formation(engine, query, now=now),
        "quality": lambda: quality_by_formation(engine, query),
    }


def build_monthly(engine: Engine, query: KpiQuery, now: datetime) -> dict[str, object]:
    grain = _grain(query)
    data = fetch_all(
        {
            **_kpi_pair(engine, query, now),
            **_outcome_reads(engine, query, now),
            "conversion": lambda: conversion_by(engine, query, "formation"),
            "trend": lambda: applications_trend(engine, query, grain),
            "by_funder": lambda: revenue_by(engine, query, "financeur"),
            "by_formation": lambda: revenue_by(engine, query, "formation"),
        }
    )
    kpis, previous = data["kpis"], data["previous"]
    compared = _figures(
        (
            "applications",
            "enrolments",
            "conversion_rate",
            "revenue_invoiced",
            "revenue_collected",
            "placement_rate_6m",
            "satisfaction_avg",
            "satisfaction_rate",
        ),
        kpis,
        previous,
    )
    figures = (*compared, kpi_figure("receivables_overdue", kpis))
    key = {f.label: f for f in figures}
    activity = Section(
        "Candidatures et conversion",
        charts=(_funnel_chart(kpis), _trend_chart(data["trend"], grain == "week")),
        tables=(
            TableSpec(
                "Conversion par formation",
                conversion_columns(),
                data["conversion"],
                sheet_name="Conversion par formation",
            ),
        ),
    )
    return {
        "figures": figures,
        "key_figures": tuple(
            key[KPI_LABELS[i]]
            for i in ("applications", "conversion_rate", "revenue_invoiced", "placement_rate_6m")
        ),
        "sections": (
            activity,
            _revenue_section(data["by_funder"], data["by_formation"]),
            _outcomes_section(data["placement"], data["quality"], "Insertion et satisfaction"),
        ),
        "notes": () if kpis.placement_window_complete else (PROVISIONAL_NOTE,),
    }


# --- Weekly secretariat report --------------------------------------------------------------

OVERDUE_TABLE_COLUMNS = (
    Column("id", "N°", "id"),
    Column("created_at", "Reçue le", "datetime"),
    Column("applicant", "Candidat"),
    Column("formation", "Formation"),
    Column("age_days", "Attente (jours)", "number"),
    Column("assignee", "Assignée à"),
)
DECISION_TABLE_COLUMNS = (
    Column("changed_at", "Le", "datetime"),
    Column("candidature_id", "N°", "id"),
    Column("applicant", "Candidat"),
    Column("formation", "Formation"),
    Column("from_label", "Avant"),
    Column("to_label", "Décision"),
    Column("decided_by", "Par"),
)


def _cap_note(rows: pd.DataFrame, which: str) -> str | None:
    if len(rows) < LIST_LIMIT:
        return None
    return f"Liste limitée à {formatting.number(LIST_LIMIT)} lignes ({which})."


def build_weekly(engine: Engine, query: KpiQuery, now: datetime) -> dict[str, object]:
    data = fetch_all(
        {
            **_kpi_pair(engine, query, now),
            "overdue": lambda: overdue_applications(engine, query, now=now),
            "decisions": lambda: decisions_in_period(engine, query),
        }
    )
    kpis, previous = data["kpis"], data["previous"]
    overdue, decisions = data["overdue"], data["decisions"]
    decided = Figure("Décisions de la période", len(decisions), "integer")
    backlog = (kpi_figure("backlog_new", kpis), kpi_figure("backlog_overdue", kpis))
    activity = _figures(("applications", "median_first_response_hours"), kpis, previous)
    counts = decisions["to_label"].value_counts() if len(decisions) else pd.Series(dtype=int)
    chart = ChartSpec(
        "Décisions de la période",
        "bar",
        ("Admises", "Refusées", "Inscrites"),
        (
            ChartSeries(
                "Décisions",
                tuple(float(counts.get(n, 0)) for n in ("Admise", "Refusée", "Inscrite")),
            ),
        ),
    )
    sla = formatting.hours(query.sla_hours)
    return {
        "figures": (*backlog, *activity, decided),
        "key_figures": (*backlog, activity[0], decided),
        "sections": (
            Section(
                "Candidatures en retard de traitement",
                paragraphs=(
                    f"Candidatures nouvelles reçues il y a plus de {sla}, "
                    f"au {formatting.timestamp(now, query.tz)}.",
                ),
                tables=(
                    TableSpec(
                        "Candidatures en retard",
                        OVERDUE_TABLE_COLUMNS,
                        overdue,
                        sheet_name="En retard",
                        note=_cap_note(overdue, "les plus anciennes"),
                    ),
                ),
            ),
            Section(
                "Décisions de la période",
                charts=(chart,),
                tables=(
                    TableSpec(
                        "Décisions",
                        DECISION_TABLE_COLUMNS,
                        decisions,
                        sheet_name="Décisions",
                        note=_cap_note(decisions, "les premières de la période"),
                    ),
                ),
            ),
        ),
        "has_content": bool(len(overdue) or len(decisions) or kpis.backlog_new),
    }


# --- Qualiopi ------------------------------------------------------------------------------------


def build_qualiopi(engine: Engine, query: KpiQuery, now: datetime) -> dict[str, object]:
    data = fetch_all({**_kpi_pair(engine, query, now), **_outcome_reads(engine, query, now)})
    kpis, previous = data["kpis"], data["previous"]
    figures = _figures(
        (
            "completions",
            "dropouts",
            "completion_rate",
            "placement_cohort",
            "placement_rate_6m",
            "durable_placement_rate_6m",
            "satisfaction_avg",
            "satisfaction_rate",
        ),
        kpis,
        previous,
    )
    by_label = {f.label: f for f in figures}
    return {
        "figures": figures,
        "key_figures": tuple(
            by_label[KPI_LABELS[i]]
            for i in (
                "completion_rate",
                "placement_rate_6m",
                "satisfaction_avg",
                "satisfaction_rate",
            )
        ),
        "sections": (
            _outcomes_section(data["placement"], data["quality"], "Résultats par formation"),
        ),
        "notes": () if kpis.placement_window_complete else (PROVISIONAL_NOTE,),
    }


BUILDERS: dict[str, Callable[[Engine, KpiQuery, datetime], dict[str, object]]] = {
    "monthly": build_monthly,
    "weekly": build_weekly,
    "qualiopi": build_qualiopi,
}


def report_title(kind: str, period: Period) -> str:
    if (
        kind == "qualiopi"
        and period.start.month == period.start.day == 1
        and (period.end == period.start.replace(year=period.start.year + 1))
    ):
        return f"{TITLES[kind]} {period.start.year}"
    return TITLES[kind]


def build_report(
    engine: Engine,
    settings: Settings,
    *,
    kind: str,
    period: Period,
    formation: str | None = None,
    now: datetime,
) -> Report:
    """The report of ``kind`` for ``period`` (and a formation), as of ``now`` (aware)."""
    if kind not in BUILDERS:
        raise InvalidInput(f"Type de rapport inconnu : « {kind[:30]} ».")
    title = formation_title(engine, formation)
    query = KpiQuery.from_settings(settings, period.start, period.end, formation=formation)
    parts = BUILDERS[kind](engine, query, now)
    return Report(
        kind=kind,  # type: ignore[arg-type]
        title=report_title(kind, period),
        start=period.start,
        end=period.end,
        generated_at=now,
        timezone=settings.TIMEZONE,
        formation=formation,
        formation_label=title,
        **parts,  # type: ignore[arg-type]
    )
