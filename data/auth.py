"""Sign-in: credential check, throttling, the sign-in log and server-side sessions.

Every decision of the sign-in gate lives here (no Streamlit), so it is tested
directly on both databases; ``ui/auth.py`` only wires it to the
streamlit-authenticator form and cookie.

- Staff accounts only: roles ``admin``, ``direction``, ``secretariat`` with
  ``actif = true``, checked against the website's own bcrypt hash. Unknown
  email, wrong password, inactive account and non-staff role all get the same
  neutral answer, after the same bcrypt work (no timing difference).
- Throttling per typed email, whether or not an account exists: after
  ``MAX_FAILURES`` failures within ``FAILURE_WINDOW`` (since the last success),
  attempts are refused without a password check until the oldest of those
  failures leaves the window.
- Every attempt is one row of ``dashboard_signin_log`` (never the password).
- A successful sign-in creates a ``dashboard_auth_sessions`` row. The browser
  holds the random token; the table holds its SHA-256 only. The session, not
  the cookie, is the authority: :func:`validate_session` runs on every page run
  and refuses a revoked or expired session, or one whose account is no longer
  active staff; it returns the account as it is now (role changes apply at once).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import bcrypt
import jwt
from sqlalchemy import Connection, Engine, func, insert, select, update

from data.db import translate_errors
from data.errors import ConfigurationError
from data.models import STAFF_ROLES, User
from data.owned import AuthSession, SignInEvent
from data.permissions import Actor
from data.settings import DEMO_COOKIE_KEY, Settings

log = logging.getLogger(__name__)

MAX_FAILURES: Final = 5
FAILURE_WINDOW: Final = timedelta(minutes=15)
NEUTRAL_MESSAGE: Final = "Identifiants incorrects."
EMAIL_MAX_CHARS: Final = 254  # RFC 5321: no real address is longer
BCRYPT_MAX_BYTES: Final = 72  # bcrypt only ever used the first 72 bytes
DUMMY_BCRYPT_COST: Final = 12  # the website's cost: unknown emails cost the same time
COOKIE_KEY_MIN_CHARS: Final = 32

# SignInEvent.reason values.
OK: Final = "ok"
BAD_CREDENTIALS: Final = "bad_credentials"  # unknown email or wrong password
INACTIVE: Final = "inactive"  # staff account with actif = false
NOT_STAFF: Final = "not_staff"  # formateur, stagiaire, recruteur
THROTTLED: Final = "throttled"
LOGOUT: Final = "logout"
FAILURE_REASONS: Final = (BAD_CREDENTIALS, INACTIVE, NOT_STAFF)


@dataclass(frozen=True)
class SignInResult:
    """The outcome of one attempt. ``message`` is the only text the screen shows."""

    ok: bool
    reason: str
    message: str
    actor: Actor | None = None
    session_token: str | None = None  # for the browser only; never stored as is
    expires_at: datetime | None = None
    retry_after: datetime | None = None  # when throttled


# Configuration ---------------------------------------------------------------


def require_cookie_key(settings: Settings) -> str:
    """The cookie signing key, or :class:`ConfigurationError` (the web app stops).

    The demo gets a fixed key; outside demo mode the key must be set, must not
    be the demo's, and must be at least ``COOKIE_KEY_MIN_CHARS`` long.
    """
    key = settings.cookie_key
    if settings.demo_mode and key is not None:
        return key
    if key is None:
        raise ConfigurationError(
            "Réglage COOKIE_KEY manquant : l'application ne démarre pas sans clé de "
            "signature des cookies (voir .streamlit/secrets.toml.example)."
        )
    if key == DEMO_COOKIE_KEY or len(key) < COOKIE_KEY_MIN_CHARS:
        raise ConfigurationError(
            f"Réglage COOKIE_KEY invalide : il faut une clé secrète propre à ce serveur, "
            f"d'au moins {COOKIE_KEY_MIN_CHARS} caractères."
        )
    return key


# Text normalisation -------------------------------------------------------------


def normalise_email(typed: str) -> str:
    """The typed email as looked up: trimmed, lower-case, NUL made visible (U+FFFD)."""
    return typed.replace("\x00", "\ufffd").strip().lower()


def _logged_email(email: str) -> str:
    return email[:EMAIL_MAX_CHARS]


def _password_bytes(password: str) -> bytes:
    # bcrypt >= 5 refuses more than 72 bytes; the hashes were made from (at most)
    # the first 72, as every bcrypt implementation did, so compare those.
    return password.encode("utf-8", errors="surrogatepass")[:BCRYPT_MAX_BYTES]


@functools.cache
def _dummy_hash() -> bytes:
    return bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(rounds=DUMMY_BCRYPT_COST))


def _password_matches(password: str, stored_hash: str | None) -> bool:
    """bcrypt check; the same work is done when there is no account to check against."""
    candidate = _password_bytes(password)
    if stored_hash is None:
        bcrypt.checkpw(candidate, _dummy_hash())
        return False
    try:
        return bcrypt.checkpw(candidate, stored_hash.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        log.warning("users.password is not a usable bcrypt hash")
        bcrypt.checkpw(candidate, _dummy_hash())
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", errors="surrogatepass")).hexdigest()


# Throttling --------------------------------------------------------------------


def throttled_until(connection: Connection, email: str, now: datetime) -> datetime | None:
    """When attempts for ``email`` (normalised) are allowed again; None if they are now."""
    last_success = connection.execute(
        select(func.max(SignInEvent.created_at)).where(
            SignInEvent.email == email, SignInEvent.reason == OK
        )
    ).scalar_one()
    counted_from = max(now - FAILURE_WINDOW, last_success or now - FAILURE_WINDOW)
    recent = (
        connection.execute(
            select(SignInEvent.created_at)
            .where(
                SignInEvent.email == email,
                SignInEvent.reason.in_(FAILURE_REASONS),
                SignInEvent.created_at > counted_from,
            )
            .order_by(SignInEvent.created_at.desc())
            .limit(MAX_FAILURES)
        )
        .scalars()
        .all()
    )
    if len(recent) < MAX_FAILURES:
        return None
    return recent[-1] + FAILURE_WINDOW


# Sign-in and sessions -------------------------------------------------------------


def _record(
    connection: Connection, *, email: str, user_id: int | None, reason: str, now: datetime
) -> None:
    connection.execute(
        insert(SignInEvent).values(
            created_at=now,
            email=_logged_email(email),
            user_id=user_id,
            success=reason in (OK, LOGOUT),
            reason=reason,
        )
    )


def _account(connection: Connection, email: str) -> Any:
    if not email or len(email) > EMAIL_MAX_CHARS:
        return None  # no account has such an address: skip the lookup
    return connection.execute(
        select(User.id, User.email, User.role, User.prenom, User.nom, User.actif, User.password)
        .where(func.lower(User.email) == email)
        .order_by(User.id)
        .limit(1)
    ).first()


def _refusal_reason(account: Any, password_ok: bool) -> str | None:
    """Why the attempt fails (None: it succeeds). Account state is only logged
    when the password matched; the screen shows the same message for all."""
    if account is None or not password_ok:
        return BAD_CREDENTIALS
    if account.role not in STAFF_ROLES:
        return NOT_STAFF
    if not account.actif:
        return INACTIVE
    return None


def _throttle_message(retry_after: datetime, now: datetime) -> str:
    minutes = max(1, -(-int((retry_after - now).total_seconds()) // 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"Trop de tentatives infructueuses pour ce compte. Réessayez dans {minutes} {unit}."


def sign_in(
    engine: Engine, *, email: str, password: str, now: datetime, session_hours: float
) -> SignInResult:
    """Check one attempt, record it, and open a session when it succeeds."""
    typed = normalise_email(email)
    with translate_errors(), engine.begin() as connection:
        retry_after = throttled_until(connection, _logged_email(typed), now)
        if retry_after is not None:
            account = _account(connection, typed)
            _record(connection, email=typed, user_id=account.id if account else None,
                    reason=THROTTLED, now=now)  # fmt: skip
            return SignInResult(False, THROTTLED, _throttle_message(retry_after, now),
                                retry_after=retry_after)  # fmt: skip
        account = _account(connection, typed)
    # bcrypt runs outside the transaction: no connection held for ~0.25 s.
    password_ok = _password_matches(password, account.password if account else None)
    reason = _refusal_reason(account, password_ok)
    user_id = account.id if account else None
    with translate_errors(), engine.begin() as connection:
        _record(connection, email=typed, user_id=user_id, reason=reason or OK, now=now)
        if reason is not None:
            return SignInResult(False, reason, NEUTRAL_MESSAGE)
        token = secrets.token_urlsafe(32)
        expires_at = now + timedelta(hours=session_hours)
        connection.execute(
            insert(AuthSession).values(
                id=_digest(token), user_id=account.id, created_at=now, expires_at=expires_at
            )
        )
    actor = Actor(account.id, account.email, account.role, account.prenom, account.nom)
    return SignInResult(True, OK, "", actor=actor, session_token=token, expires_at=expires_at)


def validate_session(engine: Engine, token: str, *, now: datetime) -> Actor | None:
    """The account behind a live session, as it is now; None if the session is not valid."""
    if not token:
        return None
    statement = (
        select(User.id, User.email, User.role, User.prenom, User.nom)
        .join(AuthSession, AuthSession.user_id == User.id)
        .where(
            AuthSession.id == _digest(token),
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
            User.actif.is_(True),
            User.role.in_(STAFF_ROLES),
        )
    )
    with translate_errors(), engine.connect() as connection:
        row = connection.execute(statement).first()
    return Actor(*row) if row else None


def sign_out(engine: Engine, *, token: str, now: datetime) -> bool:
    """Revoke the session (logout) and log it; False if it was not live."""
    with translate_errors(), engine.begin() as connection:
        user_id = connection.execute(
            update(AuthSession)
            .where(AuthSession.id == _digest(token), AuthSession.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(AuthSession.user_id)
        ).scalar_one_or_none()
        if user_id is None:
            return False
        email = connection.execute(select(User.email).where(User.id == user_id)).scalar_one()
        _record(connection, email=normalise_email(email), user_id=user_id, reason=LOGOUT,
                now=now)  # fmt: skip
    return True


def revoke_user_sessions(connection: Connection, *, user_id: int, now: datetime) -> int:
    """Revoke every live session of an account (inside the caller's transaction)."""
    result = connection.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)


