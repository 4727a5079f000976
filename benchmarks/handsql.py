"""The same aggregates as hand-written SQL, straight through psycopg.

What a careful developer writes by hand against the website's tables alone
(no dashboard summary): one statement per group of figures, the event
history grouped per application of the period. It is the yardstick for the
engine's SQLAlchemy statements plus its summary: same figures, checked.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg

from benchmarks.harness import SAME_FIGURES, Metrics, Operation, baseline_operations, libpq_url
from benchmarks.kpis import Bench
from data.kpis import KpiQuery, KpiSet

RUNS = 3  # the 12-month statements take seconds each
RANK = (
    "CASE {col} WHEN 'nouvelle' THEN 0 WHEN 'en_etude' THEN 1 WHEN 'entretien' THEN 2 "
    "WHEN 'admise' THEN 3 WHEN 'inscrite' THEN 4 WHEN 'en_formation' THEN 5 "
    "WHEN 'terminee' THEN 6 WHEN 'abandon' THEN 5 ELSE -1 END"
)

COHORT = f"""
WITH a AS (
    SELECT id, statut, created_at FROM candidatures
    WHERE created_at >= %(lo)s AND created_at < %(hi)s
), e AS (
    SELECT candidature_id, max({RANK.format(col="to_statut")}) AS rank,
           min(changed_at) FILTER (WHERE from_statut = 'nouvelle') AS first_response
    FROM candidature_events WHERE candidature_id IN (SELECT id FROM a)
    GROUP BY candidature_id
), r AS (
    SELECT a.statut, a.created_at, e.first_response,
           greatest({RANK.format(col="a.statut")}, coalesce(e.rank, -1)) AS reached
    FROM a LEFT JOIN e ON e.candidature_id = a.id
)
SELECT count(*), count(*) FILTER (WHERE reached >= 1), count(*) FILTER (WHERE reached >= 2),
       count(*) FILTER (WHERE reached >= 3), count(*) FILTER (WHERE reached >= 4),
       count(*) FILTER (WHERE reached >= 6), count(*) FILTER (WHERE statut = 'refusee'),
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY date_part('epoch', first_response - created_at) / 3600)
FROM r
"""

OTHERS = """
SELECT
  (SELECT count(*) FROM candidatures WHERE statut = 'nouvelle'),
  (SELECT count(*) FROM candidatures WHERE statut = 'nouvelle' AND created_at < %(overdue)s),
  (SELECT sum(montant) FROM factures WHERE statut <> 'annulee'
       AND date_emission >= %(start)s AND date_emission < %(end)s),
  (SELECT sum(montant) FROM factures WHERE statut = 'payee'
       AND date_paiement >= %(start)s AND date_paiement < %(end)s),
  (SELECT sum(montant) FROM factures WHERE statut = 'emise' AND date_echeance < %(today)s),
  (SELECT count(*) FROM devis WHERE sent_at >= %(lo)s AND sent_at < %(hi)s),
  (SELECT count(*) FROM devis WHERE sent_at >= %(lo)s AND sent_at < %(hi)s AND statut = 'accepte'),
  (SELECT count(*) FROM matchings WHERE date_match >= %(lo)s AND date_match < %(hi)s),
  (SELECT count(*) FROM matchings WHERE date_match >= %(lo)s AND date_match < %(hi)s
       AND statut IN ('valide', 'entretien', 'embauche')),
  (SELECT count(*) FROM matchings WHERE date_match >= %(lo)s AND date_match < %(hi)s
       AND statut = 'embauche'),
  (SELECT count(*) FROM offres_emploi WHERE statut = 'ouverte'),
  (SELECT count(*) FROM evaluations WHERE created_at >= %(lo)s AND created_at < %(hi)s),
  (SELECT avg(note) FROM evaluations WHERE created_at >= %(lo)s AND created_at < %(hi)s)
"""

SESSIONS = f"""
WITH s AS (SELECT id, places FROM sessions_formation
           WHERE date_debut >= %(start)s AND date_debut < %(end)s),
attached AS (
    SELECT c.id, {RANK.format(col="c.statut")} AS status_rank FROM candidatures c
    WHERE c.session_id IN (SELECT id FROM s)
)
SELECT (SELECT count(*) FROM s), (SELECT sum(places) FROM s),
       (SELECT count(*) FROM attached WHERE status_rank >= 4 OR EXISTS (
            SELECT 1 FROM candidature_events e WHERE e.candidature_id = attached.id
            AND e.to_statut IN ('inscrite', 'en_formation', 'terminee', 'abandon')))
