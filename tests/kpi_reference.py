"""A pure-Python reading of ``contract/kpi-definitions.md``, for the tests.

Written independently from ``data.kpis``: it reads every row of the tables
with plain SELECTs and applies each definition literally, in Python (local
dates with zoneinfo, month arithmetic by hand, the median by linear
interpolation). It is slow on purpose and only ever runs on test data.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from data.models import Base

MAIN_PATH = {
    "nouvelle": 0,
    "en_etude": 1,
    "entretien": 2,
    "admise": 3,
    "inscrite": 4,
    "en_formation": 5,
    "terminee": 6,
    "abandon": 5,
}
TABLES = (
    "formations",
    "sessions_formation",
    "candidatures",
    "candidature_events",
    "offres_emploi",
    "matchings",
    "devis",
    "factures",
    "placements",
    "evaluations",
)


@dataclass(frozen=True)
class Snapshot:
    """Every row of the tables the KPIs read, as dicts."""

    rows: dict[str, list[dict[str, Any]]]

    def by_id(self, table: str) -> dict[int, dict[str, Any]]:
        return {row["id"]: row for row in self.rows[table]}


def snapshot(engine: Engine) -> Snapshot:
    """``SELECT * FROM`` each table (typed by the models: aware UTC timestamps)."""
    with engine.connect() as connection:
        return Snapshot(
            {
                name: [
                    dict(r)
                    for r in connection.execute(select(Base.metadata.tables[name])).mappings()
                ]
                for name in TABLES
            }
        )


def rank(status: str | None) -> int:
    return MAIN_PATH.get(status or "", -1)


def months_later(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months (negative: earlier), clamped to
    the month's last day."""
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def six_months_after(day: date) -> date:
    return months_later(day, 6)


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL ``percentile_cont``)."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def share(part: int | float, whole: int | float) -> float | None:
    return None if whole == 0 else part / whole


def reference_kpis(
    engine: Engine,
    *,
    start: date,
    end: date,
    now: datetime,
    formation: str | None = None,
    domaine: str | None = None,
    timezone: str = "America/Guadeloupe",
    sla_hours: float = 48.0,
    data: Snapshot | None = None,
) -> dict[str, Any]:
    """Every KPI of the definitions, computed row by row."""
    data = data or snapshot(engine)
    ctx = _Context(data, start, end, now, formation, domaine, ZoneInfo(timezone), sla_hours)
    result: dict[str, Any] = {}
    for part in (
        ctx.applications,
        ctx.backlog,
        ctx.money,
        ctx.quotes,
        ctx.sessions,
        ctx.outcomes,
        ctx.satisfaction,
        ctx.matching,
    ):
        result.update(part())
    result.update(_closed_placement(ctx, data, formation, domaine, timezone, sla_hours))
    return result


def _closed_placement(
    ctx: _Context,
    data: Snapshot,
    formation: str | None,
    domaine: str | None,
    timezone: str,
    sla_hours: float,
) -> dict[str, Any]:
    """The ``*_closed`` figures: the smallest shift ``k`` whose window is over, and
    the placement figures of ``[start - k months, end - k months)``."""
    k = 0
    while six_months_after(months_later(ctx.end, -k) - timedelta(days=1)) >= ctx.today:
        k += 1
    start, end = months_later(ctx.start, -k), months_later(ctx.end, -k)
    figures: dict[str, Any] = {
        "placement_cohort": 0,
        "placed_6m": 0,
        "placement_rate_6m": None,
        "durable_placement_rate_6m": None,
    }
    if start < end:
        closed = _Context(
            data, start, end, ctx.now, formation, domaine, ZoneInfo(timezone), sla_hours
        )
        figures = closed.outcomes()
    return {
        "placement_closed_shift_months": k,
        "placement_cohort_closed": figures["placement_cohort"],
        "placed_6m_closed": figures["placed_6m"],
        "placement_rate_6m_closed": figures["placement_rate_6m"],
        "durable_placement_rate_6m_closed": figures["durable_placement_rate_6m"],
    }


