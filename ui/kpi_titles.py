"""Chart titles that state the finding ("Le CPF finance 42,0 % du chiffre d'affaires").

Pure functions of the KPI engine's results (no Streamlit, no SQL): they
pick the fact a chart shows and word it in French, every figure through
data.formatting. Titles may hold database text (a formation's title): the
caller escapes them for plotly (ui.kpi_charts.plot_text).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from data import formatting as fmt
from data.kpis import KpiSet

# How each funder "finances" (subject and verb agree).
FUNDER_SUBJECTS: dict[str | None, str] = {
    "cpf": "Le CPF finance",
    "france_travail": "France Travail finance",
    "opco": "Les OPCO financent",
    "region": "La Région finance",
    "employeur": "Les employeurs financent",
    "personnel": "Les stagiaires financent eux-mêmes",
    None: "Les factures sans financeur représentent",
}


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _best(df: pd.DataFrame, column: str, *, weight: str | None = None) -> pd.Series | None:
    """The row with the highest ``column`` (ties: the larger ``weight``), or None."""
    rows = df[[_present(v) for v in df[column]]] if not df.empty else df
    if rows.empty:
        return None
    order = [column] + ([weight] if weight else [])
    return rows.sort_values(order, ascending=False, kind="stable").iloc[0]


def trend(df: pd.DataFrame, bucket_label: str) -> str:
    """``Pic de candidatures : septembre 2026 (85)``; ``bucket_label`` names the peak's bucket."""
    total = int(df["applications"].sum()) if not df.empty else 0
    if total == 0:
        return "Aucune candidature sur la période"
    enrolled = int(df["enrolments"].sum())
    return (
        f"{fmt.number(total)} candidatures, {fmt.number(enrolled)} inscriptions ; "
        f"pic : {bucket_label} ({fmt.number(int(df['applications'].max()))})"
    )


def peak_bucket(df: pd.DataFrame) -> Any:
    """The bucket with the most applications (the first one on ties)."""
    return df.loc[df["applications"].idxmax(), "bucket"]


def top_formations(df: pd.DataFrame) -> str:
    if df.empty:
        return "Aucune candidature sur la période"
    first = df.iloc[0]
    return (
        f"Formation la plus demandée :\n« {first['label']} » "
        f"({fmt.number(first['applications'])} candidatures)"
    )


def companies(df: pd.DataFrame) -> str:
    if df.empty:
        return "Aucune offre ni embauche sur la période"
    first = df.iloc[0]
    return (
        f"{first['label']} : {fmt.count_of(first['offers_posted'], 'offre publiée', 'offres publiées')}, "
        f"{fmt.count_of(first['hires'], 'embauche')}"
    )


def funnel(figures: KpiSet) -> str:
    if not figures.applications:
        return "Aucune candidature sur la période"
    return (
        f"{fmt.percent(figures.conversion_rate)} des candidatures aboutissent à une inscription "
        f"({fmt.number(figures.enrolments)} sur {fmt.number(figures.applications)})"
    )


CONVERSION_NOUNS = {"formation": "formation", "source": "source", "financement": "financement"}


def conversion(df: pd.DataFrame, dimension: str) -> str:
    best = _best(df, "conversion_rate", weight="applications")
    if best is None:
        return "Aucune candidature sur la période"
    return (
        f"Meilleure conversion par {CONVERSION_NOUNS[dimension]} :\n{best['label']} "
        f"({fmt.percent(best['conversion_rate'])} de {fmt.number(best['applications'])} candidatures)"
    )


def revenue(df: pd.DataFrame, dimension: str) -> str:
    """Funder: ``Le CPF finance 42,0 % du chiffre d'affaires``; month: the record month."""
    total = float(df["invoiced"].sum()) if not df.empty else 0.0
    if total <= 0:
        if not df.empty and float(df["collected"].sum()) > 0:
            return f"{fmt.money(float(df['collected'].sum()))} encaissés, rien de facturé"
        return "Aucune facture sur la période"
    best = _best(df, "invoiced")
    assert best is not None  # total > 0
    share = fmt.percent(float(best["invoiced"]) / total)
    if dimension == "financeur":
        key = best["key"] if isinstance(best["key"], str) else None
        subject = FUNDER_SUBJECTS.get(key, f"{best['label']} finance")
        return f"{subject} {share} du chiffre d'affaires"
    if dimension == "formation":
        return f"« {best['label']} » pèse {share} du chiffre d'affaires"
    return f"Mois record : {best['label']} avec {fmt.money(best['invoiced'])} facturés"


def overdue(figures: KpiSet, count: int) -> str:
    if count == 0:
        return "Aucune facture échue impayée"
    return f"{fmt.money(figures.receivables_overdue)} de créances échues ({fmt.count_of(count, 'facture')})"


def placement(df: pd.DataFrame, figures: KpiSet) -> str:
    """The closed cohort's placement (final figures), and the best formation."""
    if not figures.placement_cohort_closed:
        return "Aucun parcours terminé dans la cohorte close"
    text = (
        f"{fmt.percent(figures.placement_rate_6m_closed)} des diplômés en emploi dans les "
        f"6 mois, {fmt.percent(figures.durable_placement_rate_6m_closed)} en emploi durable"
    )
    best = _best(df, "placement_rate", weight="cohort") if len(df) > 1 else None
    if best is not None:
        text += f"\nMeilleure insertion : {best['label']} ({fmt.percent(best['placement_rate'])})"
    return text


def completion(figures: KpiSet) -> str:
    if not (figures.completions + figures.dropouts):
        return "Aucune fin de parcours sur la période"
    return (
        f"Taux de réussite de {fmt.percent(figures.completion_rate)} : "
        f"{fmt.count_of(figures.dropouts, 'abandon')} pour "
        f"{fmt.count_of(figures.completions, 'parcours terminé', 'parcours terminés')}"
    )


def satisfaction(figures: KpiSet) -> str:
    if figures.satisfaction_avg is None:
        return "Aucune évaluation sur la période"
    return (
        f"Satisfaction moyenne de {fmt.number(figures.satisfaction_avg, decimals=1)} / 5 ; "
        f"{fmt.percent(figures.satisfaction_rate)} de notes de 4 ou 5"
    )


def fill(figures: KpiSet) -> str:
    if not figures.sessions_started:
        return "Aucune session démarrée sur la période"
    return (
        f"{fmt.count_of(figures.sessions_started, 'session démarrée', 'sessions démarrées')}, "
        f"remplies à {fmt.percent(figures.fill_rate)}"
    )
