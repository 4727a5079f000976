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
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select

from data import formatting
from data.db import translate_errors
from data.errors import InvalidInput
from data.kpis import (
    KPI_SPECS,
    Compared,
    KpiQuery,
    KpiSet,
    applications_trend,
    closed_cohort_text,
    closed_placement_figures,
    compare_periods,
    compute_kpis,
    conversion_by,
    placement_by_formation,
    provisional_text,
    quality_by_formation,
    revenue_by,
    trend_grain,
)
from data.kpis.specs import is_provisional
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
PARALLEL_READS = 4  # below the engine's pool size (5 on PostgreSQL)
FIGURE_KINDS: dict[str, ColumnKind] = {
    "count": "integer",
    "money": "money",
    "rate": "percent",
    "hours": "hours",
    "score": "score",
    "months": "integer",
    "flag": "text",
}


def kpi_figure(kpi_id: str, current: KpiSet, compared: Compared | None = None) -> Figure:
    """A headline figure as its specification shows it, compared with the previous
    period when ``compared`` is given (final figures only: see data.kpis.compare)."""
    spec = KPI_SPECS[kpi_id]
    value = getattr(current, kpi_id)
    previous = previous_text = change = None
    if compared is not None and not spec.as_of_now:
        if spec.over_closed_cohort:
            earlier = compared.closed_previous
            previous = None if earlier is None else earlier[kpi_id]
        else:
            previous = getattr(compared.previous, kpi_id)
        found = compared.change(kpi_id)
        change = None if found is None else found.text
        if found is not None or not is_provisional(kpi_id, current):
            previous_text = spec.value_text(previous)
    note = None
    if spec.over_closed_cohort and compared is not None:
        note = closed_cohort_text(compared.query, current).capitalize()
    elif is_provisional(kpi_id, current):
        note = "Provisoire : la fenêtre de 6 mois n'est pas close."
    return Figure(
        label=spec.label,
        value=value,
        kind=FIGURE_KINDS[spec.kind],
        text=spec.value_text(value),
        previous=previous,
        previous_text=previous_text,
        change=change,
        note=note,
    )


def _figures(ids: tuple[str, ...], current: KpiSet, compared: Compared) -> tuple[Figure, ...]:
    return tuple(kpi_figure(i, current, compared) for i in ids)


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


def _outcomes_section(
    placement: pd.DataFrame, quality: pd.DataFrame, title: str, cohort: str
) -> Section:
    """Completion and satisfaction over the period; placement over the closed cohort
    period ``C`` (``cohort`` says which training ends it covers)."""
    charts = []
    if len(quality):
        charts.append(
            ChartSpec(
                "Taux de réussite par formation",
                "hbar",
                _labels(quality),
                (ChartSeries("Taux de réussite", _values(quality, "completion_rate")),),
                "percent",
            )
        )
    if len(placement):
        charts.append(
            ChartSpec(
                "Insertion à 6 mois par formation (cohorte close)",
                "hbar",
                _labels(placement),
                (
                    ChartSeries("Tous emplois", _values(placement, "placement_rate")),
                    ChartSeries("Emploi durable", _values(placement, "durable_rate")),
                ),
                "percent",
            )
        )
    return Section(
        title,
        charts=tuple(charts),
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
                note=f"Cohorte close : {cohort}.",
            ),
        ),
    )


