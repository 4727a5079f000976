"""Real-browser fixtures: the app served by ``streamlit run`` and Debian's Chromium.

``live_app`` starts ``streamlit run dashboard.py`` once per test session on a
free localhost port, against a PostgreSQL database cloned from the test
template and filled by the demo generator. ``page`` is a fresh Playwright
page in Chromium (``/usr/bin/chromium``; nothing downloads a browser).
Without Chromium the browser tests skip, except under ``CI=true``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
PROJECT_ROOT = Path(__file__).resolve().parent.parent
LIVE_COOKIE_KEY = "browser-tests-cookie-key-0123456789abcdef"
START_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class LiveApp:
    url: str
    database_url: str
    upload_root: Path
    log_path: Path
    pid: int = 0  # the streamlit process (a test may kill it)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited: {log_path.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit not healthy after {START_TIMEOUT_SECONDS}s")


@pytest.fixture(scope="session")
def live_upload_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The UPLOAD_ROOT of the live app: where the demo generator writes its CVs."""
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="session")
def live_database_url(pg_template: str, live_upload_root: Path) -> Iterator[str]:
    """A PostgreSQL database with demo data, shared by the browser tests."""
    from data.db import create_db_engine
    from data.demo import generate
    from tests.conftest import _drop_database, new_pg_database

    url = new_pg_database(pg_template)
    engine = create_db_engine(url)
    try:
        generate(engine, applications=400, seed=7, upload_root=live_upload_root)
    finally:
        engine.dispose()
    yield url
    _drop_database(make_url(url).database or "")


@contextmanager
def _serve(
    database_url: str, upload_root: Path, log_dir: Path, extra_env: dict[str, str]
) -> Iterator[LiveApp]:
    """``streamlit run dashboard.py`` on a free port with ``extra_env``, stopped on exit."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = log_dir / "streamlit.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("STREAMLIT_", "SMTP_"))},
        "DATABASE_URL": database_url,
        "COOKIE_KEY": LIVE_COOKIE_KEY,
        "UPLOAD_ROOT": str(upload_root),
        "OUTBOX_DIR": str(log_dir / "outbox"),
        **extra_env,
    }
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "dashboard.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log)
    try:
        _wait_healthy(url, process, log_path)
        yield LiveApp(url, database_url, upload_root, log_path, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def live_app(
    live_database_url: str, live_upload_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApp]:
    """``streamlit run dashboard.py`` on a free port, against the demo-filled database
    (no SMTP: reports go to the local outbox)."""
    log_dir = tmp_path_factory.mktemp("streamlit")
    with _serve(live_database_url, live_upload_root, log_dir, {}) as app:
        yield app


LIVE_REFRESH_SECONDS = 5  # the smallest the settings allow


@pytest.fixture(scope="session")
def live_app_fast_refresh(
    live_database_url: str, live_upload_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApp]:
    """A ``streamlit run`` whose live screens refresh every 5 s (for fragment tests),
    configured as a deployment behind HTTPS is (``COOKIE_SECURE``); Chromium treats
    127.0.0.1 as a secure origin, so the cookie is still stored."""
    log_dir = tmp_path_factory.mktemp("streamlit-fast")
    extra = {"LIVE_REFRESH_SECONDS": str(LIVE_REFRESH_SECONDS), "COOKIE_SECURE": "true"}
    with _serve(live_database_url, live_upload_root, log_dir, extra) as app:
        yield app


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[object]:
    """Debian's Chromium, headless, driven by Playwright."""
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true et Chromium absent (/usr/bin/chromium)")
        pytest.skip("Chromium absent: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test item, so ``page`` knows whether its test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(chromium_browser: object, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh page (own cookies) in French, on the centre's time zone. When the test
    fails, what the browser showed is saved under ``artifacts/failures/``."""
    context = chromium_browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 1440, "height": 1000},
        locale="fr-FR",
        timezone_id="America/Guadeloupe",
        accept_downloads=True,
    )
    context.set_default_timeout(30_000)
    new_page = context.new_page()
    yield new_page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        failures = PROJECT_ROOT / "artifacts" / "failures"
        failures.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)[-150:]
        try:
            new_page.screenshot(path=str(failures / f"{name}.png"), full_page=True)
        except Exception as exc:  # noqa: BLE001 - a screenshot must not hide the failure
            print(f"no failure screenshot: {exc}", file=sys.stderr)
    context.close()


@pytest.fixture(scope="session")
def smtp_sink_session() -> Iterator[object]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 for the whole test session."""
    from aiosmtpd.controller import Controller

    from tests.conftest import SmtpSink, _SinkHandler, free_port

    sink = SmtpSink("127.0.0.1", free_port())
    controller = Controller(_SinkHandler(sink), hostname=sink.host, port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture(scope="session")
def live_app_smtp(
    live_database_url: str,
    live_upload_root: Path,
    smtp_sink_session: object,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveApp]:
    """A second ``streamlit run`` on the same live database, sending to the SMTP sink."""
    smtp = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_sink_session.port),  # type: ignore[attr-defined]
        "SMTP_SECURITY": "none",
    }
    log_dir = tmp_path_factory.mktemp("streamlit-smtp")
    with _serve(live_database_url, live_upload_root, log_dir, smtp) as app:
        yield app
