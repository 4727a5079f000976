"""The alert state machine alone, with frozen instants (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from data.alerts import lifecycle as lc
from data.errors import InvalidInput

T0 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
HOLD = lc.Timing(hold=timedelta(minutes=10), quiet=timedelta(hours=1))


def test_a_true_condition_opens_a_pending_alert_when_the_rule_has_a_hold() -> None:
    assert lc.next_state(None, True, T0, HOLD) == lc.PENDING


def test_without_a_hold_the_alert_fires_at_once() -> None:
    assert lc.next_state(None, True, T0, lc.Timing()) == lc.FIRING


def test_a_false_condition_opens_nothing() -> None:
    assert lc.next_state(None, False, T0, HOLD) is None


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [(timedelta(minutes=9, seconds=59), None), (timedelta(minutes=10), lc.FIRING)],
)
def test_pending_fires_once_the_hold_has_elapsed(elapsed: timedelta, expected: str | None) -> None:
    pending = lc.OpenAlert(lc.PENDING, T0)
    assert lc.next_state(pending, True, T0 + elapsed, HOLD) == expected


def test_pending_that_clears_resolves_without_a_notice() -> None:
    assert lc.next_state(lc.OpenAlert(lc.PENDING, T0), False, T0, HOLD) == lc.RESOLVED
    assert lc.notice_for(lc.PENDING, lc.RESOLVED) is None


@pytest.mark.parametrize("state", [lc.FIRING, lc.ACKNOWLEDGED, lc.SNOOZED])
def test_an_open_alert_resolves_with_a_notice_when_its_condition_clears(state: str) -> None:
    assert lc.next_state(lc.OpenAlert(state, T0), False, T0, HOLD) == lc.RESOLVED
    assert lc.notice_for(state, lc.RESOLVED) == lc.NOTICE_RESOLVED


def test_firing_and_acknowledged_stay_while_the_condition_holds() -> None:
    later = T0 + timedelta(days=3)
    assert lc.next_state(lc.OpenAlert(lc.FIRING, T0), True, later, HOLD) is None
    assert lc.next_state(lc.OpenAlert(lc.ACKNOWLEDGED, T0), True, later, HOLD) is None


@pytest.mark.parametrize(
    ("at", "expected"),
    [(T0 + timedelta(minutes=59), None), (T0 + timedelta(hours=1), lc.FIRING)],
)
def test_a_snoozed_alert_fires_again_when_its_snooze_ends(
    at: datetime, expected: str | None
) -> None:
    snoozed = lc.OpenAlert(lc.SNOOZED, T0, snoozed_until=T0 + timedelta(hours=1))
    assert lc.next_state(snoozed, True, at, HOLD) == expected
    assert lc.notice_for(lc.SNOOZED, lc.FIRING) == lc.NOTICE_REMINDER


@pytest.mark.parametrize(
    ("since_resolution", "expected"),
    [(timedelta(minutes=59), None), (timedelta(hours=1), lc.PENDING)],
)
def test_a_resolved_subject_may_fire_anew_only_after_the_quiet_period(
    since_resolution: timedelta, expected: str | None
) -> None:
    assert lc.next_state(None, True, T0 + since_resolution, HOLD, last_resolved_at=T0) == expected


def test_only_firing_or_snoozed_alerts_can_be_acknowledged() -> None:
    lc.check_acknowledge(lc.FIRING)
    lc.check_acknowledge(lc.SNOOZED)
    for state in (lc.PENDING, lc.ACKNOWLEDGED, lc.RESOLVED):
        with pytest.raises(InvalidInput):
            lc.check_acknowledge(state)


def test_a_snooze_must_end_in_the_future() -> None:
    lc.check_snooze(lc.FIRING, T0 + timedelta(hours=1), T0)
    with pytest.raises(InvalidInput):
        lc.check_snooze(lc.FIRING, T0, T0)
    with pytest.raises(InvalidInput):
        lc.check_snooze(lc.RESOLVED, T0 + timedelta(hours=1), T0)
