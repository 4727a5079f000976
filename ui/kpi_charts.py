"""Charts of the KPI screens: one colour per formation and funder, French formats.

Every chart gets the French number separators (plotly ``separators``), values
formatted in hover and labels the French way, the stable colour of its
formation (by slug) or funder (by code) on every screen, and a title stating
its finding. Text from the database is escaped by :func:`plot_text` before
plotly sees it, so markup in a formation's title shows as typed.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from data import formatting as fmt
from data.labels import SOURCE_LABELS
from ui import cache, state

# --- Colours --------------------------------------------------------------------

PALETTE: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
    "#393b79",
    "#e6550d",
    "#31a354",
    "#ad494a",
    "#6b6ecf",
    "#bd9e39",
    "#d6616b",
    "#3182bd",
    "#756bb1",
    "#636363",
)
FUNDER_COLOURS: dict[str, str] = {
    "cpf": "#1f4e9c",
    "france_travail": "#e4003a",
    "opco": "#2e9e5b",
    "region": "#f2a900",
    "employeur": "#7b4fa0",
    "personnel": "#8c6d4f",
}
SOURCE_COLOURS: dict[str, str] = dict(
    zip(
        SOURCE_LABELS,
        ("#1f77b4", "#ff7f0e", "#e4003a", "#2ca02c", "#9467bd", "#17becf", "#7f7f7f"),
        strict=True,
    )
)
NO_KEY_COLOUR = "#b0b0b0"
LEGEND_COLOURS = ("#4a5563", "#aab2bd")  # plain, hatched
SERIES_COLOURS = {
    "applications": "#1f77b4",
    "enrolments": "#2ca02c",
    "invoiced": "#1f4e9c",
    "collected": "#2e9e5b",
}


def formation_colours() -> dict[str, str]:
    """One colour per formation slug, the same on every screen (catalogue order by slug)."""
    options = cache.cached_formation_options(state.settings().database_url)
    slugs = sorted(option.slug for option in options)
    return {slug: PALETTE[index % len(PALETTE)] for index, slug in enumerate(slugs)}


def colours_for(keys: Sequence[Any], dimension: str) -> list[str]:
    """The stable colour of each key of a breakdown (formation slug, funder or source code)."""
    mapping = {
        "formation": formation_colours,
        "financeur": lambda: FUNDER_COLOURS,
        "financement": lambda: FUNDER_COLOURS,
        "source": lambda: SOURCE_COLOURS,
    }
    colours = mapping.get(dimension, dict)()
    return [
        colours.get(key, NO_KEY_COLOUR) if isinstance(key, str) else NO_KEY_COLOUR for key in keys
    ]


# --- Charts -------------------------------------------------------------------


def plot_text(text: Any) -> str:
    """Text for a plotly label or title: HTML-like markup shows as typed, never rendered."""
    return html.escape(str(text), quote=False)


def styled(
    figure: go.Figure,
    title: str,
    *,
    x_title: str | None = None,
    y_title: str | None = None,
    height: int = 380,
) -> go.Figure:
    """French separators, the finding as title (one line per ``\\n``), margins, legend."""
    lines = title.split("\n")
    figure.update_layout(
        title={
            "text": "<br>".join(plot_text(line) for line in lines),
            "x": 0,
            "xanchor": "left",
            "font": {"size": 17},
        },
        separators=f",{fmt.NBSP}",
        height=height + 22 * (len(lines) - 1),
        margin={"l": 10, "r": 10, "t": 60 + 22 * (len(lines) - 1), "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        hoverlabel={"namelength": -1},
        font={"family": "Source Sans Pro, sans-serif"},
    )
    figure.update_xaxes(title_text=x_title, automargin=True)
    figure.update_yaxes(title_text=y_title, automargin=True)
    return figure


def show_chart(figure: go.Figure, key: str) -> None:
    st.plotly_chart(
        figure,
        key=key,
        width="stretch",
        config={"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"]},
    )


VALUE_FORMATS: dict[str, tuple[str, str]] = {
    # kind -> (d3 format, suffix) for hover, labels and ticks
    "count": (",.0f", ""),
    "money": (",.2f", f"{fmt.NBSP}€"),
    "money0": (",.0f", f"{fmt.NBSP}€"),
    "rate": (",.1f", f"{fmt.NBSP}%"),  # rates are plotted in percent (x 100)
    "score": (",.1f", f"{fmt.NBSP}/ 5"),
}


def plotted(values: pd.Series, kind: str) -> list[float | None]:
    """Values as plotly gets them: rates x 100, money as floats, missing as None."""
    factor = 100.0 if kind == "rate" else 1.0
    return [None if pd.isna(v) else float(v) * factor for v in values]


def hover(kind: str, name: str, axis: str = "y") -> str:
    """Hover text: the category, then the value in French format (``axis`` holds the value)."""
    number, suffix = VALUE_FORMATS[kind]
    category = "x" if axis == "y" else "y"
    return f"%{{{category}}}<br>{plot_text(name)} : %{{{axis}:{number}}}{suffix}<extra></extra>"


def bar_chart(
    df: pd.DataFrame, value: str, *, kind: str, name: str, dimension: str, title: str, key: str
) -> None:
    """Horizontal bars, one per row of a breakdown, in the breakdown's colours."""
    rows = df.iloc[::-1]  # plotly draws the first category at the bottom
    number, suffix = VALUE_FORMATS[kind]
    figure = go.Figure(
        go.Bar(
            y=[plot_text(label) for label in rows["label"]],
            x=plotted(rows[value], kind),
            orientation="h",
            name=plot_text(name),
            marker_color=colours_for(list(rows["key"]), dimension),
            texttemplate=f"%{{x:{number}}}{suffix}",
            textposition="auto",
            hovertemplate=hover(kind, name, "x"),
        )
    )
    figure.update_xaxes(tickformat=number, ticksuffix=suffix)
    show_chart(styled(figure, title, x_title=name, height=max(260, 60 + 34 * len(rows))), key)


