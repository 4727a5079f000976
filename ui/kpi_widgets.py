"""Shared pieces of the KPI screens: filters, cards, tables, downloads, drill-down.

Every figure is formatted by data.formatting; every table is shown with
French column formats and comes with its CSV and Excel downloads
(reports.excel, the app's one export module). Text from the database
reaches the screen only inside dataframes, metrics and st.text (charts:
ui.kpi_charts, which escapes it).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import pandas as pd
import streamlit as st

from data import formatting as fmt
from data.kpis import KpiQuery, KpiSet
from data.labels import FUNDER_LABELS, NOT_PROVIDED, SOURCE_LABELS, status_label
from data.sqlfuncs import add_months_to
from reports.excel import dataframe_to_csv_bytes, write_workbook
from reports.model import Column, TableSpec
from ui import cache, cache_kpis, state
from ui.components import empty_state, guarded
from ui.filters import Filters, filter_bar

CardKind = Literal["count", "money", "rate", "hours", "score"]
EMPTY_MESSAGE = "Aucune donnée pour cette période."
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WEEK_MAX_DAYS = 92  # periods up to about 3 months are shown by week

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
        settings, filters.period.start, filters.period.end,
        formation=filters.formation, domaine=filters.domaine,
    )  # fmt: skip


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


def placement_final_after(query: KpiQuery) -> date:
    """The day after which the period's 6-month placement rates are final."""
    return add_months_to(query.end - timedelta(days=1), 6)


def trend_grain(query: KpiQuery) -> Literal["week", "month"]:
    return "week" if (query.end - query.start).days <= WEEK_MAX_DAYS else "month"


# --- Metric cards -------------------------------------------------------------


@dataclass(frozen=True)
class Compared:
    """A period's figures with those of the previous period and of the year before."""

    current: KpiSet
    previous: KpiSet
    year_before: KpiSet | None  # None when the year before has no data at all


def has_activity(figures: KpiSet) -> bool:
    """True when a period holds any data the cards compare with."""
    return any((figures.applications, figures.revenue_invoiced, figures.revenue_collected,
                figures.completions, figures.dropouts, figures.sessions_started,
                figures.quotes_sent, figures.satisfaction_avg is not None))  # fmt: skip


def compared_kpis(query: KpiQuery) -> Compared:
    """The figures of ``query``, of the previous equal period and, when it is another
    period holding data, of the same dates a year earlier."""
    previous = query.previous()
    year_before: KpiSet | None = None
    if query.year_before().start != previous.start:
        year_before = cache_kpis.kpis(query.year_before())
        year_before = year_before if has_activity(year_before) else None
    return Compared(cache_kpis.kpis(query), cache_kpis.kpis(previous), year_before)


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


def value_text(value: Any, kind: CardKind) -> str:
    if kind == "money":
        return fmt.money_short(value)  # the exact amount is in the card's help
    if kind == "rate":
        return fmt.percent(value)
    if kind == "hours":
        return fmt.hours(value)
    if kind == "score":
        return fmt.MISSING if value is None else f"{fmt.number(value, decimals=1)} / 5"
    return fmt.number(value)


def delta_text(current: Any, previous: Any, kind: CardKind) -> str | int | None:
    """The change from ``previous`` as text (ASCII sign first, so Streamlit colours it)."""
    if current is None or previous is None:
        return None
    difference = Decimal(str(current)) - Decimal(str(previous))
    if difference == 0:
        return 0
    sign = "+" if difference > 0 else "-"
    size = abs(difference)
    magnitude = {
        "rate": lambda: f"{fmt.number(size * 100, decimals=1)}{fmt.NBSP}pts",
        "hours": lambda: fmt.hours(size),
        "score": lambda: fmt.number(size, decimals=1),
    }.get(kind)
    if magnitude is not None:
        shown = magnitude()
        # A change that rounds to nothing is no change (no red "-0,0" arrow).
        return f"{sign}{shown}" if any(c in "123456789" for c in shown) else 0
    amount = fmt.money_short(size) if kind == "money" else fmt.number(size)
    if not previous:
        return f"{sign}{amount}"
    return f"{sign}{amount} ({sign}{fmt.percent(size / abs(Decimal(str(previous))))})"


