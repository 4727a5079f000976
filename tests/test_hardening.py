"""Hostile input: search and filter text, names shown on screen, database errors.

- SQL: every search/filter function that takes text gets quotes, ``%``, ``_``,
  backslashes, NUL, SQL and a 10 000-character string; each must treat them
  as plain text (find the row that literally holds them, not a decoy that a
  wildcard would match) and never fail.
- Display: names, messages and titles full of markdown and HTML are stored in
  every table a page shows; each page must show them as typed (dataframes,
  plain text) and never in an element Streamlit renders as markdown; every
  text box of the page takes the SQL-hostile values without an error.
- Errors: a database failure on a page is a short French message, no SQL,
  no traceback; the app never shows error details.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert, text

from data import audit, auth
from data.audit import viewing
from data.contacts import contact_messages
from data.db import UNAVAILABLE_MESSAGE
from data.models import Matching
from data.owned import SignInEvent
from data.permissions import Actor
from data.triage.filters import QueueFilters
from data.triage.queue import queue_page
from tests import factories
from tests.app_session import (
    ROOT,
    app_env,
    dataframe_cells,
    page_as,
    staff,
    texts_in_markdown,
)
from tests.page_check import check_page

TZ_NAME = "America/Guadeloupe"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

# Typed into search boxes: (value, a stored text it must find, a decoy a wildcard would find).
SQL_HOSTILE = {
    "quote": ('O\'Brien "dit"', 'O\'Brien "dit" Martin', "OBrien dit"),
    "percent": ("100%", "remise 100% accordée", "1000 euros"),
    "underscore": ("a_b", "code a_b", "code axb"),
    "backslash": ("C:\\cv\\", "C:\\cv\\lettre", "C:Xcv"),
    "nul": ("ab\x00cd", "abcd", "ab cd"),
    "sql": ("'; DROP TABLE users; --", "'; DROP TABLE users; -- fin", "DROP TABLE users"),
    "long": ("x" * 10_000, "x" * 10_000, "x" * 150),
}
DISPLAY_HOSTILE = (
    "**Gras** _italique_ [lien](javascript:alert(1)) `code` ~barré~",
    "<b>gras</b><script>alert('x')</script><img src=x onerror=alert(1)>",
    "# Titre | tableau | $x^2$ :material/warning:",
)
SQL_ERROR_WORDS = re.compile(r"SELECT|INSERT|UPDATE|Traceback|psycopg|sqlite3|dashboard_", re.I)


# SQL: every text search or filter ----------------------------------------------------

SearchTarget = tuple[Callable[[Engine, str], None], Callable[[Engine, str], set[str]]]


def _seed_audit_object(engine: Engine, value: str) -> None:
    with engine.begin() as connection:
        audit.record(
            connection, actor=None, action="test.hostile", entity="tests", entity_id=value, at=NOW
        )


def _seed_audit_actor(engine: Engine, value: str) -> None:
    with engine.begin() as connection:
        audit.record(
            connection,
            actor=Actor(1, value, "admin", "A", "B"),
            action="test.hostile",
            entity="tests",
            entity_id="1",
            at=NOW,
        )


def _seed_signin(engine: Engine, value: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(SignInEvent).values(
                created_at=NOW, email=value, user_id=None, success=False, reason="bad_credentials"
            )
        )


def _seed_applicant(engine: Engine, value: str) -> None:
    applicant = factories.user(engine, prenom="Candidat", nom=value)
    factories.application(engine, user_id=applicant, formation_id=factories.formation(engine))


def _seed_contact(engine: Engine, value: str) -> None:
    factories.contact(engine, message=value)


def _found_audit_object(engine: Engine, value: str) -> set[str]:
    frame = viewing.audit_entries(engine, tz_name=TZ_NAME, search=value)
    return set(frame["entity_id"])


def _found_audit_actor(engine: Engine, value: str) -> set[str]:
    return set(viewing.audit_entries(engine, tz_name=TZ_NAME, actor=value)["actor_email"])


def _found_signin(engine: Engine, value: str) -> set[str]:
    return set(viewing.signin_entries(engine, tz_name=TZ_NAME, email=value)["email"])


def _found_contact(engine: Engine, value: str) -> set[str]:
    return {row.message for row in contact_messages(engine, search=value)}


def _found_applicant(engine: Engine, value: str) -> set[str]:
    page = queue_page(
        engine,
        QueueFilters(statuses=(), search=value),
        actor_id=None,
        now=NOW,
        sla_hours=48,
        tz=ZoneInfo(TZ_NAME),
        limit=100,
    )
    return {row.applicant.removeprefix("Candidat ") for row in page.rows}


SEARCHES: dict[str, SearchTarget] = {
    "audit-search": (_seed_audit_object, _found_audit_object),
    "audit-actor": (_seed_audit_actor, _found_audit_actor),
    "signin-email": (_seed_signin, _found_signin),
    "contact-search": (_seed_contact, _found_contact),
    "queue-search": (_seed_applicant, _found_applicant),
}


@pytest.mark.parametrize("case", list(SQL_HOSTILE))
@pytest.mark.parametrize("target", list(SEARCHES))
def test_searches_treat_hostile_text_as_plain_text(engine: Engine, target: str, case: str) -> None:
    typed, literal, decoy = SQL_HOSTILE[case]
    seed, found = SEARCHES[target]
    seed(engine, literal)
    seed(engine, decoy)
    assert found(engine, typed) == {literal}


@pytest.mark.parametrize("case", list(SQL_HOSTILE))
def test_sign_in_and_sessions_take_hostile_text(engine: Engine, case: str) -> None:
    typed, _, _ = SQL_HOSTILE[case]
    factories.user(engine, role="secretariat", email="agent@cipfaro.fr")
    result = auth.sign_in(engine, email=typed, password=typed, now=NOW, session_hours=8)
    assert not result.ok and result.message == "Identifiants incorrects."
    assert auth.validate_session(engine, typed, now=NOW) is None
    with engine.connect() as connection:
        logged = connection.execute(text("SELECT email FROM dashboard_signin_log")).scalar_one()
    assert logged == auth.normalise_email(typed)[: auth.EMAIL_MAX_CHARS]


# Display: every page that shows people's text ---------------------------------------------

# Pages that show applicants' data; True: they list names, which must appear as typed.
PEOPLE_PAGES = {
    "pages/applications.py": True,
    "pages/matchings.py": True,
    "pages/messages.py": True,
    "pages/team.py": True,
    "pages/signins.py": True,
    "pages/audit.py": True,
    "pages/overview.py": False,  # counts and charts, no names
}


def _seed_hostile_world(engine: Engine) -> None:
    formation = factories.formation(engine, titre=DISPLAY_HOSTILE[1])
    company = factories.company(engine, nom=DISPLAY_HOSTILE[0])
    offer = factories.offer(engine, entreprise_id=company, titre=DISPLAY_HOSTILE[2])
    for n, value in enumerate(DISPLAY_HOSTILE):
        applicant = factories.user(
            engine, prenom=value, nom=value, commune=value, email=f"hostile{n}@exemple.fr"
        )
        factories.application(
            engine,
            user_id=applicant,
            formation_id=formation,
            motivation=value,
            created_at=NOW,
            updated_at=NOW,
        )
        with engine.begin() as connection:
            connection.execute(
                insert(Matching).values(
                    candidat_id=applicant,
                    offre_id=offer,
                    score=Decimal(90 - n),
                    criteres={"note": value},
                    statut="propose",
                    date_match=NOW,
                )
            )
        factories.contact(engine, nom=value, sujet=value, message=value, created_at=NOW)
        staff(engine, role="secretariat", prenom=value, nom=value, email=f"staff{n}@cipfaro.fr")
        auth.sign_in(engine, email=value, password="x", now=datetime.now(UTC), session_hours=8)
        with engine.begin() as connection:
            audit.record(
                connection,
                actor=None,
                action="test.hostile",
                entity="tests",
                entity_id=value,
                details={"note": value},
            )


def _shown_as_plain_text(at) -> str:  # type: ignore[no-untyped-def]
    shown = dataframe_cells(at) + [str(t.value) for t in at.text]
    shown += [str(option) for box in at.selectbox for option in box.options]
    return "\n".join(shown)


@pytest.mark.parametrize("page", list(PEOPLE_PAGES))
def test_pages_show_hostile_text_as_typed_and_take_hostile_input(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    app_env(monkeypatch, db_url)
    staff(engine, role="admin", email="admin@cipfaro.fr", prenom="Ada", nom="Admin")
    _seed_hostile_world(engine)
    at = page_as(engine, page, "admin@cipfaro.fr")
    check_page(at)
    rendered = "\n".join(texts_in_markdown(at))
    for value in DISPLAY_HOSTILE:
        assert value not in rendered and value.lower() not in rendered, (page, value)
    if PEOPLE_PAGES[page]:
        shown = _shown_as_plain_text(at)
        assert all(v in shown or v.lower() in shown for v in DISPLAY_HOSTILE), page
        downloads = [button.label for button in at.get("download_button")]
        assert {"CSV", "Excel"} <= set(downloads), (page, downloads)
    boxes = [i for i, box in enumerate(at.text_input) if not box.disabled]
    for index in boxes:
        for typed, _, _ in SQL_HOSTILE.values():
            at.text_input[index].input(typed).run()
            check_page(at)


# The one module allowed to draw HTML: the app's constant style sheet and the
# lang="fr" script, module constants with no text from a user or the database.
CONSTANT_HTML = {
    "ui/chrome.py": {"st.html(STYLE)", "st.html(LANG_SCRIPT, unsafe_allow_javascript=True)"}
}


def test_no_page_or_ui_module_renders_raw_html() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("pages", "ui")
        for path in sorted((ROOT / folder).glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if ("unsafe_allow_html" in line or re.search(r"\bst\.html\(", line))
        and line.strip() not in CONSTANT_HTML.get(str(path.relative_to(ROOT)), set())
    ]
    assert offenders == []


# Errors ------------------------------------------------------------------------------


def test_the_app_never_shows_error_details() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"


def test_streamlits_own_table_download_is_off() -> None:
    """Its toolbar CSV writes raw cells; tables leave through ui/exports.py only."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["disableDataExport"] is True


