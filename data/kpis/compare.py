"""What a period's figures are compared with, the change of each figure, and the
words that say which placement figures are final.

One home for the comparison rules that the screens and the reports share
(conventions, rule 18: a change compares two final figures):

- every figure is compared with the period of equal length just before, and
  with the same dates a year earlier when that is another period holding data;
- figures "as of now" are never compared (:class:`~data.kpis.specs.KpiSpec`);
- a placement figure of a period whose 6-month window is open is provisional:
  no change;
- the figures over the closed cohort period ``C`` (``*_closed``) are compared
  with the same figures over the period before ``C`` (and a year before ``C``),
  both final.

The readers are passed in, so the screens use their cached wrappers and the
reports the engine itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from data import formatting as fmt
from data.kpis.headline import KpiSet
from data.kpis.query import KpiQuery
from data.kpis.specs import KPI_SPECS, Change, is_provisional

KpiReader = Callable[[KpiQuery], KpiSet]
ClosedReader = Callable[[KpiQuery], Mapping[str, Any]]


def has_activity(figures: KpiSet) -> bool:
    """True when a period holds any data worth comparing with."""
    return any(
        (
            figures.applications,
            figures.revenue_invoiced,
            figures.revenue_collected,
            figures.completions,
            figures.dropouts,
            figures.sessions_started,
            figures.quotes_sent,
            figures.satisfaction_avg is not None,
        )
    )


@dataclass(frozen=True)
class Compared:
    """A period's figures and what they are compared with."""

    query: KpiQuery
    current: KpiSet
    previous: KpiSet
    year_before: KpiSet | None  # None: the same dates a year earlier hold no data
    closed: KpiQuery | None  # the closed cohort period C (None when empty)
    closed_previous: Mapping[str, Any] | None  # the *_closed figures over the period before C
    closed_year_before: Mapping[str, Any] | None  # ... and over C a year earlier

    def change(self, kpi_id: str, *, yearly: bool = False, compact: bool = False) -> Change | None:
        """The change of ``kpi_id`` against the previous period (or a year before):
        None when the figure is not compared or either side is provisional."""
        spec = KPI_SPECS[kpi_id]
        earlier = self.year_before if yearly else self.previous
        if earlier is None:
            return None
        if spec.over_closed_cohort:
            closed = self.closed_year_before if yearly else self.closed_previous
            if closed is None:
                return None
            earlier_value = closed[kpi_id]
        elif is_provisional(kpi_id, self.current) or is_provisional(kpi_id, earlier):
            return None
        else:
            earlier_value = getattr(earlier, kpi_id)
        return spec.change(getattr(self.current, kpi_id), earlier_value, compact=compact)

    def previous_bounds(self, kpi_id: str) -> tuple[Any, Any] | None:
        """The first and last day of what ``kpi_id`` is compared with (the period
        before ``C`` for a closed figure); None when not compared."""
        spec = KPI_SPECS[kpi_id]
        if spec.over_closed_cohort:
            if self.closed is None:
                return None
            before = self.closed.previous()
        else:
            before = self.query.previous()
        return before.start, before.end - timedelta(days=1)


def compare_periods(
    query: KpiQuery,
    now: datetime,
    *,
    kpis: KpiReader,
    closed_figures: ClosedReader,
    year_before: bool = True,
) -> Compared:
    """The figures of ``query`` with those they are compared with, read through
    ``kpis`` (a whole set) and ``closed_figures`` (the placement figures of a
    final period)."""
    previous = kpis(query.previous())
    yearly: KpiSet | None = None
    if year_before and query.year_before().start != query.previous().start:
        yearly = kpis(query.year_before())
        yearly = yearly if has_activity(yearly) else None
    closed = query.placement_closed(now)
    closed_previous: Mapping[str, Any] | None = None
    closed_yearly: Mapping[str, Any] | None = None
    if closed is query:  # a final period: the periods before it are final too
        closed_previous = _closed_values(previous)
        closed_yearly = None if yearly is None else _closed_values(yearly)
    elif closed is not None:
        closed_previous = closed_figures(closed.previous())
        if yearly is not None:
            closed_yearly = closed_figures(closed.year_before())
    return Compared(
        query=query,
        current=kpis(query),
        previous=previous,
        year_before=yearly,
        closed=closed,
        closed_previous=closed_previous,
        closed_year_before=closed_yearly,
    )


def _closed_values(figures: KpiSet) -> dict[str, Any]:
    """The ``*_closed`` figures of a set (its own, for a final period)."""
    return {i: getattr(figures, i) for i, spec in KPI_SPECS.items() if spec.over_closed_cohort}


# --- Placement: final figures first -------------------------------------------


def closed_cohort_text(query: KpiQuery, figures: KpiSet) -> str:
    """Which training ends the final placement figures cover, in words:
    ``parcours terminés du 01/06/2025 au 31/05/2026``; an empty cohort says so."""
    start, end = query.shifted_bounds(figures.placement_closed_shift_months)
    if start >= end:
        return "aucune cohorte close pour cette période"
    span = f"du {fmt.day(start)} au {fmt.day(end - timedelta(days=1))}"
    if not figures.placement_cohort_closed:
        return f"aucun parcours terminé {span} : pas de taux définitif"
    return f"parcours terminés {span}"


def provisional_text(query: KpiQuery, figures: KpiSet) -> str | None:
    """The selected period's own placement rate while it is provisional, with how
    many are still inside their window and the day it becomes final; None when
    the period is final or has no completion."""
    if figures.placement_window_complete or not figures.placement_cohort:
        return None
    rate = KPI_SPECS["placement_rate_6m"].value_text(figures.placement_rate_6m)
    waiting = figures.placement_cohort_open
    inside = (
        f"{fmt.number(waiting)} parcours encore dans leur fenêtre de 6 mois"
        if waiting != 1
        else "1 parcours encore dans sa fenêtre de 6 mois"
    )
    return (
        f"Sur la période elle-même : {rate} (provisoire ; {inside}, "
        f"définitif le {fmt.day(query.placement_final_on())})"
    )
