"""Email of reports through a real SMTP server (aiosmtpd) and the local outbox."""

from __future__ import annotations

import email
import io
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader

from data.settings import load_settings
from reports.mail import (
    DeliveryError,
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
        Figure("Candidatures", 171, "integer", 211, True),
        Figure("Taux de conversion", 0.55, "percent", 0.673, True),
        Figure("Chiffre d'affaires facturé", 232620.0, "money", 519896.0, True),
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
        sender="tableau-de-bord@cipfaro.fr", recipient="direction@cipfaro.fr",
        subject=content.subject, body=content.body, attachments=content.attachments,
    )  # fmt: skip
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
    assert "- Candidatures : 171 (−19,0 % par rapport à la période précédente)" in body
    assert "- Taux de conversion : 55,0 % (−12,3 pts par rapport à la période précédente)" in body
    assert "- Chiffre d'affaires facturé : 232 620,00 €" in body


def test_attachments_open_as_pdf_and_workbook(smtp_sink: SmtpSink, files: tuple) -> None:  # type: ignore[type-arg]
    received = _send(smtp_sink, files)
    parts = {
        p.get_filename(): p.get_payload(decode=True) for p in received.walk() if p.get_filename()
    }
    assert set(parts) == {"rapport-mensuel_2026-10-01_2026-10-31.pdf",
                          "rapport-mensuel_2026-10-01_2026-10-31.xlsx"}  # fmt: skip
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
        sender=settings.SMTP_FROM, recipient="direction@cipfaro.fr", subject=content.subject,
        body=content.body, attachments=content.attachments,
    )  # fmt: skip
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