class _Context:
    def __init__(
        self,
        data: Snapshot,
        start: date,
        end: date,
        now: datetime,
        formation: str | None,
        domaine: str | None,
        tz: ZoneInfo,
        sla_hours: float,
    ) -> None:
        self.data, self.start, self.end, self.now = data, start, end, now
        self.tz, self.sla_hours = tz, sla_hours
        self.today = now.astimezone(tz).date()
        self.formations = {
            row["id"]
            for row in data.rows["formations"]
            if (formation is None or row["slug"] == formation)
            and (domaine is None or row["domaine"] == domaine)
        }
        self.applications_by_id = data.by_id("candidatures")
        self.sessions_by_id = data.by_id("sessions_formation")
        self.quotes_by_id = data.by_id("devis")
        self.events: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for event in data.rows["candidature_events"]:
            self.events[event["candidature_id"]].append(event)

    # helpers
    def in_period_ts(self, value: datetime | None) -> bool:
        return value is not None and self.start <= value.astimezone(self.tz).date() < self.end

    def in_period_date(self, value: date | None) -> bool:
        return value is not None and self.start <= value < self.end

    def reached(self, application: dict[str, Any]) -> int:
        ranks = [rank(application["statut"])]
        ranks += [rank(e["to_statut"]) for e in self.events[application["id"]]]
        return max(ranks)

    def in_scope(self, formation_id: int | None) -> bool:
        return formation_id in self.formations

    # sections
    def applications(self) -> dict[str, Any]:
        cohort = [
            a
            for a in self.data.rows["candidatures"]
            if self.in_period_ts(a["created_at"]) and self.in_scope(a["formation_id"])
        ]
        reached = [self.reached(a) for a in cohort]
        result: dict[str, Any] = {"applications": len(cohort)}
        for stage in ("en_etude", "entretien", "admise", "inscrite", "terminee"):
            result[f"reached_{stage}"] = sum(1 for r in reached if r >= MAIN_PATH[stage])
        result["enrolments"] = result["reached_inscrite"]
        result["conversion_rate"] = share(result["enrolments"], len(cohort))
        refused = sum(1 for a in cohort if a["statut"] == "refusee")
        result["refusal_rate"] = share(refused, len(cohort))
        hours = []
        for a in cohort:
            answers = [
                e["changed_at"] for e in self.events[a["id"]] if e["from_statut"] == "nouvelle"
            ]
            if answers:
                hours.append((min(answers) - a["created_at"]).total_seconds() / 3600)
        result["median_first_response_hours"] = percentile(hours, 0.5)
        return result

    def backlog(self) -> dict[str, Any]:
        new = [
            a
            for a in self.data.rows["candidatures"]
            if a["statut"] == "nouvelle" and self.in_scope(a["formation_id"])
        ]
        sla = timedelta(hours=self.sla_hours)
        return {
            "backlog_new": len(new),
            "backlog_overdue": sum(1 for a in new if self.now - a["created_at"] > sla),
        }

    def invoice_in_scope(self, invoice: dict[str, Any]) -> bool:
        if invoice["candidature_id"] is not None:
            return self.in_scope(self.applications_by_id[invoice["candidature_id"]]["formation_id"])
        return self.in_scope(self.quotes_by_id[invoice["devis_id"]]["formation_id"])

    def money(self) -> dict[str, Any]:
        invoices = [f for f in self.data.rows["factures"] if self.invoice_in_scope(f)]

        def total(rows: list[dict[str, Any]]) -> Decimal:
            return sum((Decimal(f["montant"]) for f in rows), Decimal("0")).quantize(
                Decimal("0.01")
            )

        return {
            "revenue_invoiced": total(
                [
                    f
                    for f in invoices
                    if f["statut"] != "annulee" and self.in_period_date(f["date_emission"])
                ]
            ),
            "revenue_collected": total(
                [
                    f
                    for f in invoices
                    if f["statut"] == "payee" and self.in_period_date(f["date_paiement"])
                ]
            ),
            "receivables_overdue": total(
                [f for f in invoices if f["statut"] == "emise" and f["date_echeance"] < self.today]
            ),
        }

    def quotes(self) -> dict[str, Any]:
        sent = [
            d
            for d in self.data.rows["devis"]
            if self.in_period_ts(d["sent_at"]) and self.in_scope(d["formation_id"])
        ]
        accepted = sum(1 for d in sent if d["statut"] == "accepte")
        return {
            "quotes_sent": len(sent),
            "quotes_accepted": accepted,
            "quote_conversion_rate": share(accepted, len(sent)),
        }

    def sessions(self) -> dict[str, Any]:
        started = [
            s
            for s in self.data.rows["sessions_formation"]
            if self.in_period_date(s["date_debut"]) and self.in_scope(s["formation_id"])
        ]
        ids = {s["id"] for s in started}
        enrolled = sum(
            1
            for a in self.data.rows["candidatures"]
            if a["session_id"] in ids and self.reached(a) >= MAIN_PATH["inscrite"]
        )
        return {
            "sessions_started": len(started),
            "fill_rate": share(enrolled, sum(s["places"] for s in started)),
        }

    def outcomes(self) -> dict[str, Any]:
        ended: list[tuple[dict[str, Any], date]] = []
        for a in self.data.rows["candidatures"]:
            if a["session_id"] is None or not self.in_scope(a["formation_id"]):
                continue
            date_fin = self.sessions_by_id[a["session_id"]]["date_fin"]
            if self.in_period_date(date_fin):
                ended.append((a, date_fin))
        completed = [(a, d) for a, d in ended if a["statut"] == "terminee"]
        dropouts = sum(1 for a, _ in ended if a["statut"] == "abandon")
        placed = durable = 0
        for application, date_fin in completed:
            found = [
                p
                for p in self.data.rows["placements"]
                if p["user_id"] == application["user_id"]
                and p["type_contrat"] != "formation"
                and date_fin <= p["date_debut"] <= six_months_after(date_fin)
            ]
            placed += bool(found)
            durable += any(_is_durable(p) for p in found)
        cohort = len(completed)
        still_open = sum(1 for _, d in completed if six_months_after(d) >= self.today)
        last_day = self.end - timedelta(days=1)
        return {
            "completions": cohort,
            "dropouts": dropouts,
            "completion_rate": share(cohort, cohort + dropouts),
            "placement_cohort": cohort,
            "placed_6m": placed,
            "placement_rate_6m": share(placed, cohort),
            "durable_placement_rate_6m": share(durable, cohort),
            "placement_window_complete": six_months_after(last_day) < self.today,
            "placement_cohort_open": still_open,
        }

    def satisfaction(self) -> dict[str, Any]:
        notes = [
            e["note"]
            for e in self.data.rows["evaluations"]
            if self.in_period_ts(e["created_at"])
            and self.in_scope(self.applications_by_id[e["candidature_id"]]["formation_id"])
        ]
        return {
            "satisfaction_avg": sum(notes) / len(notes) if notes else None,
            "satisfaction_rate": share(sum(1 for n in notes if n >= 4), len(notes)),
        }

    def matching(self) -> dict[str, Any]:
        matches = [m for m in self.data.rows["matchings"] if self.in_period_ts(m["date_match"])]
        return {
            "matches_proposed": len(matches),
            "matches_validated": sum(
                1 for m in matches if m["statut"] in ("valide", "entretien", "embauche")
            ),
            "match_hires": sum(1 for m in matches if m["statut"] == "embauche"),
            "offers_open": sum(
                1 for o in self.data.rows["offres_emploi"] if o["statut"] == "ouverte"
            ),
        }


def _is_durable(placement: dict[str, Any]) -> bool:
    kind = placement["type_contrat"]
    if kind in ("cdi", "creation_entreprise"):
        return True
    months = placement["duree_mois"]
    return kind in ("cdd", "interim", "alternance") and months is not None and months >= 6
