"""The whole path settings -> engine -> query -> page, through AppTest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from data.db import UNAVAILABLE_MESSAGE
from tests import factories
from tests.app_session import TEST_COOKIE_KEY, app_env, signed_in_app, staff
from tests.page_check import check_page

APP = str(Path(__file__).resolve().parent.parent / "dashboard.py")


def _seed_staff_and_backlog(engine: Engine) -> None:
    staff(engine, role="admin", email="admin@demo.cipfaro.fr", prenom="Ada", nom="Admin")
    trainee = factories.user(engine)
    formation = factories.formation(engine)
    now = datetime.now(UTC)
    for hours_ago in (1, 5, 60, 100):  # two of them past the 48 h SLA
        created = now - timedelta(hours=hours_ago)
        factories.application(
            engine, user_id=trainee, formation_id=formation, created_at=created, updated_at=created
        )
    factories.application(engine, user_id=trainee, formation_id=formation, statut="en_etude")
    company = factories.company(engine)
    factories.offer(engine, entreprise_id=company)
    factories.contact(engine)


def _metric(at: AppTest, label: str) -> str:
    values = {m.label: m.value for m in at.metric}
    assert label in values, (sorted(values), at.main, [e.value for e in at.error])
    return values[label]


def test_overview_shows_live_counts(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed_staff_and_backlog(engine)
    app_env(monkeypatch, db_url)
    at = signed_in_app("admin@demo.cipfaro.fr")
    check_page(at)
    assert _metric(at, "Candidatures (total)") == "5"
    assert _metric(at, "Nouvelles à traiter") == "4"
    assert _metric(at, "En retard (> 48 h)") == "2"
    assert _metric(at, "Offres d'emploi ouvertes") == "1"
    assert _metric(at, "Messages non traités") == "1"


def test_unreachable_database_shows_a_french_message_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    monkeypatch.setenv("COOKIE_KEY", TEST_COOKIE_KEY)
    at = AppTest.from_file(APP, default_timeout=30).run()
    check_page(at, errors=[UNAVAILABLE_MESSAGE])
    assert [b.label for b in at.button] == ["Réessayer"]


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("DATABASE_URL", "oracle://scott@tiger/db", "DATABASE_URL"),
        ("TIMEZONE", "Pacific/Atlantis", "TIMEZONE"),
    ],
)
def test_bad_setting_is_named_on_screen(
    monkeypatch: pytest.MonkeyPatch, key: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(key, value)
    at = AppTest.from_file(APP, default_timeout=30).run()
    [message] = [e.value for e in at.error]
    check_page(at, errors=[message])
    assert expected in message


SECRET = "S3cr3tPass"


@pytest.mark.parametrize(
    "url",
    [
        "dashboard:" + SECRET + "@db.cipfaro.fr:5432/cipfaro",  # the scheme forgotten
        "mysql://dashboard:" + SECRET + "@db.cipfaro.fr/cipfaro",
        "postgres ql://dashboard:" + SECRET + "@db.cipfaro.fr/cipfaro",
        "/srv/" + SECRET + "/demo.sqlite3",
    ],
    ids=["no-scheme", "unknown-scheme", "mangled-scheme", "a-path"],
)
def test_a_bad_database_url_is_named_but_never_shown(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    at = AppTest.from_file(APP, default_timeout=30).run()
    [message] = [e.value for e in at.error]
    check_page(at, errors=[message])
    assert message.startswith("Réglage DATABASE_URL invalide")
    shown = "\n".join(str(e.value) for e in at.main if hasattr(e, "value"))
    assert SECRET not in shown and "dashboard" not in shown and "cipfaro.fr" not in shown
