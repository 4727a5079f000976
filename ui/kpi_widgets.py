"""Shared pieces of the KPI screens: filters, cards, tables, downloads, drill-down.

Every figure is formatted by data.formatting; every table is shown with
French column formats and comes with its CSV and Excel downloads
(reports.excel, the app's one export module). Text from the database
reaches the screen only inside dataframes, metrics and st.text (charts:
ui.kpi_charts, which escapes it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from data import formatting as fmt
from data.kpis import (
    KPI_SPECS,
    Change,
    Compared,
    KpiQuery,
    KpiSpec,
    closed_cohort_text,
    compare_periods,
    provisional_text,
)
from data.kpis.query import utc_now
from data.kpis.specs import is_provisional
from data.labels import FUNDER_LABELS, NOT_PROVIDED, SOURCE_LABELS, status_label
from reports.model import Column
from ui import cache, cache_kpis, state
from ui.components import empty_state, guarded
from ui.exports import download_buttons
from ui.filters import Filters, filter_bar

EMPTY_MESSAGE = "Aucune donnée pour cette période."

# --- Filters, query, live caption ---------------------------------------------


def screen_filters(page_key: str) -> Filters:
    """The filter bar of a KPI screen; the page stops (with a retry) if it cannot be drawn."""
    with guarded(retry_key=f"{page_key}_filters_retry"):
        return filter_bar(page_key)
    st.stop()
    raise AssertionError("unreachable")  # st.stop() raises


def kpi_query(filters: Filters) -> KpiQuery:
    settings = state.settings()
    return KpiQuery.from_settings(
        settings,
        filters.period.start,
        filters.period.end,
        formation=filters.formation,
        domaine=filters.domaine,
    )


def live_interval() -> int:
    """Seconds between two automatic refreshes of a screen's figures."""
    return int(state.settings().LIVE_REFRESH_SECONDS)


def updated_caption() -> None:
    settings = state.settings()
    st.caption(
        f"Mis à jour à {fmt.clock(datetime.now(UTC), settings.tz)} · actualisation "
        f"automatique toutes les {fmt.number(settings.LIVE_REFRESH_SECONDS)} s"
    )


def with_formation(query: KpiQuery, slug: str) -> KpiQuery:
    """The same period restricted to one formation (a drill-down)."""
    return replace(query, formation=slug)


# --- Metric cards -------------------------------------------------------------


def compared_kpis(query: KpiQuery) -> Compared:
    """The figures of ``query`` and what they are compared with (data.kpis.compare),
    read through the cached engine."""
    return compare_periods(
        query, utc_now(), kpis=cache_kpis.kpis, closed_figures=cache_kpis.closed_placement
    )


def comparison_caption(query: KpiQuery, figures: Compared) -> None:
    """What the cards' changes compare with (one line above the cards)."""
    previous = query.previous()
    text = (
        f"Variations par rapport à la période précédente, du {fmt.day(previous.start)} "
        f"au {fmt.day(previous.end - timedelta(days=1))}"
    )
    if figures.year_before is not None:
        text += " ; « sur un an » : mêmes dates l'année précédente"
    st.caption(text + ".")


def kpi_cards(
    kpi_ids: Sequence[str], figures: Compared, *, per_row: int = 4, caption: bool = True
) -> None:
    """Rows of metric cards, each figure as its specification shows it, with its
    change against the compared periods (final figures only)."""
    if caption:
        comparison_caption(figures.query, figures)
    for start in range(0, len(kpi_ids), per_row):
        columns = st.columns(per_row)
        for column, kpi_id in zip(columns, kpi_ids[start : start + per_row], strict=False):
            with column.container(border=True):
                kpi_card(kpi_id, figures)


def card_help(spec: KpiSpec, value: Any) -> str | None:
    """The card's explanation; for an amount, also the exact figure the card rounds."""
    if spec.kind != "money" or value is None:
        return spec.help
    exact = f"Montant exact : {spec.value_text(value)}."
    return f"{spec.help} {exact}" if spec.help else exact


def _delta(change: Change | None) -> dict[str, Any]:
    """st.metric's delta arguments for a change: its text, an arrow that follows
    its direction, and green or red for good or bad news (grey when stable)."""
    if change is None:
        return {"delta": None}
    if change.direction == 0:
        return {"delta": change.text, "delta_arrow": "off", "delta_color": "gray"}
    return {
        "delta": change.text,
        "delta_arrow": "up" if change.direction > 0 else "down",
        "delta_color": "green" if change.favourable else "red",
    }


def kpi_card(kpi_id: str, figures: Compared) -> None:
    """One card: the figure, its change, and what it covers when that must be said."""
    spec = KPI_SPECS[kpi_id]
    value = getattr(figures.current, kpi_id)
    st.metric(
        spec.label,
        spec.value_text(value, compact=True),
        help=card_help(spec, value),
        **_delta(figures.change(kpi_id, compact=True)),
    )
    yearly = figures.change(kpi_id, yearly=True, compact=True)
    if yearly is not None:
        st.caption(f"Sur un an : {yearly.text}")
    if is_provisional(kpi_id, figures.current):
        st.caption("Provisoire : la fenêtre de 6 mois n'est pas close.")


