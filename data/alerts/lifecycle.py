"""The life of one alert, as one pure state machine (no database, no clock).

::

    (none) --condition true--> pending --held "for"--> firing --condition false--> resolved
                               pending --condition false--> resolved (silently)
    firing --acknowledge--> acknowledged (no more reminders) --condition false--> resolved
    firing --snooze--> snoozed --until passed, still true--> firing (a reminder)
                       snoozed --condition false--> resolved

A resolved alert stays resolved: when the same subject's condition comes
back, a *new* alert opens, but only once the quiet period after the last
resolution has passed (no flapping). ``data.alerts.evaluate`` applies what
:func:`next_state` decides, under a conditional update, so that two
evaluators never apply the same transition twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from data.errors import InvalidInput

PENDING: Final = "pending"
FIRING: Final = "firing"
ACKNOWLEDGED: Final = "acknowledged"
SNOOZED: Final = "snoozed"
RESOLVED: Final = "resolved"
STATES: Final = (PENDING, FIRING, ACKNOWLEDGED, SNOOZED, RESOLVED)
OPEN_STATES: Final = (PENDING, FIRING, ACKNOWLEDGED, SNOOZED)

STATE_LABELS: Final = {
    PENDING: "En attente",
    FIRING: "Active",
    ACKNOWLEDGED: "Prise en compte",
    SNOOZED: "Reportée",
    RESOLVED: "Résolue",
}

# What a notice says about the transition that caused it.
NOTICE_FIRING: Final = "firing"
NOTICE_REMINDER: Final = "reminder"
NOTICE_RESOLVED: Final = "resolved"
NOTICE_LABELS: Final = {
    NOTICE_FIRING: "Alerte",
    NOTICE_REMINDER: "Rappel",
    NOTICE_RESOLVED: "Résolu",
}


@dataclass(frozen=True)
class OpenAlert:
    """What the machine needs to know of an open alert."""

    state: str
    opened_at: datetime
    snoozed_until: datetime | None = None


@dataclass(frozen=True)
class Timing:
    """A rule's "for" duration and quiet period."""

    hold: timedelta = timedelta(0)
    quiet: timedelta = timedelta(hours=1)


def next_state(
    alert: OpenAlert | None,
    condition: bool,
    now: datetime,
    timing: Timing,
    last_resolved_at: datetime | None = None,
) -> str | None:
    """The state an evaluation at ``now`` moves the alert to; None: no change.

    ``alert`` is the subject's open alert (None when it has none) and
    ``last_resolved_at`` when its latest alert was resolved.
    """
    if alert is None:
        if not condition:
            return None
        if last_resolved_at is not None and now < last_resolved_at + timing.quiet:
            return None  # still in the quiet period: no new alert yet
        return PENDING if timing.hold > timedelta(0) else FIRING
    if not condition:
        return RESOLVED
    if alert.state == PENDING and now >= alert.opened_at + timing.hold:
        return FIRING
    if alert.state == SNOOZED and (alert.snoozed_until is None or now >= alert.snoozed_until):
        return FIRING
    return None


def notice_for(from_state: str | None, to_state: str) -> str | None:
    """Which notice a transition sends (None: none)."""
    if to_state == FIRING:
        return NOTICE_REMINDER if from_state == SNOOZED else NOTICE_FIRING
    if to_state == RESOLVED and from_state in (FIRING, ACKNOWLEDGED, SNOOZED):
        return NOTICE_RESOLVED
    return None


def check_acknowledge(state: str) -> None:
    """A person may acknowledge a firing or snoozed alert."""
    if state not in (FIRING, SNOOZED):
        raise InvalidInput(
            f"Cette alerte est « {STATE_LABELS.get(state, state)} » : rien à prendre en compte."
        )


def check_snooze(state: str, until: datetime, now: datetime) -> None:
    """A person may snooze a firing (or already snoozed) alert, to a later time."""
    if state not in (FIRING, SNOOZED):
        raise InvalidInput(
            f"Cette alerte est « {STATE_LABELS.get(state, state)} » : rien à reporter."
        )
    if until <= now:
        raise InvalidInput("Choisissez un report dans le futur.")
