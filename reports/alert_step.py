"""One alert step of the scheduler: recover, evaluate every rule, send what is owed.

Called by ``scheduler.py`` every ``ALERT_EVALUATION_SECONDS`` while the process
holds the leader lease (and once by ``--once``), never by a page. Tests call it
with frozen instants.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from data.alerts.evaluate import EvaluationResult, evaluate_all
from data.settings import Settings
from reports.alert_mail import recover_sending, send_digests, send_immediate
from reports.mail import Transport


@dataclass(frozen=True)
class AlertStepResult:
    evaluation: EvaluationResult
    recovered: int
    emailed: int
    digests: int

    @property
    def idle(self) -> bool:
        return not (
            self.evaluation.transitions
            or self.evaluation.failed
            or self.recovered
            or self.emailed
            or self.digests
        )

    def summary(self) -> str:
        return (
            f"alerts: {self.evaluation.summary()}, {self.emailed} email(s), "
            f"{self.digests} digest(s), {self.recovered} interrupted"
        )


def alert_step(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    transport: Transport,
    stop: threading.Event | None = None,
) -> AlertStepResult:
    """Evaluate every rule at ``now`` (aware) and send the emails it owes; ``stop``
    (SIGTERM) ends the sending between two messages."""
    recovered = recover_sending(engine, now=now)
    evaluation = evaluate_all(engine, settings, now)
    emailed = send_immediate(engine, settings, now=now, transport=transport, stop=stop)
    digests = send_digests(engine, settings, now=now, transport=transport, stop=stop)
    return AlertStepResult(evaluation, recovered, emailed, digests)
