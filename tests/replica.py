"""A real streaming replica for the tests: a private primary cluster made with
``initdb`` on a free port, and its hot standby made with ``pg_basebackup -R``.

The pair is private (its own data folders under the test's temporary folder,
its own ports), so a test may write, stop or cut it without touching the
machine's PostgreSQL server or other tests. PostgreSQL refuses to run as
root: under root the server commands run as the ``postgres`` user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.conftest import IN_CI


def server_bin() -> Path | None:
    """The folder of PostgreSQL's server programs (Debian puts them outside PATH)."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    return candidates[0].parent if candidates else None


def require_server_bin() -> Path:
    """The server programs, or a skip (a failure under ``CI=true``)."""
    found = server_bin()
    if found is None or not (found / "initdb").exists():
        reason = "PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup) are missing"
        if IN_CI:
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Pair:
    primary_url: str
    replica_url: str
    primary_dir: Path
    replica_dir: Path


class _Server:
    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None

    def run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr[-2000:]}")

    def own(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)


def _configure(data: Path, port: int, socket_dir: Path) -> None:
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"\nport = {port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{socket_dir}'\n"
            "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            "shared_buffers = 32MB\n"
        )


@contextmanager
def streaming_pair() -> Iterator[Pair]:
    """A primary and its streaming hot standby, both stopped and removed at the end.

    Their folders live in a fresh folder under the system's temporary folder
    (owned by the ``postgres`` user under root; pytest's own temporary folders
    are private to root)."""
    server = _Server(require_server_bin())
    base = Path(tempfile.mkdtemp(prefix="cipfaro-replica-"))
    primary, replica, sockets = base / "primary", base / "replica", base / "sockets"
    for folder in (base, sockets, primary, replica):
        server.own(folder)
    os.chmod(primary, 0o700)
    os.chmod(replica, 0o700)
    primary_port, replica_port = _free_port(), _free_port()
    started: list[Path] = []
    try:
        server.run("initdb", "-D", str(primary), "-U", "postgres", "-A", "trust", "--no-sync")
        _configure(primary, primary_port, sockets)
        server.run("pg_ctl", "-D", str(primary), "-l", str(base / "primary.log"), "-w", "start")
        started.append(primary)
        server.run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(primary_port),
            "-U",
            "postgres",
            "-D",
            str(replica),
            "-R",
            "-X",
            "stream",
            "--no-sync",
        )
        with (replica / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"\nport = {replica_port}\n")
        server.run("pg_ctl", "-D", str(replica), "-l", str(base / "replica.log"), "-w", "start")
        started.append(replica)
        yield Pair(
            f"postgresql+psycopg://postgres@127.0.0.1:{primary_port}/postgres",
            f"postgresql+psycopg://postgres@127.0.0.1:{replica_port}/postgres",
            primary,
            replica,
        )
    finally:
        for data in reversed(started):
            with contextlib.suppress(RuntimeError):  # already down: nothing to stop
                server.run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def wait_for_replay(primary: Engine, replica: Engine, timeout: float = 30.0) -> None:
    """Until the standby has replayed everything the primary has written so far."""
    with primary.connect() as connection:  # the insert position: with synchronous_commit
        # off, a commit may not be written yet, and the write position would miss it
        target = connection.execute(text("SELECT pg_current_wal_insert_lsn()")).scalar_one()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with replica.connect() as connection:
            caught_up = connection.execute(
                text("SELECT pg_last_wal_replay_lsn() >= CAST(:target AS pg_lsn)"),
                {"target": str(target)},
            ).scalar_one()
        if caught_up:
            return
        time.sleep(0.1)
    raise AssertionError(f"the standby did not replay up to {target} within {timeout} s")
