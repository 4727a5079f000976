"""One typed settings object, validated once at start-up.

Values come from the environment first, then from ``.streamlit/secrets.toml``
(top-level keys, same names), then from the defaults below. A malformed value
raises :class:`ConfigurationError` with a one-line message naming the key.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from data.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRETS_FILE = PROJECT_ROOT / ".streamlit" / "secrets.toml"
LOCAL_STATE_DIR = PROJECT_ROOT / "var"
DEMO_DATABASE_FILE = LOCAL_STATE_DIR / "demo.sqlite3"
DEMO_UPLOAD_ROOT = LOCAL_STATE_DIR / "uploads"
DEMO_OUTBOX = LOCAL_STATE_DIR / "outbox"
DEMO_COOKIE_KEY = "demo-only-cookie-key-not-for-production"

SUPPORTED_SCHEMES = ("postgresql+psycopg", "postgresql", "sqlite")
COOKIE_KEY_MIN_CHARS = 32
_DOMAIN = re.compile(
    r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+"
)


class Settings(BaseSettings):
    """Every setting of the dashboard. Names match the environment variables."""

    model_config = SettingsConfigDict(
        case_sensitive=True,
        extra="ignore",
        toml_file=SECRETS_FILE,
        frozen=True,
    )

    DATABASE_URL: str | None = None
    ANALYTICS_DATABASE_URL: str | None = None
    TIMEZONE: str = "America/Guadeloupe"
    UPLOAD_ROOT: Path | None = None
    TRIAGE_SLA_HOURS: float = Field(default=48, gt=0)
    CV_MAX_BYTES: int = Field(default=10 * 1024 * 1024, gt=0)

    # Sign-in (issue: security).
    COOKIE_KEY: str | None = None
    COOKIE_NAME: str = "cipfaro_dashboard"
    COOKIE_SECURE: bool = False
    SESSION_HOURS: float = Field(default=8, gt=0)
    SIGNIN_CHECKS_PER_MINUTE: int = Field(default=60, gt=0)
    SIGNIN_FAILURES_PER_ADDRESS: int = Field(default=20, gt=0)
    FORWARDED_FOR_HEADER: str | None = None

    # Live screens.
    LIVE_REFRESH_SECONDS: int = Field(default=60, ge=5)

    # Outgoing mail (issue: reports).
    SMTP_HOST: str | None = None
    SMTP_PORT: int = Field(default=587, gt=0, lt=65536)
    SMTP_USER: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_SECURITY: Literal["starttls", "ssl", "none"] = "starttls"
    SMTP_FROM: str = "tableau-de-bord@cipfaro.fr"
    SMTP_TIMEOUT_SECONDS: float = Field(default=30, gt=0)
    SMTP_ALLOW_PLAINTEXT_LOGIN: bool = False
    OUTBOX_DIR: Path | None = None
    MAX_ATTACHMENT_BYTES: int = Field(default=10 * 1024 * 1024, gt=0)
    REPORT_GRACE_HOURS: float = Field(default=6, ge=0)
    REPORT_RECIPIENT_DOMAINS: str = ""

    # Alerts (issue 15).
    ALERT_EVALUATION_SECONDS: int = Field(default=60, ge=10)
    DASHBOARD_URL: str = "http://localhost:8501"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @field_validator(
        "DATABASE_URL",
        "ANALYTICS_DATABASE_URL",
        "SMTP_HOST",
        "COOKIE_KEY",
        "FORWARDED_FOR_HEADER",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("DATABASE_URL", "ANALYTICS_DATABASE_URL")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme not in SUPPORTED_SCHEMES:
            # Nothing of the value is repeated: a mistyped URL may hold a password.
            raise ValueError(
                "schéma non pris en charge (attendu : postgresql+psycopg://… ou sqlite:///…)"
            )
        return value

    @field_validator("TIMEZONE")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"fuseau horaire inconnu « {value} »") from exc
        return value

    @field_validator("REPORT_RECIPIENT_DOMAINS")
    @classmethod
    def _domain_list(cls, value: str) -> str:
        domains = [part for part in re.split(r"[,;\s]+", value.strip().lower()) if part]
        for domain in domains:
            if not _DOMAIN.fullmatch(domain):
                raise ValueError(
                    f"domaine invalide « {domain[:60]} » (attendu : cipfaro.fr,autre.fr)"
                )
        return ",".join(domains)

    @model_validator(mode="after")
    def _cookie_key_rule(self) -> Settings:
        """A cookie key, when given, is long and proper to this server (not the demo's)."""
        key = self.COOKIE_KEY
        if key is not None and (
            len(key) < COOKIE_KEY_MIN_CHARS or (key == DEMO_COOKIE_KEY and not self.demo_mode)
        ):
            raise ValueError(
                "Réglage COOKIE_KEY invalide : il faut une clé secrète propre à ce serveur, "
                f"d'au moins {COOKIE_KEY_MIN_CHARS} caractères."
            )
        return self

    @model_validator(mode="after")
    def _no_plaintext_smtp_password(self) -> Settings:
        """An SMTP password is never sent over an unencrypted connection, unless allowed."""
        if (
            self.SMTP_HOST is not None
            and self.SMTP_USER
            and self.SMTP_SECURITY == "none"
            and not self.SMTP_ALLOW_PLAINTEXT_LOGIN
        ):
            raise ValueError(
                "Réglage SMTP_SECURITY invalide : « none » enverrait le mot de passe SMTP en "
                "clair ; choisissez starttls ou ssl (SMTP_ALLOW_PLAINTEXT_LOGIN = true pour un "
                "relais local seulement)."
            )
        return self

    # Derived values ---------------------------------------------------------

    @property
    def demo_mode(self) -> bool:
        """True on the embedded SQLite demo database (no ``DATABASE_URL``)."""
        return self.DATABASE_URL is None

    @property
    def database_url(self) -> str:
        if self.DATABASE_URL is not None:
            return self.DATABASE_URL
        return f"sqlite:///{DEMO_DATABASE_FILE}"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.TIMEZONE)

    @property
    def upload_root(self) -> Path:
        return self.UPLOAD_ROOT if self.UPLOAD_ROOT is not None else DEMO_UPLOAD_ROOT

    @property
    def outbox_dir(self) -> Path:
        return self.OUTBOX_DIR if self.OUTBOX_DIR is not None else DEMO_OUTBOX

    @property
    def cookie_key(self) -> str | None:
        """The cookie signing key; the demo gets a fixed one, production must set it."""
        if self.COOKIE_KEY is not None:
            return self.COOKIE_KEY
        return DEMO_COOKIE_KEY if self.demo_mode else None

    def require_cookie_key(self) -> str:
        """The web app's cookie key, or :class:`ConfigurationError` (the app stops).

        Only the web app signs cookies: the scheduler and the command-line tools
        run without one.
        """
        key = self.cookie_key
        if key is None:
            raise ConfigurationError(
                "Réglage COOKIE_KEY manquant : l'application ne démarre pas sans clé de "
                "signature des cookies (voir .streamlit/secrets.toml.example)."
            )
        return key

    @property
    def recipient_domains(self) -> tuple[str, ...]:
        """The only domains reports may be sent to (empty: any)."""
        return tuple(part for part in self.REPORT_RECIPIENT_DOMAINS.split(",") if part)


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first.get("loc", ()))
    message = str(first.get("msg", "valeur invalide")).removeprefix("Value error, ")
    return f"Réglage {key} invalide : {message}" if key else message


def load_settings(**overrides: object) -> Settings:
    """Build and validate the settings; one-line :class:`ConfigurationError` on failure."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigurationError(_describe(exc)) from None


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings (read once; tests call ``get_settings.cache_clear()``)."""
    return load_settings()
