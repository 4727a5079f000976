"""deploy/: two ``streamlit run`` instances behind the HAProxy configuration we ship.

The proxy's file is rendered by ``deploy/render.py`` for free localhost ports
and a throw-away certificate, then driven in Chromium: sign in through the
proxy, change the period, download an Excel file ten times (never a 404:
each download is served by the instance that holds the browser's session),
then kill that instance and see the page come back, still signed in, from
the other one (the sign-in cookie and the server-side session live in the
database).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.browser import PROJECT_ROOT, LiveApp, _free_port, _serve
from tests.browser_helpers import sign_in, wait_for_session_cookie, wait_idle
from tests.conftest import IN_CI

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DIRECTOR = "direction@demo.cipfaro.fr"
ROUTE_COOKIE = "cipfaro_route"
SETTLE_MS = 60_000
SHARED_STREAMLIT_SECRET = "proxy-test-streamlit-cookie-secret-0123456789"


@dataclass(frozen=True)
class Proxied:
    url: str
    instances: dict[str, LiveApp]  # by the route cookie's value: app1, app2


def _require(program: str) -> str:
    found = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
    if found is None:
        if IN_CI:
            pytest.fail(f"CI=true and {program} is missing (apt-get install {program})")
        pytest.skip(f"{program} is missing")
    return found


def _certificate(folder: Path) -> Path:
    """A self-signed certificate for 127.0.0.1, as HAProxy wants it: chain, then key."""
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            *(_require("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    bundle = folder / "dashboard.pem"
    bundle.write_bytes(cert.read_bytes() + key.read_bytes())
    return bundle


def _wait_proxy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"haproxy exited: {log.read_text(errors='replace')[-2000:]}")
        health = f"{url}/_stcore/health"
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(health, timeout=2, context=context) as r,  # noqa: S310
        ):
            if r.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("haproxy did not answer within 30 s")


@contextlib.contextmanager
def _haproxy(instances: list[LiveApp], folder: Path) -> Iterator[str]:
    port = _free_port()
    config = folder / "haproxy.cfg"
    addresses = [app.url.removeprefix("http://") for app in instances]
    subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "deploy" / "render.py"), "haproxy", "--unprivileged"]
        + ["--listen", f"127.0.0.1:{port}", "--redirect-from", "none"]
        + ["--certificate", str(_certificate(folder)), "--output", str(config)]
        + [arg for address in addresses for arg in ("--instance", address)],
        check=True,
        timeout=30,
    )
    binary = _require("haproxy")
    checked = subprocess.run([binary, "-c", "-f", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    log = folder / "haproxy.log"
    with log.open("wb") as out:
        process = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=out, stderr=out)
    url = f"https://127.0.0.1:{port}"
    try:
        _wait_proxy(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def proxied(
    live_database_url: str, live_upload_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Proxied]:
    shared = {"STREAMLIT_SERVER_COOKIE_SECRET": SHARED_STREAMLIT_SECRET}
    with ExitStack() as stack:
        apps = [
            stack.enter_context(
                _serve(live_database_url, live_upload_root, tmp_path_factory.mktemp(name), shared)
            )
            for name in ("instance1", "instance2")
        ]
        url = stack.enter_context(_haproxy(apps, tmp_path_factory.mktemp("haproxy")))
        yield Proxied(url, {"app1": apps[0], "app2": apps[1]})


def _route(context) -> str:  # type: ignore[no-untyped-def]
    values = [c["value"] for c in context.cookies() if c["name"] == ROUTE_COOKIE]
    assert values, f"no {ROUTE_COOKIE} cookie: {context.cookies()}"
    return str(values[-1])


def _candidatures_card(page):  # type: ignore[no-untyped-def]
    return page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text("Candidatures", exact=True)
    )


def _wait(page, condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    """Poll ``condition``; Playwright's events arrive only while the page is waited on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        page.wait_for_timeout(200)
    return False


def _answered(statuses: list[tuple[int, str]], path: str) -> bool:
    return any(status == 200 and path in url for status, url in statuses)


def _download_excel(page, path: Path) -> None:  # type: ignore[no-untyped-def]
    # The top formations' table (the companies' table beside it has its own Excel).
    section = page.get_by_test_id("stColumn").filter(
        has=page.get_by_role("heading", name="Formations les plus demandées")
    )
    button = section.get_by_test_id("stDownloadButton").filter(has_text="Excel").first
    with page.expect_download(timeout=SETTLE_MS) as info:
        button.click()
    download = info.value
    assert download.failure() is None, download.failure()
    download.save_as(path)
    assert load_workbook(path).worksheets[0].cell(row=1, column=1).value == "Formation"
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=SETTLE_MS)


