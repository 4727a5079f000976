"""Shared fixtures: real databases (SQLite and PostgreSQL), settings, time.

``engine`` is parametrised over both databases: every test that takes it
runs twice. PostgreSQL comes from ``TEST_DATABASE_URL`` (default: the local
server); each test gets its own database, cloned from a template built once
per run from ``operational-schema.sql`` plus our migrations, and dropped
after. Without PostgreSQL those tests skip, except under ``CI=true`` where a
missing PostgreSQL is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from data.db import create_db_engine
from data.migrate import upgrade
from data.schema import create_operational_tables
from data.settings import get_settings
from tests.browser import (  # noqa: F401 - fixtures
    chromium_browser,
    live_app,
    live_app_fast_refresh,
    live_database_url,
    live_upload_root,
    page,
    pytest_runtest_makereport,
)

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_ADMIN_URL = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
IN_CI = os.environ.get("CI", "").lower() == "true"
RUN_ID = uuid.uuid4().hex[:8]


def _admin_engine() -> Engine:
    return create_engine(make_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")


def _pg_reachable() -> str | None:
    """None when PostgreSQL answers, else the reason."""
    try:
        with _admin_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"PostgreSQL injoignable à {PG_ADMIN_URL}: {type(exc).__name__}"
    return None


PG_PROBLEM = _pg_reachable()


def _url_for(database: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


def _drop_database(name: str) -> None:
    with _admin_engine().connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def require_postgresql() -> None:
    """Skip a PostgreSQL test when no server answers; under ``CI=true``, fail it."""
    if PG_PROBLEM:
        if IN_CI:
            pytest.fail(f"CI=true et {PG_PROBLEM}")
        pytest.skip(PG_PROBLEM)


@pytest.fixture(scope="session")
def pg_template(worker_id: str) -> Iterator[str]:
    """A template database: the contract schema plus our migrations, built once."""
    require_postgresql()
    name = f"cipfaro_tpl_{RUN_ID}_{worker_id}"
    with _admin_engine().connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_db_engine(_url_for(name))
    try:
        create_operational_tables(engine)
        upgrade(engine)
    finally:
        engine.dispose()
    yield name
    _drop_database(name)


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    # pytest-xdist provides its own; this is the fallback without it.
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


def new_pg_database(template: str) -> str:
    """A fresh database cloned from ``template``; returns its URL."""
    name = f"cipfaro_t_{uuid.uuid4().hex[:12]}"
    with _admin_engine().connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    return _url_for(name)


def terminate_backends(url: str, *, spare: Iterable[int] = ()) -> int:
    """``pg_terminate_backend`` on every connection to ``url``'s database (that database
    only: the server is shared), except the backend pids in ``spare``."""
    database = make_url(url).database
    with _admin_engine().connect() as connection:
        return len(
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :database AND pid <> pg_backend_pid() "
                    "AND NOT (pid = ANY(:spare))"
                ),
                {"database": database, "spare": list(spare)},
            ).all()
        )


def lock_backend(url: str) -> int:
    """The backend pid holding an advisory lock in ``url``'s database (the scheduler's)."""
    database = make_url(url).database
    with _admin_engine().connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                    "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = :database"
                ),
                {"database": database},
            ).scalar_one()
        )


def refuse_connections(url: str, refuse: bool) -> None:
    """Make ``url``'s database refuse new connections (or accept them again)."""
    database = make_url(url).database
    with _admin_engine().connect() as connection:
        connection.execute(
            text(
                f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {"false" if refuse else "true"}'
            )
        )


def new_sqlite_database(directory: Path) -> str:
    """A fresh SQLite file with the operational tables and our migrations."""
    url = f"sqlite:///{directory / 'test.sqlite3'}"
    engine = create_db_engine(url)
    try:
        create_operational_tables(engine)
        upgrade(engine)
    finally:
        engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh, empty database (operational tables + ours), on both backends."""
    if request.param == "sqlite":
        yield new_sqlite_database(tmp_path)
        return
    template = request.getfixturevalue("pg_template")
    url = new_pg_database(template)
    yield url
    _drop_database(make_url(url).database or "")


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of a fresh PostgreSQL database only (for races and PostgreSQL-specific tests)."""
    template = request.getfixturevalue("pg_template")
    url = new_pg_database(template)
    yield url
    _drop_database(make_url(url).database or "")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a fresh database, on SQLite and on PostgreSQL."""
    eng = create_db_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    eng = create_db_engine(pg_url)
    yield eng
    eng.dispose()


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Each test starts from default settings, never a developer's secrets or env."""
    for name in list(os.environ):
        if name in type(get_settings()).model_fields:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("data.settings.SECRETS_FILE", tmp_path / "no-secrets.toml", raising=True)
    monkeypatch.setitem(
        type(get_settings()).model_config, "toml_file", tmp_path / "no-secrets.toml"
    )
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def artifacts_dir() -> Path:
    """Where tests leave screenshots and rendered pages for a person to look at."""
    path = Path(__file__).resolve().parent.parent / "artifacts"
    path.mkdir(exist_ok=True)
    return path


# --- A real SMTP server on localhost (aiosmtpd), for the reports' email tests ---


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on (right now)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpSink:
    """What the local SMTP server received, and how it should misbehave.

    ``refuse``: addresses answered ``550`` at RCPT (permanent failure);
    ``data_reply``: when set, every DATA gets this reply instead of 250;
    ``on_data``: called with the raw message before replying (e.g. to kill
    the sender: a crash between "sending" and acceptance);
    ``on_accept``: called with the raw message, then the message is accepted
    as usual (e.g. a fault injected during the hand-over);
    ``accept_delay``: seconds the server takes to answer the end of a message
    (a slow server; other clients are served meanwhile).
    """

    def __init__(self, host: str, port: int) -> None:
        import email.message

        self.host, self.port = host, port
        self.messages: list[email.message.Message] = []
        self.refuse: set[str] = set()
        self.data_reply: str | None = None
        self.on_data: object = None
        self.on_accept: object = None
        self.accept_delay = 0.0

    def received_by(self, address: str) -> list:  # type: ignore[type-arg]
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]


class _SinkHandler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]  # noqa: N802
        if address.lower() in self.sink.refuse:
            return "550 5.1.1 Destinataire inconnu"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        import asyncio
        import email
        import email.policy

        if callable(self.sink.on_data):
            self.sink.on_data(envelope.content)
            return "451 4.3.0 Interrompu"
        if self.sink.data_reply is not None:
            return self.sink.data_reply
        if callable(self.sink.on_accept):
            self.sink.on_accept(envelope.content)
        if self.sink.accept_delay:
            await asyncio.sleep(self.sink.accept_delay)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.sink.messages.append(parsed)
        return "250 Message accepted"


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1, plain text, no authentication."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink("127.0.0.1", free_port())
    controller = Controller(_SinkHandler(sink), hostname=sink.host, port=sink.port)
    controller.start()
    yield sink
    controller.stop()
