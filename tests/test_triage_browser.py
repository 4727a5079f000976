"""A secretary triages one application in a real browser and sees it in the history."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect
from sqlalchemy import Engine, func, select

from data.db import create_db_engine
from data.models import Candidature, CandidatureEvent, Formation
from data.owned import AuditLog
from data.triage import assignable_staff
from tests import factories
from tests.browser import LiveApp
from tests.browser_helpers import open_page, sign_in_if_asked, wait_for_session_cookie
from tests.page_check import check_browser_page

pytestmark = pytest.mark.browser

SECRETARY = "secretariat@demo.cipfaro.fr"


@pytest.fixture
def live_engine(live_app: LiveApp) -> Iterator[Engine]:
    engine = create_db_engine(live_app.database_url)
    yield engine
    engine.dispose()


def _new_application(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                select(Candidature.id)
                .where(Candidature.statut == "nouvelle")
                .order_by(Candidature.id.desc())
                .limit(1)
            ).scalar_one()
        )


def _choose(page, label: str, option: str) -> None:  # type: ignore[no-untyped-def]
    """Pick ``option`` in the visible Streamlit selectbox labelled ``label`` (retrying while
    a rerun replaces the widget)."""
    box = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text(label, exact=True))
    visible = box.locator("visible=true").last
    for _ in range(4):
        _settle(page)
        visible.locator("input").click()
        choice = page.get_by_role("option", name=option, exact=True)
        try:
            choice.wait_for(timeout=5_000)
            choice.click()
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    expect(visible.locator("input")).to_have_value(option)
    _settle(page)


def _settle(page) -> None:  # type: ignore[no-untyped-def]
    """Let the current script run finish (the status widget shows while it runs)."""
    page.wait_for_timeout(400)
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=30_000)


def _open_bulk_actions(page) -> None:  # type: ignore[no-untyped-def]
    target = page.get_by_role("button", name="Passer la sélection en étude")
    for _ in range(4):
        _settle(page)
        if target.is_visible():
            return
        page.get_by_text("Actions groupées", exact=True).last.click()  # a stale copy may linger
        page.wait_for_timeout(700)  # the expander's opening animation
    expect(target).to_be_visible()


def _open_dialog(page, button: str, question: str):  # type: ignore[no-untyped-def]
    """Click ``button`` and return the confirmation dialog once it asks ``question``.

    Under load, a click that lands while the picker's rerun redraws the page is
    lost (the button clicked is the stale copy): wait for the app to settle, click,
    and if no dialog comes, settle and click again, rather than wait a minute.
    """
    dialog = page.get_by_role("dialog").filter(has_text=question)
    for _ in range(3):
        _settle(page)
        page.get_by_role("button", name=button).last.click()
        try:
            dialog.wait_for(timeout=15_000)
            return dialog
        except PlaywrightTimeout:
            continue
    dialog.wait_for()
    return dialog


def fresh_new_applications(engine: Engine, count: int) -> list[int]:
    """New applications of one's own, older than any other (so the queue, oldest first,
    lists them first, whatever its filters): the demo has only a couple of new ones,
    and other tests on the same live database triage them."""
    with engine.connect() as connection:
        formation = connection.execute(select(Formation.id).limit(1)).scalar_one()
        oldest = connection.execute(select(func.min(Candidature.created_at))).scalar_one()
    made = []
    for n in range(count, 0, -1):  # the first one returned is the oldest
        created = oldest - timedelta(days=n)
        made.append(
            factories.application(
                engine,
                user_id=factories.user(engine),
                formation_id=formation,
                created_at=created,
                updated_at=created,
            )
        )
    return made


def pick_for_bulk(page, picker, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    """Choose ``count`` applications in the bulk-action picker; the ids chosen. A rerun may
    redraw the picker while it is open (closing it, or dropping a click): read what it
    holds after each pick and open it again until it holds enough."""
    for _ in range(4 * count):
        _settle(page)
        held = [int(n) for n in re.findall(r"n° (\d+)", picker.inner_text())]
        if len(held) >= count:
            return held[:count]
        picker.click()
        option = page.get_by_role("option").filter(has_text="n°").first
        try:
            option.wait_for(timeout=5_000)
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            continue
        option.click()
        page.keyboard.press("Escape")
    raise AssertionError(f"the picker never held {count} applications: {picker.inner_text()!r}")


def _sign_in(page, live_app: LiveApp) -> None:  # type: ignore[no-untyped-def]
    """Sign in through the real form, then wait for the session cookie (so a reload keeps it)."""
    page.set_default_timeout(60_000)  # a shared 2-core machine: reruns can be slow
    page.goto(live_app.url)
    page.get_by_role("button", name="Se connecter").wait_for()
    sign_in_if_asked(page, SECRETARY)
    page.get_by_test_id("stSidebarNav").get_by_text("Candidatures").wait_for()
    wait_for_session_cookie(page)


def test_secretary_triages_one_application(
    live_app: LiveApp, live_engine: Engine, page, artifacts_dir: Path
) -> None:
    app_id = _new_application(live_engine)
    colleague = next(s for s in assignable_staff(live_engine) if s.role == "secretariat")
    file_url = f"{live_app.url}/candidatures?dossier={app_id}"
    _sign_in(page, live_app)
    page.goto(file_url)  # a link to the file: the page, with the file open
    page.get_by_text(f"Dossier n° {app_id}", exact=True).wait_for()

    _choose(page, "Assigner à", colleague.name)
    _settle(page)  # click the settled button, not a rerun's stale twin
    page.get_by_role("button", name="Assigner", exact=True).click()
    _settle(page)
    page.get_by_text(f"Assignée à {colleague.name}").first.wait_for()

    _choose(page, "Nouveau statut", "En étude")
    _settle(page)  # the rerun's stale elements (a second « Appliquer ») go when it ends
    page.get_by_role("button", name="Appliquer", exact=True).click()
    _settle(page)
    page.get_by_text("Nouvelle → En étude", exact=False).first.wait_for()

    _choose(page, "Motif de refus", "Dossier incomplet")
    detail = page.get_by_label("Précision", exact=True).last  # a rerun may hold a stale copy
    detail.fill("Pièce d'identité manquante")
    detail.press("Enter")
    page.get_by_role("button", name="Refuser", exact=True).click()
    dialog = page.get_by_role("dialog")  # a refusal is confirmed, with its reason
    dialog.get_by_text("Motif : Dossier incomplet — Pièce d'identité manquante").wait_for()
    dialog.get_by_role("button", name="Confirmer").click()
    _settle(page)
    timeline = page.get_by_test_id("stVerticalBlock").filter(has_text="En étude → Refusée")
    timeline.first.wait_for()
    page.get_by_text(
        "Refus : Dossier incomplet — Pièce d'identité manquante", exact=False
    ).first.wait_for()
    page.screenshot(path=str(artifacts_dir / "triage-history.png"), full_page=True)
    check_browser_page(page)

    with live_engine.connect() as connection:
        row = connection.execute(
            select(Candidature.statut, Candidature.motif_refus, Candidature.assigned_to).where(
                Candidature.id == app_id
            )
        ).one()
        changes = connection.execute(
            select(CandidatureEvent.from_statut, CandidatureEvent.to_statut)
            .where(CandidatureEvent.candidature_id == app_id)
            .order_by(CandidatureEvent.changed_at, CandidatureEvent.id)
        ).all()
        audited = (
            connection.execute(
                select(AuditLog.action)
                .where(AuditLog.entity_id == str(app_id))
                .order_by(AuditLog.id)
            )
            .scalars()
            .all()
        )
    assert tuple(row) == ("refusee", "Dossier incomplet — Pièce d'identité manquante", colleague.id)
    assert [tuple(c) for c in changes[-3:]] == [
        ("nouvelle", "nouvelle"),
        ("nouvelle", "en_etude"),
        ("en_etude", "refusee"),
    ]
    assert audited == ["candidature.assign", "candidature.move", "candidature.refuse"]


def test_bulk_move_is_confirmed_in_a_dialog(
    live_app: LiveApp, live_engine: Engine, page, artifacts_dir: Path
) -> None:
    fresh = fresh_new_applications(live_engine, 2)
    _sign_in(page, live_app)
    open_page(page, f"{live_app.url}/candidatures?statut=nouvelle", "Candidatures")
    page.get_by_test_id("stDataFrame").wait_for()
    _open_bulk_actions(page)
    picker = page.get_by_test_id("stMultiSelect").filter(
        has=page.get_by_text("Sélection pour les actions groupées", exact=True)
    )
    chosen = pick_for_bulk(page, picker, 2)
    assert sorted(chosen) == sorted(fresh)
    dialog = _open_dialog(
        page, "Passer la sélection en étude", "Passer 2 candidature(s) en étude ?"
    )
    page.screenshot(path=str(artifacts_dir / "triage-bulk-dialog.png"))
    with live_engine.connect() as connection:  # nothing written before confirmation
        before = (
            connection.execute(select(Candidature.statut).where(Candidature.id.in_(chosen)))
            .scalars()
            .all()
        )
    assert before == ["nouvelle", "nouvelle"]
    dialog.get_by_role("button", name="Confirmer").click()
    _settle(page)
    page.get_by_text("2 réussie(s), 0 en échec.").first.wait_for()
    check_browser_page(page)
    with live_engine.connect() as connection:
        after = (
            connection.execute(select(Candidature.statut).where(Candidature.id.in_(chosen)))
            .scalars()
            .all()
        )
    assert after == ["en_etude", "en_etude"]


def test_cv_is_previewed_and_downloadable(
    live_app: LiveApp, live_engine: Engine, page, artifacts_dir: Path
) -> None:
    root = Path(str(live_app.upload_root))
    assert root.is_dir(), root  # see tests/browser.py: live_app gets live_upload_root
    with live_engine.connect() as connection:
        rows = connection.execute(
            select(Candidature.id, Candidature.cv_path)
            .where(Candidature.cv_path.is_not(None))
            .order_by(Candidature.id)
        ).all()
    app_id = next(i for i, path in rows if (root / path).is_file())
    _sign_in(page, live_app)
    page.goto(f"{live_app.url}/candidatures?dossier={app_id}")
    page.get_by_text(f"Dossier n° {app_id}", exact=True).wait_for()
    page.get_by_test_id("pdf-container").locator("canvas").first.wait_for()
    with page.expect_download() as download:
        page.get_by_role("button", name="Télécharger le CV").click()
    saved = artifacts_dir / "cv-download.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF-")
    page.screenshot(path=str(artifacts_dir / "triage-cv.png"))
    check_browser_page(page)
