"""Alert emails: immediate notices and the daily digest, each sent at most once.

Immediate: a notice whose user chose "email immédiat" is written with
``email_status = 'pending'``; the scheduler claims it (conditional UPDATE to
``sending``) before the SMTP call and writes the outcome after. A notice found
``sending`` by a later step (its process stopped or crashed in between) is
marked ``interrupted``: the message may have left, so it is never resent blindly.

Digest: one email per user per local day, at the hour the user chose (08:00
by default), claimed by a unique (user, day) row before anything is sent,
listing what is new since the last digest and what is still open; a day with
nothing to say is recorded ``skipped`` and sends nothing.

Emails carry the subject's French label (what the recipient's role may see)
and a link into the dashboard (``DASHBOARD_URL``); never an applicant's
contact details.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from data import formatting
from data.alerts import lifecycle as lc
from data.alerts.evaluate import preference_modes
from data.alerts.rules import RULE_KINDS
from data.db import translate_errors
from data.models import STAFF_ROLES, User
from data.owned import Alert, AlertDigest, AlertPreference, AlertRule, Notification
from data.settings import Settings
from reports.mail import DeliveryError, DeliveryUncertain, Transport, build_message
from reports.model import CENTRE_NAME
from reports.runs import worker_name

log = logging.getLogger(__name__)

SENDING_TIMEOUT: Final = timedelta(minutes=10)
INTERRUPTED_NOTICE: Final = (
    "Envoi interrompu (arrêt du service pendant l'envoi) : l'email a pu partir ; "
    "il n'est pas renvoyé automatiquement."
)
DEFAULT_DIGEST_HOUR: Final = 8


def deep_link(settings: Settings, link: str | None) -> str:
    base = settings.DASHBOARD_URL.rstrip("/")
    return f"{base}/{link}" if link else f"{base}/notifications"


def _footer() -> list[str]:
    return [
        "",
        "Vous recevez ce message selon vos préférences de notification "
        "(page « Notifications » du tableau de bord).",
        f"Message automatique du tableau de bord du {CENTRE_NAME}.",
    ]


# --- Immediate notices ------------------------------------------------------------------


def recover_sending(engine: Engine, *, now: datetime, at_start: bool = False) -> int:
    """Notices and digests left ``sending`` by a stopped process become ``interrupted``.

    ``at_start``: every one (this process just became the active scheduler: no
    other is sending); otherwise only those claimed more than
    :data:`SENDING_TIMEOUT` ago.
    """
    cutoff = now if at_start else now - SENDING_TIMEOUT
    with translate_errors(), engine.begin() as connection:
        notices = connection.execute(
            update(Notification)
            .where(Notification.email_status == "sending", Notification.emailed_at <= cutoff)
            .values(email_status="interrupted", email_error=INTERRUPTED_NOTICE)
        ).rowcount
        digests = connection.execute(
            update(AlertDigest)
            .where(AlertDigest.status == "sending", AlertDigest.claimed_at <= cutoff)
            .values(status="interrupted", finished_at=now, error=INTERRUPTED_NOTICE)
        ).rowcount
    return int(notices) + int(digests)


def _claim_notice(engine: Engine, notice_id: int, now: datetime) -> bool:
    with translate_errors(), engine.begin() as connection:
        claimed = connection.execute(
            update(Notification)
            .where(Notification.id == notice_id, Notification.email_status == "pending")
            .values(email_status="sending", emailed_at=now)
        ).rowcount
    return claimed == 1


def _finish_notice(
    engine: Engine, notice_id: int, status: str, now: datetime, error: str | None = None
) -> None:
    with translate_errors(), engine.begin() as connection:
        connection.execute(
            update(Notification)
            .where(Notification.id == notice_id, Notification.email_status == "sending")
            .values(email_status=status, emailed_at=now, email_error=error)
        )


def _notice_body(settings: Settings, title: str, link: str | None) -> str:
    lines = ["Bonjour,", "", title, "", f"Ouvrir : {deep_link(settings, link)}", *_footer()]
    return "\n".join(lines) + "\n"


def _send(transport: Transport, message: Any) -> tuple[str, str | None]:
    """Hand one message over; the status to record and the error text."""
    try:
        transport.send(message)
    except DeliveryUncertain as exc:
        return "interrupted", exc.message
    except DeliveryError as exc:
        return "failed", exc.message
    return "sent", None


def send_immediate(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    transport: Transport,
    limit: int = 200,
    stop: threading.Event | None = None,
) -> int:
    """Email the notices waiting for an immediate email; returns how many were accepted.
    ``stop`` (SIGTERM) is checked before each claim: what is not claimed waits."""
    with translate_errors(), engine.connect() as connection:
        waiting = connection.execute(
            select(Notification.id, Notification.title, Notification.link, User.email)
            .join(User, User.id == Notification.user_id)
            .where(Notification.email_status == "pending")
            .order_by(Notification.id)
            .limit(limit)
        ).all()
    sent = 0
    for row in waiting:
        if stop is not None and stop.is_set():
            break
        if not _claim_notice(engine, row.id, now):
            continue  # another process has it
        message = build_message(
            sender=settings.SMTP_FROM,
            recipient=row.email,
            subject=f"{CENTRE_NAME} — {row.title}"[:250],
            body=_notice_body(settings, row.title, row.link),
        )
        status, error = _send(transport, message)
        _finish_notice(engine, row.id, status, datetime.now(now.tzinfo), error)
        sent += status == "sent"
    return sent


# --- Daily digest ----------------------------------------------------------------------


@dataclass(frozen=True)
class DigestItems:
    new: tuple[tuple[int, str, str | None], ...]  # notice id, title, link
    still_open: tuple[tuple[str, str, str | None], ...]  # rule title, subject, link

    @property
    def empty(self) -> bool:
        return not self.new and not self.still_open


def _digest_users(engine: Engine) -> dict[int, tuple[str, int, tuple[str, ...]]]:
    """Active staff with at least one kind in digest mode: email, hour, digest kinds."""
    with translate_errors(), engine.connect() as connection:
        users = connection.execute(
            select(User.id, User.email).where(User.role.in_(STAFF_ROLES), User.actif.is_(True))
        ).all()
        hours: dict[int, list[int]] = {}
        for row in connection.execute(
            select(AlertPreference.user_id, AlertPreference.digest_hour).where(
                AlertPreference.mode == "digest"
            )
        ):
            hours.setdefault(row.user_id, []).append(row.digest_hour)
        result = {}
        for user in users:
            modes: dict[str, str] = {}
            for kind in RULE_KINDS:
                modes[kind] = preference_modes(connection, [user.id], kind)[user.id]
            kinds = tuple(k for k, m in modes.items() if m == "digest")
            if kinds:
                hour = min(hours.get(user.id, [DEFAULT_DIGEST_HOUR]))
                result[user.id] = (user.email, hour, kinds)
    return result


def digest_items(engine: Engine, user_id: int, kinds: Sequence[str]) -> DigestItems:
    """What a user's digest lists: notices not yet digested, and open alerts addressed to them."""
    with translate_errors(), engine.connect() as connection:
        new = connection.execute(
            select(Notification.id, Notification.title, Notification.link)
            .where(
                Notification.user_id == user_id,
                Notification.email_status == "digest",
                Notification.rule_kind.in_(kinds),
            )
            .order_by(Notification.id)
        ).all()
        open_rows = connection.execute(
            select(AlertRule.title, Alert.subject_label, Alert.link, Alert.recipients)
            .join(AlertRule, AlertRule.id == Alert.rule_id)
            .where(
                Alert.state.in_((lc.FIRING, lc.SNOOZED, lc.ACKNOWLEDGED)),
                AlertRule.kind.in_(kinds),
            )
            .order_by(Alert.opened_at, Alert.id)
        ).all()
    return DigestItems(
        new=tuple((row.id, row.title, row.link) for row in new),
        still_open=tuple(
            (row.title, row.subject_label, row.link)
            for row in open_rows
            if user_id in (row.recipients or [])
        ),
    )