def placement_caption(figures: Compared) -> None:
    """Under the cards: which training ends the final placement figures cover and,
    while the selected period is provisional, its own rate, smaller and labelled so."""
    cohort = closed_cohort_text(figures.query, figures.current)
    st.caption(f"Insertion à 6 mois : {cohort}.")
    provisional = provisional_text(figures.query, figures.current)
    if provisional is not None:
        st.caption(provisional + ".")


# --- Tables and downloads -----------------------------------------------------


def column_config(column: Column) -> Any:
    header = column.header
    if column.kind == "money":
        return st.column_config.NumberColumn(header, format="euro")
    if column.kind == "percent":
        return st.column_config.NumberColumn(header, format="percent", step=0.001)
    if column.kind == "integer":
        return st.column_config.NumberColumn(header, format="localized", step=1)
    if column.kind == "number":
        return st.column_config.NumberColumn(header, format="localized", step=0.01)
    if column.kind == "date":
        return st.column_config.DateColumn(header, format="DD/MM/YYYY")
    if column.kind == "datetime":
        return st.column_config.DatetimeColumn(
            header, format="DD/MM/YYYY HH:mm", timezone=state.settings().TIMEZONE
        )
    return st.column_config.TextColumn(header)


def show_table(df: pd.DataFrame, columns: Sequence[Column], *, key: str) -> None:
    """The rows with French headers and formats (database text only ever as cells)."""
    st.dataframe(
        df[[c.key for c in columns]],
        column_config={c.key: column_config(c) for c in columns},
        hide_index=True,
        width="stretch",
        key=key,
    )


def file_stem(name: str, query: KpiQuery) -> str:
    """``top-formations_2026-01-01_2026-01-31`` (ASCII, the period's first and last days)."""
    last = query.end - timedelta(days=1)
    suffix = f"_{query.formation}" if query.formation else ""
    return f"{name}_{query.start.isoformat()}_{last.isoformat()}{suffix}"


def table_block(
    df: pd.DataFrame, columns: Sequence[Column], *, title: str, name: str, query: KpiQuery, key: str
) -> None:
    """A table with its two downloads, or the empty state."""
    if df.empty:
        empty_state(EMPTY_MESSAGE)
        return
    show_table(df, columns, key=f"{key}_table")
    download_buttons(df, columns, title=title, file_stem=file_stem(name, query), key=key)


# --- Drill-down ---------------------------------------------------------------

APPLICATION_COLUMNS: tuple[Column, ...] = (
    Column("id", "N°", "integer"),
    Column("created_at", "Reçue le", "datetime"),
    Column("applicant", "Candidat"),
    Column("email", "E-mail"),
    Column("formation", "Formation"),
    Column("statut", "Statut"),
    Column("source", "Source"),
    Column("financement", "Financement"),
)


def labelled_applications(df: pd.DataFrame) -> pd.DataFrame:
    """Status, source and funding codes shown with their French labels."""
    out = df.copy()
    out["statut"] = [status_label(v) for v in out["statut"]]
    out["source"] = [SOURCE_LABELS.get(v, v) if isinstance(v, str) else v for v in out["source"]]
    out["financement"] = [
        FUNDER_LABELS.get(v, v) if isinstance(v, str) else NOT_PROVIDED for v in out["financement"]
    ]
    return out


def labelled_invoices(df: pd.DataFrame) -> pd.DataFrame:
    """Funder codes shown with their French labels."""
    out = df.copy()
    out["financeur"] = [
        FUNDER_LABELS.get(v, v) if isinstance(v, str) else NOT_PROVIDED for v in out["financeur"]
    ]
    return out


def sessions_labelled(df: pd.DataFrame) -> pd.DataFrame:
    """Session rows with the formation's slug as ``key`` (its colour) and a dated label."""
    options = cache.cached_formation_options(state.settings().database_url)
    slugs = {option.titre: option.slug for option in options}
    out = df.copy()
    out["key"] = [slugs.get(title) for title in out["formation"]]
    out["label"] = [
        f"{title} ({fmt.day(start)})"
        for title, start in zip(out["formation"], out["date_debut"], strict=True)
    ]
    return out


def applications_drilldown(query: KpiQuery, *, reached: str | None, key: str) -> None:
    """The applications behind a figure, with their downloads."""
    rows = labelled_applications(cache_kpis.applications(query, reached))
    if len(rows) >= cache_kpis.DRILLDOWN_LIMIT:
        st.caption(
            f"Seules les {fmt.number(cache_kpis.DRILLDOWN_LIMIT)} premières candidatures "
            "sont affichées et téléchargeables."
        )
    else:
        st.caption(f"{fmt.number(len(rows))} candidature(s).")
    table_block(
        rows, APPLICATION_COLUMNS, title="Candidatures", name="candidatures", query=query, key=key
    )


def choose(label: str, options: Sequence[tuple[Any, str]], *, key: str) -> Any:
    """A selectbox over (value, label) pairs; returns the chosen value."""
    labels = dict(options)
    # A None value shows the placeholder: keep it French.
    return st.selectbox(
        label,
        [value for value, _ in options],
        placeholder="Choisissez…",
        format_func=lambda value: labels[value],
        key=key,
    )