@pytest.mark.parametrize("page", ["pages/audit.py", "pages/signins.py", "pages/team.py"])
def test_a_database_error_on_a_page_is_a_short_french_message(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    app_env(monkeypatch, db_url)
    staff(engine, role="admin", email="admin@cipfaro.fr")
    at = page_as(engine, page, "admin@cipfaro.fr")
    check_page(at)
    broken = {
        "pages/audit.py": "dashboard_audit_log",
        "pages/signins.py": "dashboard_signin_log",
        "pages/team.py": "dashboard_signin_log",
    }[page]
    with engine.begin() as connection:
        connection.execute(text(f"ALTER TABLE {broken} RENAME TO broken_for_test"))
    at.run()
    check_page(at, errors=[UNAVAILABLE_MESSAGE])
    on_screen = "\n".join(texts_in_markdown(at) + [str(t.value) for t in at.text])
    assert not SQL_ERROR_WORDS.search(on_screen.replace(UNAVAILABLE_MESSAGE, ""))


def test_hostile_inputs_match_the_issue() -> None:
    """The cases the issue names are all here (so nobody trims the list by accident)."""
    typed = [value for value, _, _ in SQL_HOSTILE.values()]
    assert any("'" in v for v in typed) and any("%" in v for v in typed)
    assert any("_" in v for v in typed) and any("\\" in v for v in typed)
    assert any("\x00" in v for v in typed) and any(len(v) >= 10_000 for v in typed)
