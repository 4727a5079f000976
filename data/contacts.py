"""Contact-form messages: the list (untreated first), marking treated and back, replies.

Marking a message treated writes ``traite_par`` and ``traite_at`` with one
audit row in one transaction; it is conditional on the message still being
untreated, and the undo on the ``traite_at`` displayed, so two people never
silently overwrite each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal
from urllib.parse import quote, urlencode

from sqlalchemy import ColumnElement, Connection, Engine, Select, literal_column, select, update

from data import audit
from data.acting import acting_account
from data.conflicts import changed_meanwhile, gone_meanwhile, person
from data.db import translate_errors
from data.errors import NotFound
from data.formatting import day
from data.models import Contact, User
from data.permissions import Actor, require
from data.settings import get_settings
from data.text_search import matches_search

StatusFilter = Literal["a-traiter", "traites", "tous"]
STATUS_FILTERS: Final[dict[str, str]] = {
    "a-traiter": "À traiter",
    "traites": "Traités",
    "tous": "Tous",
}
LIST_LIMIT: Final = 200
QUOTE_CHARS: Final = 1200
EMAIL_PATTERN: Final = re.compile(
    r"^[^@\s<>()\[\]\"',;:?&/\\%#]+@[^@\s<>()\[\]\"',;:?&/\\%#]+\.[A-Za-z]{2,}$"
)


@dataclass(frozen=True)
class ContactRow:
    id: int
    created_at: datetime
    nom: str
    email: str
    telephone: str | None
    sujet: str
    message: str
    traite_at: datetime | None
    traite_par: str | None

    @property
    def treated(self) -> bool:
        return self.traite_at is not None


@dataclass(frozen=True)
class ContactResult:
    contact_id: int
    traite_at: datetime | None
    message: str


def _haystack() -> ColumnElement[str]:
    space: ColumnElement[str] = literal_column("' '")
    c = Contact
    return (
        c.nom.op("||")(space)
        .op("||")(c.email)
        .op("||")(space)
        .op("||")(c.sujet)
        .op("||")(space)
        .op("||")(c.message)
    )


def contact_messages(
    engine: Engine, *, status: StatusFilter = "tous", search: str = "", limit: int = LIST_LIMIT
) -> tuple[ContactRow, ...]:
    """Messages, untreated first (oldest waiting first), then treated (latest first)."""
    c = Contact
    searched = matches_search(_haystack(), search)
    base = _selected().limit(limit)
    if searched is not None:
        base = base.where(searched)
    untreated = base.where(c.traite_at.is_(None)).order_by(c.created_at, c.id)
    treated = base.where(c.traite_at.is_not(None)).order_by(c.created_at.desc(), c.id.desc())
    rows: list[Any] = []
    with translate_errors(), engine.connect() as connection:
        if status in ("a-traiter", "tous"):
            rows.extend(connection.execute(untreated).all())
        if status in ("traites", "tous") and len(rows) < limit:
            rows.extend(connection.execute(treated.limit(limit - len(rows))).all())
    return tuple(_row(r) for r in rows)


def _selected() -> Select[*tuple[Any, ...]]:
    """The columns of a :class:`ContactRow`, with the name of who treated the message."""
    c = Contact
    return select(
        c.id,
        c.created_at,
        c.nom,
        c.email,
        c.telephone,
        c.sujet,
        c.message,
        c.traite_at,
        User.prenom,
        User.nom,
    ).outerjoin(User, User.id == c.traite_par)


def _row(r: Any) -> ContactRow:
    by = None
    if r[7] is not None:
        by = f"{r[8] or ''} {r[9] or ''}".strip() or None
    return ContactRow(
        id=r[0],
        created_at=r[1],
        nom=r[2],
        email=r[3],
        telephone=r[4],
        sujet=r[5],
        message=r[6],
        traite_at=r[7],
        traite_par=by,
    )


def contact_message(engine: Engine, contact_id: int) -> ContactRow:
    statement = _selected().where(Contact.id == contact_id)
    with translate_errors(), engine.connect() as connection:
        row = connection.execute(statement).first()
    if row is None:
        raise NotFound(f"Le message n° {contact_id} n'existe pas.")
    return _row(tuple(row))


def _changed(connection: Connection, contact_id: int, what: str) -> Exception:
    row = connection.execute(
        select(Contact.traite_at, User.prenom, User.nom)
        .outerjoin(User, User.id == Contact.traite_par)
        .where(Contact.id == contact_id)
    ).first()
    if row is None:
        return NotFound(f"Le message n° {contact_id} n'existe pas.")
    if row[0] is None:
        return gone_meanwhile(f"Message n° {contact_id} {what} entre-temps")
    return changed_meanwhile(
        f"Message n° {contact_id}", "traité", who=person(row[1], row[2]), at=row[0]
    )


def mark_treated(
    engine: Engine, *, actor: Actor, contact_id: int, now: datetime | None = None
) -> ContactResult:
    """Mark a message treated by ``actor`` (refused if someone already did)."""
    require(actor, "messages.write")
    stamp = now or datetime.now(UTC)
    c = Contact
    with translate_errors(), engine.begin() as connection:
        actor = acting_account(connection, actor, "messages.write")
        result = connection.execute(
            update(c)
            .where(c.id == contact_id, c.traite_at.is_(None))
            .values(traite_par=actor.id, traite_at=stamp)
        )
        if result.rowcount != 1:
            raise _changed(connection, contact_id, "modifié")
        audit.record(
            connection,
            actor=actor,
            action="contact.treated",
            entity="contacts",
            entity_id=contact_id,
            details={"traite_at": stamp.isoformat()},
            at=stamp,
        )
    return ContactResult(contact_id, stamp, f"Message n° {contact_id} marqué comme traité.")


def mark_untreated(
    engine: Engine,
    *,
    actor: Actor,
    contact_id: int,
    expected_traite_at: datetime,
    now: datetime | None = None,
) -> ContactResult:
    """Undo "treated": back to the list of messages to treat (as displayed, or refused)."""
    require(actor, "messages.write")
    c = Contact
    with translate_errors(), engine.begin() as connection:
        actor = acting_account(connection, actor, "messages.write")
        previous = connection.execute(
            select(c.traite_par).where(c.id == contact_id, c.traite_at == expected_traite_at)
        ).first()
        result = connection.execute(
            update(c)
            .where(c.id == contact_id, c.traite_at == expected_traite_at)
            .values(traite_par=None, traite_at=None)
        )
        if previous is None or result.rowcount != 1:
            raise _changed(connection, contact_id, "remis à traiter")
        audit.record(
            connection,
            actor=actor,
            action="contact.untreated",
            entity="contacts",
            entity_id=contact_id,
            at=now or datetime.now(UTC),
            details={
                "previous_traite_par": previous[0],
                "previous_traite_at": expected_traite_at.isoformat(),
            },
        )
    return ContactResult(
        contact_id, None, f"Message n° {contact_id} remis dans les messages à traiter."
    )


def valid_email(address: str) -> bool:
    return bool(EMAIL_PATTERN.match(address.strip())) and len(address) <= 254


def reply_link(message: ContactRow) -> str | None:
    """A ``mailto:`` link answering the message, every part URL-encoded; None for a bad address."""
    address = message.email.strip()
    if not valid_email(address):
        return None
    received = day(message.created_at, get_settings().tz)
    quoted = "\n".join(f"> {line}" for line in message.message[:QUOTE_CHARS].splitlines())
    body = f"Bonjour {message.nom},\n\n\n\n--- Votre message du {received} ---\n{quoted}"
    query = urlencode({"subject": f"Re : {message.sujet}"[:200], "body": body}, quote_via=quote)
    return f"mailto:{quote(address, safe='@')}?{query}"