"""

OUTCOMES = """
WITH f AS (
    SELECT c.id, c.statut, c.user_id, s.date_fin FROM candidatures c
    JOIN sessions_formation s ON s.id = c.session_id
    WHERE c.statut IN ('terminee', 'abandon') AND s.date_fin >= %(start)s AND s.date_fin < %(end)s
), p AS (
    SELECT f.id, bool_or(pl.type_contrat IN ('cdi', 'creation_entreprise')
               OR (pl.type_contrat IN ('cdd', 'interim', 'alternance') AND pl.duree_mois >= 6))
               AS durable
    FROM f JOIN placements pl ON pl.user_id = f.user_id AND pl.type_contrat <> 'formation'
         AND pl.date_debut >= f.date_fin AND pl.date_debut <= (f.date_fin + interval '6 months')::date
    WHERE f.statut = 'terminee' GROUP BY f.id
)
SELECT (SELECT count(*) FROM f WHERE statut = 'terminee'),
       (SELECT count(*) FROM f WHERE statut = 'abandon'),
       (SELECT count(*) FROM p), (SELECT count(*) FROM p WHERE durable)
"""

CONVERSION = f"""
WITH a AS (
    SELECT id, statut, formation_id FROM candidatures
    WHERE created_at >= %(lo)s AND created_at < %(hi)s
), e AS (
    SELECT candidature_id, max({RANK.format(col="to_statut")}) AS rank FROM candidature_events
    WHERE candidature_id IN (SELECT id FROM a) GROUP BY candidature_id
)
SELECT f.slug, f.titre, count(*),
       count(*) FILTER (WHERE greatest({RANK.format(col="a.statut")}, coalesce(e.rank, -1)) >= 4)
FROM a LEFT JOIN e ON e.candidature_id = a.id JOIN formations f ON f.id = a.formation_id
GROUP BY f.id, f.slug, f.titre
"""

REVENUE_BY_MONTH = """
SELECT month, sum(invoiced), sum(collected) FROM (
    SELECT date_trunc('month', date_emission) AS month, montant AS invoiced, 0 AS collected
    FROM factures WHERE statut <> 'annulee' AND date_emission >= %(start)s AND date_emission < %(end)s
    UNION ALL
    SELECT date_trunc('month', date_paiement), 0, montant
    FROM factures WHERE statut = 'payee' AND date_paiement >= %(start)s AND date_paiement < %(end)s
) parts GROUP BY month
"""


def _params(query: KpiQuery, now: datetime) -> dict[str, Any]:
    lo, hi = query.utc_bounds()
    return {
        "lo": lo,
        "hi": hi,
        "start": query.start,
        "end": query.end,
        "today": query.today(now),
        "overdue": now - timedelta(hours=query.sla_hours),
    }


def _fetch(url: str, statements: list[str], params: dict[str, Any]) -> list[Any]:
    """Every row of each statement (a list of rows per statement), on one connection."""
    with psycopg.connect(libpq_url(url)) as connection:
        connection.execute("SET jit = off")
        return [connection.execute(sql, params).fetchall() for sql in statements]


def hand_kpis(url: str, query: KpiQuery, now: datetime) -> dict[str, Any]:
    cohort, others, sessions, outcomes = (
        rows[0] for rows in _fetch(url, [COHORT, OTHERS, SESSIONS, OUTCOMES], _params(query, now))
    )
    names = (
        "applications",
        "reached_en_etude",
        "reached_entretien",
        "reached_admise",
        "reached_inscrite",
        "reached_terminee",
    )
    figures: dict[str, Any] = dict(zip(names, cohort[:6], strict=True))
    figures.update(
        backlog_new=others[0],
        backlog_overdue=others[1],
        quotes_sent=others[5],
        quotes_accepted=others[6],
        matches_proposed=others[7],
        matches_validated=others[8],
        match_hires=others[9],
        offers_open=others[10],
        sessions_started=sessions[0],
        completions=outcomes[0],
        dropouts=outcomes[1],
        placed_6m=outcomes[2],
    )
    return figures


def agreement(hand: dict[str, Any], engine: KpiSet) -> str:
    wanted = engine.as_dict()
    differ = [key for key, value in hand.items() if value != wanted[key]]
    if differ:  # a baseline that computes other figures is no comparison: fail it
        raise AssertionError(f"differs from the engine: {differ}")
    return SAME_FIGURES


def operations(bench: Bench) -> list[Operation]:
    def kpi_set(which: str) -> Metrics:
        query = bench.month if which == "month" else bench.year
        figures = hand_kpis(bench.url, query, bench.now)
        return Metrics(detail=agreement(figures, bench.expected(which)))

    year = _params(bench.year, bench.now)
    return baseline_operations(
        "handsql",
        kpi_set,
        lambda: _fetch(bench.url, [CONVERSION], year),
        lambda: _fetch(bench.url, [REVENUE_BY_MONTH], year),
        runs=RUNS,
    )