def test_two_instances_behind_the_shipped_proxy_keep_the_session_downloads_and_sign_in(
    proxied: Proxied, chromium_browser: object, tmp_path: Path
) -> None:
    started = time.monotonic()
    context = chromium_browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 1440, "height": 1000},
        locale="fr-FR",
        timezone_id="America/Guadeloupe",
        accept_downloads=True,
        ignore_https_errors=True,  # the test's own certificate
    )
    context.set_default_timeout(30_000)
    page = context.new_page()
    statuses: list[tuple[int, str]] = []
    page.on("response", lambda response: statuses.append((response.status, response.url)))
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on(
        "requestfailed", lambda request: console.append(f"failed: {request.url} {request.failure}")
    )
    try:
        first = page.goto(proxied.url)
        assert first is not None
        headers = first.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "SAMEORIGIN"
        assert headers["strict-transport-security"].startswith("max-age=")
        assert "frame-ancestors 'self'" in headers["content-security-policy"]
        page.get_by_test_id("stForm").wait_for(timeout=SETTLE_MS)  # a fresh browser
        sign_in(page, DIRECTOR)
        _candidatures_card(page).first.wait_for(timeout=SETTLE_MS)
        wait_for_session_cookie(page)
        serving = _route(context)
        assert serving in proxied.instances
        cookie = next(c for c in context.cookies() if c["name"] == ROUTE_COOKIE)
        assert cookie["httpOnly"] and cookie["secure"]

        page.get_by_test_id("stSelectbox").filter(has_text="Période").first.click()
        page.get_by_role("option", name="Mois dernier", exact=True).click()
        page.wait_for_url(re.compile(r"periode=mois-dernier"), timeout=SETTLE_MS)
        page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=SETTLE_MS)

        for attempt in range(10):
            _download_excel(page, tmp_path / f"{attempt}.xlsx")
        missing = [(status, url) for status, url in statuses if status == 404]
        assert missing == [], missing
        assert _route(context) == serving  # every request went to the same instance

        seen = len(statuses)
        os.kill(proxied.instances[serving].pid, signal.SIGKILL)
        killed_at = time.monotonic()
        # The page reconnects by itself, through the proxy, to the other instance, which
        # runs it afresh (its cookie component loads) and signs it back in from the cookie.
        assert _wait(page, lambda: _answered(statuses[seen:], "/_stcore/host-config"), 60)
        assert _wait(page, lambda: _answered(statuses[seen:], "/component/"), 60)
        wait_idle(page, 1500)
        page.get_by_role("button", name="Se déconnecter").wait_for(timeout=SETTLE_MS)
        _candidatures_card(page).first.wait_for(timeout=SETTLE_MS)
        assert page.get_by_label("Mot de passe").count() == 0
        assert "periode=mois-dernier" in page.url  # still the period chosen
        back_in = time.monotonic() - killed_at
        # A table's download is built on click through the websocket, which Streamlit's
        # page (1.67) does not redo after reconnecting to another server: a reload does.
        # The page's request also moves the proxy's cookie to the live instance.
        page.reload()
        page.get_by_role("button", name="Se déconnecter").wait_for(timeout=SETTLE_MS)
        _candidatures_card(page).first.wait_for(timeout=SETTLE_MS)
        assert page.get_by_label("Mot de passe").count() == 0
        assert _route(context) != serving
        wait_idle(page, 1500)
        _download_excel(page, tmp_path / "after.xlsx")
        assert [(status, url) for status, url in statuses if status == 404] == []
    except Exception:
        failures = PROJECT_ROOT / "artifacts" / "failures"
        failures.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):
            page.screenshot(path=str(failures / "deploy_proxy.png"), full_page=True)
        for app in proxied.instances.values():
            print(app.log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
        print("\n".join(f"{status} {url}" for status, url in statuses[-40:]), file=sys.stderr)
        print("\n".join(console[-40:]), file=sys.stderr)
        raise
    finally:
        context.close()
    print(
        f"proxy check: signed in again {back_in:.1f} s after the kill; "
        f"{time.monotonic() - started:.1f} s in the browser"
    )
