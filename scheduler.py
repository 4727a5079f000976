"""The report scheduler: ``python scheduler.py`` (long-running) or ``--once``.

A separate process, never started from the dashboard. Every ``--tick``
seconds (30 by default) an APScheduler job reads the schedules from the
database and does what is due (:func:`reports.step.run_due`), so changes made
in the dashboard apply without a restart. Only one scheduler is active at a
time (a lease row, plus a PostgreSQL advisory lock); others stand by and take
over once its lease has expired (``--lease`` seconds after its last renewal,
75 by default), ending the session of a holder that froze.

A second job folds what the website wrote into the KPI summary every
``SUMMARY_REFRESH_SECONDS`` (5) while this process is the active one, so the
screens and the replicas merge only a short tail on read (``data.kpis.summary``).
A third evaluates the alert rules every ``ALERT_EVALUATION_SECONDS`` (60) while
this process is the active one, and sends the alert emails they owe
(``reports.alert_step``); an alert email a stopped process left half-sent is
shown interrupted at the next start, never resent.

It survives its database going away: a tick that meets a database error
stands by (one log line, not one per tick), a lease it cannot renew is given
up, and the next tick that reaches the database takes the lease back and
first finishes the work it had in hand. It also starts while the database is
unreachable, and waits for it.

SIGTERM (or SIGINT) stops it between two recipients: the hand-over in progress
is given up to ``SMTP_TIMEOUT_SECONDS`` to finish (then its connection is cut
and that recipient shown interrupted: it may have received the message), each
outcome is recorded, the recipients not yet served are marked interrupted, and
the process exits with status 0: within ``SMTP_TIMEOUT_SECONDS`` plus a few
seconds of database writes.

``--once`` does what is due now and exits (for cron-style use and tests);
exit status 0 also when another scheduler is active (nothing to do), 1 when
the database or the settings are unusable.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from data.db import check_connection, main_engine
from data.errors import ConnectionLost, DashboardError, DatabaseUnavailable
from data.kpis.summary import refresh_if_behind
from data.settings import Settings, get_settings
from reports.alert_mail import recover_sending
from reports.alert_step import alert_step
from reports.inhand import WorkInHand
from reports.lease import DEFAULT_TTL, LeasedTransport, LeaseLost, SchedulerGuard
from reports.mail import transport_from_settings, uses_outbox
from reports.runs import recover, worker_name
from reports.schedules import list_schedules, next_run_at
from reports.step import run_due

log = logging.getLogger("scheduler")
DEFAULT_TICK_SECONDS = 30
SUMMARY_REFRESH_SECONDS = 5


def _describe_setup(settings: Settings) -> None:
    url = make_url(settings.database_url).render_as_string(hide_password=True)
    log.info("CIP FARO report scheduler starting (worker %s)", worker_name())
    log.info("database: %s; centre time zone: %s", url, settings.TIMEZONE)
    if uses_outbox(settings):
        log.info("mail: no SMTP_HOST, messages go to the local outbox %s", settings.outbox_dir)
    else:
        log.info(
            "mail: SMTP %s:%s (%s)", settings.SMTP_HOST, settings.SMTP_PORT, settings.SMTP_SECURITY
        )
    log.info("grace period for missed runs: %s h", settings.REPORT_GRACE_HOURS)


def _describe_schedules(engine: Engine, now: datetime) -> None:
    schedules = list_schedules(engine, include_paused=False)
    upcoming = sorted(
        ((when, s) for s in schedules if (when := next_run_at(s, now)) is not None),
        key=lambda pair: pair[0],
    )
    if not upcoming:
        log.info("no active schedule")
        return
    when, first = upcoming[0]
    log.info(
        "%d active schedule(s); next: #%d at %s UTC",
        len(schedules),
        first.id,
        when.strftime("%Y-%m-%d %H:%M"),
    )


def _become_active(
    engine: Engine, settings: Settings, guard: SchedulerGuard, now: datetime, work: WorkInHand
) -> bool:
    if not guard.acquire(now):
        return False
    log.info("this process is the active scheduler")
    # Runs this process still has in hand (it lost the lease to a database error and
    # takes it back) are not a previous stop's: it resumes them itself.
    try:
        recovered = recover(engine, settings, now=now, at_start=True, spare=work.runs)
    except Exception:
        guard.release()  # taken again, and recovery run again, at the next tick
        raise
    if recovered:
        log.warning(
            "%d run(s) interrupted by a previous stop: shown for a person to resend", recovered
        )
    interrupted = recover_sending(engine, now=now, at_start=True)
    if interrupted:
        log.warning("%d alert email(s) interrupted by a previous stop: not resent", interrupted)
    return True


def _log_unwritten(work: WorkInHand, engine: Engine) -> None:
    """At exit: write what is known and unwritten, or say it in the log."""
    if not work.unrecorded:
        return
    try:
        work.flush(engine)
    except DatabaseUnavailable:
        for line in work.unwritten():
            log.error("%s: the next start shows it interrupted", line)


def run_once(engine: Engine, settings: Settings, lease: timedelta = DEFAULT_TTL) -> int:
    """Do what is due now, then exit."""
    guard = SchedulerGuard(engine, holder=worker_name(), ttl=lease)
    work = WorkInHand()
    now = datetime.now(UTC)
    if not _become_active(engine, settings, guard, now, work):
        log.info("another scheduler is active (%s): nothing to do", guard.current_holder())
        return 0
    try:
        refresh_if_behind(engine)
        result = run_due(
            engine,
            settings,
            now,
            transport=LeasedTransport(transport_from_settings(settings), guard),
            heartbeat=lambda: guard.renew(datetime.now(UTC)),
            work=work,
        )
        log.info("step done: %s", result.summary())
        alerts = alert_step(
            engine,
            settings,
            now=datetime.now(UTC),
            transport=LeasedTransport(transport_from_settings(settings), guard),
        )
        log.info("%s", alerts.summary())
    finally:
        _log_unwritten(work, engine)
        guard.release()
    return 0


class _Loop:
    """The tick job and its state (one instance per process)."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        stop: threading.Event,
        *,
        tick: timedelta,
        lease: timedelta,
    ) -> None:
        self.engine, self.settings, self.stop = engine, settings, stop
        self.guard = SchedulerGuard(engine, holder=worker_name(), ttl=lease, tick=tick)
        self.transport = LeasedTransport(transport_from_settings(settings), self.guard)
        self.alert_transport = LeasedTransport(transport_from_settings(settings), self.guard)
        self.work = WorkInHand()
        self._standing_by = False
        self._unreachable = False
        self.idle = threading.Event()  # no tick running
        self.idle.set()

    def tick(self) -> None:
        self.idle.clear()
        try:
            if not self.stop.is_set():
                self._guarded_tick()
        finally:
            self.idle.set()

    def _guarded_tick(self) -> None:
        try:
            self._tick()
        except ConnectionLost:
            if not self._unreachable:
                log.error("database unreachable: standing by, trying again at every tick")
            self._unreachable = True
            return
        except LeaseLost:
            log.warning("lease lost during the step: standing by")
        except Exception:
            log.exception("tick failed")
        if self._unreachable:
            log.info("database reachable again")
            self._unreachable = False

    def refresh_summary(self) -> None:
        """Fold the events the website added into the KPI summary, so that no screen
        (nor a replica) has a long tail to merge on read. Only the active scheduler
        does it; the refresh is safe against a concurrent one anyway."""
        if self.stop.is_set() or not self.guard.held:
            return
        try:
            refresh_if_behind(self.engine)
        except DashboardError:
            pass  # the tick reports the database's state; the next refresh catches up
        except Exception:
            log.exception("KPI summary refresh failed")

    def evaluate_alerts(self) -> None:
        """Evaluate the alert rules and send what they owe, while this process is the
        active one (a separate job: a slow report run does not delay the alerts)."""
        if self.stop.is_set() or not self.guard.held:
            return
        try:
            result = alert_step(
                self.engine,
                self.settings,
                now=datetime.now(UTC),
                transport=self.alert_transport,
                stop=self.stop,
            )
        except DashboardError:
            return  # the tick reports the database's state; the next evaluation catches up
        except LeaseLost:
            return
        except Exception:
            log.exception("alert evaluation failed")
            return
        if not result.idle:
            log.info("%s", result.summary())

    def _heartbeat(self) -> bool:
        return self.guard.renew(datetime.now(UTC))

    def _tick(self) -> None:
        now = datetime.now(UTC)
        if self.guard.held and not self.guard.renew(now):
            return  # given up: the next tick tries to take it back
        if not self.guard.held:
            if not _become_active(self.engine, self.settings, self.guard, now, self.work):
                if self.work.unrecorded:  # facts, safe to write while another is active
                    self.work.flush(self.engine)
                if not self._standing_by:
                    log.info(
                        "another scheduler is active (%s): standing by", self.guard.current_holder()
                    )
                self._standing_by = True
                return
            self._standing_by = False
        result = run_due(
            self.engine,
            self.settings,
            now,
            transport=self.transport,
            stop=self.stop,
            heartbeat=self._heartbeat,
            work=self.work,
        )
        if not result.idle:
            log.info("step done: %s", result.summary())