# streamlit-authenticator glue (no Streamlit here) ------------------------------------


def staff_credentials(engine: Engine) -> dict[str, Any]:
    """The active staff accounts as streamlit-authenticator's credentials dict.

    Built from the database on each run (no copy in any file); the passwords
    are the website's bcrypt hashes, hence ``auto_hash=False``.
    """
    statement = select(User.email, User.prenom, User.nom, User.role, User.password).where(
        User.role.in_(STAFF_ROLES), User.actif.is_(True)
    )
    with translate_errors(), engine.connect() as connection:
        rows = connection.execute(statement).all()
    return {
        "usernames": {
            row.email.lower(): {
                "email": row.email,
                "first_name": row.prenom,
                "last_name": row.nom,
                "password": row.password,
                "roles": [row.role],
            }
            for row in rows
        }
    }


def session_cookie(result: SignInResult, key: str) -> str:
    """The signed cookie for a successful sign-in.

    The JWT has the fields streamlit-authenticator reads (``username``,
    ``exp_date``) plus ``sid``, the session token, which is what re-admits:
    :func:`session_token_from_cookie` then :func:`validate_session`.
    """
    if not result.ok or result.actor is None or result.expires_at is None:
        raise ValueError("no cookie for a failed sign-in")
    payload = {
        "username": result.actor.email.lower(),
        "exp_date": result.expires_at.timestamp(),
        "sid": result.session_token,
    }
    return jwt.encode(payload, key, algorithm="HS256")


def session_token_from_cookie(payload: dict[str, Any] | None) -> str | None:
    """The session token in a cookie payload already verified by its signature."""
    if not isinstance(payload, dict):
        return None
    token = payload.get("sid")
    return token if isinstance(token, str) and token else None
