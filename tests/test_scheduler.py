"""The scheduler's guarantees, stepped with frozen times on SQLite and PostgreSQL.

Never twice, never silently missed: claims, retries, resends, missed runs,
crashes and restarts, time zones. The email goes to a real SMTP server
(aiosmtpd) on localhost.
"""

from __future__ import annotations

import email.header
import socket
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, text, update

from data.db import create_db_engine
from data.errors import DatabaseUnavailable
from data.models import Formation
from data.owned import AuditLog, ReportDelivery, ReportRun, ReportSchedule
from data.permissions import Actor
from data.settings import Settings, load_settings
from reports.history import run_deliveries, run_files, run_history
from reports.inhand import WorkInHand
from reports.lease import LeasedTransport, SchedulerGuard, holder_is_dead
from reports.mail import DeliveryError, build_message
from reports.manual import resend_failed, send_now
from reports.runs import (
    INTERRUPTED_PENDING,
    INTERRUPTED_SENDING,
    LOST_DURING_HANDOVER,
    claim_run,
    recover,
)
from reports.schedules import (
    ScheduleInput,
    ScheduleView,
    create_schedule,
    pause_schedule,
    update_schedule,
)
from reports.step import run_due
from tests import factories
from tests.conftest import (
    SmtpSink,
    free_port,
    lock_backend,
    new_sqlite_database,
    refuse_connections,
    terminate_backends,
)

DAY = datetime(2026, 11, 20, tzinfo=UTC)
DUE = DAY.replace(hour=7)  # 07:00 UTC
CREATED = DUE - timedelta(hours=3)
BASE = ScheduleInput(
    name="Secrétariat quotidien",
    kind="weekly",
    formats=("pdf",),
    frequency="daily",
    time_of_day="07:00",
    timezone="UTC",
    period="previous_day",
    recipients=("a@cipfaro.fr", "b@cipfaro.fr"),
)


def mail_settings(tmp_path: Path, sink: SmtpSink | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"OUTBOX_DIR": tmp_path / "outbox", "SMTP_TIMEOUT_SECONDS": 5}
    if sink is not None:
        values |= {"SMTP_HOST": sink.host, "SMTP_PORT": sink.port, "SMTP_SECURITY": "none"}
    return load_settings(**(values | overrides))


def smtp_down(tmp_path: Path) -> Settings:
    return mail_settings(
        tmp_path, SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_SECURITY="none"
    )


def owner(engine: Engine, email: str = "owner@cipfaro.fr") -> Actor:
    user_id = factories.user(engine, role="direction", email=email)
    return Actor(id=user_id, email=email, role="direction", prenom="Olga", nom="Owner")


def schedule(
    engine: Engine, actor: Actor, created: datetime = CREATED, **changes: Any
) -> ScheduleView:
    return create_schedule(engine, actor=actor, spec=replace(BASE, **changes), now=created)


def runs(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(ReportRun.__table__).order_by(ReportRun.due_at, ReportRun.id)
            ).all()
        )


def deliveries(engine: Engine, run_id: int) -> dict[str, tuple[str, int]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(ReportDelivery.recipient, ReportDelivery.status, ReportDelivery.attempts).where(
                ReportDelivery.run_id == run_id
            )
        ).all()
    return {r.recipient: (r.status, r.attempts) for r in rows}


def alerts(engine: Engine) -> int:
    with engine.connect() as connection:
        return len(
            connection.execute(
                select(AuditLog.id).where(AuditLog.action == "report_run.owner_alerted")
            ).all()
        )


def subject(message: Any) -> str:
    return str(email.header.make_header(email.header.decode_header(message["Subject"])))


def only_the_owner_told(sink: SmtpSink, what: str) -> bool:
    """The one message received is the owner's alert, and it says ``what`` happened."""
    (alert,) = sink.messages
    return str(alert["To"]) == "owner@cipfaro.fr" and what in alert.get_body().get_content()


# --- Claim: never twice ----------------------------------------------------------------


