"""Alert emails against a real SMTP server (aiosmtpd): immediate notices, the daily
digest (once per user per day, skipped when empty), and a crash between claim and send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from data.alerts import centre
from data.owned import AlertDigest
from data.permissions import Actor
from data.settings import Settings, load_settings
from reports.alert_mail import _claim_notice
from reports.alert_step import alert_step
from reports.mail import transport_from_settings
from tests import factories as f
from tests.alert_helpers import notices, only_rules
from tests.conftest import SmtpSink

T0 = f.T0  # 10:00 in Guadeloupe
EIGHT_LOCAL = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # 08:00 in Guadeloupe, the next day


def _settings(tmp_path: Path, sink: SmtpSink) -> Settings:
    return load_settings(
        OUTBOX_DIR=tmp_path / "outbox",
        SMTP_TIMEOUT_SECONDS=5,
        SMTP_HOST=sink.host,
        SMTP_PORT=sink.port,
        SMTP_SECURITY="none",
        DASHBOARD_URL="https://tableau.cipfaro.fr",
    )


def _step(engine: Engine, settings: Settings, now: datetime) -> Any:
    return alert_step(engine, settings, now=now, transport=transport_from_settings(settings))


def _actor(engine: Engine, role: str, email: str) -> Actor:
    return Actor(f.user(engine, role=role, email=email), email, role, "Marie", "Test")


def _body(message: Any) -> str:
    return str(message.get_content())


def test_an_immediate_notice_is_emailed_once_with_its_link(
    engine: Engine, tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    settings = _settings(tmp_path, smtp_sink)
    only_rules(engine, "contacts_untreated")
    member = _actor(engine, "secretariat", "sec@cipfaro.fr")
    centre.set_preference(engine, actor=member, rule_kind="contacts_untreated", mode="immediate")
    f.contact(engine, created_at=T0 - timedelta(days=3), email="prive@exemple.fr")
    _step(engine, settings, T0)
    _step(engine, settings, T0 + timedelta(minutes=1))
    got = smtp_sink.received_by("sec@cipfaro.fr")
    assert len(got) == 1
    assert "https://tableau.cipfaro.fr/messages?statut=a-traiter" in _body(got[0])
    assert "prive@exemple.fr" not in _body(got[0])  # no applicant's contact details
    assert [n.email_status for n in notices(engine, member.id)] == ["sent"]


def test_a_crash_between_claim_and_send_is_shown_interrupted_and_not_resent(
    engine: Engine, tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    settings = _settings(tmp_path, smtp_sink)
    only_rules(engine, "contacts_untreated")
    member = _actor(engine, "secretariat", "sec@cipfaro.fr")
    centre.set_preference(engine, actor=member, rule_kind="contacts_untreated", mode="immediate")
    f.contact(engine, created_at=T0 - timedelta(days=3))
    from data.alerts.evaluate import evaluate_all

    evaluate_all(engine, settings, T0)
    (notice,) = notices(engine, member.id)
    assert _claim_notice(engine, notice.id, T0)  # claimed, then the process died
    _step(engine, settings, T0 + timedelta(minutes=1))  # too early to call it interrupted
    assert [n.email_status for n in notices(engine, member.id)] == ["sending"]
    _step(engine, settings, T0 + timedelta(minutes=11))
    (after,) = notices(engine, member.id)
    assert after.email_status == "interrupted"
    assert "pas renvoyé" in after.email_error
    assert smtp_sink.messages == []


def test_the_daily_digest_is_sent_once_at_the_chosen_hour_with_new_and_open_items(
    engine: Engine, tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    settings = _settings(tmp_path, smtp_sink)
    only_rules(engine, "quotes_unanswered", "overdue_total")
    _actor(engine, "direction", "dir@cipfaro.fr")  # direction: digest by default, at 08:00
    idle = _actor(engine, "direction", "calme@cipfaro.fr")
    centre.set_preference(engine, actor=idle, rule_kind="quotes_unanswered", mode="app")
    from sqlalchemy import insert

    from data.models import Devis

    formation = f.formation(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(Devis).values(
                numero="D-7",
                contact_email="client@exemple.fr",
                formation_id=formation,
                nb_stagiaires=2,
                montant=5000,
                statut="envoye",
                created_at=T0 - timedelta(days=20),
                sent_at=T0 - timedelta(days=20),
            )
        )
    _step(engine, settings, EIGHT_LOCAL - timedelta(minutes=1))  # 07:59: the alert, no digest
    assert smtp_sink.received_by("dir@cipfaro.fr") == []
    _step(engine, settings, EIGHT_LOCAL)
    _step(engine, settings, EIGHT_LOCAL + timedelta(minutes=30))
    got = smtp_sink.received_by("dir@cipfaro.fr")
    assert len(got) == 1
    body = _body(got[0])
    assert "Nouveau depuis le dernier résumé" in body and "Devis D-7" in body
    assert "client@exemple.fr" not in body
    # The next day: nothing new, the quote still unanswered.
    _step(engine, settings, EIGHT_LOCAL + timedelta(days=1))
    got = smtp_sink.received_by("dir@cipfaro.fr")
    assert len(got) == 2
    assert "Nouveau depuis" not in _body(got[1]) and "Toujours en cours" in _body(got[1])
    # A director with nothing in the digest gets nothing: the day is recorded skipped.
    assert smtp_sink.received_by("calme@cipfaro.fr") == []
    with engine.connect() as connection:
        statuses = (
            connection.execute(select(AlertDigest.status).where(AlertDigest.user_id == idle.id))
            .scalars()
            .all()
        )
    assert statuses == ["skipped", "skipped"]


def test_a_stop_leaves_unclaimed_notices_pending_for_the_next_step(
    engine: Engine, tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    import threading

    settings = _settings(tmp_path, smtp_sink)
    only_rules(engine, "contacts_untreated")
    member = _actor(engine, "secretariat", "sec@cipfaro.fr")
    centre.set_preference(engine, actor=member, rule_kind="contacts_untreated", mode="immediate")
    f.contact(engine, created_at=T0 - timedelta(days=3))
    stop = threading.Event()
    stop.set()
    alert_step(engine, settings, now=T0, transport=transport_from_settings(settings), stop=stop)
    assert [n.email_status for n in notices(engine, member.id)] == ["pending"]
    _step(engine, settings, T0 + timedelta(minutes=1))
    assert len(smtp_sink.received_by("sec@cipfaro.fr")) == 1


def test_the_digest_comes_at_the_hour_the_user_chose(
    engine: Engine, tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    settings = _settings(tmp_path, smtp_sink)
    only_rules(engine, "quotes_unanswered")
    director = _actor(engine, "direction", "dir@cipfaro.fr")
    centre.set_digest_hour(engine, actor=director, hour=9)
    from sqlalchemy import insert

    from data.models import Devis

    with engine.begin() as connection:
        connection.execute(
            insert(Devis).values(
                numero="D-9",
                contact_email="client@exemple.fr",
                formation_id=f.formation(engine),
                nb_stagiaires=2,
                montant=5000,
                statut="envoye",
                created_at=T0 - timedelta(days=20),
                sent_at=T0 - timedelta(days=20),
            )
        )
    _step(engine, settings, EIGHT_LOCAL)
    assert smtp_sink.received_by("dir@cipfaro.fr") == []
    _step(engine, settings, EIGHT_LOCAL + timedelta(hours=1))
    assert len(smtp_sink.received_by("dir@cipfaro.fr")) == 1
