"""Email of reports through a real SMTP server (aiosmtpd) and the local outbox."""

from __future__ import annotations

import email
import io
import threading
import time
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader

from data.errors import ConfigurationError
from data.settings import load_settings
from reports.mail import (
    DeliveryError,
    DeliveryUncertain,
    OutboxTransport,
    SmtpTransport,
    build_message,
    compose_report_email,
    transport_from_settings,
)
from reports.model import Column, Figure, Report, Section, TableSpec
from reports.render import render_files
from tests.conftest import SmtpSink, free_port

GUADELOUPE = ZoneInfo("America/Guadeloupe")


def _report() -> Report:
    figures = (
        Figure("Candidatures", 171, "integer", "171", 211, "211", "−40 (−19,0 %)"),
        Figure("Taux de conversion", 0.55, "percent", "55,0 %", 0.673, "67,3 %", "−12,3 pts"),
        Figure(
            "Chiffre d'affaires facturé",
            232620.0,
            "money",
            "232 620,00 €",
            519896.0,
            "519 896,00 €",
            "−287 276,00 € (−55,3 %)",
        ),
    )
    table = TableSpec(
        "Conversion par formation",
        (Column("label", "Formation"), Column("applications", "Candidatures", "integer")),
        pd.DataFrame({"label": ["Aide-soignant (DEAS)"], "applications": [19]}),
    )
    return Report(
        kind="monthly",
        title="Rapport mensuel de direction",
        start=date(2026, 10, 1),
        end=date(2026, 11, 1),
        generated_at=datetime(2026, 11, 1, 11, 0, tzinfo=UTC),
        timezone="America/Guadeloupe",
        figures=figures,
        key_figures=figures,
        sections=(Section("Activité", tables=(table,)),),
    )


@pytest.fixture
def files(tmp_path: Path) -> tuple:  # type: ignore[type-arg]
    return render_files(_report(), tmp_path / "files", ("pdf", "xlsx"), GUADELOUPE)


def _transport(sink: SmtpSink) -> SmtpTransport:
    return SmtpTransport(sink.host, sink.port, security="none", timeout=5)


def _send(sink: SmtpSink, files: tuple, limit: int = 10 * 1024 * 1024) -> email.message.Message:  # type: ignore[type-arg]
    content = compose_report_email(_report(), files, max_attachment_bytes=limit, tz=GUADELOUPE)
    message = build_message(
        sender="tableau-de-bord@cipfaro.fr",
        recipient="direction@cipfaro.fr",
        subject=content.subject,
        body=content.body,
        attachments=content.attachments,
    )
    outcome = _transport(sink).send(message)
    assert outcome.startswith("accepté par le serveur SMTP 127.0.0.1")
    assert len(sink.messages) == 1
    return sink.messages[0]


