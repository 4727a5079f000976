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
import ssl
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
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
    may have accepted it. Never retried automatically (it could arrive twice)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ReportFile:
    """A rendered report file on disk (kept for download from the dashboard)."""

    filename: str
    path: Path
    size: int


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


# --- Composition -----------------------------------------------------------------


def size_text(size: int) -> str:
    """``12,4 Mo`` / ``85 Ko`` (binary units, as the limit is configured)."""
    if size >= 1024 * 1024:
        return f"{formatting.number(size / (1024 * 1024), decimals=1)}{formatting.NBSP}Mo"
    return f"{formatting.number(max(1, round(size / 1024)))}{formatting.NBSP}Ko"


def subject_for(report: Report, *, late: bool = False) -> str:
    if report.start.day == 1 and report.end == add_months_to(report.start, 1):
        when = formatting.month_label(report.start)
    else:
        when = period_text(report)
    prefix = "[En retard] " if late else ""
    return f"{prefix}{CENTRE_NAME} — {report.title} — {when}"


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
        lines += [f"- {figure_line(figure, tz)}" for figure in report.key_figures]
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
        subject=subject_for(report, late=late_due_at is not None),
        body="\n".join(lines) + "\n",
        attachments=attached,
        omitted=omitted,
    )


def build_message(
    *, sender: str, recipient: str, subject: str, body: str, attachments: Sequence[ReportFile] = ()
) -> EmailMessage:
    """One message to one recipient (so each outcome is recorded on its own)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = sender.rsplit("@", 1)[-1] if "@" in sender else "cipfaro.local"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(body)
    for file in attachments:
        maintype, subtype = MIME_TYPES.get(
            file.path.suffix.lower(), ("application", "octet-stream")
        )
        message.add_attachment(
            file.path.read_bytes(), maintype=maintype, subtype=subtype, filename=file.filename
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
    ) -> None:
        self.host, self.port, self.security = host, port, security
        self.user, self.password, self.timeout = user, password, timeout

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

    def send(self, message: EmailMessage) -> str:
        try:  # nothing handed over yet: any failure here is safe to retry
            smtp = self._connect()
            if self.user:
                smtp.login(self.user, self.password or "")
        except (smtplib.SMTPException, OSError) as exc:
            raise _classify(exc, self.where) from exc
        try:
            refused = smtp.send_message(message)
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as exc:
            raise _classify(exc, self.where) from exc  # a definite answer: not accepted
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryUncertain(
                f"connexion perdue pendant l'envoi à {self.where} "
                f"({type(exc).__name__}) : le message a peut-être été reçu"
            ) from exc
        finally:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()  # after acceptance, a failing goodbye changes nothing
        if refused:  # only when some of several recipients were refused
            raise _classify(smtplib.SMTPRecipientsRefused(refused), self.where)
        return f"accepté par {self.where}"


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


def transport_from_settings(settings: Settings) -> Transport:
    """SMTP when ``SMTP_HOST`` is set, else the local outbox."""
    if settings.SMTP_HOST is None:
        return OutboxTransport(settings.outbox_dir)
    return SmtpTransport(
        settings.SMTP_HOST,
        settings.SMTP_PORT,
        security=settings.SMTP_SECURITY,
        user=settings.SMTP_USER,
        password=settings.SMTP_PASSWORD,
        timeout=settings.SMTP_TIMEOUT_SECONDS,
    )


def uses_outbox(settings: Settings) -> bool:
    return settings.SMTP_HOST is None
