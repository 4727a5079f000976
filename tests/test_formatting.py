"""French formatting (``data.formatting``): the one place where figures become text."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from data import formatting as fmt

S = "\u00a0"  # the no-break space every separator uses
GUADELOUPE = ZoneInfo("America/Guadeloupe")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1234.56, f"1{S}234,56{S}€"),
        (Decimal("-1500"), f"-1{S}500,00{S}€"),
        (0, f"0,00{S}€"),
        (None, "—"),
    ],
)
def test_money_in_french(value: Any, expected: str) -> None:
    assert fmt.money(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("123456.78"), f"123{S}457{S}€"),
        (Decimal("999999.40"), f"999{S}999{S}€"),
        (Decimal("1920856.12"), f"1,92{S}M€"),
        (Decimal("-745988562"), f"-745,99{S}M€"),
        (Decimal("1920856123.50"), f"1,92{S}Md€"),
        (None, "—"),
    ],
)
def test_money_short_fits_a_card(value: Any, expected: str) -> None:
    assert fmt.money_short(value) == expected


def test_numbers_and_rates_in_french() -> None:
    assert fmt.number(1234567) == f"1{S}234{S}567"
    assert fmt.number(3.14159, decimals=1) == "3,1"
    assert fmt.percent(0.312) == f"31,2{S}%"
    assert fmt.percent(None) == "—"
    assert fmt.signed_percent_points(0.024) == f"+2,4{S}pts"
    assert fmt.signed_percent_points(-0.1) == f"−10,0{S}pts"


def test_dates_are_local_to_the_centre() -> None:
    # 02:30 UTC on the 23rd is still the 22nd in Guadeloupe (UTC-4).
    late = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
    assert fmt.day(late, GUADELOUPE) == "22/11/2026"
    assert fmt.timestamp(late, GUADELOUPE) == "22/11/2026 22:30"
    assert fmt.clock(late, GUADELOUPE) == "22:30"
    assert fmt.day(date(2026, 1, 5)) == "05/01/2026"
    assert fmt.month_label(date(2026, 8, 1)) == "août 2026"


def test_durations_in_hours_then_days() -> None:
    assert fmt.hours(5.24) == f"5,2{S}h"
    assert fmt.hours(51) == f"2{S}j 3{S}h"
    assert fmt.hours(48) == f"2{S}j"
    assert fmt.hours(None) == "—"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0\u00a0offre"),
        (1, "1\u00a0offre"),
        (2, "2\u00a0offres"),
        (1234, "1\u202f234\u00a0offres"),
    ],
)
def test_counts_agree_in_french(value: int, expected: str) -> None:
    from data.formatting import count_of, number

    assert count_of(value, "offre") == expected.replace("1\u202f234", number(1234))
    assert count_of(3, "parcours terminé", "parcours terminés") == "3\u00a0parcours terminés"