def _body(message: email.message.Message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode("utf-8").replace("\u00a0", " ")


def test_report_email_has_french_subject_and_key_figures(smtp_sink: SmtpSink, files: tuple) -> None:  # type: ignore[type-arg]
    received = _send(smtp_sink, files)
    subject = str(email.header.make_header(email.header.decode_header(received["Subject"])))
    assert subject == "CIP FARO — Rapport mensuel de direction — octobre 2026"
    body = _body(received)
    assert "période du 01/10/2026 au 31/10/2026" in body
    assert "- Candidatures : 171 — −40 (−19,0 %) par rapport à la période précédente" in body
    assert "- Taux de conversion : 55,0 % — −12,3 pts par rapport à la période précédente" in body
    assert "- Chiffre d'affaires facturé : 232 620,00 €" in body


def test_attachments_open_as_pdf_and_workbook(smtp_sink: SmtpSink, files: tuple) -> None:  # type: ignore[type-arg]
    received = _send(smtp_sink, files)
    parts = {
        p.get_filename(): p.get_payload(decode=True) for p in received.walk() if p.get_filename()
    }
    assert set(parts) == {
        "rapport-mensuel_2026-10-01_2026-10-31.pdf",
        "rapport-mensuel_2026-10-01_2026-10-31.xlsx",
    }
    pdf = PdfReader(io.BytesIO(parts["rapport-mensuel_2026-10-01_2026-10-31.pdf"]))
    assert "232 620,00 €" in pdf.pages[0].extract_text().replace("\u00a0", " ")
    book = openpyxl.load_workbook(io.BytesIO(parts["rapport-mensuel_2026-10-01_2026-10-31.xlsx"]))
    summary = [[c.value for c in row] for row in book["Synthèse"].iter_rows()]
    assert ["Candidatures", 171, 211] in summary
    assert book["Conversion par formation"]["A2"].value == "Aide-soignant (DEAS)"


def test_oversized_attachment_is_left_out_and_the_body_says_so(
    smtp_sink: SmtpSink,
    files: tuple,  # type: ignore[type-arg]
) -> None:
    pdf = next(f for f in files if f.filename.endswith(".pdf"))
    received = _send(smtp_sink, files, limit=pdf.size - 1)
    names = {p.get_filename() for p in received.walk() if p.get_filename()}
    assert pdf.filename not in names
    body = _body(received)
    assert f"Le fichier {pdf.filename}" in body
    assert "n'est pas joint à ce message" in body
    assert "téléchargeable depuis le tableau de bord" in body


def test_refused_address_is_a_permanent_failure(smtp_sink: SmtpSink) -> None:
    smtp_sink.refuse.add("inconnu@cipfaro.fr")
    message = build_message(
        sender="a@cipfaro.fr", recipient="inconnu@cipfaro.fr", subject="s", body="b"
    )
    with pytest.raises(DeliveryError) as caught:
        _transport(smtp_sink).send(message)
    assert caught.value.permanent
    assert "550" in caught.value.message
    assert smtp_sink.messages == []


def test_server_asking_to_try_later_is_a_temporary_failure(smtp_sink: SmtpSink) -> None:
    smtp_sink.data_reply = "451 4.3.0 Réessayez plus tard"
    message = build_message(sender="a@cipfaro.fr", recipient="b@cipfaro.fr", subject="s", body="b")
    with pytest.raises(DeliveryError) as caught:
        _transport(smtp_sink).send(message)
    assert not caught.value.permanent
    assert "451" in caught.value.message


def test_unreachable_server_is_a_temporary_failure() -> None:
    transport = SmtpTransport("127.0.0.1", free_port(), security="none", timeout=2)
    message = build_message(sender="a@cipfaro.fr", recipient="b@cipfaro.fr", subject="s", body="b")
    with pytest.raises(DeliveryError) as caught:
        transport.send(message)
    assert not caught.value.permanent
    assert "injoignable" in caught.value.message


def test_without_smtp_host_messages_go_to_the_outbox(tmp_path: Path, files: tuple) -> None:  # type: ignore[type-arg]
    settings = load_settings(OUTBOX_DIR=tmp_path / "outbox")
    transport = transport_from_settings(settings)
    assert isinstance(transport, OutboxTransport)
    content = compose_report_email(_report(), files, max_attachment_bytes=10**7, tz=GUADELOUPE)
    message = build_message(
        sender=settings.SMTP_FROM,
        recipient="direction@cipfaro.fr",
        subject=content.subject,
        body=content.body,
        attachments=content.attachments,
    )
    outcome = transport.send(message)
    assert outcome.startswith("déposé dans la boîte d'envoi locale")
    (written,) = (tmp_path / "outbox").glob("*.eml")
    parsed = email.message_from_bytes(written.read_bytes())
    assert parsed["To"] == "direction@cipfaro.fr"
    assert len([p for p in parsed.walk() if p.get_filename()]) == 2


def test_smtp_settings_give_an_smtp_transport() -> None:
    settings = load_settings(SMTP_HOST="smtp.example.org", SMTP_PORT=465, SMTP_SECURITY="ssl")
    transport = transport_from_settings(settings)
    assert isinstance(transport, SmtpTransport)
    assert (transport.host, transport.port, transport.security) == ("smtp.example.org", 465, "ssl")


@pytest.mark.parametrize(
    ("start", "end", "late", "expected"),
    [
        (date(2026, 10, 1), date(2026, 11, 1), False, "— octobre 2026"),
        (date(2026, 10, 1), date(2026, 10, 29), False, "— du 01/10/2026 au 28/10/2026"),
        (date(2026, 11, 16), date(2026, 11, 23), True, "— du 16/11/2026 au 22/11/2026"),
    ],
)
def test_subject_names_the_month_or_the_days(
    start: date, end: date, late: bool, expected: str
) -> None:
    from dataclasses import replace

    from reports.mail import subject_for

    text = subject_for(replace(_report(), start=start, end=end), late=late)
    assert text.endswith(expected)
    assert text.startswith("[En retard] CIP FARO") is late


def test_the_subject_names_the_schedule_unless_it_repeats_the_title() -> None:
    from reports.mail import subject_for

    named = subject_for(_report(), schedule_name="Direction, chaque mois")
    assert (
        named == "CIP FARO — Direction, chaque mois — Rapport mensuel de direction — octobre 2026"
    )
    same = subject_for(_report(), schedule_name="rapport mensuel de direction")
    assert same == "CIP FARO — Rapport mensuel de direction — octobre 2026"


def test_run_header_names_schedule_and_due_time(smtp_sink: SmtpSink) -> None:
    from reports.mail import run_reference

    due = datetime(2026, 11, 20, 7, 0, tzinfo=GUADELOUPE)
    message = build_message(
        sender="a@cipfaro.fr",
        recipient="b@cipfaro.fr",
        subject="s",
        body="b",
        run=run_reference(12, due),
    )
    _transport(smtp_sink).send(message)
    (received,) = smtp_sink.messages
    assert received["X-CIPFARO-Run"] == "12/2026-11-20T11:00:00Z"


def test_a_stop_that_cannot_wait_cuts_the_hand_over_in_progress(smtp_sink: SmtpSink) -> None:
    smtp_sink.accept_delay = 5.0  # a server slower than the stop can wait
    arrived = threading.Event()
    smtp_sink.on_accept = lambda _content: arrived.set()
    transport = _transport(smtp_sink)
    message = build_message(sender="a@cipfaro.fr", recipient="b@cipfaro.fr", subject="s", body="b")
    raised: list[Exception] = []

    def send() -> None:
        try:
            transport.send(message)
        except (DeliveryError, DeliveryUncertain) as exc:
            raised.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    assert arrived.wait(10)
    cut_at = time.monotonic()
    transport.abort()
    sender.join(10)
    assert time.monotonic() - cut_at < 1  # not the server's 5 s
    (error,) = raised  # the message was handed over: it may have arrived
    assert isinstance(error, DeliveryUncertain) and "coupée par l'arrêt du service" in error.message
    with pytest.raises(DeliveryError) as caught:  # and no new hand-over starts
        transport.send(message)
    assert not caught.value.permanent and "annulé par l'arrêt du service" in caught.value.message


def test_no_smtp_password_over_an_unencrypted_connection(smtp_sink: SmtpSink) -> None:
    transport = SmtpTransport(
        smtp_sink.host, smtp_sink.port, security="none", user="u", password="p", timeout=5
    )
    with pytest.raises(DeliveryError, match="connexion non chiffrée") as refused:
        transport.send(_plain_message())
    assert refused.value.permanent and smtp_sink.messages == []


def test_a_local_relay_may_be_allowed_a_plaintext_login(smtp_sink: SmtpSink) -> None:
    """Allowed: the login is attempted (this test server offers no AUTH, so it is
    refused by the server, not by our rule)."""
    transport = SmtpTransport(
        smtp_sink.host,
        smtp_sink.port,
        security="none",
        user="u",
        password="p",
        timeout=5,
        allow_plaintext_login=True,
    )
    with pytest.raises(DeliveryError) as refused:
        transport.send(_plain_message())
    assert "non chiffrée" not in refused.value.message


@pytest.mark.parametrize(
    ("settings", "refused"),
    [
        ({"SMTP_SECURITY": "none", "SMTP_USER": "u"}, True),
        ({"SMTP_SECURITY": "none", "SMTP_USER": "u", "SMTP_ALLOW_PLAINTEXT_LOGIN": True}, False),
        ({"SMTP_SECURITY": "none"}, False),  # a relay without a login
        ({"SMTP_SECURITY": "starttls", "SMTP_USER": "u"}, False),
    ],
)
def test_the_settings_refuse_a_plaintext_smtp_login(settings: dict, refused: bool) -> None:
    values = {"SMTP_HOST": "smtp.cipfaro.fr", **settings}
    if refused:
        with pytest.raises(ConfigurationError, match="SMTP_SECURITY invalide"):
            load_settings(**values)
    else:
        load_settings(**values)


def test_a_recipient_outside_the_allowed_domains_is_never_sent_to(tmp_path: Path) -> None:
    settings = load_settings(
        OUTBOX_DIR=str(tmp_path / "outbox"), REPORT_RECIPIENT_DOMAINS="cipfaro.fr, Autre.fr"
    )
    assert settings.recipient_domains == ("cipfaro.fr", "autre.fr")
    transport = transport_from_settings(settings)
    with pytest.raises(DeliveryError, match="domaines autorisés") as refused:
        transport.send(_plain_message("moi@gmail.com"))
    assert refused.value.permanent and not (tmp_path / "outbox").exists()
    assert "boîte d'envoi" in transport.send(_plain_message("chef@autre.fr"))


@pytest.mark.parametrize("value", ["cipfaro", "cip faro.fr,@x.fr", "-x.fr"])
def test_a_malformed_domain_list_names_the_setting(value: str) -> None:
    with pytest.raises(ConfigurationError, match="REPORT_RECIPIENT_DOMAINS"):
        load_settings(REPORT_RECIPIENT_DOMAINS=value)


def _plain_message(recipient: str = "a@cipfaro.fr") -> EmailMessage:
    return build_message(
        sender="tableau-de-bord@cipfaro.fr", recipient=recipient, subject="Essai", body="Bonjour"
    )
