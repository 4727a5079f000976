"""Period presets and parsing."""

from __future__ import annotations

from datetime import date

import pytest

from data.errors import InvalidInput
from data.kpis.query import KpiQuery
from data.periods import Period, custom_period, parse_day, preset_period

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


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (date(1900, 1, 1), date(2100, 1, 1), "dates hors limites"),
        (date(1, 1, 1), date(1, 2, 1), "dates hors limites"),
        (date(2026, 1, 1), date(9999, 12, 31), "dates hors limites"),
        (date(2010, 1, 1), date(2020, 1, 2), "période trop longue \\(10 ans au plus\\)"),
        (date(2026, 2, 1), date(2026, 1, 1), "La date de début doit précéder"),
    ],
)
def test_a_custom_period_is_capped(start: date, end: date, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        custom_period(start, end)


def test_ten_years_is_allowed_and_its_comparison_periods_compute() -> None:
    period = custom_period(date(2016, 1, 1), date(2026, 1, 1))
    query = KpiQuery(period.start, period.end)
    assert query.previous().start == date(2005, 12, 31)
    assert query.year_before().start == date(2015, 1, 1)
