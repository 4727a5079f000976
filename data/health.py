"""The state of the whole system, check by check: the operations page and
``python -m data.health``.

Each check says ``ok``, ``degraded`` (the dashboard works, something needs a
person: a replica behind, a scheduler gone, a delivery that failed) or
``down`` (the primary database does not answer: nothing works). Every check
is one or two short statements with a 5 s limit; none writes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from data import formatting
from data.db import create_db_engine, translate_errors
from data.errors import DashboardError
from data.kpis.summary import STATE, SUMMARY, summary_lag
from data.owned import (
    RESENDABLE_DELIVERY_STATUSES,
    RESENDABLE_RUN_STATUSES,
    DeliveryStatus,
    ReportDelivery,
    ReportRun,
    SchedulerLease,
    SchedulerProcess,
)
from data.settings import Settings, get_settings

OK: Final = "ok"
DEGRADED: Final = "degraded"
DOWN: Final = "down"
SEVERITY: Final = {OK: 0, DEGRADED: 1, DOWN: 2}
STATUS_LABELS: Final = {OK: "OK", DEGRADED: "Dégradé", DOWN: "Hors service"}

CHECK_TIMEOUT_MS: Final = 5000
REPLICA_LAG_LIMIT: Final = timedelta(seconds=60)  # behind more than this: degraded
SUMMARY_STALE_AFTER: Final = timedelta(minutes=2)  # the scheduler folds it every 5 s
WAITING_WINDOW: Final = timedelta(days=7)  # failed deliveries older than this are history
FORGOTTEN_AFTER: Final = timedelta(days=1)  # a process row older than this is not shown
VERSION_TABLE: Final = "dashboard_alembic_version"


@dataclass(frozen=True)
class Check:
    """One line of the report: ``name`` for machines, ``label`` and ``detail`` in French."""

    name: str
    label: str
    status: str
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        return f"{self.status:<9} {self.name:<12} {self.label} : {self.detail}"


@dataclass(frozen=True)
class Health:
    checks: tuple[Check, ...]

    @property
    def status(self) -> str:
        return max((c.status for c in self.checks), key=SEVERITY.__getitem__, default=OK)

    @property
    def exit_code(self) -> int:
        return SEVERITY[self.status]

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "checks": [
                {"name": c.name, "status": c.status, "detail": c.detail, **c.data}
                for c in self.checks
            ],
        }


@dataclass(frozen=True)
class SchedulerView:
    """A scheduler process as its row shows it."""

    worker: str
    active: bool
    started_at: datetime
    seen_at: datetime
    silent_for: timedelta
    expected_every: timedelta

    @property
    def stale(self) -> bool:
        return self.silent_for > self.expected_every * 3 + timedelta(seconds=10)


def _age(now: datetime, then: datetime) -> timedelta:
    return max(now - then, timedelta(0))


# --- Primary and replica -------------------------------------------------------------


def check_primary(engine: Engine) -> Check:
    started = time.monotonic()
    try:
        with translate_errors(), engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except DashboardError:
        return Check("primary", "Base principale", DOWN, "injoignable")
    ms = (time.monotonic() - started) * 1000
    return Check(
        "primary", "Base principale", OK, f"joignable ({round(ms)} ms)", {"ms": round(ms, 1)}
    )


def _replay_state(replica: Connection) -> Any:
    return replica.execute(
        text(
            "SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS lsn, "
            "CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END AS paused, "
            "EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) AS since"
        )
    ).one()


def check_replica(primary: Engine, replica: Engine | None) -> Check:
    """The replica of ``ANALYTICS_DATABASE_URL``: reachable, how far behind the primary."""
    label = "Réplique"
    if replica is None or replica is primary:
        return Check("replica", label, OK, "aucune : les indicateurs lisent la base principale")
    if replica.dialect.name != "postgresql":
        return Check("replica", label, OK, "base SQLite : pas de réplication")
    try:
        with translate_errors(), replica.connect() as connection:
            state = _replay_state(connection)
    except DashboardError:
        return Check("replica", label, DEGRADED, "injoignable : les écrans d'indicateurs échouent")
    if not state.standby:
        return Check("replica", label, OK, "joignable (serveur principal, pas une réplique)")
    try:
        with translate_errors(), primary.connect() as connection:
            behind = connection.execute(
                text("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), CAST(:lsn AS pg_lsn))"),
                {"lsn": state.lsn},
            ).scalar_one()
    except DashboardError:
        behind = None
    behind_bytes = max(int(behind), 0) if behind is not None else None
    lag = 0.0 if behind_bytes == 0 else float(state.since or 0)
    data = {"lag_seconds": round(lag, 1), "bytes_behind": behind_bytes, "paused": state.paused}
    if state.paused and behind_bytes:
        detail = f"relecture suspendue, en retard de {formatting.elapsed(lag)}"
        return Check("replica", label, DEGRADED, detail, data)
    if lag > REPLICA_LAG_LIMIT.total_seconds():
        detail = f"en retard de {formatting.elapsed(lag)} sur la base principale"
        return Check("replica", label, DEGRADED, detail, data)
    shown = "à jour" if not behind_bytes else f"retard de {formatting.elapsed(lag)}"
    return Check("replica", label, OK, f"joignable, {shown}", data)


# --- Schema and KPI summary -------------------------------------------------------------


def code_heads() -> set[str]:
    """The migration heads this code ships."""
    from data.migrate import alembic_config

    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def database_revisions(engine: Engine) -> set[str]:
    with translate_errors(), engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return set()
        return set(connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())


def check_migrations(engine: Engine) -> Check:
    heads, found = code_heads(), database_revisions(engine)
    data = {"database": sorted(found), "code": sorted(heads)}
    label = "Migrations"
    if found == heads:
        return Check("migrations", label, OK, f"à jour ({', '.join(sorted(heads))})", data)
    shown = ", ".join(sorted(found)) or "aucune"
    detail = (
        f"en retard : base à {shown}, code à {', '.join(sorted(heads))} "
        "(lancer python -m data.migrate)"
    )
    return Check("migrations", label, DEGRADED, detail, data)


def check_summary(engine: Engine, now: datetime) -> Check:
    label = "Résumé des indicateurs"
    lag = summary_lag(engine)
    if lag is None:
        return Check("kpi_summary", label, DEGRADED, "absent (migrations à lancer)")
    with translate_errors(), engine.connect() as connection:
        refreshed = connection.execute(
            select(STATE.c.refreshed_at).where(STATE.c.name == SUMMARY)
        ).scalar()
    age = _age(now, refreshed) if refreshed is not None else None
    data = {
        "events_behind": lag,
        "refreshed_seconds_ago": None if age is None else round(age.total_seconds()),
    }
    if lag == 0:
        return Check("kpi_summary", label, OK, "à jour", data)
    when = (
        "jamais mis à jour"
        if age is None
        else f"mis à jour il y a {formatting.elapsed(age.total_seconds())}"
    )
    detail = f"{formatting.number(lag)} événement(s) en attente, {when}"
    stale = age is None or age > SUMMARY_STALE_AFTER
    return Check("kpi_summary", label, DEGRADED if stale else OK, detail, data)


# --- Schedulers ------------------------------------------------------------------------


def scheduler_processes(engine: Engine, now: datetime) -> tuple[SchedulerView, ...]:
    """The scheduler processes seen in the last day, the active one first."""
    p = SchedulerProcess
    with translate_errors(), engine.connect() as connection:
        rows = connection.execute(
            select(p.worker, p.active, p.started_at, p.seen_at, p.tick_seconds).where(
                p.seen_at >= now - FORGOTTEN_AFTER
            )
        ).all()
    views = [
        SchedulerView(
            worker=row.worker,
            active=bool(row.active),
            started_at=row.started_at,
            seen_at=row.seen_at,
            silent_for=_age(now, row.seen_at),
            expected_every=timedelta(seconds=row.tick_seconds),
        )
        for row in rows
    ]
    return tuple(sorted(views, key=lambda v: (not v.active, v.worker)))


def current_lease(engine: Engine) -> tuple[str, datetime] | None:
    with translate_errors(), engine.connect() as connection:
        row = connection.execute(select(SchedulerLease.holder, SchedulerLease.expires_at)).first()
    return None if row is None else (row.holder, row.expires_at)


def _seen(view: SchedulerView) -> str:
    return f"{view.worker} (vu il y a {formatting.elapsed(view.silent_for.total_seconds())})"


def check_scheduler(engine: Engine, now: datetime) -> Check:
    label = "Service d'envoi des rapports"
    lease = current_lease(engine)
    processes = scheduler_processes(engine, now)
    holder = lease[0] if lease is not None and lease[1] > now else None
    active = next((p for p in processes if p.worker == holder), None)
    standbys = [p for p in processes if p.worker != holder]
    data: dict[str, Any] = {
        "active": holder,
        "active_seen_seconds_ago": None
        if active is None
        else round(active.silent_for.total_seconds()),
        "standby": [
            {"worker": p.worker, "seen_seconds_ago": round(p.silent_for.total_seconds())}
            for p in standbys
        ],
    }
    stopped = [p for p in standbys if p.stale]
    waiting = [p for p in standbys if not p.stale]
    problems = []
    if holder is None:
        problems.append("aucun service actif : aucun rapport ne part")
    elif active is not None and active.stale:
        problems.append(f"le service actif ne répond plus : {_seen(active)}")
    problems += [f"arrêté sans prévenir : {_seen(p)}" for p in stopped]
    if problems:
        return Check("scheduler", label, DEGRADED, " ; ".join(problems), data)
    shown = f"actif {holder}"
    if active is not None:
        shown += f" (vu il y a {formatting.elapsed(active.silent_for.total_seconds())})"
    shown += f" ; en attente : {', '.join(p.worker for p in waiting) or 'aucun'}"
    return Check("scheduler", label, OK, shown, data)


# --- Deliveries and mail ---------------------------------------------------------------


def waiting_deliveries(engine: Engine, now: datetime) -> int:
    """Recipients failed or interrupted in the last week, on runs nobody resent yet."""
    with translate_errors(), engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count())
                .select_from(ReportDelivery)
                .join(ReportRun, ReportRun.id == ReportDelivery.run_id)
                .where(
                    ReportDelivery.status.in_(RESENDABLE_DELIVERY_STATUSES),
                    ReportRun.status.in_(RESENDABLE_RUN_STATUSES),
                    ReportDelivery.updated_at >= now - WAITING_WINDOW,
                )
            ).scalar_one()
        )


def check_deliveries(engine: Engine, now: datetime) -> Check:
    label = "Envois en échec"
    count = waiting_deliveries(engine, now)
    if count == 0:
        return Check("deliveries", label, OK, "aucun en attente d'une personne", {"waiting": 0})
    detail = (
        f"{count} destinataire(s) en échec ou interrompu(s) ces 7 derniers jours, "
        "à renvoyer depuis « Rapports »"
    )
    return Check("deliveries", label, DEGRADED, detail, {"waiting": count})


def outbox_messages(settings: Settings) -> int:
    folder: Path = settings.outbox_dir
    return sum(1 for _ in folder.glob("*.eml")) if folder.is_dir() else 0


def check_mail(engine: Engine, settings: Settings) -> Check:
    label = "Messagerie"
    with translate_errors(), engine.connect() as connection:
        retrying = int(
            connection.execute(
                select(func.count())
                .select_from(ReportDelivery)
                .where(ReportDelivery.status == DeliveryStatus.retrying)
            ).scalar_one()
        )
    queue = f" ; {retrying} nouvel(s) essai(s) prévu(s)" if retrying else ""
    data: dict[str, Any] = {"retrying": retrying}
    if settings.SMTP_HOST is not None:
        data["smtp"] = f"{settings.SMTP_HOST}:{settings.SMTP_PORT}"
        detail = f"SMTP {settings.SMTP_HOST}:{settings.SMTP_PORT} ({settings.SMTP_SECURITY}){queue}"
        return Check("mail", label, OK, detail, data)
    count = outbox_messages(settings)
    data["outbox"] = count
    detail = f"pas de serveur SMTP : {count} message(s) dans la boîte d'envoi locale{queue}"
    return Check("mail", label, OK if settings.demo_mode else DEGRADED, detail, data)


# --- All together ----------------------------------------------------------------------


def _guarded(name: str, label: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except DashboardError as exc:
        return Check(name, label, DEGRADED, f"vérification impossible : {exc}")


def check_health(
    settings: Settings,
    main: Engine,
    analytics: Engine | None = None,
    *,
    now: datetime | None = None,
) -> Health:
    """Every check, in a fixed order; after an unreachable primary, only that line."""
    at = now or datetime.now(UTC)
    primary = check_primary(main)
    if primary.status == DOWN:
        return Health((primary,))
    checks = [
        primary,
        _guarded("replica", "Réplique", lambda: check_replica(main, analytics)),
        _guarded("migrations", "Migrations", lambda: check_migrations(main)),
    ]
    owned: list[tuple[str, str, Callable[[], Check]]] = [
        ("kpi_summary", "Résumé des indicateurs", lambda: check_summary(main, at)),
        ("scheduler", "Service d'envoi des rapports", lambda: check_scheduler(main, at)),
        ("deliveries", "Envois en échec", lambda: check_deliveries(main, at)),
        ("mail", "Messagerie", lambda: check_mail(main, settings)),
    ]
    tables = not checks[-1].data or bool(checks[-1].data.get("database"))
    for name, label, check in owned:
        checks.append(
            _guarded(name, label, check)
            if tables
            else Check(name, label, DEGRADED, "non vérifié : tables du tableau de bord absentes")
        )
    return Health(tuple(checks))


def health_engines(settings: Settings) -> tuple[Engine, Engine | None]:
    """Engines for a one-off check: short statement limits."""
    main = create_db_engine(settings.database_url, statement_timeout_ms=CHECK_TIMEOUT_MS)
    url = settings.ANALYTICS_DATABASE_URL
    same = url is None or make_url(url) == make_url(settings.database_url)
    replica = None if same else create_db_engine(url or "", statement_timeout_ms=CHECK_TIMEOUT_MS)
    return main, replica


def main(argv: list[str] | None = None) -> int:
    """``python -m data.health [--json]``: one line per check; exit 0, 1 or 2."""
    import argparse
    import json
    import logging

    parser = argparse.ArgumentParser(
        prog="python -m data.health",
        description="État du système : 0 sain, 1 dégradé, 2 hors service.",
    )
    parser.add_argument("--json", action="store_true", help="un objet JSON au lieu des lignes")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)  # the lines say it all, no tracebacks
    try:
        settings = get_settings()
        main_engine, replica = health_engines(settings)
    except DashboardError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return SEVERITY[DOWN]
    try:
        health = check_health(settings, main_engine, replica)
    finally:
        main_engine.dispose()
        if replica is not None:
            replica.dispose()
    if args.json:
        print(json.dumps(health.as_dict(), ensure_ascii=False))
    else:
        for check in health.checks:
            print(check.line())
    return health.exit_code


if __name__ == "__main__":
    sys.exit(main())