def _digest_body(settings: Settings, day: date, items: DigestItems) -> str:
    lines = ["Bonjour,", "", f"Voici le résumé des alertes du {formatting.day(day)}."]
    if items.new:
        lines += ["", "Nouveau depuis le dernier résumé :"]
        lines += [f"- {title}\n  {deep_link(settings, link)}" for _, title, link in items.new]
    if items.still_open:
        lines += ["", "Toujours en cours :"]
        lines += [
            f"- {rule} : {subject}\n  {deep_link(settings, link)}"
            for rule, subject, link in items.still_open
        ]
    lines += _footer()
    return "\n".join(lines) + "\n"


def _claim_digest(engine: Engine, user_id: int, day: date, now: datetime) -> int | None:
    with translate_errors():
        try:
            with engine.begin() as connection:
                return int(
                    connection.execute(
                        insert(AlertDigest)
                        .values(
                            user_id=user_id,
                            day=day,
                            status="sending",
                            claimed_by=worker_name(),
                            claimed_at=now,
                        )
                        .returning(AlertDigest.id)
                    ).scalar_one()
                )
        except IntegrityError:
            return None  # already claimed today (by this process or another)


def _finish_digest(
    engine: Engine,
    digest_id: int,
    status: str,
    now: datetime,
    *,
    items: DigestItems,
    error: str | None = None,
) -> None:
    with translate_errors(), engine.begin() as connection:
        connection.execute(
            update(AlertDigest)
            .where(AlertDigest.id == digest_id, AlertDigest.status == "sending")
            .values(
                status=status,
                finished_at=now,
                error=error,
                items=len(items.new) + len(items.still_open),
            )
        )
        if status != "failed" and items.new:
            connection.execute(
                update(Notification)
                .where(
                    Notification.id.in_([notice_id for notice_id, _, _ in items.new]),
                    Notification.email_status == "digest",
                )
                .values(email_status="digested", emailed_at=now)
            )


def send_digests(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    transport: Transport,
    stop: threading.Event | None = None,
) -> int:
    """Send the digests due at ``now`` (each user's hour has come, today's not yet claimed)."""
    tz = ZoneInfo(settings.TIMEZONE)
    local = now.astimezone(tz)
    sent = 0
    for user_id, (address, hour, kinds) in sorted(_digest_users(engine).items()):
        if stop is not None and stop.is_set():
            break
        if local.hour < hour:
            continue
        with translate_errors(), engine.connect() as connection:
            done = connection.execute(
                select(AlertDigest.id).where(
                    AlertDigest.user_id == user_id, AlertDigest.day == local.date()
                )
            ).first()
        if done is not None:
            continue
        digest_id = _claim_digest(engine, user_id, local.date(), now)
        if digest_id is None:
            continue
        items = digest_items(engine, user_id, kinds)
        if items.empty:
            _finish_digest(engine, digest_id, "skipped", now, items=items)
            continue
        message = build_message(
            sender=settings.SMTP_FROM,
            recipient=address,
            subject=f"{CENTRE_NAME} — Résumé des alertes du {formatting.day(local.date())}",
            body=_digest_body(settings, local.date(), items),
        )
        status, error = _send(transport, message)
        _finish_digest(engine, digest_id, status, now, items=items, error=error)
        sent += status == "sent"
    return sent
