"""The alert rules: each a named read that returns the subjects whose condition holds now.

A rule's evaluator takes the connection, the rule's parameters, the instant
and the settings, and returns :class:`Subject`\\ s (one per application,
session, invoice, run...). A subject absent from the answer has its
condition false: its open alert resolves. The catalogue
:data:`BUILTIN_RULES` seeds ``dashboard_alert_rules``; an admin may change
their parameters, and a director may add KPI goal lines (kind ``kpi_goal``).

Rules reuse the one home of each business rule: the triage SLA
(``data.triage.queue.filter_conditions``), the places a session counts
(``data.workflow.SEAT_STATUSES``), overdue invoices (issued, due before
today, as ``data.kpis.drilldown.overdue_invoices``), the KPI engine
(``data.kpis.compute_kpis``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, and_, func, or_, select

from data import formatting
from data.errors import InvalidInput
from data.models import (
    Candidature,
    Contact,
    Devis,
    Facture,
    Formation,
    Matching,
    SessionFormation,
    User,
)
from data.owned import (
    RESENDABLE_RUN_STATUSES,
    AlertRule,
    ReportRun,
    ReportSchedule,
    RunStatus,
    SchedulerProcess,
)
from data.settings import Settings
from data.triage.dossier import may_receive_applications
from data.workflow import PENDING_STATUSES, SEAT_STATUSES, overdue_condition


@dataclass(frozen=True)
class Subject:
    """One thing a rule's condition holds for, now.

    ``recipients``: the users it is addressed to (None: every active member of
    the rule's roles); ``also``: users told besides (a schedule's owner).
    """

    key: str
    label: str
    link: str | None = None
    recipients: tuple[int, ...] | None = None
    also: tuple[int, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleContext:
    """What an evaluator reads besides the database."""

    params: Mapping[str, Any]
    now: datetime
    settings: Settings
    engine: Engine
    memory: Mapping[str, Any]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.TIMEZONE)

    @property
    def today(self) -> date:
        return self.now.astimezone(self.tz).date()

    def number(self, name: str) -> float:
        value = self.params.get(name)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise InvalidInput(f"Paramètre « {name} » absent ou non numérique.")
        return float(value)


Evaluator = Callable[[Connection, RuleContext], list[Subject]]


@dataclass(frozen=True)
class RuleKind:
    """A kind of rule: its evaluator, and whether a "résolu" notice makes sense."""

    label: str  # French, for preferences and filters
    evaluate: Evaluator
    announces_resolution: bool = True


@dataclass(frozen=True)
class BuiltinRule:
    key: str
    kind: str
    title: str
    roles: tuple[str, ...]
    params: Mapping[str, Any]
    for_minutes: int = 0
    quiet_minutes: int = 60


# --- Evaluators ---------------------------------------------------------------------


def _application_subjects(connection: Connection, hours: float, ctx: RuleContext) -> list[Subject]:
    """New applications older than ``hours`` (the triage SLA's one rule, at ``hours``)."""
    c = Candidature
    rows = connection.execute(
        select(c.id, c.assigned_to, c.created_at, Formation.titre)
        .join(Formation, Formation.id == c.formation_id)
        .where(overdue_condition(c.statut, c.created_at, now=ctx.now, sla_hours=hours))
        .order_by(c.id)
    ).all()
    return [
        Subject(
            key=f"candidature:{row.id}",
            label=(
                f"Candidature n° {row.id} ({row.titre}) reçue le "
                f"{formatting.timestamp(row.created_at, ctx.tz)}"
            ),
            link=f"candidatures?dossier={row.id}",
            recipients=(row.assigned_to,) if row.assigned_to is not None else None,
            details={"received_at": row.created_at.isoformat()},
        )
        for row in rows
    ]


def triage_sla_soon(connection: Connection, ctx: RuleContext) -> list[Subject]:
    """Rule 1a: a new application older than ``hours`` (36 of the 48 h by default)."""
    return _application_subjects(connection, ctx.number("hours"), ctx)


def triage_sla_breached(connection: Connection, ctx: RuleContext) -> list[Subject]:
    """Rule 1b: a new application past the triage SLA (``TRIAGE_SLA_HOURS``)."""
    return _application_subjects(connection, float(ctx.settings.TRIAGE_SLA_HOURS), ctx)


def new_applications(connection: Connection, ctx: RuleContext) -> list[Subject]:
    """Rule 2: new applications received since the last notice, as one grouped subject.

    The rule's memory keeps the highest application id announced; the first
    evaluation looks back ``lookback_hours``.
    """
    c = Candidature
    seen = ctx.memory.get("last_id")
    condition = (
        c.id > int(seen)
        if isinstance(seen, int)
        else c.created_at >= ctx.now - timedelta(hours=ctx.number("lookback_hours"))
    )
    count, highest = connection.execute(
        select(func.count(), func.max(c.id)).where(c.statut == "nouvelle", condition)
    ).one()
    if not count:
        return []
    noun = "nouvelle candidature reçue" if count == 1 else "nouvelles candidatures reçues"
    return [
        Subject(
            key=f"lot:{highest}",
            label=f"{formatting.number(count)} {noun}",
            link="candidatures?statut=nouvelle",
            details={"count": int(count), "last_id": int(highest)},
        )
    ]


def matches_waiting(connection: Connection, ctx: RuleContext) -> list[Subject]:
    """Rule 6a: proposed matches waiting for review longer than ``days``, as one grouped
    subject (a backlog of matches is one thing to do, not a notice per match)."""
    m = Matching
    cutoff = ctx.now - timedelta(days=ctx.number("days"))
    count, oldest = connection.execute(
        select(func.count(), func.min(m.date_match)).where(
            m.statut == "propose", m.date_match < cutoff
        )
    ).one()
    if not count:
        return []
    noun = "matching proposé attend" if count == 1 else "matchings proposés attendent"
    return [
        Subject(
            key="matchings",
            label=(
                f"{formatting.number(count)} {noun} une revue depuis plus de "
                f"{formatting.number(ctx.number('days'))} jours (le plus ancien : "
                f"{formatting.day(oldest, ctx.tz)})"
            ),
            link="matchings",
            details={"count": int(count)},
        )
    ]


def contacts_untreated(connection: Connection, ctx: RuleContext) -> list[Subject]:
    """Rule 6b: contact messages untreated longer than ``hours``, as one grouped subject."""
    cutoff = ctx.now - timedelta(hours=ctx.number("hours"))
    count, oldest = connection.execute(
        select(func.count(), func.min(Contact.created_at)).where(
            Contact.traite_at.is_(None), Contact.created_at < cutoff
        )
    ).one()
    if not count:
        return []
    noun = "message de contact non traité" if count == 1 else "messages de contact non traités"
    return [
        Subject(
            key="messages",
            label=(
                f"{formatting.number(count)} {noun} depuis plus de "
                f"{formatting.number(ctx.number('hours'))} h (le plus ancien reçu le "
                f"{formatting.timestamp(oldest, ctx.tz)})"
            ),
            link="messages?statut=a-traiter",
            details={"count": int(count)},
        )
    ]


def report_run_problems(connection: Connection, ctx: RuleContext) -> list[Subject]:
    """Rule 8a: scheduled report runs failed, interrupted or missed in the last ``days``."""
    since = ctx.now - timedelta(days=ctx.number("days"))
    rows = connection.execute(
        select(
            ReportRun.id,
            ReportRun.status,
            ReportRun.due_at,
            ReportSchedule.name,
            ReportSchedule.owner_id,
        )
        .join(ReportSchedule, ReportSchedule.id == ReportRun.schedule_id)
        .where(
            ReportRun.status.in_(RESENDABLE_RUN_STATUSES),
            ReportRun.due_at >= since,
        )
        .order_by(ReportRun.id)
    ).all()
    what = {
        RunStatus.failed: "en échec",
        RunStatus.interrupted: "interrompu",
        RunStatus.missed: "manqué",
    }
    return [
        Subject(
            key=f"run:{row.id}",
            label=(
                f"Rapport « {row.name} » du {formatting.timestamp(row.due_at, ctx.tz)} : "
                f"{what[row.status]}"
            ),
            link="rapports",
            also=(row.owner_id,) if row.owner_id is not None else (),
            details={"status": row.status},
        )
        for row in rows
    ]


def scheduler_silent(connection: Connection, ctx: RuleContext) -> list[Subject]:
    """Rule 8b: no scheduler process seen for more than ``minutes``."""
    last_seen = connection.execute(select(func.max(SchedulerProcess.seen_at))).scalar_one()
    if last_seen is not None and last_seen >= ctx.now - timedelta(minutes=ctx.number("minutes")):
        return []
    when = formatting.timestamp(last_seen, ctx.tz) if last_seen is not None else "jamais"
    return [
        Subject(
            key="scheduler",
            label=f"Service d'envoi silencieux (dernier signe : {when})",
            link="etat-systeme",
        )
    ]


def rules_failing(connection: Connection, ctx: RuleContext) -> list[Subject]:
    """Rule 8c: alert rules whose last evaluation failed."""
    rows = connection.execute(
        select(AlertRule.key, AlertRule.title, AlertRule.last_error)
        .where(AlertRule.last_outcome == "error", AlertRule.paused.is_(False))
        .order_by(AlertRule.key)
    ).all()
    return [
        Subject(
            key=f"rule:{row.key}",
            label=f"La règle « {row.title} » n'a pas pu être évaluée",
            link="alertes",
            details={"error": (row.last_error or "")[:500]},
        )
        for row in rows
    ]


def session_fill(connection: Connection, ctx: RuleContext) -> list[Subject]:
    """Rule 3: a session starting within ``days`` whose fill rate is under ``min_rate``."""
    seats = (
        select(func.count())
        .where(Candidature.session_id == SessionFormation.id, Candidature.statut.in_(SEAT_STATUSES))
        .scalar_subquery()
    )
    horizon = ctx.today + timedelta(days=int(ctx.number("days")))
    rows = connection.execute(
        select(
            SessionFormation.id,
            SessionFormation.date_debut,
            SessionFormation.places,
            Formation.titre,
            seats.label("taken"),
        )
        .join(Formation, Formation.id == SessionFormation.formation_id)
        .where(SessionFormation.date_debut >= ctx.today, SessionFormation.date_debut <= horizon)
        .order_by(SessionFormation.id)
    ).all()
    minimum = ctx.number("min_rate")
    return [
        Subject(
            key=f"session:{row.id}",
            label=(
                f"Session {row.titre} du {formatting.day(row.date_debut)} : "
                f"{formatting.percent(row.taken / row.places)} des places prises"
            ),
            link="vue-ensemble",
            details={"taken": int(row.taken), "places": int(row.places)},
        )
        for row in rows
        if row.taken / row.places < minimum
    ]


def invoices_overdue(connection: Connection, ctx: RuleContext) -> list[Subject]:
    """Rule 4a: invoices newly overdue: issued, due before today and at most ``days`` ago,
    one subject per due day (older ones are in the total of rule 4b)."""
    first_day = ctx.today - timedelta(days=int(ctx.number("days")))
    rows = connection.execute(
        select(Facture.date_echeance, func.count(), func.sum(Facture.montant))
        .where(
            Facture.statut == "emise",
            Facture.date_echeance < ctx.today,
            Facture.date_echeance >= first_day,
        )
        .group_by(Facture.date_echeance)
        .order_by(Facture.date_echeance)
    ).all()
    subjects = []
    for due, count, total in rows:
        noun = "facture échue" if count == 1 else "factures échues"
        subjects.append(
            Subject(
                key=f"echeance:{due.isoformat()}",
                label=(
                    f"{formatting.number(count)} {noun} le {formatting.day(due)} "
                    f"({formatting.money(total)})"
                ),
                link="chiffre-affaires",
                details={"count": int(count)},
            )
        )
    return subjects


def overdue_total(connection: Connection, ctx: RuleContext) -> list[Subject]:
    """Rule 4b: the total of overdue receivables above ``amount`` euros."""
    total = connection.execute(
        select(func.coalesce(func.sum(Facture.montant), 0)).where(
            Facture.statut == "emise", Facture.date_echeance < ctx.today
        )
    ).scalar_one()
    if Decimal(total) <= Decimal(str(ctx.number("amount"))):
        return []
    return [
        Subject(
            key="encours",
            label=f"Créances échues : {formatting.money(Decimal(total))}",
            link="chiffre-affaires",
        )
    ]


def quotes_unanswered(connection: Connection, ctx: RuleContext) -> list[Subject]:
    """Rule 5: a quote sent and unanswered after ``days``."""
    cutoff = ctx.now - timedelta(days=ctx.number("days"))
    rows = connection.execute(
        select(Devis.id, Devis.numero, Devis.sent_at)
        .where(Devis.statut == "envoye", Devis.sent_at < cutoff)
        .order_by(Devis.id)
    ).all()
    return [
        Subject(
            key=f"devis:{row.id}",
            label=(
                f"Devis {row.numero} envoyé le "
                f"{formatting.day(row.sent_at.astimezone(ctx.tz).date())}, sans réponse"
            ),
            link="chiffre-affaires",
        )
        for row in rows
    ]


def staff_workload(connection: Connection, ctx: RuleContext) -> list[Subject]:
    """Rule 7: a secretariat member holding more than ``max_open`` open applications or
    more than ``max_overdue`` past the SLA."""
    c = Candidature
    overdue = overdue_condition(
        c.statut, c.created_at, now=ctx.now, sla_hours=float(ctx.settings.TRIAGE_SLA_HOURS)
    )
    rows = connection.execute(
        select(
            User.id,
            User.prenom,
            User.nom,
            func.count(c.id).label("open"),
            func.count(c.id).filter(overdue).label("overdue"),
        )
        .join(c, and_(c.assigned_to == User.id, c.statut.in_(PENDING_STATUSES)))
        .where(may_receive_applications("triage.dispatched"))
        .group_by(User.id, User.prenom, User.nom)
        .having(
            or_(
                func.count(c.id) > ctx.number("max_open"),
                func.count(c.id).filter(overdue) > ctx.number("max_overdue"),
            )
        )
        .order_by(User.id)
    ).all()
    return [
        Subject(
            key=f"user:{row.id}",
            label=(
                f"{row.prenom} {row.nom} : {formatting.number(row.open)} candidatures ouvertes, "
                f"dont {formatting.number(row.overdue)} hors délai"
            ),
            link="candidatures",
        )
        for row in rows
    ]


def kpi_goal(connection: Connection, ctx: RuleContext) -> list[Subject]:
    """Rule 9: a KPI over the last ``window_days`` above or below a goal (the KPI engine)."""
    from data.kpis import KpiQuery, compute_kpis
    from data.kpis.specs import KPI_SPECS

    kpi_id = str(ctx.params.get("kpi_id"))
    if kpi_id not in KPI_SPECS:
        raise InvalidInput(f"Indicateur inconnu « {kpi_id} ».")
    direction = ctx.params.get("direction")
    if direction not in ("below", "above"):
        raise InvalidInput("Le sens de la ligne d'objectif doit être « below » ou « above ».")
    goal = ctx.number("value")
    end = ctx.today + timedelta(days=1)
    formation = ctx.params.get("formation") or None
    query = KpiQuery.from_settings(
        ctx.settings, end - timedelta(days=int(ctx.number("window_days"))), end, formation
    )
    value = getattr(compute_kpis(ctx.engine, query, now=ctx.now), kpi_id)
    if value is None or isinstance(value, bool):
        return []
    crossed = float(value) < goal if direction == "below" else float(value) > goal
    if not crossed:
        return []
    spec = KPI_SPECS[kpi_id]
    word = "sous" if direction == "below" else "au-dessus de"
    return [
        Subject(
            key=f"kpi:{kpi_id}:{formation or '*'}",
            label=f"{spec.label} sur {int(ctx.number('window_days'))} jours {word} l'objectif",
            link="vue-ensemble",
            details={"value": float(value), "goal": goal},
        )
    ]


RULE_KINDS: Final[Mapping[str, RuleKind]] = {
    "triage_sla_soon": RuleKind("Candidatures bientôt hors délai", triage_sla_soon),
    "triage_sla_breached": RuleKind("Candidatures hors délai", triage_sla_breached),
    "new_applications": RuleKind(
        "Nouvelles candidatures", new_applications, announces_resolution=False
    ),
    "matches_waiting": RuleKind("Matchings en attente", matches_waiting),
    "contacts_untreated": RuleKind("Messages non traités", contacts_untreated),
    "report_run_problems": RuleKind("Rapports planifiés en échec", report_run_problems),
    "scheduler_silent": RuleKind("Service d'envoi silencieux", scheduler_silent),
    "rules_failing": RuleKind("Règles d'alerte en échec", rules_failing),
    "session_fill": RuleKind("Sessions peu remplies", session_fill),
    "invoices_overdue": RuleKind("Factures échues", invoices_overdue, announces_resolution=False),
    "overdue_total": RuleKind("Total des créances échues", overdue_total),
    "quotes_unanswered": RuleKind("Devis sans réponse", quotes_unanswered),
    "staff_workload": RuleKind("Charge de l'équipe", staff_workload),
    "kpi_goal": RuleKind("Lignes d'objectif des indicateurs", kpi_goal),
}

BUILTIN_RULES: Final[tuple[BuiltinRule, ...]] = (
    BuiltinRule(
        "triage_sla_soon",
        "triage_sla_soon",
        "Candidature bientôt hors délai de traitement",
        ("secretariat",),
        {"hours": 36},
    ),
    BuiltinRule(
        "triage_sla_breached",
        "triage_sla_breached",
        "Candidature hors délai de traitement",
        ("secretariat",),
        {},
    ),
    BuiltinRule(
        "new_applications",
        "new_applications",
        "Nouvelles candidatures reçues",
        ("secretariat",),
        {"lookback_hours": 24},
        quiet_minutes=0,
    ),
    BuiltinRule(
        "matches_waiting",
        "matches_waiting",
        "Matching proposé en attente de revue",
        ("secretariat",),
        {"days": 7},
    ),
    BuiltinRule(
        "contacts_untreated",
        "contacts_untreated",
        "Messages de contact non traités",
        ("secretariat",),
        {"hours": 48},
    ),
    BuiltinRule(
        "report_run_problems",
        "report_run_problems",
        "Envoi de rapport planifié en échec, interrompu ou manqué",
        ("admin",),
        {"days": 7},
    ),
    BuiltinRule(
        "scheduler_silent",
        "scheduler_silent",
        "Service d'envoi silencieux",
        ("admin",),
        {"minutes": 10},
    ),
    BuiltinRule(
        "rules_failing",
        "rules_failing",
        "Règle d'alerte en échec",
        ("admin",),
        {},
    ),
    BuiltinRule(
        "session_fill",
        "session_fill",
        "Session proche peu remplie",
        ("direction",),
        {"days": 14, "min_rate": 0.6},
    ),
    BuiltinRule(
        "invoices_overdue",
        "invoices_overdue",
        "Factures nouvellement échues",
        ("direction",),
        {"days": 30},
    ),
    BuiltinRule(
        "overdue_total",
        "overdue_total",
        "Créances échues au-dessus du seuil",
        ("direction",),
        {"amount": 10000},
    ),
    BuiltinRule(
        "quotes_unanswered",
        "quotes_unanswered",
        "Devis envoyé sans réponse",
        ("direction",),
        {"days": 15},
    ),
    BuiltinRule(
        "staff_workload",
        "staff_workload",
        "Charge d'un membre du secrétariat",
        ("direction", "admin"),
        {"max_open": 40, "max_overdue": 5},
    ),
)