@dataclass(frozen=True)
class Card:
    kpi_id: str
    label: str
    kind: CardKind
    lower_is_better: bool = False
    help: str | None = None
    compared: bool = True  # False for figures "as of now", the same whatever the period


def kpi_cards(
    cards: Sequence[Card], figures: Compared, query: KpiQuery, *, per_row: int = 4,
    caption: bool = True,
) -> None:  # fmt: skip
    """Rows of metric cards with the change against the compared periods."""
    if caption:
        comparison_caption(query, figures)
    for start in range(0, len(cards), per_row):
        columns = st.columns(per_row)
        for column, card in zip(columns, cards[start : start + per_row], strict=False):
            with column.container(border=True):
                _kpi_card(card, figures)


def card_help(card: Card, value: Any) -> str | None:
    """The card's explanation; for an amount, also the exact figure the card rounds."""
    if card.kind != "money" or value is None:
        return card.help
    exact = f"Montant exact : {fmt.money(value)}."
    return f"{card.help} {exact}" if card.help else exact


def _kpi_card(card: Card, figures: Compared) -> None:
    current = getattr(figures.current, card.kpi_id)
    previous = getattr(figures.previous, card.kpi_id) if card.compared else None
    delta = delta_text(current, previous, card.kind)
    st.metric(
        card.label,
        value_text(current, card.kind),
        delta=delta,
        delta_color="inverse" if card.lower_is_better else "normal",
        help=card_help(card, current),
    )
    if figures.year_before is not None and card.compared:
        yearly = delta_text(current, getattr(figures.year_before, card.kpi_id), card.kind)
        if yearly is not None:
            st.caption(f"Sur un an : {'stable' if yearly == 0 else yearly}")


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
        hide_index=True, width="stretch", key=key,
    )  # fmt: skip


def export_frame(df: pd.DataFrame, columns: Sequence[Column]) -> pd.DataFrame:
    """The table as it is exported: the shown columns, under their French headers."""
    return df[[c.key for c in columns]].rename(columns={c.key: c.header for c in columns})


def workbook_bytes(df: pd.DataFrame, columns: Sequence[Column], title: str) -> bytes:
    buffer = io.BytesIO()
    table = TableSpec(title=title, columns=tuple(columns), rows=df)
    write_workbook([table], buffer, tz=state.settings().tz)
    return buffer.getvalue()


def download_buttons(df: pd.DataFrame, columns: Sequence[Column], *, title: str,
                     file_stem: str, key: str) -> None:  # fmt: skip
    """CSV (';', UTF-8 BOM) and Excel downloads of a table, built only when clicked."""
    frame = df[[c.key for c in columns]].copy()
    tz = state.settings().tz
    with st.container(horizontal=True, gap="small"):
        st.download_button(
            "CSV", data=lambda: dataframe_to_csv_bytes(export_frame(frame, columns), tz=tz),
            file_name=f"{file_stem}.csv", mime="text/csv", key=f"{key}_csv",
            on_click="ignore", icon=":material/download:",
        )  # fmt: skip
        st.download_button(
            "Excel", data=lambda: workbook_bytes(frame, columns, title),
            file_name=f"{file_stem}.xlsx", mime=XLSX_MIME, key=f"{key}_xlsx",
            on_click="ignore", icon=":material/table_view:",
        )  # fmt: skip


def file_stem(name: str, query: KpiQuery) -> str:
    """``top-formations_2026-01-01_2026-01-31`` (ASCII, the period's first and last days)."""
    last = query.end - timedelta(days=1)
    suffix = f"_{query.formation}" if query.formation else ""
    return f"{name}_{query.start.isoformat()}_{last.isoformat()}{suffix}"


def table_block(df: pd.DataFrame, columns: Sequence[Column], *, title: str, name: str,
                query: KpiQuery, key: str) -> None:  # fmt: skip
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
    table_block(rows, APPLICATION_COLUMNS, title="Candidatures", name="candidatures",
                query=query, key=key)  # fmt: skip


def choose(label: str, options: Sequence[tuple[Any, str]], *, key: str) -> Any:
    """A selectbox over (value, label) pairs; returns the chosen value."""
    labels = dict(options)
    # A None value shows the placeholder: keep it French.
    return st.selectbox(label, [value for value, _ in options], placeholder="Choisissez…",
                        format_func=lambda value: labels[value], key=key)  # fmt: skip
