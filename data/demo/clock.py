"""Time arithmetic of the generator, on plain integers for speed.

Timestamps are seconds since 1970-01-01 UTC (``int``); calendar dates are day
numbers since 1970-01-01 (``int``). The centre is in Guadeloupe:
``America/Guadeloupe`` is UTC-4 all year (no daylight saving), so a local
time is the UTC time minus four hours, exactly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

CENTRE_TIMEZONE = ZoneInfo("America/Guadeloupe")
LOCAL_OFFSET_SECONDS = -4 * 3600  # local = UTC + offset
DAY = 86_400
HOUR = 3_600
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
OFFICE_OPENS = 8 * HOUR
OFFICE_CLOSES = 17 * HOUR + 30 * 60

_offset = CENTRE_TIMEZONE.utcoffset(datetime(2026, 1, 1))
assert _offset == timedelta(seconds=LOCAL_OFFSET_SECONDS), "America/Guadeloupe is UTC-4"


def day_number(day: date) -> int:
    return day.toordinal() - EPOCH_ORDINAL


def date_of(day: int) -> date:
    return date.fromordinal(day + EPOCH_ORDINAL)


def local_ts(day: int, seconds_of_day: int) -> int:
    """The UTC timestamp of a local (Guadeloupe) day and time of day."""
    return day * DAY + seconds_of_day - LOCAL_OFFSET_SECONDS


def local_day(ts: int) -> int:
    """The local calendar day of a UTC timestamp."""
    return (ts + LOCAL_OFFSET_SECONDS) // DAY


def weekday(day: int) -> int:
    """Monday 0 .. Sunday 6 (1970-01-01 was a Thursday)."""
    return (day + 3) % 7


def to_datetime(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def local_today() -> date:
    return datetime.now(CENTRE_TIMEZONE).date()


class OfficeClock:
    """Moves a staff action into office hours (weekdays, 08:00-17:30 local)."""

    def __init__(self, random: object) -> None:
        self._random = random.random  # type: ignore[attr-defined]

    def next_open(self, ts: int) -> int:
        """``ts`` if the office is open then, else a time soon after it opens."""
        day, sod = divmod(ts + LOCAL_OFFSET_SECONDS, DAY)
        if sod < OFFICE_OPENS:
            sod = OFFICE_OPENS + int(self._random() * 2 * HOUR)
        elif sod >= OFFICE_CLOSES:
            day += 1
            sod = OFFICE_OPENS + int(self._random() * 2 * HOUR)
        wd = (day + 3) % 7
        if wd >= 5:
            day += 7 - wd
        return day * DAY + sod - LOCAL_OFFSET_SECONDS


class Formats:
    """Text forms of timestamps and dates, cached (one instance per run).

    ``ts_days[ts // DAY - ts_base] + pg_times[ts % DAY]`` is the PostgreSQL
    text of a timestamp between ``first_day`` and ``last_day`` (the hot path
    of the COPY encoders); :meth:`pg_ts` works for any timestamp.
    """

    def __init__(self, first_day: int = 0, last_day: int = -1) -> None:
        self._hms = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(DAY)]
        self.pg_times = [f" {hms}+00" for hms in self._hms]
        self._days: dict[int, str] = {}
        self.ts_base = first_day
        self.ts_days = [self.day(day) for day in range(first_day, last_day + 1)]

    def day(self, day: int) -> str:
        text = self._days.get(day)
        if text is None:
            text = self._days[day] = date_of(day).isoformat()
        return text

    def pg_ts(self, ts: int) -> str:
        day, sod = divmod(ts, DAY)
        return self.day(day) + self.pg_times[sod]

    def sqlite_ts(self, ts: int) -> str:
        """SQLAlchemy's storage format of a naive UTC DateTime on SQLite."""
        day, sod = divmod(ts, DAY)
        return f"{self.day(day)} {self._hms[sod]}.000000"