def fetch_all(calls: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run independent reads at once (each on its own pooled connection)."""
    with ThreadPoolExecutor(max_workers=PARALLEL_READS) as pool:
        futures = {name: pool.submit(call) for name, call in calls.items()}
        return {name: future.result() for name, future in futures.items()}


def _compared(engine: Engine, query: KpiQuery, now: datetime) -> Callable[[], Compared]:
    """The period's figures with the previous period's, compared the screens' way."""
    return lambda: compare_periods(
        query,
        now,
        kpis=lambda q: compute_kpis(engine, q, now=now),
        closed_figures=lambda q: closed_placement_figures(engine, q),
        year_before=False,
    )


def _placement_over_closed_cohort(
    engine: Engine, query: KpiQuery, now: datetime
) -> Callable[[], pd.DataFrame]:
    """Placement by formation over ``C`` (no rows when ``C`` is empty)."""
    closed = query.placement_closed(now)

    def read() -> pd.DataFrame:
        rows = placement_by_formation(engine, closed if closed is not None else query, now=now)
        return rows if closed is not None else rows.iloc[0:0]

    return read


def _outcome_reads(engine: Engine, query: KpiQuery, now: datetime) -> dict[str, Callable[[], Any]]:
    return {
        "placement": _placement_over_closed_cohort(engine, query, now),
        "quality": lambda: quality_by_formation(engine, query),
    }


def _placement_notes(compared: Compared) -> tuple[str, ...]:
    provisional = provisional_text(compared.query, compared.current)
    return () if provisional is None else (provisional + ".",)


def build_monthly(engine: Engine, query: KpiQuery, now: datetime) -> dict[str, object]:
    grain = trend_grain(query)
    data = fetch_all(
        {
            "compared": _compared(engine, query, now),
            **_outcome_reads(engine, query, now),
            "conversion": lambda: conversion_by(engine, query, "formation"),
            "trend": lambda: applications_trend(engine, query, grain),
            "by_funder": lambda: revenue_by(engine, query, "financeur"),
            "by_formation": lambda: revenue_by(engine, query, "formation"),
        }
    )
    compared: Compared = data["compared"]
    kpis = compared.current
    ids = (
        "applications",
        "enrolments",
        "conversion_rate",
        "revenue_invoiced",
        "revenue_collected",
        "placement_rate_6m_closed",
        "satisfaction_avg",
        "satisfaction_rate",
        "receivables_overdue",
    )
    figures = _figures(ids, kpis, compared)
    key = dict(zip(ids, figures, strict=True))
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
    cohort = closed_cohort_text(query, kpis)
    return {
        "figures": figures,
        "key_figures": tuple(
            key[i]
            for i in (
                "applications",
                "conversion_rate",
                "revenue_invoiced",
                "placement_rate_6m_closed",
            )
        ),
        "sections": (
            activity,
            _revenue_section(data["by_funder"], data["by_formation"]),
            _outcomes_section(
                data["placement"], data["quality"], "Insertion et satisfaction", cohort
            ),
        ),
        "notes": _placement_notes(compared),
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
            "compared": _compared(engine, query, now),
            "overdue": lambda: overdue_applications(engine, query, now=now),
            "decisions": lambda: decisions_in_period(engine, query),
        }
    )
    compared: Compared = data["compared"]
    kpis = compared.current
    overdue, decisions = data["overdue"], data["decisions"]
    decided = Figure(
        "Décisions de la période", len(decisions), "integer", formatting.number(len(decisions))
    )
    backlog = (kpi_figure("backlog_new", kpis), kpi_figure("backlog_overdue", kpis))
    activity = _figures(("applications", "median_first_response_hours"), kpis, compared)
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
    data = fetch_all(
        {"compared": _compared(engine, query, now), **_outcome_reads(engine, query, now)}
    )
    compared: Compared = data["compared"]
    kpis = compared.current
    ids = (
        "completions",
        "dropouts",
        "completion_rate",
        "placement_cohort_closed",
        "placement_rate_6m_closed",
        "durable_placement_rate_6m_closed",
        "satisfaction_avg",
        "satisfaction_rate",
    )
    figures = _figures(ids, kpis, compared)
    key = dict(zip(ids, figures, strict=True))
    cohort = closed_cohort_text(query, kpis)
    return {
        "figures": figures,
        "key_figures": tuple(
            key[i]
            for i in (
                "completion_rate",
                "placement_rate_6m_closed",
                "satisfaction_avg",
                "satisfaction_rate",
            )
        ),
        "sections": (
            _outcomes_section(
                data["placement"], data["quality"], "Résultats par formation", cohort
            ),
        ),
        "notes": _placement_notes(compared),
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
