"""The one "changed meanwhile" message of every write that lost a race.

A write compares the version the user saw with the row as it is; when someone
else got there first, nothing is written and the user reads who changed it and
when, in the centre's time zone: "Candidature n° 12 modifiée par Sonia Séraphin
à 14:45 — rechargez." Triage, matching and contact messages all build it here.
"""

from __future__ import annotations

from datetime import datetime

from data.errors import Conflict
from data.formatting import clock
from data.settings import get_settings

ANOTHER_USER = "un autre utilisateur"


def person(first_name: str | None, last_name: str | None, *, unknown: str = ANOTHER_USER) -> str:
    """Who made a change, as the message names them."""
    return f"{first_name or ''} {last_name or ''}".strip() or unknown


def changed_meanwhile(subject: str, verb: str, *, who: str, at: datetime | None) -> Conflict:
    """``<subject> <verb> par <who> à <HH:MM> — rechargez.``"""
    when = clock(at, get_settings().tz) if at is not None else "?"
    return Conflict(f"{subject} {verb} par {who} à {when} — rechargez.")


def gone_meanwhile(sentence: str) -> Conflict:
    """A row that vanished or changed in a way nobody signed: ``<sentence> — rechargez.``"""
    return Conflict(f"{sentence} — rechargez.")
