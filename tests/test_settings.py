"""Settings: defaults, environment, and one-line errors naming the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from data.errors import ConfigurationError
from data.settings import load_settings


def test_defaults_are_the_embedded_demo() -> None:
    settings = load_settings()
    assert settings.demo_mode
    assert settings.database_url.startswith("sqlite:///")
    assert settings.TIMEZONE == "America/Guadeloupe"
    assert settings.TRIAGE_SLA_HOURS == 48


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_SLA_HOURS", "24")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@h/db")
    settings = load_settings()
    assert settings.TRIAGE_SLA_HOURS == 24
    assert not settings.demo_mode


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("TIMEZONE", "Mars/Olympus_Mons"),
        ("DATABASE_URL", "mysql://root@localhost/db"),
        ("TRIAGE_SLA_HOURS", "quarante-huit"),
        ("TRIAGE_SLA_HOURS", "-3"),
        ("SMTP_SECURITY", "tls-please"),
        ("SMTP_PORT", "99999"),
    ],
)
def test_malformed_value_names_the_key(
    monkeypatch: pytest.MonkeyPatch, key: str, value: str
) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    message = str(caught.value)
    assert key in message
    assert "\n" not in message


def test_secrets_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('TIMEZONE = "Europe/Paris"\nTRIAGE_SLA_HOURS = 12\n', encoding="utf-8")
    from data.settings import Settings

    monkeypatch.setitem(Settings.model_config, "toml_file", secrets)
    settings = load_settings()
    assert settings.TIMEZONE == "Europe/Paris"
    assert settings.TRIAGE_SLA_HOURS == 12


def test_environment_wins_over_secrets_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('TIMEZONE = "Europe/Paris"\n', encoding="utf-8")
    from data.settings import Settings

    monkeypatch.setitem(Settings.model_config, "toml_file", secrets)
    monkeypatch.setenv("TIMEZONE", "America/Martinique")
    assert load_settings().TIMEZONE == "America/Martinique"
