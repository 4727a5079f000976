"""Tables the dashboard owns, beside the website's.

They all carry the ``dashboard_`` prefix and live in the same schema as the
operational tables (one naming rule that works on PostgreSQL and SQLite).
Alembic (``migrations/``) creates and upgrades them; nothing else does.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from data.models import BigId
from data.types import JSONDocument, UTCDateTime


class OwnedBase(DeclarativeBase):
    """Declarative base of the dashboard's own tables (Alembic's target)."""


class AuditLog(OwnedBase):
    """Every write the dashboard makes, in the same transaction as the write."""

    __tablename__ = "dashboard_audit_log"
    __table_args__ = (
        Index("ix_dashboard_audit_log_created_at", "created_at"),
        Index("ix_dashboard_audit_log_entity", "entity", "entity_id"),
        Index("ix_dashboard_audit_log_actor", "actor_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    actor_id: Mapped[int | None] = mapped_column(BigInteger)  # users.id; NULL = system
    actor_email: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)  # e.g. "candidature.transition"
    entity: Mapped[str] = mapped_column(Text)  # table name, e.g. "candidatures"
    entity_id: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)


class SignInEvent(OwnedBase):
    """Every sign-in attempt: who, when, outcome. Never the password."""

    __tablename__ = "dashboard_signin_log"
    __table_args__ = (
        Index("ix_dashboard_signin_log_email", "email", "created_at"),
        Index("ix_dashboard_signin_log_created_at", "created_at"),
        Index("ix_dashboard_signin_log_address", "client_address", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    email: Mapped[str] = mapped_column(Text)  # as typed, lower-cased, length-capped
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    success: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)  # data.auth: ok, pending, bad_credentials, ...
    client_address: Mapped[str | None] = mapped_column(Text)  # "" when unknown


class AuthSession(OwnedBase):
    """Server-side record of a signed-in browser session, so that logout revokes it."""

    __tablename__ = "dashboard_auth_sessions"
    __table_args__ = (Index("ix_dashboard_auth_sessions_user", "user_id"),)

    id: Mapped[str] = mapped_column(Text, primary_key=True)  # random token
    user_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TriageNote(OwnedBase):
    """Internal notes of the secretariat on an application."""

    __tablename__ = "dashboard_triage_notes"
    __table_args__ = (
        Index("ix_dashboard_triage_notes_candidature", "candidature_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    candidature_id: Mapped[int] = mapped_column(BigInteger)
    author_id: Mapped[int] = mapped_column(BigInteger)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class ReportSchedule(OwnedBase):
    """A report to build and email on a recurrence."""

    __tablename__ = "dashboard_report_schedules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)  # monthly | weekly | qualiopi
    formats: Mapped[list[str]] = mapped_column(JSONDocument)  # ["pdf", "xlsx"]
    frequency: Mapped[str] = mapped_column(Text)  # daily | weekly | monthly
    weekday: Mapped[int | None] = mapped_column(Integer)  # 0 = Monday, for weekly
    monthday: Mapped[int | None] = mapped_column(Integer)  # 1..31, for monthly
    time_of_day: Mapped[str] = mapped_column(Text)  # "HH:MM", local to `timezone`
    timezone: Mapped[str] = mapped_column(Text)
    period: Mapped[str] = mapped_column(Text)  # previous_day | previous_week | ...
    formation_slug: Mapped[str | None] = mapped_column(Text)
    recipients: Mapped[list[str]] = mapped_column(JSONDocument)
    only_if_content: Mapped[bool] = mapped_column(Boolean, server_default=false())
    paused: Mapped[bool] = mapped_column(Boolean, server_default=false())
    owner_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())
    # Due times are owed from here: set on creation, on resume and when the
    # recurrence changes; not by an edit of the name, recipients or formats.
    active_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RunStatus(StrEnum):
    """A run's state (``dashboard_report_runs.status``): ``working`` until it ends
    in one of the others; ``retrying`` while recipients wait for a new attempt."""

    working = "working"
    retrying = "retrying"
    sent = "sent"
    sent_late = "sent_late"
    failed = "failed"
    interrupted = "interrupted"
    missed = "missed"
    skipped = "skipped"


class DeliveryStatus(StrEnum):
    """One recipient's state (``dashboard_report_deliveries.status``): ``sending``
    is committed before the SMTP hand-over, the outcome after it."""

    pending = "pending"
    sending = "sending"
    sent = "sent"
    retrying = "retrying"
    failed = "failed"
    interrupted = "interrupted"


# A run or recipient in these states waits for a person (a resend from "Rapports").
RESENDABLE_RUN_STATUSES: Final = (RunStatus.failed, RunStatus.interrupted, RunStatus.missed)
RESENDABLE_DELIVERY_STATUSES: Final = (DeliveryStatus.failed, DeliveryStatus.interrupted)


class ReportRun(OwnedBase):
    """One due run of a schedule, claimed under a unique key before any send.

    status: working -> sent | sent_late | failed | interrupted | missed | skipped
    """

    __tablename__ = "dashboard_report_runs"
    __table_args__ = (
        UniqueConstraint("schedule_id", "due_at", name="uq_dashboard_report_runs_due"),
        Index("ix_dashboard_report_runs_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("dashboard_report_schedules.id")
    )
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    trigger: Mapped[str] = mapped_column(Text)  # scheduled | manual
    status: Mapped[str] = mapped_column(Text)
    late: Mapped[bool] = mapped_column(Boolean, server_default=false())
    claimed_by: Mapped[str | None] = mapped_column(Text)  # host:pid of the worker
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    period_from: Mapped[date | None] = mapped_column(Date)
    period_to: Mapped[date | None] = mapped_column(Date)
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDocument)
    error: Mapped[str | None] = mapped_column(Text)
    # The composed subject and body, on time and late (kept for retries and resends).
    message: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)


class ReportFileRow(OwnedBase):
    """A file a run rendered (PDF, Excel), kept in the database so that every app
    instance and every scheduler sees it, whichever machine built it."""

    __tablename__ = "dashboard_report_files"
    __table_args__ = (PrimaryKeyConstraint("run_id", "filename", name="pk_dashboard_report_files"),)

    run_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("dashboard_report_runs.id"))
    filename: Mapped[str] = mapped_column(Text)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    attached: Mapped[bool] = mapped_column(Boolean, server_default=false())


class ReportDelivery(OwnedBase):
    """One recipient of one run; written before and after each SMTP call.

    status: pending -> sending -> sent | retrying | failed | interrupted
    """

    __tablename__ = "dashboard_report_deliveries"
    __table_args__ = (
        UniqueConstraint("run_id", "recipient", name="uq_dashboard_report_deliveries_recipient"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("dashboard_report_runs.id"))
    recipient: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


class SchedulerLease(OwnedBase):
    """Which scheduler process is the active one (a lease it renews).

    On PostgreSQL an advisory lock is taken as well; the lease makes the same
    guarantee visible and works on SQLite.
    """

    __tablename__ = "dashboard_scheduler_lease"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    holder: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SchedulerProcess(OwnedBase):
    """A running scheduler process (active or standing by), touched at every tick and
    every lease renewal; removed when it stops cleanly. A row that is not touched
    any more is a scheduler that stopped answering."""

    __tablename__ = "dashboard_scheduler_processes"

    worker: Mapped[str] = mapped_column(Text, primary_key=True)  # host:pid
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tick_seconds: Mapped[int] = mapped_column(Integer)
    lease_seconds: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, server_default=false())


class KpiApplicationFacts(OwnedBase):
    """What an application's event history says, folded once (``data.kpis.summary``).

    One row per application that has events: the highest stage rank among its
    events' ``to_statut`` and the earliest ``changed_at`` of an event leaving
    ``nouvelle``. Events are append-only, so both only ever grow (rank) or
    shrink (first response) as events arrive; an incremental refresh keeps
    the row exact. The current ``statut`` is always read live.
    """

    __tablename__ = "dashboard_kpi_application_facts"

    candidature_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    max_event_rank: Mapped[int] = mapped_column(SmallInteger)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class KpiRefreshState(OwnedBase):
    """How far the incremental refresh of a KPI summary has read (one row per summary).

    Every ``candidature_events`` row with ``id <= seen_event_id`` that was
    committed at the last refresh is folded in; the ids that were missing
    then (rolled back, or not yet committed) are listed in
    :class:`KpiRefreshGap` until they can no longer appear.
    """

    __tablename__ = "dashboard_kpi_refresh_state"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    seen_event_id: Mapped[int] = mapped_column(BigInteger, server_default="0")
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class KpiRefreshGap(OwnedBase):
    """Event ids ``lo..hi`` missing at a refresh (PostgreSQL only), re-read until settled.

    ``horizon`` is the transaction-id horizon (``xmax``) noted at the refresh
    after the gap was seen; once every older transaction has ended, the ids
    either exist and have been folded, or never will.
    """

    __tablename__ = "dashboard_kpi_refresh_gaps"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    lo: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hi: Mapped[int] = mapped_column(BigInteger)
    horizon: Mapped[int | None] = mapped_column(BigInteger)


class AlertRule(OwnedBase):
    """One alert rule: a built-in kind (``data.alerts.rules``) and its settings.

    ``params`` holds the thresholds the admin may edit (hours, days, amounts,
    a KPI goal line's id, direction, value and window); ``roles`` who receives
    its notices besides a subject's own people (an assignee, a schedule's owner).
    """

    __tablename__ = "dashboard_alert_rules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(Text, unique=True)  # "triage_sla_breached", "kpi_goal_3"
    kind: Mapped[str] = mapped_column(Text)  # the evaluator
    title: Mapped[str] = mapped_column(Text)  # French
    roles: Mapped[list[str]] = mapped_column(JSONDocument)
    params: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    for_minutes: Mapped[int] = mapped_column(Integer, server_default="0")
    quiet_minutes: Mapped[int] = mapped_column(Integer, server_default="60")
    paused: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # What the evaluator remembers between evaluations (e.g. the last application notified).
    memory: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    last_evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_duration_ms: Mapped[int | None] = mapped_column(Integer)
    last_outcome: Mapped[str | None] = mapped_column(Text)  # ok | error
    last_error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now())


# An alert in one of these states is "open": at most one per (rule, subject).
OPEN_ALERT_STATES: Final = ("pending", "firing", "acknowledged", "snoozed")


class Alert(OwnedBase):
    """One alert of a rule about one subject, from pending to resolved."""

    __tablename__ = "dashboard_alerts"
    __table_args__ = (
        # At most one open alert per (rule, subject): a partial unique index.
        Index(
            "uq_dashboard_alerts_open",
            "rule_id",
            "subject_key",
            unique=True,
            sqlite_where=text("state <> 'resolved'"),
            postgresql_where=text("state <> 'resolved'"),
        ),
        Index("ix_dashboard_alerts_subject", "rule_id", "subject_key", "resolved_at"),
        Index("ix_dashboard_alerts_state", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("dashboard_alert_rules.id"))
    subject_key: Mapped[str] = mapped_column(Text)  # "candidature:42"
    subject_label: Mapped[str] = mapped_column(Text)  # French, no more than the role may see
    link: Mapped[str | None] = mapped_column(Text)  # "applications?id=42"
    state: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    recipients: Mapped[list[int] | None] = mapped_column(JSONDocument)  # who got "firing"
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    firing_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_true_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[int | None] = mapped_column(BigInteger)
    ack_comment: Mapped[str | None] = mapped_column(Text)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertTransition(OwnedBase):
    """Every change of an alert's state; ``claim_key`` is unique: a transition (and so its
    notices) is written once, whoever evaluates."""

    __tablename__ = "dashboard_alert_transitions"
    __table_args__ = (Index("ix_dashboard_alert_transitions_alert", "alert_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("dashboard_alerts.id"))
    claim_key: Mapped[str] = mapped_column(Text, unique=True)  # "<alert>:<n>:<to_state>"
    from_state: Mapped[str | None] = mapped_column(Text)
    to_state: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)  # NULL: the evaluation
    comment: Mapped[str | None] = mapped_column(Text)


class Notification(OwnedBase):
    """One notice to one user about one transition; its email, when the user wants one,
    is claimed (``email_status`` pending -> sending) before the SMTP call.

    email_status: none | pending | sending | sent | failed | interrupted | digest
    """

    __tablename__ = "dashboard_notifications"
    __table_args__ = (
        UniqueConstraint("transition_id", "user_id", name="uq_dashboard_notifications_once"),
        Index("ix_dashboard_notifications_user", "user_id", "read_at"),
        Index("ix_dashboard_notifications_email", "email_status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    alert_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("dashboard_alerts.id"))
    transition_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("dashboard_alert_transitions.id")
    )
    rule_kind: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)  # firing | reminder | resolved
    title: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_status: Mapped[str] = mapped_column(Text, server_default="none")
    email_error: Mapped[str | None] = mapped_column(Text)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertPreference(OwnedBase):
    """How a user wants the notices of one kind of rule: app | immediate | digest | off."""

    __tablename__ = "dashboard_alert_preferences"
    __table_args__ = (
        PrimaryKeyConstraint("user_id", "rule_kind", name="pk_dashboard_alert_preferences"),
    )

    user_id: Mapped[int] = mapped_column(BigInteger)
    rule_kind: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(Text)
    digest_hour: Mapped[int] = mapped_column(Integer, server_default="8")


class AlertDigest(OwnedBase):
    """One daily digest of one user, claimed under (user, local day) before it is sent.

    status: sending -> sent | skipped | failed | interrupted
    """

    __tablename__ = "dashboard_alert_digests"
    __table_args__ = (UniqueConstraint("user_id", "day", name="uq_dashboard_alert_digests_day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Text)
    items: Mapped[int] = mapped_column(Integer, server_default="0")
    claimed_by: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
