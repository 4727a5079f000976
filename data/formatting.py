"""French formatting of money, numbers, percentages, dates and durations.

The one place where figures become text: screens, PDF, Excel headers and
emails all call these. Separators are the no-break space U+00A0 (babel's
narrow U+202F has no glyph in the PDF's standard fonts).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.numbers import format_currency, format_decimal, format_percent

LOCALE = "fr_FR"
NBSP = "\u00a0"
MISSING = "—"

Number = int | float | Decimal


def _spaces(text: str) -> str:
    return text.replace("\u202f", NBSP)


def money(value: Number | None, *, decimals: int = 2) -> str:
    """``1234.5`` → ``1 234,50 €``."""
    if value is None:
        return MISSING
    pattern = "#,##0.00\u00a0¤" if decimals == 2 else "#,##0\u00a0¤"
    return _spaces(
        format_currency(value, "EUR", format=pattern, locale=LOCALE, currency_digits=False)
    )


def money_short(value: Number | None) -> str:
    """A headline amount that fits a card: whole euros below a million (``123 457 €``),
    then millions and billions with two decimals (``1,92 M€``, ``1,92 Md€``)."""
    if value is None:
        return MISSING
    size = abs(Decimal(str(value)))
    for scale, unit in ((Decimal(10) ** 9, "Md€"), (Decimal(10) ** 6, "M€")):
        if size >= scale:
            return f"{number(Decimal(str(value)) / scale, decimals=2)}{NBSP}{unit}"
    return money(value, decimals=0)


def number(value: Number | None, *, decimals: int = 0) -> str:
    """``1234`` → ``1 234``; ``3.14159, decimals=1`` → ``3,1``."""
    if value is None:
        return MISSING
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return _spaces(format_decimal(value, format=pattern, locale=LOCALE))


def percent(rate: Number | None, *, decimals: int = 1) -> str:
    """A fraction in [0, 1] as ``31,2 %``; ``None`` (no denominator) as a dash."""
    if rate is None:
        return MISSING
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + "\u00a0%"
    return _spaces(format_percent(rate, format=pattern, locale=LOCALE))


def signed_percent_points(delta: Number | None) -> str:
    """A difference of two rates in points: ``+2,4 pts``."""
    if delta is None:
        return MISSING
    value = float(delta) * 100
    sign = "+" if value > 0 else ("−" if value < 0 else "")
    return f"{sign}{number(abs(value), decimals=1)}{NBSP}pts"


def day(value: date | datetime | None, tz: ZoneInfo | None = None) -> str:
    """``22/11/2026``; a timestamp is first put in ``tz`` (the centre's zone)."""
    if value is None:
        return MISSING
    if isinstance(value, datetime):
        value = (value.astimezone(tz) if tz is not None else value).date()
    return value.strftime("%d/%m/%Y")


def timestamp(value: datetime | None, tz: ZoneInfo) -> str:
    """``22/11/2026 14:05`` in the centre's time zone."""
    if value is None:
        return MISSING
    return value.astimezone(tz).strftime("%d/%m/%Y %H:%M")


def clock(value: datetime, tz: ZoneInfo) -> str:
    """``14:05`` in the centre's time zone."""
    return value.astimezone(tz).strftime("%H:%M")


def hours(value: Number | None) -> str:
    """A duration in hours: ``5,2 h``; a day or more: ``2 j 3 h``."""
    if value is None:
        return MISSING
    total = float(value)
    if total < 24:
        return f"{number(total, decimals=1)}{NBSP}h"
    days, rest = divmod(round(total), 24)
    return f"{days}{NBSP}j {rest}{NBSP}h" if rest else f"{days}{NBSP}j"


def elapsed(seconds: Number | None) -> str:
    """A short duration: ``45 s``, ``12 min``, ``3,5 h``, ``2 j 3 h``."""
    if seconds is None:
        return MISSING
    total = max(float(seconds), 0.0)
    if total < 60:
        return f"{round(total)}{NBSP}s"
    if total < 3600:
        return f"{round(total / 60)}{NBSP}min"
    return hours(total / 3600)


MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def month_label(value: date) -> str:
    """``novembre 2026``."""
    return f"{MONTHS[value.month - 1]} {value.year}"


def count_of(value: Number, singular: str, plural: str | None = None) -> str:
    """``1 offre``, ``2 offres``, ``1 234 offres``: French agreement (0 and 1 take the
    singular); ``plural`` when it is not the singular plus "s"."""
    word = singular if abs(float(value)) < 2 else (plural or f"{singular}s")
    return f"{number(value)}{NBSP}{word}"
