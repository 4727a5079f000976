"""Email of reports: French message composition and two transports.

Transports raise a single error type, :class:`DeliveryError`, whose
``permanent`` flag tells the caller whether a retry can help (a refused
address: no; a server that does not answer: yes). ``SmtpTransport`` talks to
the configured server; ``OutboxTransport`` writes ``.eml`` files into the
local outbox, the default when ``SMTP_HOST`` is not set.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import socket
import ssl
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from data import formatting
from data.settings import Settings
from data.sqlfuncs import add_months_to
from reports.display import figure_line, period_text
from reports.model import CENTRE_NAME, Report

OUTBOX_OUTCOME = "déposé dans la boîte d'envoi locale"
RUN_HEADER = "X-CIPFARO-Run"  # "<schedule id>/<due time, UTC>": which run a message belongs to
MIME_TYPES = {
    ".pdf": ("application", "pdf"),
    ".xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".csv": ("text", "csv"),
}


class DeliveryError(Exception):
    """A message was not accepted. ``permanent``: retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class DeliveryUncertain(Exception):
    """The connection was lost while the message was being handed over: the server
    may have accepted it. Never retried automatically (it could arrive twice).
    ``message`` names the server and the error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ReportFile:
    """A rendered report file (PDF, Excel), in memory: small, kept in the database."""

    filename: str
    content: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def suffix(self) -> str:
        return Path(self.filename).suffix.lower()


@dataclass(frozen=True)
class MailContent:
    """What every recipient of a run receives (one message per recipient)."""

    subject: str
    body: str
    attachments: tuple[ReportFile, ...]
    omitted: tuple[ReportFile, ...]


class Transport(Protocol):
    """Sends one message; returns a short French outcome or raises DeliveryError."""

    def send(self, message: EmailMessage) -> str: ...

    def abort(self) -> None:
        """Cut the hand-over in progress, from another thread (a stop that cannot wait)."""


# --- Composition -----------------------------------------------------------------


def size_text(size: int) -> str:
    """``12,4 Mo`` / ``85 Ko`` (binary units, as the limit is configured)."""
    if size >= 1024 * 1024:
        return f"{formatting.number(size / (1024 * 1024), decimals=1)}{formatting.NBSP}Mo"
    return f"{formatting.number(max(1, round(size / 1024)))}{formatting.NBSP}Ko"


def subject_for(report: Report, *, late: bool = False, schedule_name: str | None = None) -> str:
    """``[En retard] CIP FARO — <schedule> — <report> — <period>``: the schedule's name tells
    apart the copies of one report sent by two schedules."""
    if report.start.day == 1 and report.end == add_months_to(report.start, 1):
        when = formatting.month_label(report.start)
    else:
        when = period_text(report)
    prefix = "[En retard] " if late else ""
    named = schedule_name and schedule_name.casefold() != report.title.casefold()
    origin = f"{schedule_name} — " if named else ""
    return f"{prefix}{CENTRE_NAME} — {origin}{report.title} — {when}"


def run_reference(schedule_id: int, due_at: datetime) -> str:
    """The value of :data:`RUN_HEADER`: ``12/2026-11-20T07:00:00Z``."""
    return f"{schedule_id}/{due_at.astimezone(UTC).isoformat().replace('+00:00', 'Z')}"


def compose_report_email(
    report: Report,
    files: Sequence[ReportFile],
    *,
    max_attachment_bytes: int,
    tz: ZoneInfo,
    schedule_name: str | None = None,
    late_due_at: datetime | None = None,
) -> MailContent:
    """The subject and body (key figures inline) and which files fit as attachments."""
    attached = tuple(f for f in files if f.size <= max_attachment_bytes)
    omitted = tuple(f for f in files if f.size > max_attachment_bytes)
    lines = ["Bonjour,", ""]
    lines.append(f"Voici « {report.title} » du {CENTRE_NAME}, période {period_text(report)}.")
    if report.formation:
        lines.append(f"Formation : {report.formation_label or report.formation}.")
    if late_due_at is not None:
        lines.append(
            f"Ce rapport était prévu le {formatting.timestamp(late_due_at, tz)} ; il part en "
            "retard, après une interruption du service d'envoi."
        )
    if report.key_figures:
        lines += ["", "Chiffres clés :"]
        lines += [f"- {figure_line(figure)}" for figure in report.key_figures]
    if attached:
        names = ", ".join(f"{f.filename} ({size_text(f.size)})" for f in attached)
        lines += ["", f"En pièce jointe : {names}."]
    for file in omitted:
        lines += [
            "",
            f"Le fichier {file.filename} ({size_text(file.size)}) dépasse la taille maximale "
            f"d'une pièce jointe ({size_text(max_attachment_bytes)}) : il n'est pas joint à ce "
            "message. Il reste téléchargeable depuis le tableau de bord, page « Rapports ».",
        ]
    origin = f" (planification « {schedule_name} »)" if schedule_name else ""
    lines += [
        "",
        f"Message envoyé automatiquement par le tableau de bord du {CENTRE_NAME}{origin}.",
    ]
    return MailContent(
        subject=subject_for(report, late=late_due_at is not None, schedule_name=schedule_name),
        body="\n".join(lines) + "\n",
        attachments=attached,
        omitted=omitted,
    )


def build_message(
    *,
    sender: str,
    recipient: str,
    subject: str,
    body: str,
    attachments: Sequence[ReportFile] = (),
    run: str | None = None,
) -> EmailMessage:
    """One message to one recipient (so each outcome is recorded on its own).

    ``run`` (see :func:`run_reference`) goes into the :data:`RUN_HEADER`
    header, so a recipient, a mail filter or a person checking a doubtful
    delivery can tell which run a copy belongs to.
    """
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = sender.rsplit("@", 1)[-1] if "@" in sender else "cipfaro.local"
    message["Message-ID"] = make_msgid(domain=domain)
    if run is not None:
        message[RUN_HEADER] = run
    message.set_content(body)
    for file in attachments:
        maintype, subtype = MIME_TYPES.get(file.suffix, ("application", "octet-stream"))
        message.add_attachment(
            file.content, maintype=maintype, subtype=subtype, filename=file.filename
        )
    return message


# --- Transports -------------------------------------------------------------------


def _classify(exc: Exception, where: str) -> DeliveryError:
    """A DeliveryError for an smtplib/socket failure: 5xx is permanent, the rest is not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in exc.recipients.values()]
        details = "; ".join(
            f"{address} : {code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
            for address, (code, text) in exc.recipients.items()
        )
        return DeliveryError(
            f"Destinataire refusé par {where} ({details})", permanent=min(codes) >= 500
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        text = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return DeliveryError(
            f"{where} a répondu {exc.smtp_code} {text}", permanent=exc.smtp_code >= 500
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryError(f"{where} : {exc}", permanent=True)
    return DeliveryError(
        f"{where} injoignable : {type(exc).__name__} {exc}".strip(), permanent=False
    )


class SmtpTransport:
    """Sends through an SMTP server: STARTTLS, implicit TLS (``ssl``) or plain (``none``)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: Literal["starttls", "ssl", "none"] = "starttls",
        user: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        allow_plaintext_login: bool = False,
    ) -> None:
        self.host, self.port, self.security = host, port, security
        self.user, self.password, self.timeout = user, password, timeout
        self.allow_plaintext_login = allow_plaintext_login
        self._guard = threading.Lock()
        self._in_progress: smtplib.SMTP | None = None
        self._aborted = False

    @property
    def where(self) -> str:
        return f"le serveur SMTP {self.host}:{self.port}"

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            context = ssl.create_default_context()
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp

    def check(self) -> str:
        """Connect, secure, sign in and leave without sending: the operations page's test.
        Returns a French sentence; raises :class:`DeliveryError` saying what failed."""
        try:
            smtp = self._connect()
            try:
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.noop()
            finally:
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    smtp.quit()
        except (smtplib.SMTPException, OSError) as exc:
            raise _classify(exc, self.where) from exc
        signed = f", connexion de {self.user} acceptée" if self.user else ""
        return f"{self.where[0].upper()}{self.where[1:]} répond ({self.security}{signed})."

    def send(self, message: EmailMessage) -> str:
        if self.user and self.security == "none" and not self.allow_plaintext_login:
            raise DeliveryError(
                f"{self.where} : connexion non chiffrée, le mot de passe SMTP n'est pas envoyé "
                "en clair (SMTP_SECURITY = starttls ou ssl ; SMTP_ALLOW_PLAINTEXT_LOGIN pour un "
                "relais local)",
                permanent=True,
            )
        try:  # nothing handed over yet: any failure here is safe to retry
            smtp = self._connect()
            if self.user:
                smtp.login(self.user, self.password or "")
        except (smtplib.SMTPException, OSError) as exc:
            raise _classify(exc, self.where) from exc
        with self._guard:
            cancelled = self._aborted
            if not cancelled:
                self._in_progress = smtp
        if cancelled:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()
            raise DeliveryError(
                f"{self.where} : envoi annulé par l'arrêt du service", permanent=False
            )
        try:
            refused = smtp.send_message(message)
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as exc:
            raise _classify(exc, self.where) from exc  # a definite answer: not accepted
        except (smtplib.SMTPException, OSError) as exc:
            cause = "coupée par l'arrêt du service" if self._aborted else type(exc).__name__
            raise DeliveryUncertain(f"{self.where}, {cause}") from exc
        finally:
            with self._guard:
                self._in_progress = None
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()  # after acceptance, a failing goodbye changes nothing
        if refused:  # only when some of several recipients were refused
            raise _classify(smtplib.SMTPRecipientsRefused(refused), self.where)
        return f"accepté par {self.where}"

    def abort(self) -> None:
        """Cut the connection of the hand-over in progress (its recipient is then shown
        interrupted: it may have arrived); no new hand-over starts afterwards."""
        with self._guard:
            self._aborted = True
            smtp = self._in_progress
            if smtp is not None and smtp.sock is not None:
                with contextlib.suppress(OSError):
                    smtp.sock.shutdown(socket.SHUT_RDWR)


class OutboxTransport:
    """Writes each message as an ``.eml`` file into a local folder (no SMTP configured)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: EmailMessage) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        target = self.directory / f"{stamp}-{uuid.uuid4().hex[:10]}.eml"
        temporary = target.with_suffix(".tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(message.as_bytes())
            os.replace(temporary, target)
        except OSError as exc:
            raise DeliveryError(
                f"Boîte d'envoi locale inaccessible ({self.directory}) : {exc}", permanent=False
            ) from exc
        return f"{OUTBOX_OUTCOME} ({target.name})"

    def abort(self) -> None:
        """Nothing to cut: writing a file does not wait on anyone."""


class AllowedDomains:
    """Refuses, before any transport, a recipient outside ``REPORT_RECIPIENT_DOMAINS``:
    reports carry revenue and applicants' names. A schedule saved before the
    setting was, or edited in the database, still never sends elsewhere."""

    def __init__(self, inner: Transport, domains: Sequence[str]) -> None:
        self.inner, self.domains = inner, tuple(domains)

    def send(self, message: EmailMessage) -> str:
        recipient = str(message["To"] or "")
        if not recipient_allowed(recipient, self.domains):
            raise DeliveryError(
                f"Destinataire refusé : {recipient[:80]} n'est pas dans les domaines autorisés "
                f"pour les rapports ({', '.join(self.domains)})",
                permanent=True,
            )
        return self.inner.send(message)

    def abort(self) -> None:
        self.inner.abort()


def recipient_allowed(address: str, domains: Sequence[str]) -> bool:
    """True when no domain is configured, or the address's domain is one of them."""
    if not domains:
        return True
    domain = address.strip().rsplit("@", 1)[-1].lower() if "@" in address else ""
    return domain in domains


def transport_from_settings(settings: Settings) -> Transport:
    """SMTP when ``SMTP_HOST`` is set, else the local outbox; guarded by the allowed domains."""
    transport: Transport
    if settings.SMTP_HOST is None:
        transport = OutboxTransport(settings.outbox_dir)
    else:
        transport = SmtpTransport(
            settings.SMTP_HOST,
            settings.SMTP_PORT,
            security=settings.SMTP_SECURITY,
            user=settings.SMTP_USER,
            password=settings.SMTP_PASSWORD,
            timeout=settings.SMTP_TIMEOUT_SECONDS,
            allow_plaintext_login=settings.SMTP_ALLOW_PLAINTEXT_LOGIN,
        )
    if settings.recipient_domains:
        return AllowedDomains(transport, settings.recipient_domains)
    return transport


def uses_outbox(settings: Settings) -> bool:
    return settings.SMTP_HOST is None


def check_smtp(settings: Settings) -> str:
    """Test the configured SMTP server without sending anything (a French sentence);
    :class:`DeliveryError` when it cannot be reached or refuses the sign-in."""
    transport = transport_from_settings(settings)
    if not isinstance(transport, SmtpTransport):
        raise DeliveryError(
            "Pas de serveur SMTP configuré (SMTP_HOST) : les messages vont dans la boîte "
            f"d'envoi locale {settings.outbox_dir}.",
            permanent=True,
        )
    return transport.check()
