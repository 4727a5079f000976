"""The demo data generator: deterministic, consistent, realistic, fast enough."""

from __future__ import annotations

import itertools
import os
import random
import subprocess
import sys
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import bcrypt
import pytest
from pypdf import PdfReader
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from data.db import create_db_engine
from data.demo import DEMO_ACCOUNTS, DemoSummary, ensure_demo_database, generate, run_live
from data.demo import build as build_module
from data.demo.accounts import demo_password_hash
from data.demo.clock import Formats
from data.demo.lifecycle import ApplicationStream
from data.demo.people import PeopleFactory
from data.demo.pgcopy import fast_encoders
from data.demo.tables import TABLE_BY_NAME, pg_copy_encoder
from data.demo.vocab import FORMATIONS, HOSTILE_MOTIVATIONS
from data.demo.world import build_world
from data.errors import Conflict
from data.models import Base
from data.settings import PROJECT_ROOT, load_settings
from data.workflow import TRANSITIONS
from tests.conftest import PG_ADMIN_URL, new_pg_database, new_sqlite_database

TODAY = date(2026, 11, 25)
SMALL = 300
TABLES = [table.name for table in Base.metadata.sorted_tables]


def _generate(engine: Engine, tmp_path: Path | None = None, **kwargs: Any) -> DemoSummary:
    options: dict[str, Any] = {"applications": SMALL, "seed": 7, "today": TODAY}
    options.update(kwargs)
    return generate(engine, upload_root=tmp_path, **options)


def _snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as connection:
        return {
            name: [
                tuple(row) for row in connection.execute(text(f"SELECT * FROM {name} ORDER BY id"))
            ]
            for name in TABLES
        }


def _empty(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


def _rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text(sql), params))


# Determinism ---------------------------------------------------------------


def test_same_seed_and_day_give_identical_rows(engine: Engine) -> None:
    _generate(engine)
    first = _snapshot(engine)
    _empty(engine)
    _generate(engine)
    assert _snapshot(engine) == first
    assert len(first["candidatures"]) == SMALL


def test_another_seed_gives_other_rows(engine: Engine) -> None:
    _generate(engine)
    first = _snapshot(engine)
    _empty(engine)
    _generate(engine, seed=8)
    other = _snapshot(engine)
    assert other["candidatures"] != first["candidatures"]
    assert other["formations"] == first["formations"]  # the catalogue is fixed


