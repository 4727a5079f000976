"""deploy/: the files an administrator installs say the same as the code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from data.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def test_the_environment_example_names_only_real_settings() -> None:
    keys = {
        line.split("=", 1)[0]
        for line in (DEPLOY / "env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    outside = {"STREAMLIT_SERVER_COOKIE_SECRET"}
    assert keys - outside <= set(Settings.model_fields), keys - outside - set(Settings.model_fields)
    assert {"DATABASE_URL", "COOKIE_KEY", "UPLOAD_ROOT", *outside} <= keys


def test_the_scheduler_unit_gives_a_stop_the_time_the_readme_asks_for() -> None:
    unit = (DEPLOY / "systemd" / "cipfaro-scheduler.service").read_text()
    stop = int(re.search(r"^TimeoutStopSec=(\d+)$", unit, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert stop >= Settings.model_fields["SMTP_TIMEOUT_SECONDS"].default + 15
    assert "KillSignal=SIGTERM" in unit


def test_the_app_unit_runs_one_instance_per_port_on_localhost_only() -> None:
    unit = (DEPLOY / "systemd" / "cipfaro-dashboard@.service").read_text()
    assert "--server.port %i --server.address 127.0.0.1" in unit


def test_the_proxy_file_renders_every_instance_with_its_affinity_cookie() -> None:
    instances = ("10.0.0.1:8501", "10.0.0.2:8501", "10.0.0.3:8501")
    rendered = subprocess.run(
        [
            sys.executable,
            str(DEPLOY / "render.py"),
            "haproxy",
            *(arg for address in instances for arg in ("--instance", address)),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert not re.search(r"@[A-Z_]+@", rendered)  # every placeholder filled
    assert re.findall(r"^\s+server (app\d) (\S+) cookie (app\d)$", rendered, re.MULTILINE) == [
        ("app1", "10.0.0.1:8501", "app1"),
        ("app2", "10.0.0.2:8501", "app2"),
        ("app3", "10.0.0.3:8501", "app3"),
    ]
    assert "cookie cipfaro_route insert indirect nocache httponly secure" in rendered
    assert "bind :80" in rendered and "chroot /var/lib/haproxy" in rendered