Series = tuple[str, str, str]  # (column, name, hatch pattern: "" plain, "/" hatched)
REVENUE_SERIES: tuple[Series, ...] = (("invoiced", "Facturé", ""), ("collected", "Encaissé", "/"))


def paired_bar_chart(
    df: pd.DataFrame,
    *,
    dimension: str,
    title: str,
    key: str,
    series: Sequence[Series] = REVENUE_SERIES,
    kind: str = "money",
    axis_title: str = "Montant (€)",
) -> None:
    """Two measures side by side per row, in the row's colour (the second one hatched).

    Months read left to right; formations and funders as horizontal bars (long names).
    """
    horizontal = dimension != "month"
    rows = df.iloc[::-1] if horizontal else df  # plotly draws the first category at the bottom
    labels = [plot_text(label) for label in rows["label"]]
    colours = (
        colours_for(list(rows["key"]), dimension)
        if horizontal
        else [SERIES_COLOURS["invoiced"]] * len(rows)
    )
    number, suffix = VALUE_FORMATS[kind]
    axis = "x" if horizontal else "y"
    figure = go.Figure()
    for column, name, pattern in series[::-1] if horizontal else series:
        values = plotted(rows[column], kind)
        figure.add_bar(
            **(
                {"y": labels, "x": values, "orientation": "h"}
                if horizontal
                else {"x": labels, "y": values}
            ),
            name=name,
            hovertemplate=hover(kind, name, axis),
            showlegend=False,
            marker={"color": colours, "pattern": {"shape": pattern, "fillmode": "overlay"}},
        )
    for (
        _column,
        name,
        pattern,
    ) in series:  # legend keys in neutral greys (the bars have many colours)
        figure.add_scatter(
            x=[None],
            y=[None],
            mode="markers",
            showlegend=True,
            hoverinfo="skip",
            name=f"{name} (hachuré)" if pattern else name,
            marker={"color": LEGEND_COLOURS[bool(pattern)], "symbol": "square", "size": 12},
        )
    figure.update_layout(barmode="group")
    values_axis = figure.update_xaxes if horizontal else figure.update_yaxes
    values_axis(tickformat=",.0f" if kind == "money" else number, ticksuffix=suffix)
    height = max(300, 80 + 44 * len(rows)) if horizontal else 400
    styled(
        figure,
        title,
        x_title=axis_title if horizontal else None,
        y_title=None if horizontal else axis_title,
        height=height,
    )
    show_chart(figure, key)


def funnel_chart(stages: Sequence[tuple[str, int]], title: str, key: str) -> None:
    """The funnel from application to completion; each stage with its share of the first."""
    first = stages[0][1] if stages else 0
    text = [
        f"{fmt.number(value)} ({fmt.percent(value / first)})" if first else fmt.number(value)
        for _, value in stages
    ]
    figure = go.Figure(
        go.Funnel(
            y=[label for label, _ in stages],
            x=[value for _, value in stages],
            text=text,
            textinfo="text",
            textposition="inside",
            marker={"color": FUNNEL_COLOURS[: len(stages)]},
            hovertemplate="%{y} : %{x:,.0f}<extra></extra>",
        )
    )
    show_chart(styled(figure, title, height=420), key)


FUNNEL_COLOURS = ("#1f77b4", "#3a8bc2", "#5aa0cf", "#2ca02c", "#238b45", "#006d2c")


def bucket_label(bucket: date, grain: str) -> str:
    return f"sem. du {fmt.day(bucket)}" if grain == "week" else fmt.month_label(bucket)


def trend_chart(df: pd.DataFrame, grain: str, title: str, key: str) -> None:
    labels = [bucket_label(b, grain) for b in df["bucket"]]
    figure = go.Figure()
    figure.add_bar(
        x=labels,
        y=df["applications"],
        name="Candidatures",
        marker_color=SERIES_COLOURS["applications"],
        hovertemplate=hover("count", "Candidatures"),
    )
    figure.add_scatter(
        x=labels,
        y=df["enrolments"],
        name="Inscriptions",
        mode="lines+markers",
        line={"color": SERIES_COLOURS["enrolments"], "width": 3},
        hovertemplate=hover("count", "Inscriptions"),
    )
    figure.update_yaxes(tickformat=",.0f", rangemode="tozero")
    x_title = "Semaine (du lundi)" if grain == "week" else "Mois"
    show_chart(styled(figure, title, x_title=x_title, y_title="Nombre"), key)