def test_child_process_producer_writes_the_same_rows(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _generate(pg_engine)
    in_thread = _snapshot(pg_engine)
    _empty(pg_engine)
    monkeypatch.setattr(build_module, "PROCESS_THRESHOLD", 0)
    _generate(pg_engine)
    assert _snapshot(pg_engine) == in_thread


def test_summary_counts_the_rows_written(engine: Engine) -> None:
    summary = _generate(engine)
    counts = {name: len(rows) for name, rows in _snapshot(engine).items()}
    assert summary.counts() == counts
    assert summary.rows == sum(counts.values())
    assert summary.candidatures == SMALL and summary.seconds > 0


def test_a_database_with_data_is_refused(engine: Engine) -> None:
    _generate(engine)
    with pytest.raises(Conflict, match="déjà des données"):
        _generate(engine)


# Invariants ----------------------------------------------------------------


@dataclass(frozen=True)
class DemoSite:
    engine: Engine
    uploads: Path


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoSite]:
    """A demo database built once per module and backend, for tests that only read."""
    directory = tmp_path_factory.mktemp(f"demo-{request.param}")
    if request.param == "sqlite":
        url = new_sqlite_database(directory)
    else:
        url = new_pg_database(request.getfixturevalue("pg_template"))
    engine = create_db_engine(url)
    _generate(engine, directory / "uploads")
    yield DemoSite(engine, directory / "uploads")
    engine.dispose()
    if request.param == "postgresql":
        admin = create_engine(make_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            name = make_url(url).database
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def demo(demo_site: DemoSite) -> Engine:
    return demo_site.engine


@pytest.fixture
def fresh_demo(engine: Engine) -> Engine:
    """A demo database of one's own (both backends), for tests that write."""
    _generate(engine)
    return engine


def _events_by_application(engine: Engine) -> dict[int, list[Any]]:
    history: dict[int, list[Any]] = defaultdict(list)
    for row in _rows(engine, "SELECT * FROM candidature_events ORDER BY candidature_id, id"):
        history[row.candidature_id].append(row)
    return history


def test_last_event_is_the_current_status(demo: Engine) -> None:
    history = _events_by_application(demo)
    applications = _rows(demo, "SELECT id, statut FROM candidatures")
    with_events = [a for a in applications if a.id in history]
    assert with_events and len(with_events) < len(applications)  # a few legacy ones
    assert all(history[a.id][-1].to_statut == a.statut for a in with_events)


def test_history_starts_at_creation_and_moves_forward_along_the_workflow(demo: Engine) -> None:
    history = _events_by_application(demo)
    created = {r.id: r.created_at for r in _rows(demo, "SELECT id, created_at FROM candidatures")}
    # The loops below check nothing on an empty history: there must be one, with moves.
    assert len(history) > SMALL // 2
    assert sum(len(events) - 1 for events in history.values()) > len(history)
    for application_id, events in history.items():
        first = events[0]
        assert (first.from_statut, first.to_statut) == (None, "nouvelle")
        assert _utc(first.changed_at) == _utc(created[application_id])
        for before, after in itertools.pairwise(events):
            assert after.from_statut == before.to_statut
            assert after.to_statut in TRANSITIONS[before.to_statut]
            assert _utc(after.changed_at) > _utc(before.changed_at)


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def test_history_ends_before_today(demo: Engine) -> None:
    limit = datetime(TODAY.year, TODAY.month, TODAY.day, 11, tzinfo=UTC)  # 07:00 local
    latest = _rows(demo, "SELECT max(changed_at) AS last FROM candidature_events")[0].last
    assert _utc(latest) <= limit


def test_invoices_satisfy_the_contract_and_follow_the_enrolment(demo: Engine) -> None:
    invoices = _rows(
        demo,
        """SELECT f.*, c.financement, fo.prix FROM factures f
           LEFT JOIN candidatures c ON c.id = f.candidature_id
           LEFT JOIN formations fo ON fo.id = c.formation_id""",
    )
    assert invoices
    assert {i.statut for i in invoices} >= {"emise", "payee"}
    for invoice in invoices:
        assert (invoice.candidature_id is None) != (invoice.devis_id is None)
        assert (invoice.statut == "payee") == (invoice.date_paiement is not None)
        assert invoice.date_echeance >= invoice.date_emission
        if invoice.candidature_id is not None:
            assert invoice.financeur == invoice.financement
            assert float(invoice.montant) == float(invoice.prix)


def test_enrolled_applications_sit_in_a_session_of_their_formation(demo: Engine) -> None:
    rows = _rows(
        demo,
        """SELECT c.statut, c.formation_id, s.formation_id AS session_formation
           FROM candidatures c LEFT JOIN sessions_formation s ON s.id = c.session_id""",
    )
    enrolled = [r for r in rows if r.statut in ("inscrite", "en_formation", "abandon", "terminee")]
    assert enrolled
    assert all(r.session_formation == r.formation_id for r in enrolled)
    assert all(r.session_formation is None for r in rows if r not in enrolled)


def test_no_session_is_overbooked(demo: Engine) -> None:
    rows = _rows(
        demo,
        """SELECT s.id, s.places, count(c.id) AS taken FROM sessions_formation s
           LEFT JOIN candidatures c ON c.session_id = s.id GROUP BY s.id, s.places""",
    )
    assert all(r.taken <= r.places for r in rows)


def test_placements_belong_to_existing_trainees(demo: Engine) -> None:
    rows = _rows(
        demo,
        """SELECT p.user_id, u.id AS known, c.user_id AS applicant, p.type_contrat, p.duree_mois
           FROM placements p LEFT JOIN users u ON u.id = p.user_id
           LEFT JOIN candidatures c ON c.id = p.candidature_id""",
    )
    assert rows
    for row in rows:
        assert row.known == row.user_id == row.applicant
        assert (row.duree_mois is not None) == (
            row.type_contrat in ("cdd", "interim", "alternance")
        )


def test_matches_carry_a_score_breakdown(demo: Engine) -> None:
    import json

    rows = _rows(demo, "SELECT score, criteres, statut FROM matchings")
    assert rows
    for row in rows:
        criteria = row.criteres if isinstance(row.criteres, dict) else json.loads(row.criteres)
        assert {"competences", "distance_km", "formation"} <= set(criteria)
        assert 0 <= float(row.score) <= 100


def test_the_closed_formation_has_no_activity(demo: Engine) -> None:
    closed = [spec.slug for spec in FORMATIONS if not spec.actif]
    rows = _rows(
        demo,
        """SELECT f.slug, f.actif, count(DISTINCT s.id) AS sessions, count(DISTINCT c.id) AS apps
           FROM formations f LEFT JOIN sessions_formation s ON s.formation_id = f.id
           LEFT JOIN candidatures c ON c.formation_id = f.id GROUP BY f.slug, f.actif""",
    )
    by_slug = {r.slug: r for r in rows}
    assert closed and all(not by_slug[s].actif for s in closed)
    assert all(by_slug[s].sessions == 0 and by_slug[s].apps == 0 for s in closed)
    assert 10 <= len(rows) <= 14


@pytest.mark.parametrize("text_value", HOSTILE_MOTIVATIONS)
def test_hostile_free_text_is_stored_verbatim(demo: Engine, text_value: str) -> None:
    stored = _rows(demo, "SELECT motivation FROM candidatures WHERE motivation = :m", m=text_value)
    assert len(stored) == 1


@pytest.mark.parametrize("name", ["N'Diaye", "D'Alembert"])
def test_apostrophe_names_are_there(demo: Engine, name: str) -> None:
    assert _rows(demo, "SELECT id FROM users WHERE nom = :n", n=name)


# Accounts and CVs ------------------------------------------------------------


def test_demo_accounts_sign_in_with_their_documented_passwords() -> None:
    for account in DEMO_ACCOUNTS:
        hashed = demo_password_hash(account.email, account.password)
        assert hashed.startswith("$2b$12$")  # bcrypt, cost 12
        assert bcrypt.checkpw(account.password.encode(), hashed.encode())
    assert {a.role for a in DEMO_ACCOUNTS} >= {"admin", "direction", "secretariat", "formateur"}
    assert [a.email for a in DEMO_ACCOUNTS if not a.actif] == ["inactif@demo.cipfaro.fr"]


def test_demo_accounts_are_stored_with_their_hash_and_role(demo: Engine) -> None:
    rows = {r.email: r for r in _rows(demo, "SELECT email, password, role, actif FROM users")}
    assert len(DEMO_ACCOUNTS) >= 4  # the loop below checks each of them
    for account in DEMO_ACCOUNTS:
        row = rows[account.email]
        assert row.password == demo_password_hash(account.email, account.password)
        assert (row.role, bool(row.actif)) == (account.role, account.actif)


def test_trainees_cannot_sign_in_with_a_guessable_password(demo: Engine) -> None:
    row = _rows(demo, "SELECT password FROM users WHERE role = 'stagiaire' LIMIT 1")[0]
    assert row.password.startswith("$2b$12$")
    assert not bcrypt.checkpw(b"demo-stagiaire", row.password.encode())


def test_cv_files_are_real_pdfs_with_the_applicant_name(demo_site: DemoSite) -> None:
    demo, root = demo_site.engine, demo_site.uploads
    rows = _rows(
        demo,
        """SELECT c.cv_path, u.prenom, u.nom FROM candidatures c JOIN users u ON u.id = c.user_id
           WHERE c.cv_path IS NOT NULL""",
    )
    names_by_path: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        names_by_path[row.cv_path].add(f"{row.prenom} {row.nom}")
    assert len(names_by_path) == 12
    for path, names in names_by_path.items():
        assert path.startswith("cv/") and path.endswith(".pdf")
        data = (root / path).read_bytes()
        assert data.startswith(b"%PDF")
        page_text = PdfReader(root / path).pages[0].extract_text()
        # Each CV is its applicant's own: no application shows a stranger's file.
        assert len(names) == 1, (path, names)
        assert all(name in page_text for name in names), path


# Realism (one bigger database, SQLite only, built once) ------------------------


@pytest.fixture(scope="module")
def centre(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    url = new_sqlite_database(tmp_path_factory.mktemp("centre"))
    engine = create_db_engine(url)
    generate(engine, applications=3000, seed=2026, today=TODAY)
    return engine


def test_statuses_have_plausible_shares(centre: Engine) -> None:
    shares = Counter(
        {
            r.statut: r.n
            for r in _rows(centre, "SELECT statut, count(*) AS n FROM candidatures GROUP BY statut")
        }
    )
    total = sum(shares.values())
    assert 0.15 <= shares["refusee"] / total <= 0.25
    assert 0.07 <= shares["desistement"] / total <= 0.14
    trainees = shares["en_formation"] + shares["abandon"] + shares["terminee"]
    assert 0.05 <= shares["abandon"] / trainees <= 0.15


def test_applications_peak_in_september_and_january(centre: Engine) -> None:
    by_month = Counter()
    for row in _rows(centre, "SELECT created_at FROM candidatures"):
        by_month[_utc(row.created_at).month] += 1
    assert by_month[9] > by_month[7] and by_month[9] > by_month[12]
    assert by_month[1] > by_month[7] and by_month[1] > by_month[12]


def test_recent_applications_wait_for_triage_some_beyond_the_deadline(centre: Engine) -> None:
    now = datetime(TODAY.year, TODAY.month, TODAY.day, 11, tzinfo=UTC)
    new = [
        _utc(r.created_at)
        for r in _rows(centre, "SELECT created_at FROM candidatures WHERE statut = 'nouvelle'")
    ]
    assert new and all(now - created < timedelta(days=25) for created in new)
    assert any(now - created > timedelta(hours=48) for created in new)


def test_applications_arrive_in_office_or_evening_hours(centre: Engine) -> None:
    hours = Counter(
        (_utc(r.created_at) - timedelta(hours=4)).hour
        for r in _rows(centre, "SELECT created_at FROM candidatures")
    )
    assert sum(hours.values()) == 3000  # every application, not an empty count
    assert set(hours) <= set(range(7, 24))


def test_most_completers_find_a_job_within_six_months(centre: Engine) -> None:
    rows = _rows(
        centre,
        """SELECT c.id, s.date_fin,
                  (SELECT min(p.date_debut) FROM placements p WHERE p.user_id = c.user_id
                   AND p.type_contrat <> 'formation' AND p.date_debut >= s.date_fin) AS placed
           FROM candidatures c JOIN sessions_formation s ON s.id = c.session_id
           WHERE c.statut = 'terminee' AND s.date_fin < :cutoff""",
        cutoff=TODAY - timedelta(days=250),
    )
    placed = [
        r
        for r in rows
        if r.placed is not None and _day(r.placed) <= _day(r.date_fin) + timedelta(days=184)
    ]
    assert len(rows) > 100
    assert 0.45 <= len(placed) / len(rows) <= 0.70


def _day(value: Any) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def test_every_funder_is_invoiced(centre: Engine) -> None:
    funders = {r.financeur for r in _rows(centre, "SELECT DISTINCT financeur FROM factures")}
    assert funders == {"cpf", "france_travail", "opco", "region", "employeur", "personnel"}


def test_default_demo_is_generated_quickly(tmp_path: Path) -> None:
    engine = create_db_engine(new_sqlite_database(tmp_path))
    summary = generate(engine, today=TODAY)
    assert summary.candidatures == 3000
    assert summary.seconds < 10


# PostgreSQL bulk load ----------------------------------------------------------


def _catalog(engine: Engine) -> set[tuple[str, str]]:
    rows = _rows(
        engine,
        """SELECT conname AS name, pg_get_constraintdef(oid) AS definition FROM pg_constraint
           WHERE connamespace = 'public'::regnamespace
           UNION ALL
           SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i
           JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'public'::regnamespace""",
    )
    return {(r.name, r.definition) for r in rows}


def test_bulk_load_puts_back_every_index_and_constraint(pg_engine: Engine) -> None:
    before = _catalog(pg_engine)
    _generate(pg_engine)
    assert _catalog(pg_engine) == before


def test_sequences_continue_after_the_generated_ids(pg_engine: Engine) -> None:
    summary = _generate(pg_engine)
    with pg_engine.begin() as connection:
        new_id = connection.execute(
            text(
                "INSERT INTO contacts (nom, email, sujet, message) VALUES ('a', 'b', 'c', 'd') RETURNING id"
            )
        ).scalar_one()
    assert new_id == summary.contacts + 1


# First start and live mode -----------------------------------------------------


@pytest.fixture
def demo_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setattr("data.settings.DEMO_DATABASE_FILE", tmp_path / "var" / "demo.sqlite3")
    return load_settings(UPLOAD_ROOT=tmp_path / "uploads")


def _count(url: str, table: str) -> int:
    engine = create_db_engine(url)
    try:
        return int(_rows(engine, f"SELECT count(*) AS n FROM {table}")[0].n)
    finally:
        engine.dispose()


def test_first_start_creates_the_demo_once(demo_settings: Any) -> None:
    assert ensure_demo_database(demo_settings) is True
    counts = {t: _count(demo_settings.database_url, t) for t in ("users", "candidatures")}
    assert counts["candidatures"] == 3000
    assert ensure_demo_database(demo_settings) is False
    assert {t: _count(demo_settings.database_url, t) for t in counts} == counts
    assert _count(demo_settings.database_url, "dashboard_alembic_version") == 1
    assert len(list((demo_settings.upload_root / "cv").rglob("*.pdf"))) == 12
    leftovers = [p.name for p in demo_settings.upload_root.parent.joinpath("var").iterdir()]
    assert not [name for name in leftovers if name.endswith(".building")]


def test_two_processes_starting_at_once_build_one_demo(demo_settings: Any) -> None:
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_demo_database(demo_settings)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    assert _count(demo_settings.database_url, "candidatures") == 3000


def test_a_failed_first_start_leaves_no_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    monkeypatch.setattr("data.settings.DEMO_DATABASE_FILE", tmp_path / "var" / "demo.sqlite3")
    settings = load_settings(UPLOAD_ROOT=blocker)  # CVs cannot be written under a file
    with pytest.raises(OSError):
        ensure_demo_database(settings)
    assert [p.name for p in (tmp_path / "var").iterdir()] == ["demo.sqlite3.lock"]


def test_first_start_does_nothing_outside_demo_mode(db_url: str) -> None:
    assert ensure_demo_database(load_settings(DATABASE_URL=db_url)) is False
    assert _count(db_url, "candidatures") == 0


def test_live_mode_adds_applications_and_status_changes(fresh_demo: Engine) -> None:
    demo = fresh_demo
    before = {
        t: _rows(demo, f"SELECT count(*) AS n FROM {t}")[0].n
        for t in ("candidatures", "candidature_events")
    }
    run_live(demo, interval_seconds=0.01, seed=3, iterations=2)
    after = {t: _rows(demo, f"SELECT count(*) AS n FROM {t}")[0].n for t in before}
    assert after["candidatures"] >= before["candidatures"] + 2
    moved = (
        after["candidature_events"]
        - before["candidature_events"]
        - (after["candidatures"] - before["candidatures"])
    )
    assert moved >= 1
    history = _events_by_application(demo)
    for application in _rows(demo, "SELECT id, statut FROM candidatures"):
        if application.id in history:
            assert history[application.id][-1].to_statut == application.statut


def test_live_mode_stops_when_asked(fresh_demo: Engine) -> None:
    demo = fresh_demo
    stop = threading.Event()
    stop.set()
    run_live(demo, stop=stop)
    assert _rows(demo, "SELECT count(*) AS n FROM candidatures")[0].n == SMALL


# Command line ----------------------------------------------------------------


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "data.demo", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_cli_refuses_a_database_with_applications_unless_reset(db_url: str, tmp_path: Path) -> None:
    env = {"UPLOAD_ROOT": str(tmp_path / "uploads")}
    first = _cli("--url", db_url, "--applications", "50", "--today", "2026-11-25", env=env)
    assert first.returncode == 0, first.stderr
    assert "candidatures 50" in first.stdout
    again = _cli("--url", db_url, "--applications", "50", env=env)
    assert again.returncode == 2
    assert again.stderr.strip().count("\n") == 0 and "--reset" in again.stderr
    reset = _cli("--url", db_url, "--applications", "60", "--reset", env=env)
    assert reset.returncode == 0, reset.stderr
    assert _count(db_url, "candidatures") == 60


def test_cli_creates_the_tables_of_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'blank.sqlite3'}"
    done = _cli("--url", url, "--applications", "20", env={"UPLOAD_ROOT": str(tmp_path / "u")})
    assert done.returncode == 0, done.stderr
    assert _count(url, "candidatures") == 20


def test_cli_reports_an_unreachable_database_in_one_line() -> None:
    done = _cli("--url", "postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    assert done.returncode == 1
    assert done.stderr.strip().startswith("Erreur :")
    assert "Traceback" not in done.stderr and done.stderr.strip().count("\n") == 0


def test_every_table_of_the_contract_gets_rows(demo: Engine) -> None:
    from data.demo.tables import TABLE_NAMES

    assert set(TABLE_NAMES) == set(Base.metadata.tables)
    for name in TABLE_NAMES:
        assert _rows(demo, f"SELECT count(*) AS n FROM {name}")[0].n > 0, name


def test_fast_copy_encoders_write_what_the_generic_ones_write() -> None:
    """The hand-written COPY encoders of the big tables (for load speed) must give the
    same bytes as the encoder derived from each table's column list."""
    rng = random.Random(7)
    people = PeopleFactory(rng)
    today = build_module.day_number(date(2026, 11, 22))
    world = build_world(rng, people, 400, today)
    stream = ApplicationStream(world, rng, people, 400)
    formats = Formats(world.start_day - 1500, world.today_day + 1500)
    rows: dict[str, list[Any]] = defaultdict(list)
    for name, table_rows in world.rows.items():
        rows[name].extend(table_rows)
    for batch, _done in stream.batches(100):
        for name, table_rows in batch.items():
            rows[name].extend(table_rows)
    fast = fast_encoders(formats)
    for name, encode in fast.items():
        assert rows[name], f"no {name} rows drawn"
        generic = pg_copy_encoder(TABLE_BY_NAME[name], formats)
        assert encode(rows[name]) == generic(rows[name]), name


def test_first_start_evaluates_the_alerts_so_the_secretariat_has_notices(
    demo_settings: Any,
) -> None:
    ensure_demo_database(demo_settings)
    rows = _rows(
        create_db_engine(demo_settings.database_url),
        """SELECT n.rule_kind AS kind, count(*) AS n FROM dashboard_notifications n
           JOIN users u ON u.id = n.user_id
           WHERE u.email = 'secretariat@demo.cipfaro.fr' GROUP BY n.rule_kind""",
    )
    kinds = {row.kind: row.n for row in rows}
    assert kinds.get("triage_sla_breached", 0) > 0  # the demo's overdue applications
    assert kinds.get("contacts_untreated", 0) > 0  # its untreated messages


def test_live_mode_evaluates_the_alerts(fresh_demo: Engine) -> None:
    run_live(fresh_demo, interval_seconds=0.01, seed=4, iterations=1)
    evaluated = _rows(
        fresh_demo,
        "SELECT count(*) AS n FROM dashboard_alert_rules WHERE last_evaluated_at IS NOT NULL",
    )[0].n
    assert evaluated >= 13