def test_due_run_is_sent_once_even_when_stepped_twice(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    settings = mail_settings(tmp_path, smtp_sink)
    schedule(engine, owner(engine))
    first = run_due(engine, settings, DUE + timedelta(seconds=20))
    second = run_due(engine, settings, DUE + timedelta(seconds=50))
    assert [o.status for o in first.started] == ["sent"]
    assert second.idle
    assert sorted(str(m["To"]) for m in smtp_sink.messages) == ["a@cipfaro.fr", "b@cipfaro.fr"]
    (run,) = runs(engine)
    assert (run.due_at, run.status, run.late, run.trigger) == (DUE, "sent", False, "scheduled")
    assert deliveries(engine, run.id) == {"a@cipfaro.fr": ("sent", 1), "b@cipfaro.fr": ("sent", 1)}


def test_nothing_is_sent_before_the_due_time(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    schedule(engine, owner(engine))
    assert run_due(engine, mail_settings(tmp_path, smtp_sink), DUE - timedelta(seconds=1)).idle
    assert runs(engine) == [] and smtp_sink.messages == []


def test_two_concurrent_steps_send_each_recipient_once(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    settings = mail_settings(tmp_path, smtp_sink)
    schedule(engine, owner(engine))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def step() -> None:
        try:
            barrier.wait()
            run_due(engine, settings, DUE + timedelta(seconds=10))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=step) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(str(m["To"]) for m in smtp_sink.messages) == ["a@cipfaro.fr", "b@cipfaro.fr"]
    assert [r.status for r in runs(engine)] == ["sent"]


# --- Time zones -----------------------------------------------------------------------------


def test_guadeloupe_0700_fires_at_1100_utc(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    settings = mail_settings(tmp_path, smtp_sink)
    schedule(engine, owner(engine), timezone="America/Guadeloupe")
    assert run_due(engine, settings, DAY.replace(hour=10, minute=59, second=59)).idle
    run_due(engine, settings, DAY.replace(hour=11, second=30))
    (run,) = runs(engine)
    assert run.due_at == DAY.replace(hour=11)
    assert run.status == "sent"


@pytest.mark.parametrize(
    ("day", "utc_hour"),
    [(datetime(2026, 1, 15, tzinfo=UTC), 6), (datetime(2026, 7, 15, tzinfo=UTC), 5)],
)
def test_paris_0700_fires_at_0700_paris_in_winter_and_summer(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path, day: datetime, utc_hour: int
) -> None:
    settings = mail_settings(tmp_path, smtp_sink)
    schedule(engine, owner(engine), created=day - timedelta(hours=12), timezone="Europe/Paris")
    assert run_due(engine, settings, day.replace(hour=utc_hour) - timedelta(seconds=1)).idle
    run_due(engine, settings, day.replace(hour=utc_hour, second=5))
    assert [r.due_at for r in runs(engine)] == [day.replace(hour=utc_hour)]


# --- Missed runs ---------------------------------------------------------------------------------


def test_run_missed_within_grace_is_sent_late_once_older_ones_recorded_missed(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    settings = mail_settings(tmp_path, smtp_sink)
    schedule(engine, owner(engine), created=DUE - timedelta(days=3, hours=1))
    now = DUE + timedelta(hours=2)  # back after downtime, 2 h late (< 6 h grace)
    result = run_due(engine, settings, now)
    run_due(engine, settings, now + timedelta(minutes=1))
    statuses = [(r.due_at, r.status, r.late) for r in runs(engine)]
    assert statuses == [
        (DUE - timedelta(days=3), "missed", True),
        (DUE - timedelta(days=2), "missed", True),
        (DUE - timedelta(days=1), "missed", True),
        (DUE, "sent_late", True),
    ]
    assert result.missed == 3
    assert len(smtp_sink.messages) == 2  # today's run only, once per recipient
    assert subject(smtp_sink.messages[0]).startswith("[En retard] CIP FARO")
    assert (
        "Ce rapport était prévu le 20/11/2026 07:00"
        in smtp_sink.messages[0].get_body().get_content()
    )
    assert "retard de 3 j 2 h, au-delà de la tolérance de 6,0 h" in runs(engine)[0].error.replace(
        "\xa0", " "
    )


def test_editing_recipients_just_after_a_due_time_does_not_lose_that_run(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    settings = mail_settings(tmp_path, smtp_sink)
    created = schedule(engine, owner(engine))
    edited = update_schedule(
        engine,
        actor=owner(engine, "editor@cipfaro.fr"),
        schedule_id=created.id,
        spec=replace(BASE, recipients=("a@cipfaro.fr",)),
        now=DUE + timedelta(seconds=10),
    )
    assert edited.active_since == created.active_since  # the recurrence did not change
    run_due(engine, settings, DUE + timedelta(seconds=20))  # the tick after the edit
    assert [(r.due_at, r.status) for r in runs(engine)] == [(DUE, "sent")]
    assert len(smtp_sink.messages) == 1  # to the recipients as edited


def test_a_new_recurrence_owes_nothing_before_it_was_set(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    settings = mail_settings(tmp_path, smtp_sink)
    created = schedule(engine, owner(engine), time_of_day="06:00")
    changed_at = DUE - timedelta(minutes=30)  # 06:30: today's 06:00 has gone by
    update_schedule(
        engine,
        actor=owner(engine, "editor@cipfaro.fr"),
        schedule_id=created.id,
        spec=replace(BASE, time_of_day="06:15"),
        now=changed_at,
    )
    run_due(engine, settings, changed_at + timedelta(minutes=1))
    assert runs(engine) == []  # 06:15 today was before the change: not owed, not missed


def test_one_broken_schedule_does_not_hold_back_the_others(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    settings = mail_settings(tmp_path, smtp_sink)
    actor = owner(engine)
    broken = schedule(engine, actor, name="A cassée")
    schedule(engine, actor, name="B saine", recipients=("c@cipfaro.fr",))
    with engine.begin() as connection:  # a zone that no longer exists, written by hand
        connection.execute(
            update(ReportSchedule)
            .where(ReportSchedule.id == broken.id)
            .values(timezone="Mars/Olympus_Mons")
        )
    run_due(engine, settings, DUE + timedelta(seconds=30))
    assert [str(m["To"]) for m in smtp_sink.messages] == ["c@cipfaro.fr"]


def test_grace_period_is_configurable(engine: Engine, smtp_sink: SmtpSink, tmp_path: Path) -> None:
    settings = mail_settings(tmp_path, smtp_sink, REPORT_GRACE_HOURS=1)
    schedule(engine, owner(engine))
    run_due(engine, settings, DUE + timedelta(hours=2))
    assert [(r.status, r.finished_at is not None) for r in runs(engine)] == [("missed", True)]
    assert smtp_sink.messages == []


# --- SMTP down, refusals, resends -------------------------------------------------------------------


def test_smtp_down_retries_after_1_5_15_minutes_then_fails_and_tells_owner_once(
    engine: Engine, tmp_path: Path
) -> None:
    settings = smtp_down(tmp_path)
    schedule(engine, owner(engine), recipients=("a@cipfaro.fr",))
    t0 = DUE + timedelta(seconds=10)
    expected = [
        (t0, "retrying", 1),
        (t0 + timedelta(seconds=50), "retrying", 1),  # backoff not elapsed: no attempt
        (t0 + timedelta(minutes=1), "retrying", 2),
        (t0 + timedelta(minutes=6), "retrying", 3),
        (t0 + timedelta(minutes=21), "failed", 4),
        (t0 + timedelta(minutes=60), "failed", 4),
    ]
    for now, status, attempts in expected:
        run_due(engine, settings, now)
        (run,) = runs(engine)
        assert deliveries(engine, run.id) == {"a@cipfaro.fr": (status, attempts)}, now
    with engine.connect() as connection:
        delivery = connection.execute(select(ReportDelivery.__table__)).one()
    assert "injoignable" in delivery.last_error
    assert (run.status, run.finished_at) == ("failed", t0 + timedelta(minutes=21))
    assert alerts(engine) == 1  # told once (the alert itself could not be delivered either)


class DropsAfterData:
    """A real SMTP server on localhost that reads a whole message, then closes the
    connection without its "250 accepted": the sender cannot know if it arrived."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.messages = 0
        self.recipients: list[str] = []  # RCPT TO of each message read
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection, connection.makefile("rb") as lines:
                connection.sendall(b"220 test ESMTP\r\n")
                for line in lines:
                    verb = line[:4].upper()
                    if verb == b"RCPT":
                        self.recipients.append(line.decode().split(":", 1)[1].strip(" <>\r\n"))
                    if verb == b"DATA":
                        connection.sendall(b"354 go ahead\r\n")
                        for body in lines:
                            if body == b".\r\n":
                                break
                        self.messages += 1
                        break  # the whole message was read: hang up without answering
                    reply = b"250-test\r\n250 8BITMIME\r\n" if verb == b"EHLO" else b"250 ok\r\n"
                    connection.sendall(reply)

    def close(self) -> None:
        self.server.close()


def test_a_connection_lost_after_the_message_is_never_resent_blindly(
    engine: Engine, tmp_path: Path
) -> None:
    server = DropsAfterData()
    try:
        settings = mail_settings(
            tmp_path, SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_SECURITY="none"
        )
        schedule(engine, owner(engine), recipients=("a@cipfaro.fr",))
        run_due(engine, settings, DUE + timedelta(seconds=10))
        for minutes in (2, 10, 30):  # later ticks: no retry of an uncertain send
            run_due(engine, settings, DUE + timedelta(minutes=minutes))
    finally:
        server.close()
    (run,) = runs(engine)
    assert deliveries(engine, run.id) == {"a@cipfaro.fr": ("interrupted", 1)}
    assert server.recipients.count("a@cipfaro.fr") == 1  # handed over once, never again
    with engine.connect() as connection:
        error = connection.execute(select(ReportDelivery.last_error)).scalar_one()
    # Nothing stopped: say what happened, not "arrêt du service".
    assert error.startswith(LOST_DURING_HANDOVER) and "arrêt du service" not in error
    assert (
        "connexion perdue pendant la remise : le destinataire l'a peut-être reçu" in error.lower()
    )
    # The owner is told of the interrupted run; that alert's own hang-up is caught, not raised.
    assert server.recipients.count("owner@cipfaro.fr") == 1 and alerts(engine) == 1


def test_smtp_back_before_the_last_retry_delivers_without_alert(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    schedule(engine, owner(engine), recipients=("a@cipfaro.fr",))
    t0 = DUE + timedelta(seconds=10)
    run_due(engine, smtp_down(tmp_path), t0)
    assert [r.status for r in runs(engine)] == ["retrying"]
    run_due(engine, mail_settings(tmp_path, smtp_sink), t0 + timedelta(minutes=1))
    (run,) = runs(engine)
    assert run.status == "sent"
    assert deliveries(engine, run.id) == {"a@cipfaro.fr": ("sent", 2)}
    assert len(smtp_sink.messages) == 1 and alerts(engine) == 0


def test_refused_recipient_fails_at_once_owner_told_and_resend_targets_only_them(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    settings = mail_settings(tmp_path, smtp_sink)
    actor = owner(engine)
    schedule(engine, actor)
    smtp_sink.refuse.add("b@cipfaro.fr")
    run_due(engine, settings, DUE + timedelta(seconds=10))
    (run,) = runs(engine)
    assert run.status == "failed"
    assert deliveries(engine, run.id) == {
        "a@cipfaro.fr": ("sent", 1),
        "b@cipfaro.fr": ("failed", 1),
    }
    (alert,) = smtp_sink.received_by("owner@cipfaro.fr")
    assert "b@cipfaro.fr : Destinataire refusé" in alert.get_body().get_content()
    run_due(engine, settings, DUE + timedelta(minutes=30))
    assert alerts(engine) == 1

    smtp_sink.refuse.clear()
    outcome = resend_failed(
        engine, settings, actor=actor, run_id=run.id, now=DUE + timedelta(hours=1)
    )
    assert outcome.status == "sent_late"  # an hour after its due time: it says so
    assert subject(smtp_sink.received_by("b@cipfaro.fr")[0]).startswith("[En retard] ")
    assert len(smtp_sink.received_by("a@cipfaro.fr")) == 1  # never sent twice
    assert len(smtp_sink.received_by("b@cipfaro.fr")) == 1
    assert deliveries(engine, run.id) == {"a@cipfaro.fr": ("sent", 1), "b@cipfaro.fr": ("sent", 1)}
    with pytest.raises(Exception, match="Rien à renvoyer"):
        resend_failed(engine, settings, actor=actor, run_id=run.id, now=DUE + timedelta(hours=2))


def test_a_retry_that_leaves_late_is_marked_late(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    schedule(engine, owner(engine), recipients=("a@cipfaro.fr",))
    t0 = DUE + timedelta(seconds=10)
    run_due(engine, smtp_down(tmp_path), t0)
    run_due(engine, smtp_down(tmp_path), t0 + timedelta(minutes=1))
    # The third attempt leaves six minutes after the due time: late, and it says so.
    run_due(engine, mail_settings(tmp_path, smtp_sink), t0 + timedelta(minutes=6))
    (run,) = runs(engine)
    assert (run.status, run.late) == ("sent_late", True)
    (message,) = smtp_sink.messages
    assert subject(message).startswith("[En retard] CIP FARO")
    assert "Ce rapport était prévu le 20/11/2026 07:00" in message.get_body().get_content()


def test_each_message_names_its_schedule_and_its_run(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    sched = schedule(engine, owner(engine), recipients=("a@cipfaro.fr",))
    run_due(engine, mail_settings(tmp_path, smtp_sink), DUE + timedelta(seconds=10))
    (message,) = smtp_sink.messages
    assert message["X-CIPFARO-Run"] == f"{sched.id}/2026-11-20T07:00:00Z"
    assert subject(message) == (
        "CIP FARO — Secrétariat quotidien — Rapport hebdomadaire du secrétariat — "
        "du 19/11/2026 au 19/11/2026"
    )


def test_a_stop_between_recipients_leaves_each_delivery_true_and_the_owner_is_told_next(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    settings = mail_settings(tmp_path, smtp_sink)
    schedule(engine, owner(engine), recipients=("a@cipfaro.fr", "b@cipfaro.fr", "c@cipfaro.fr"))
    stop = threading.Event()
    smtp_sink.on_accept = lambda _content: stop.set()  # SIGTERM while "a" is handed over
    run_due(engine, settings, DUE + timedelta(seconds=10), stop=stop)
    (run,) = runs(engine)
    assert run.status == "interrupted"
    assert deliveries(engine, run.id) == {
        "a@cipfaro.fr": ("sent", 1),
        "b@cipfaro.fr": ("interrupted", 0),
        "c@cipfaro.fr": ("interrupted", 0),
    }
    assert [str(m["To"]) for m in smtp_sink.messages] == ["a@cipfaro.fr"]  # no alert while stopping
    smtp_sink.on_accept = None
    smtp_sink.messages.clear()
    run_due(engine, settings, DUE + timedelta(minutes=5))  # the next start tells the owner
    assert only_the_owner_told(smtp_sink, "b@cipfaro.fr : " + INTERRUPTED_PENDING)
    run_due(engine, settings, DUE + timedelta(minutes=10))
    assert alerts(engine) == 1


def test_a_database_lost_during_a_send_is_resumed_by_the_same_process(
    pg_engine: Engine, pg_url: str, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    settings = mail_settings(tmp_path, smtp_sink)
    schedule(pg_engine, owner(pg_engine), recipients=("a@cipfaro.fr", "b@cipfaro.fr"))

    def lose_the_database(_content: bytes) -> None:  # once "a" is handed over
        smtp_sink.on_accept = None
        refuse_connections(pg_url, True)
        terminate_backends(pg_url)

    smtp_sink.on_accept = lose_the_database
    work = WorkInHand()
    try:
        with pytest.raises(DatabaseUnavailable):  # "a" accepted, its "sent" not written
            run_due(pg_engine, settings, DUE + timedelta(seconds=10), work=work)
        with pytest.raises(DatabaseUnavailable):  # the next step while it still refuses
            run_due(pg_engine, settings, DUE + timedelta(seconds=40), work=work)
    finally:
        refuse_connections(pg_url, False)
    result = run_due(pg_engine, settings, DUE + timedelta(seconds=70), work=work)
    assert [o.status for o in result.resumed] == ["sent"]
    (run,) = runs(pg_engine)
    assert deliveries(pg_engine, run.id) == {
        "a@cipfaro.fr": ("sent", 1),  # known to this process: written, not "uncertain"
        "b@cipfaro.fr": ("sent", 1),  # never handed over: sent now
    }
    assert sorted(str(m["To"]) for m in smtp_sink.messages) == ["a@cipfaro.fr", "b@cipfaro.fr"]
    assert work == WorkInHand()  # nothing left in hand


def test_a_query_the_database_rejects_fails_that_run_and_never_holds_the_scheduler(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    settings = mail_settings(tmp_path, smtp_sink)
    schedule(engine, owner(engine))
    with engine.begin() as connection:  # the website's table is gone: every build query fails
        connection.execute(text("ALTER TABLE candidatures RENAME TO candidatures_renamed"))
    work = WorkInHand()  # a live process: only a lost connection is resumed, not this
    run_due(engine, settings, DUE + timedelta(seconds=10), work=work)
    (run,) = runs(engine)
    assert run.status == "failed" and "n'a pas pu être construit" in run.error
    assert work == WorkInHand()
    assert only_the_owner_told(smtp_sink, "a échoué")
    run_due(engine, settings, DUE + timedelta(minutes=1), work=work)  # the next step goes on


# --- Crashes and restarts ------------------------------------------------------------------------------


def test_run_stuck_working_past_the_timeout_becomes_interrupted(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    settings = mail_settings(tmp_path, smtp_sink)
    sched = schedule(engine, owner(engine))
    # Another worker claimed the run, then died while sending it to the first recipient.
    run_id = claim_run(engine, schedule_id=sched.id, due_at=DUE, trigger="scheduled", now=DUE)
    with engine.begin() as connection:
        connection.execute(
            insert(ReportDelivery),
            [
                {
                    "run_id": run_id,
                    "recipient": "a@cipfaro.fr",
                    "status": "sending",
                    "attempts": 1,
                    "updated_at": DUE,
                },
                {
                    "run_id": run_id,
                    "recipient": "b@cipfaro.fr",
                    "status": "pending",
                    "attempts": 0,
                    "updated_at": DUE,
                },
            ],
        )
    run_due(engine, settings, DUE + timedelta(minutes=10))
    assert [r.status for r in runs(engine)] == ["working"]
    run_due(engine, settings, DUE + timedelta(minutes=31))
    (run,) = runs(engine)
    assert run.status == "interrupted" and "interrompue" in run.error
    assert only_the_owner_told(smtp_sink, "a été interrompu")  # nothing resent
    with engine.connect() as connection:
        errors = dict(
            connection.execute(
                select(ReportDelivery.recipient, ReportDelivery.last_error).where(
                    ReportDelivery.run_id == run_id
                )
            ).all()
        )
    # The one caught mid-send may have received it: never reported as "jamais envoyé".
    assert errors == {"a@cipfaro.fr": INTERRUPTED_SENDING, "b@cipfaro.fr": INTERRUPTED_PENDING}


def test_restart_shows_work_in_flight_as_interrupted_and_never_resends_it(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    settings = mail_settings(tmp_path, smtp_sink)
    actor = owner(engine)
    sched = schedule(engine, actor)
    run_id = claim_run(engine, schedule_id=sched.id, due_at=DUE, trigger="scheduled", now=DUE)
    with engine.begin() as connection:  # the state a crash leaves: one recipient "sending"
        connection.execute(
            insert(ReportDelivery),
            [
                {
                    "run_id": run_id,
                    "recipient": "a@cipfaro.fr",
                    "status": "sending",
                    "attempts": 1,
                    "updated_at": DUE,
                },
                {
                    "run_id": run_id,
                    "recipient": "b@cipfaro.fr",
                    "status": "pending",
                    "attempts": 0,
                    "updated_at": DUE,
                },
            ],
        )
    restart = DUE + timedelta(seconds=40)
    assert recover(engine, settings, now=restart, at_start=True) == 1
    run_due(engine, settings, restart)
    run_due(engine, settings, restart + timedelta(hours=1))
    assert deliveries(engine, run_id) == {
        "a@cipfaro.fr": ("interrupted", 1),
        "b@cipfaro.fr": ("interrupted", 0),
    }
    with engine.connect() as connection:
        errors = dict(
            connection.execute(
                select(ReportDelivery.recipient, ReportDelivery.last_error).where(
                    ReportDelivery.run_id == run_id
                )
            ).all()
        )
    assert errors["a@cipfaro.fr"] == INTERRUPTED_SENDING  # it may have arrived: check first
    assert errors["b@cipfaro.fr"] == INTERRUPTED_PENDING  # never sent
    assert [r.status for r in runs(engine)] == ["interrupted"]
    assert only_the_owner_told(smtp_sink, "a été interrompu")  # nothing resent
    # A person resends: the run is built and sent to both (neither was ever accepted).
    resend_failed(engine, settings, actor=actor, run_id=run_id, now=restart + timedelta(hours=2))
    assert sorted(str(m["To"]) for m in smtp_sink.messages) == [
        "a@cipfaro.fr",
        "b@cipfaro.fr",
        "owner@cipfaro.fr",
    ]


# --- Changes, manual sends, outbox -------------------------------------------------------------------------


def test_schedule_changes_apply_at_the_next_step_without_restart(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    settings = mail_settings(tmp_path, smtp_sink)
    actor = owner(engine)
    sched = schedule(engine, actor)
    run_due(engine, settings, DUE + timedelta(seconds=10))
    changed = replace(BASE, time_of_day="08:00", recipients=("c@cipfaro.fr",))
    update_schedule(
        engine, actor=actor, schedule_id=sched.id, spec=changed, now=DUE + timedelta(minutes=30)
    )
    run_due(engine, settings, DUE + timedelta(hours=1, seconds=10))
    assert [str(m["To"]) for m in smtp_sink.messages][-1] == "c@cipfaro.fr"
    pause_schedule(engine, actor=actor, schedule_id=sched.id, now=DUE + timedelta(hours=2))
    assert run_due(engine, settings, DUE + timedelta(days=1, hours=1, seconds=10)).idle
    assert [r.due_at for r in runs(engine)] == [DUE, DUE + timedelta(hours=1)]


def test_send_now_delivers_at_once_as_a_manual_audited_run(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    actor = owner(engine)
    sched = schedule(engine, actor, recipients=("a@cipfaro.fr",))
    now = DUE + timedelta(minutes=3, seconds=7)
    outcome = send_now(
        engine, mail_settings(tmp_path, smtp_sink), actor=actor, schedule_id=sched.id, now=now
    )
    assert outcome.status == "sent"
    (run,) = runs(engine)
    assert (run.trigger, run.due_at) == ("manual", now + timedelta(microseconds=1))
    with engine.connect() as connection:
        audit = connection.execute(
            select(AuditLog.actor_id).where(AuditLog.action == "report_run.send_now")
        ).scalar_one()
    assert audit == actor.id
    assert len(smtp_sink.messages) == 1


def test_nothing_to_report_skips_when_asked(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    schedule(engine, owner(engine), only_if_content=True)
    run_due(engine, mail_settings(tmp_path, smtp_sink), DUE + timedelta(seconds=10))
    assert [r.status for r in runs(engine)] == ["skipped"]
    assert smtp_sink.messages == []


def test_report_that_cannot_be_built_fails_visibly_and_tells_the_owner(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    factories.formation(engine, slug="aide-soignant", titre="Aide-soignant")
    schedule(engine, owner(engine), formation_slug="aide-soignant")
    with engine.begin() as connection:  # the website renames the formation meanwhile
        connection.execute(update(Formation).values(slug="aide-soignant-deas"))
    run_due(engine, mail_settings(tmp_path, smtp_sink), DUE + timedelta(seconds=10))
    (run,) = runs(engine)
    assert run.status == "failed" and "Formation inconnue" in run.error
    (alert,) = smtp_sink.messages
    assert str(alert["To"]) == "owner@cipfaro.fr"


def test_without_smtp_reports_are_left_in_the_local_outbox(engine: Engine, tmp_path: Path) -> None:
    schedule(engine, owner(engine), formats=("pdf", "xlsx"))
    run_due(engine, mail_settings(tmp_path), DUE + timedelta(seconds=10))
    assert [r.status for r in runs(engine)] == ["sent"]
    written = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(written) == 2
    assert not (tmp_path / "rapports").exists()  # the run's files live in the database
    assert [f.filename for f in run_files(engine, load_settings(), runs(engine)[0].id)] == [
        "rapport-hebdo_2026-11-19_2026-11-19.pdf",
        "rapport-hebdo_2026-11-19_2026-11-19.xlsx",
    ]


def test_history_shows_each_run_and_recipient_outcome(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    settings = mail_settings(tmp_path, smtp_sink)
    sched = schedule(engine, owner(engine), formats=("pdf", "xlsx"))
    smtp_sink.refuse.add("b@cipfaro.fr")
    run_due(engine, settings, DUE + timedelta(seconds=10))
    history = run_history(engine, sched.id)
    assert history[
        ["status_label", "recipients", "sent", "failed", "resendable"]
    ].values.tolist() == [["Échec", 2, 1, 1, True]]
    outcomes = run_deliveries(engine, int(history["id"][0]))
    assert outcomes["status_label"].tolist() == ["Envoyé", "Échec"]
    assert "550" in outcomes["last_error"][1]
    files = run_files(engine, settings, int(history["id"][0]))
    assert [f.filename[-4:] for f in files] == [".pdf", "xlsx"]


def test_one_active_scheduler_at_a_time(engine: Engine) -> None:
    first = SchedulerGuard(engine, holder="vm-a:1")
    second = SchedulerGuard(engine, holder="vm-b:2")
    assert first.acquire(DUE)
    assert not second.acquire(DUE + timedelta(seconds=30))
    assert first.renew(DUE + timedelta(minutes=1))
    first.release()
    assert second.acquire(DUE + timedelta(minutes=2))
    assert second.current_holder() == "vm-b:2"
    second.release()


def test_expired_lease_is_taken_over_on_sqlite(tmp_path: Path) -> None:
    # On PostgreSQL the advisory lock decides (next test); SQLite has only the lease.
    engine = create_db_engine(new_sqlite_database(tmp_path))
    stale = SchedulerGuard(engine, holder="vm-a:1", ttl=timedelta(minutes=5))
    assert stale.acquire(DUE)
    successor = SchedulerGuard(engine, holder="vm-b:2")
    assert not successor.acquire(DUE + timedelta(minutes=4))
    assert successor.acquire(DUE + timedelta(minutes=6))
    assert not stale.renew(DUE + timedelta(minutes=7))  # it lost the lease: it stands by


def test_postgresql_advisory_lock_keeps_a_second_scheduler_out_while_the_lease_runs(
    pg_engine: Engine,
) -> None:
    first = SchedulerGuard(pg_engine, holder="vm-a:1")
    second = SchedulerGuard(pg_engine, holder="vm-b:2")
    assert first.acquire(DUE)
    assert not second.acquire(DUE + timedelta(seconds=60))
    assert first.renew(DUE + timedelta(seconds=60))
    first.release()
    assert second.acquire(DUE + timedelta(seconds=61))
    second.release()


def test_an_expired_lease_wins_over_the_advisory_lock_of_a_frozen_holder(
    pg_engine: Engine, pg_url: str
) -> None:
    frozen = SchedulerGuard(pg_engine, holder="vm-a:1", ttl=timedelta(seconds=75))
    standby = SchedulerGuard(pg_engine, holder="vm-b:2")
    assert frozen.acquire(DUE)
    held_by = lock_backend(pg_url)
    # The holder's session is alive (a frozen process's kernel still answers TCP), but it
    # stopped renewing: once the lease has expired, the standby ends that session.
    assert standby.acquire(DUE + timedelta(seconds=76))
    assert standby.current_holder() == "vm-b:2"
    assert lock_backend(pg_url) != held_by
    assert not frozen.renew(DUE + timedelta(seconds=80))  # it wakes up: it stands by
    assert not frozen.held and not frozen.may_send()
    assert standby.renew(DUE + timedelta(seconds=90))
    standby.release()


def test_a_lease_renewed_at_the_last_moment_is_not_taken_over(pg_engine: Engine) -> None:
    holder = SchedulerGuard(pg_engine, holder="vm-a:1", ttl=timedelta(seconds=75))
    standby = SchedulerGuard(pg_engine, holder="vm-b:2")
    assert holder.acquire(DUE)
    assert not standby.acquire(DUE + timedelta(seconds=74))
    assert holder.renew(DUE + timedelta(seconds=74))
    assert not standby.acquire(DUE + timedelta(seconds=76))
    assert holder.renew(DUE + timedelta(seconds=100))
    holder.release()


def test_a_holder_sends_nothing_once_its_sending_window_is_over(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time as real_time

    sent: list[str] = []

    class Recorder:
        def send(self, message: Any) -> str:
            sent.append(str(message["To"]))
            return "ok"

        def abort(self) -> None: ...

    guard = SchedulerGuard(engine, holder="vm-a:1", ttl=timedelta(seconds=75))
    transport = LeasedTransport(Recorder(), guard)
    assert guard.acquire(DUE)
    message = build_message(sender="a@x.fr", recipient="b@x.fr", subject="s", body="b")
    transport.send(message)
    clock = real_time.monotonic() + 50.5  # frozen for 50 s: two thirds of its lease gone
    monkeypatch.setattr("reports.lease.time.monotonic", lambda: clock)
    with pytest.raises(DeliveryError) as refused:
        transport.send(message)
    assert not refused.value.permanent
    assert sent == ["b@x.fr"]
    assert guard.renew(DUE + timedelta(seconds=51))  # nobody took over: renewed, it goes on
    transport.send(message)
    assert sent == ["b@x.fr", "b@x.fr"]
    guard.release()


def test_a_lock_whose_connection_was_killed_is_given_up_then_taken_back(
    pg_engine: Engine, pg_url: str
) -> None:
    guard = SchedulerGuard(pg_engine, holder="vm-a:1")
    assert guard.acquire(DUE)
    assert terminate_backends(pg_url) >= 1  # the lock's connection among them
    # Never kept on a lease it cannot confirm, and the dead connection is not reused.
    assert not guard.renew(DUE + timedelta(seconds=30))
    assert not guard.held
    assert guard.acquire(DUE + timedelta(seconds=60))  # a fresh connection, the lock again
    assert guard.renew(DUE + timedelta(seconds=90))
    terminate_backends(pg_url)
    guard.release()  # at shutdown on a dead connection: no error escapes
    assert not guard.held
    assert guard.current_holder() is None


def test_a_lease_that_cannot_be_renewed_is_given_up(pg_engine: Engine, pg_url: str) -> None:
    guard = SchedulerGuard(pg_engine, holder="vm-a:1")
    assert guard.acquire(DUE)
    refuse_connections(pg_url, True)
    try:
        terminate_backends(pg_url, spare=[lock_backend(pg_url)])  # the lock survives
        assert not guard.renew(DUE + timedelta(seconds=30))  # the lease row is out of reach
        assert not guard.held and not guard.may_send()
    finally:
        refuse_connections(pg_url, False)
    # Its lease row could not be removed: a standby takes over once it has expired.
    standby = SchedulerGuard(pg_engine, holder="vm-b:2")
    assert not standby.acquire(DUE + timedelta(seconds=40))
    assert standby.acquire(DUE + timedelta(seconds=76))


@pytest.mark.parametrize(("holder", "dead"), [("elsewhere:1", False), ("{host}:999999999", True)])
def test_dead_local_holder_is_recognised(holder: str, dead: bool) -> None:
    import socket

    assert holder_is_dead(holder.format(host=socket.gethostname())) is dead
