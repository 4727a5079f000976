"""Period presets and parsing."""

from __future__ import annotations

from datetime import date

import pytest

from data.errors import InvalidInput
from data.periods import Period, parse_day, preset_period

TODAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("preset", "start", "end"),
    [
        ("ce-mois", date(2026, 11, 1), date(2026, 11, 26)),
        ("mois-dernier", date(2026, 10, 1), date(2026, 11, 1)),
        ("ce-trimestre", date(2026, 10, 1), date(2026, 11, 26)),
        ("annee", date(2026, 1, 1), date(2026, 11, 26)),
        ("12-mois", date(2025, 11, 26), date(2026, 11, 26)),
    ],
)
def test_presets_on_a_given_day(preset: str, start: date, end: date) -> None:
    assert preset_period(preset, TODAY) == Period(start, end)


def test_last_month_in_january_is_december() -> None:
    assert preset_period("mois-dernier", date(2027, 1, 15)) == Period(
        date(2026, 12, 1), date(2027, 1, 1)
    )


def test_previous_period_has_equal_length() -> None:
    period = Period(date(2026, 11, 1), date(2026, 11, 26))
    assert period.previous() == Period(date(2026, 10, 7), date(2026, 11, 1))


def test_year_before_clamps_leap_day() -> None:
    assert Period(date(2028, 2, 29), date(2028, 3, 1)).year_before() == Period(
        date(2027, 2, 28), date(2027, 3, 1)
    )


def test_start_must_precede_end() -> None:
    with pytest.raises(InvalidInput):
        Period(date(2026, 5, 1), date(2026, 5, 1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026-11-22", date(2026, 11, 22)), ("22/11/2026", date(2026, 11, 22))],
)
def test_parse_day_accepts_iso_and_french(text: str, expected: date) -> None:
    assert parse_day(text) == expected


@pytest.mark.parametrize("text", ["2026-13-01", "hier", "31/02/2026", "", "2026-11-22' OR 1=1"])
def test_parse_day_refuses_garbage_with_a_message(text: str) -> None:
    with pytest.raises(InvalidInput, match="Date invalide"):
        parse_day(text)
