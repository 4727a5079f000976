"""The period and filters every KPI is computed for."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from data.errors import InvalidInput
from data.sqlfuncs import add_months_to

DEFAULT_TIMEZONE = "America/Guadeloupe"
DEFAULT_SLA_HOURS = 48.0
PLACEMENT_MONTHS = 6
"""The placement window of the definitions: 6 calendar months after the session's end."""


class _KpiSettings(Protocol):
    TIMEZONE: str
    TRIAGE_SLA_HOURS: float


@dataclass(frozen=True)
class KpiQuery:
    """``[start, end)`` in local calendar dates, plus the optional filters.

    ``formation`` is a formation slug; ``domaine`` (screens only) restricts
    the same figures to every formation of that ``formations.domaine``. Both
    together mean "that formation, if it is in that domain".
    """

    start: date
    end: date
    formation: str | None = None
    domaine: str | None = None
    timezone: str = DEFAULT_TIMEZONE
    sla_hours: float = DEFAULT_SLA_HOURS

    def __post_init__(self) -> None:
        if type(self.start) is not date or type(self.end) is not date:
            raise InvalidInput("La période doit être donnée par deux dates.")
        if self.start >= self.end:
            raise InvalidInput("Le début de la période doit précéder sa fin.")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"Fuseau horaire inconnu « {self.timezone} ».") from None
        if not self.sla_hours > 0:
            raise InvalidInput("Le délai de traitement doit être positif.")

    @classmethod
    def from_settings(
        cls,
        settings: _KpiSettings,
        start: date,
        end: date,
        formation: str | None = None,
        domaine: str | None = None,
    ) -> KpiQuery:
        """A query with the centre's time zone and triage SLA from the settings."""
        return cls(
            start=start,
            end=end,
            formation=formation,
            domaine=domaine,
            timezone=settings.TIMEZONE,
            sla_hours=float(settings.TRIAGE_SLA_HOURS),
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def filtered(self) -> bool:
        """True when a formation or domain filter applies."""
        return self.formation is not None or self.domaine is not None

    def previous(self) -> KpiQuery:
        """The period of equal length just before this one, same filters."""
        length = self.end - self.start
        return replace(self, start=self.start - length, end=self.start)

    def year_before(self) -> KpiQuery:
        """The same dates one year earlier (29 February becomes the 28th)."""
        return replace(self, start=_year_earlier(self.start), end=_year_earlier(self.end))

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """The UTC instants of local midnight at ``start`` and at ``end``.

        A timestamp ``t`` is in the period iff ``lo <= t < hi``.
        """
        return local_midnight_utc(self.start, self.tz), local_midnight_utc(self.end, self.tz)

    def today(self, now: datetime) -> date:
        """The local calendar date of the aware instant ``now``."""
        return now.astimezone(self.tz).date()

    def placement_window_complete(self, now: datetime) -> bool:
        """True when 6 months after the day before ``end`` is before today."""
        return self.placement_final_on() <= self.today(now)

    def placement_final_on(self) -> date:
        """The first day on which the period's 6-month placement figures are final:
        ``(end - 1 day) + 6 months + 1 day``."""
        return add_months_to(self.end - timedelta(days=1), PLACEMENT_MONTHS) + timedelta(days=1)

    def placement_closed_shift_months(self, now: datetime) -> int:
        """``k``: the fewest whole months the period must move back for its
        placement window to be over (0 when it already is).

        The smallest ``k >= 0`` with ``((end ⊖ k) - 1 day) + 6 months < today``,
        where ``⊖`` subtracts calendar months clamped to the month's last day.
        The condition only grows truer as ``k`` grows, so the first ``k`` that
        meets it is the answer; it is at most the months from today to ``end``
        plus 7.
        """
        today = self.today(now)
        k = 0
        while (
            add_months_to(add_months_to(self.end, -k) - timedelta(days=1), PLACEMENT_MONTHS)
            >= today
        ):
            k += 1
        return k

    def shifted_bounds(self, months: int) -> tuple[date, date]:
        """``(start ⊖ months, end ⊖ months)``. Clamping to the month's last day can
        bring the two together (``[30 March, 31 March)`` one month back): the
        shifted period is then empty."""
        return add_months_to(self.start, -months), add_months_to(self.end, -months)

    def placement_closed_bounds(self, now: datetime) -> tuple[date, date]:
        """The closed cohort period ``C = [start ⊖ k, end ⊖ k)``, ``k`` being
        :meth:`placement_closed_shift_months`: the period moved back until every
        member of its placement cohort has had its full 6 months."""
        return self.shifted_bounds(self.placement_closed_shift_months(now))

    def placement_closed(self, now: datetime) -> KpiQuery | None:
        """``C`` as a query with the same filters; None when ``C`` is empty."""
        start, end = self.placement_closed_bounds(now)
        if (start, end) == (self.start, self.end):
            return self
        return replace(self, start=start, end=end) if start < end else None


def local_midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``tz``, in UTC.

    Where a zone skips midnight (a daylight-saving jump at 00:00), zoneinfo
    reads the missing wall time with the offset in force before the jump,
    which is exactly the instant of the jump: still the first local instant
    of ``day``.
    """
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _year_earlier(day: date) -> date:
    if day.month == 2 and day.day == 29:
        return date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def utc_now() -> datetime:
    return datetime.now(UTC)


def aware(now: datetime | None) -> datetime:
    """``now`` checked to be timezone-aware, or the current instant."""
    if now is None:
        return utc_now()
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now
