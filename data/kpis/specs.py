"""One specification per KPI id: its French label, its kind, which way is good,
and the texts of its value and of its change.

The screens' cards, the PDF, the Excel summary, the email body and the
command line's table all read these specifications, so a figure carries the
same name and reads the same everywhere (``tests/test_kpi_specs.py`` pins
it). Every number becomes text through :mod:`data.formatting`.

A change compares like with like (conventions, rule 18): figures "as of
now" (the backlog, receivables due) are never compared, and the placement
figures of a period whose 6-month window is still open are provisional:
:func:`compare` gives them no change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal

from data import formatting as fmt
from data.kpis.headline import KPI_IDS, KpiSet

FigureKind = Literal["count", "money", "rate", "hours", "score", "months", "flag"]
MINUS = "\u2212"  # the typographic minus sign
STABLE = "stable"


@dataclass(frozen=True)
class Change:
    """A figure's change against an earlier one: the text, its direction (+1 up,
    -1 down, 0 stable) and whether it is good news (None when stable)."""

    text: str
    direction: int
    favourable: bool | None


@dataclass(frozen=True)
class KpiSpec:
    """How one KPI id is named, shown and compared."""

    kpi_id: str
    label: str
    kind: FigureKind
    lower_is_better: bool = False
    as_of_now: bool = False  # the same whatever the period: never compared
    provisional_with_window: bool = False  # provisional while the 6-month window is open
    over_closed_cohort: bool = False  # computed over the closed cohort period C
    help: str | None = None

    def value_text(self, value: Any, *, compact: bool = False) -> str:
        """The value in French; ``compact`` shortens large amounts (a card)."""
        if value is None:
            return fmt.MISSING
        if self.kind == "money":
            return fmt.money_short(value) if compact else fmt.money(value)
        if self.kind == "rate":
            return fmt.percent(value)
        if self.kind == "hours":
            return fmt.hours(value)
        if self.kind == "score":
            return f"{fmt.number(value, decimals=1)}{fmt.NBSP}/{fmt.NBSP}5"
        if self.kind == "months":
            return f"{fmt.number(value)}{fmt.NBSP}mois"
        if self.kind == "flag":
            return "oui" if value else "non"
        return fmt.number(value)

    def change(self, current: Any, previous: Any, *, compact: bool = False) -> Change | None:
        """The change from ``previous`` to ``current``; None when either is missing
        or the figure is not compared. Rates change in points, durations and
        scores by their difference, counts and amounts by their difference and,
        when the earlier value is not 0, its share of it."""
        if self.as_of_now or self.kind in ("flag", "months"):
            return None
        if current is None or previous is None:
            return None
        difference = Decimal(str(current)) - Decimal(str(previous))
        size = abs(difference)
        if self.kind == "rate":
            magnitude = f"{fmt.number(size * 100, decimals=1)}{fmt.NBSP}pts"
        elif self.kind == "hours":
            magnitude = fmt.hours(size)
        elif self.kind == "score":
            magnitude = fmt.number(size, decimals=1)
        else:
            amount = self.value_text(size, compact=compact)
            share = (
                f" ({_sign(difference)}{fmt.percent(size / abs(Decimal(str(previous))))})"
                if previous
                else ""
            )
            magnitude = f"{amount}{share}"
        # A change that rounds to nothing is no change (no red "−0,0").
        if difference == 0 or not any(c in "123456789" for c in magnitude.split("(")[0]):
            return Change(STABLE, 0, None)
        direction = 1 if difference > 0 else -1
        return Change(
            f"{_sign(difference)}{magnitude}",
            direction,
            (direction < 0) if self.lower_is_better else (direction > 0),
        )


def _sign(difference: Decimal) -> str:
    return "+" if difference > 0 else MINUS


def _spec(kpi_id: str, label: str, kind: FigureKind, **options: Any) -> KpiSpec:
    return KpiSpec(kpi_id, label, kind, **options)


_SPECS = (
    _spec("applications", "Candidatures", "count"),
    _spec("reached_en_etude", "Passées en étude", "count"),
    _spec("reached_entretien", "Passées en entretien", "count"),
    _spec("reached_admise", "Admises", "count"),
    _spec("reached_inscrite", "Inscrites", "count"),
    _spec("reached_terminee", "Formations terminées", "count"),
    _spec("enrolments", "Inscriptions", "count"),
    _spec("conversion_rate", "Taux de conversion", "rate"),
    _spec("refusal_rate", "Taux de refus", "rate", lower_is_better=True),
    _spec(
        "median_first_response_hours",
        "Délai médian de première réponse",
        "hours",
        lower_is_better=True,
        help="De la réception de la candidature à sa première prise en charge.",
    ),
    _spec("backlog_new", "Candidatures à traiter", "count", lower_is_better=True, as_of_now=True),
    _spec(
        "backlog_overdue",
        "Candidatures en retard de traitement",
        "count",
        lower_is_better=True,
        as_of_now=True,
    ),
    _spec("revenue_invoiced", "Chiffre d'affaires facturé", "money"),
    _spec("revenue_collected", "Encaissements", "money"),
    _spec(
        "receivables_overdue",
        "Créances échues",
        "money",
        lower_is_better=True,
        as_of_now=True,
        help="Factures émises dont l'échéance est passée, à ce jour, quelle que soit la période.",
    ),
    _spec("quotes_sent", "Devis envoyés", "count"),
    _spec("quotes_accepted", "Devis acceptés", "count"),
    _spec("quote_conversion_rate", "Taux d'acceptation des devis", "rate"),
    _spec("sessions_started", "Sessions démarrées", "count"),
    _spec("fill_rate", "Taux de remplissage des sessions", "rate"),
    _spec("completions", "Parcours terminés", "count"),
    _spec("dropouts", "Abandons", "count", lower_is_better=True),
    _spec("completion_rate", "Taux de réussite", "rate"),
    _spec("placement_cohort", "Cohorte d'insertion de la période", "count"),
    _spec("placed_6m", "Insérés à 6 mois sur la période", "count", provisional_with_window=True),
    _spec(
        "placement_rate_6m",
        "Taux d'insertion à 6 mois sur la période",
        "rate",
        provisional_with_window=True,
    ),
    _spec(
        "durable_placement_rate_6m",
        "Taux d'insertion durable à 6 mois sur la période",
        "rate",
        provisional_with_window=True,
    ),
    _spec("placement_window_complete", "Taux d'insertion de la période définitifs", "flag"),
    _spec("placement_closed_shift_months", "Recul de la cohorte close", "months"),
    _spec("placement_cohort_closed", "Cohorte d'insertion close", "count", over_closed_cohort=True),
    _spec("placed_6m_closed", "Insérés à 6 mois", "count", over_closed_cohort=True),
    _spec("placement_rate_6m_closed", "Taux d'insertion à 6 mois", "rate", over_closed_cohort=True),
    _spec(
        "durable_placement_rate_6m_closed",
        "Taux d'insertion durable à 6 mois",
        "rate",
        over_closed_cohort=True,
    ),
    _spec(
        "placement_cohort_open",
        "Parcours encore dans leur fenêtre de 6 mois",
        "count",
        as_of_now=True,
    ),
    _spec("satisfaction_avg", "Satisfaction moyenne", "score"),
    _spec("satisfaction_rate", "Taux de satisfaction (notes de 4 ou 5)", "rate"),
    _spec("matches_proposed", "Rapprochements proposés", "count"),
    _spec("matches_validated", "Rapprochements validés", "count"),
    _spec("match_hires", "Embauches par rapprochement", "count"),
    _spec("offers_open", "Offres d'emploi ouvertes", "count", as_of_now=True),
)

KPI_SPECS: Mapping[str, KpiSpec] = MappingProxyType({spec.kpi_id: spec for spec in _SPECS})
"""The specification of every KPI id, in :data:`KPI_IDS` order."""
assert tuple(KPI_SPECS) == KPI_IDS

KPI_LABELS: Mapping[str, str] = MappingProxyType({i: s.label for i, s in KPI_SPECS.items()})
"""The French label of every KPI id."""


def is_provisional(kpi_id: str, figures: KpiSet) -> bool:
    """True when this figure of ``figures`` can still move: a placement figure of
    a period whose 6-month window is not over."""
    return KPI_SPECS[kpi_id].provisional_with_window and not figures.placement_window_complete
