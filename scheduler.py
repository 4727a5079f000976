"""The report scheduler: ``python scheduler.py`` (long-running) or ``--once``.

A separate process, never started from the dashboard. Every ``--tick``
seconds (30 by default) an APScheduler job reads the schedules from the
database and does what is due (:func:`reports.step.run_due`), so changes made
in the dashboard apply without a restart. Only one scheduler is active at a
time (PostgreSQL advisory lock + lease row); others stand by. SIGTERM lets the
current step finish, then the process exits.

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
from datetime import UTC, datetime
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from data.db import check_connection, main_engine
from data.errors import DashboardError
from data.settings import Settings, get_settings
from reports.lease import SchedulerGuard
from reports.mail import uses_outbox
from reports.runs import recover, worker_name
from reports.schedules import list_schedules, next_run_at
from reports.step import run_due

log = logging.getLogger("scheduler")
DEFAULT_TICK_SECONDS = 30


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
    engine: Engine, settings: Settings, guard: SchedulerGuard, now: datetime
) -> bool:
    if not guard.acquire(now):
        return False
    log.info("this process is the active scheduler")
    recovered = recover(engine, settings, now=now, at_start=True)
    if recovered:
        log.warning(
            "%d run(s) interrupted by a previous stop: shown for a person to resend", recovered
        )
    return True


def run_once(engine: Engine, settings: Settings) -> int:
    """Do what is due now, then exit."""
    guard = SchedulerGuard(engine, holder=worker_name())
    now = datetime.now(UTC)
    if not _become_active(engine, settings, guard, now):
        log.info("another scheduler is active (%s): nothing to do", guard.current_holder())
        return 0
    try:
        result = run_due(engine, settings, now, heartbeat=lambda: guard.renew(datetime.now(UTC)))
        log.info("step done: %s", result.summary())
    finally:
        guard.release()
    return 0


class _Loop:
    """The tick job and its state (one instance per process)."""

    def __init__(self, engine: Engine, settings: Settings, stop: threading.Event) -> None:
        self.engine, self.settings, self.stop = engine, settings, stop
        self.guard = SchedulerGuard(engine, holder=worker_name())
        self._standing_by = False

    def tick(self) -> None:
        try:
            self._tick()
        except Exception:
            log.exception("tick failed")

    def _tick(self) -> None:
        now = datetime.now(UTC)
        if not self.guard.held:
            if not _become_active(self.engine, self.settings, self.guard, now):
                if not self._standing_by:
                    log.info(
                        "another scheduler is active (%s): standing by", self.guard.current_holder()
                    )
                self._standing_by = True
                return
            self._standing_by = False
        elif not self.guard.renew(now):
            return
        result = run_due(
            self.engine,
            self.settings,
            now,
            stop=self.stop,
            heartbeat=lambda: self.guard.renew(datetime.now(UTC)),
        )
        if not result.idle:
            log.info("step done: %s", result.summary())


def run_forever(engine: Engine, settings: Settings, tick_seconds: int) -> int:
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info(
            "%s received: finishing the current step, then stopping", signal.Signals(signum).name
        )
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    loop = _Loop(engine, settings, stop)
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
    scheduler.start()
    log.info("ticking every %d s; SIGTERM stops cleanly", tick_seconds)
    stop.wait()
    scheduler.shutdown(wait=True)
    loop.guard.release()
    log.info("scheduler stopped cleanly")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scheduler.py", description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="run what is due now, then exit")
    parser.add_argument(
        "--tick", type=int, default=DEFAULT_TICK_SECONDS, help="seconds between steps"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        settings = get_settings()
        engine = main_engine(settings)
        check_connection(engine)
        _describe_setup(settings)
        _describe_schedules(engine, datetime.now(UTC))
        if args.once:
            return run_once(engine, settings)
        return run_forever(engine, settings, max(1, args.tick))
    except DashboardError as exc:
        log.error("%s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