def run_forever(
    engine: Engine, settings: Settings, tick_seconds: int, lease: timedelta = DEFAULT_TTL
) -> int:
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info(
            "%s received: finishing the hand-over in progress, then stopping",
            signal.Signals(signum).name,
        )
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    loop = _Loop(engine, settings, stop, tick=timedelta(seconds=tick_seconds), lease=lease)
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(
        loop.tick,
        "interval",
        seconds=tick_seconds,
        id="tick",
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )
    scheduler.add_job(
        loop.refresh_summary,
        "interval",
        seconds=SUMMARY_REFRESH_SECONDS,
        id="kpi-summary",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )
    scheduler.add_job(
        loop.evaluate_alerts,
        "interval",
        seconds=settings.ALERT_EVALUATION_SECONDS,
        id="alerts",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )
    scheduler.start()
    log.info(
        "ticking every %d s, lease %d s, KPI summary every %d s; SIGTERM stops cleanly",
        tick_seconds,
        lease.total_seconds(),
        SUMMARY_REFRESH_SECONDS,
    )
    stop.wait()
    # The hand-over in progress gets as long as one SMTP timeout, then its connection is cut.
    if not loop.idle.wait(timeout=settings.SMTP_TIMEOUT_SECONDS):
        log.warning(
            "the hand-over in progress is still waiting after %s s: cutting it",
            settings.SMTP_TIMEOUT_SECONDS,
        )
        loop.transport.abort()
        loop.alert_transport.abort()
    scheduler.shutdown(wait=True)
    _log_unwritten(loop.work, engine)
    loop.guard.release()
    loop.guard.leave()
    log.info("scheduler stopped cleanly")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scheduler.py", description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="run what is due now, then exit")
    parser.add_argument(
        "--tick", type=int, default=DEFAULT_TICK_SECONDS, help="seconds between steps"
    )
    parser.add_argument(
        "--lease",
        type=int,
        default=int(DEFAULT_TTL.total_seconds()),
        help="seconds a lease renewal holds (at least twice --tick); a standby takes over "
        "that long after the active scheduler stops renewing",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    tick = max(1, args.tick)
    if args.lease < 2 * tick:
        parser.error("--lease must be at least twice --tick")
    lease = timedelta(seconds=args.lease)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        settings = get_settings()
        engine = main_engine(settings)
        _describe_setup(settings)
        try:
            check_connection(engine)
            _describe_schedules(engine, datetime.now(UTC))
        except DatabaseUnavailable:
            if args.once:
                raise
            log.error("database unreachable at start: standing by until it answers")
        if args.once:
            return run_once(engine, settings, lease)
        return run_forever(engine, settings, tick, lease)
    except DashboardError as exc:
        log.error("%s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
