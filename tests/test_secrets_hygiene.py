"""Secrets stay out of git, and every setting is documented.

The scan covers what ``git add -A`` would commit: tracked files plus
untracked files that are not ignored. It looks for secret files by name
(``.streamlit/secrets.toml``, ``.env``, keys) and for secret-looking content
(private keys, bcrypt hashes, passwords in URLs, ``password = "..."``).
Documented demo values and placeholders are allowed; test files may hold
test credentials in assignments, but no key, hash or URL password.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from data.settings import DEMO_COOKIE_KEY, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / ".streamlit" / "secrets.toml.example"

SECRET_FILE_NAMES = re.compile(
    r"""(^|/)(\.streamlit/secrets\.toml|\.env(\.(?!example$)[^/]+)?|id_(rsa|dsa|ecdsa|ed25519)
    |[^/]+\.(pem|key|p12|pfx|jks|keystore|kdbx))$""",
    re.X,
)
PRIVATE_KEY = re.compile("-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
BCRYPT_HASH = re.compile(r"\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}")
URL_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:([^@\s'\"/]+)@", re.I)
ASSIGNED_SECRET = re.compile(
    r"""\b\w*?(?:password|passwd|secret|secret_?key|token|api_?key|cookie_?key)s?\b["']?\s*[:=]\s*
    (?:[rbf]?)["']([^"'\s]{6,})["']""",
    re.I | re.X,
)
PLACEHOLDER = re.compile(r"^<.*>$|example|change[-_]?me|x{6,}|\*{3,}|\.\.\.|\$\{|\{\{", re.I)


def _documented_values() -> set[str]:
    """Values that are public on purpose: the demo's accounts and key, the CI cluster's."""
    from data.demo.accounts import DEMO_ACCOUNTS, UNUSABLE_PASSWORD_HASH, demo_password_hash

    demo_hashes = {demo_password_hash(a.email, a.password) for a in DEMO_ACCOUNTS}
    return (
        {a.password for a in DEMO_ACCOUNTS}
        | demo_hashes
        | {
            DEMO_COOKIE_KEY,
            UNUSABLE_PASSWORD_HASH,  # bcrypt of a random password that was thrown away
            "postgres",  # the throw-away PostgreSQL of .ci/run
        }
    )


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    what: str


def findings_in(path: str, content: str, allowed: set[str]) -> list[Finding]:
    """What in ``content`` (of the file at ``path``) looks like a secret."""
    found: list[Finding] = []
    if SECRET_FILE_NAMES.search(path):
        found.append(Finding(path, 0, "secret file name"))
    in_tests = path.startswith("tests/")
    for number, line in enumerate(content.splitlines(), 1):
        if PRIVATE_KEY.search(line):
            found.append(Finding(path, number, "private key"))
        values = [(m.group(0), "bcrypt hash") for m in BCRYPT_HASH.finditer(line)]
        values += [(m.group(1), "password in a URL") for m in URL_PASSWORD.finditer(line)]
        if not in_tests:
            values += [(m.group(1), "assigned secret") for m in ASSIGNED_SECRET.finditer(line)]
        for value, what in values:
            if value not in allowed and not PLACEHOLDER.search(value):
                found.append(Finding(path, number, what))
    return found


def _committable_files() -> list[str]:
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    return [name for name in listing.decode().split("\0") if name and (ROOT / name).is_file()]


def test_no_committable_file_looks_like_a_secret() -> None:
    allowed = _documented_values()
    found = []
    for name in _committable_files():
        try:
            content = (ROOT / name).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            content = ""  # binary: judged by its name only
        found += findings_in(name, content, allowed)
    assert found == []


# The detector itself: each rule can fire, and documented values do not.
_KEY_HEADER = "-----BEGIN " + "RSA PRIVATE KEY-----"
_HASH = "$2b$12$" + "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"


@pytest.mark.parametrize(
    ("path", "content", "what"),
    [
        (".streamlit/secrets.toml", "", "secret file name"),
        (".env", "", "secret file name"),
        ("deploy/.env.production", "", "secret file name"),
        ("certs/server.key", "", "secret file name"),
        ("id_ed25519", "", "secret file name"),
        ("notes.txt", f"{_KEY_HEADER}\nMIIEow...", "private key"),
        ("seed.sql", f"INSERT INTO users VALUES ('{_HASH}')", "bcrypt hash"),
        ("README.md", "DATABASE_URL=postgresql://app:" + "S3cr3t!x@db/prod", "password in a URL"),
        ("config.py", 'SMTP_PASSWORD = "hunter2hunter2"', "assigned secret"),
        ("settings.toml", "COOKIE_KEY = 'a8f5f167f44f4964e6c998dee827110c'", "assigned secret"),
        ("app.yaml", 'api_key: "sk_live_0123456789"', "assigned secret"),
    ],
)
def test_the_detector_flags_secrets(path: str, content: str, what: str) -> None:
    assert [f.what for f in findings_in(path, content, set())] == [what]


@pytest.mark.parametrize(
    ("path", "content"),
    [
        (".streamlit/secrets.toml.example", '# COOKIE_KEY = ""'),
        (".env.example", "SMTP_PASSWORD="),
        ("README.md", "postgresql+psycopg://dashboard:<password>@db.example/cipfaro"),
        ("data/demo/accounts.py", 'DemoAccount("admin@demo.cipfaro.fr", "demo-admin", "admin")'),
        ("data/settings.py", f'DEMO_COOKIE_KEY = "{DEMO_COOKIE_KEY}"'),
        ("tests/test_x.py", 'PASSWORD = "mot-de-passe-de-test"'),
        ("config.py", "password = get_settings().SMTP_PASSWORD"),
        (".ci/run", "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres"),
        ("data/permissions.py", '"secretariat": "Secrétariat",'),
    ],
)
def test_the_detector_allows_documented_and_placeholder_values(path: str, content: str) -> None:
    assert findings_in(path, content, _documented_values()) == []


def test_test_files_may_not_hold_real_keys_or_hashes() -> None:
    assert [f.what for f in findings_in("tests/test_x.py", f"X = '{_HASH}'", set())] == [
        "bcrypt hash"
    ]


@pytest.mark.parametrize("path", [".streamlit/secrets.toml", ".env", "var/demo.sqlite3"])
def test_secret_and_local_files_are_git_ignored(path: str) -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
    assert ignored.returncode == 0, f"{path} is not git-ignored"


# The example file ----------------------------------------------------------------


def test_the_example_documents_every_setting() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    undocumented = [
        name
        for name in Settings.model_fields
        if not re.search(rf"^#? ?{name} = .*$", text, re.M)
        or not re.search(rf"^# \S.*\n(#.*\n)*#? ?{name} = ", text, re.M)
    ]
    assert undocumented == [], "each setting needs a line and a comment above it"


def test_the_readme_configuration_table_names_every_setting() -> None:
    table = (ROOT / "README.md").read_text(encoding="utf-8").split("## Configuration", 1)[1]
    table = table.split("\n## ", 1)[0]
    assert [name for name in Settings.model_fields if f"`{name}`" not in table] == []


def test_the_example_keeps_the_defaults_and_holds_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert not {"COOKIE_KEY", "SMTP_PASSWORD", "DATABASE_URL"} & set(values)
    defaults = load_settings()
    for name, value in values.items():
        assert name in Settings.model_fields, f"unknown key {name}"
        assert value == getattr(defaults, name), f"{name} differs from its default"
    monkeypatch.setitem(Settings.model_config, "toml_file", EXAMPLE)
    settings = load_settings()  # the example, copied as is, is a valid demo configuration
    assert settings.demo_mode and settings.COOKIE_KEY is None
