"""Sign-in: credential check, throttling, the sign-in log and server-side sessions.

Every decision of the sign-in gate lives here (no Streamlit), so it is tested
directly on both databases; ``ui/auth.py`` draws the form and keeps the cookie.

- Staff accounts only: roles ``admin``, ``direction``, ``secretariat`` with
  ``actif = true``, checked against the website's own bcrypt hash. Unknown
  email, wrong password, inactive account and non-staff role all get the same
  neutral answer, after the same bcrypt work (no timing difference).
- Throttling, decided before any password is checked (:func:`_admission`):

  * per typed email *and* client address: ``FREE_FAILURES`` failures within
    ``FAILURE_WINDOW`` (since the account's last success) are free, then each
    further attempt waits a delay that doubles, from ``FIRST_DELAY`` up to
    ``MAX_DELAY``. Never a lockout: guesses from one address do not delay the
    real user at another, and the wait stays short;
  * per client address, whatever the email: at most
    ``SIGNIN_FAILURES_PER_ADDRESS`` failures within ``FAILURE_WINDOW``;
  * for the whole server: at most ``SIGNIN_CHECKS_PER_MINUTE`` password checks
    a minute, so a burst cannot eat the CPU with bcrypt.

  Check and count are one atomic step: the attempt is written as *pending*
  (it counts as a failure until its password check ends) in the same
  transaction that decides, serialised by an advisory lock on PostgreSQL and by
  the single writer on SQLite (the pending row is written first, which takes
  the write lock before anything is read). bcrypt runs after that commit. So
  40 simultaneous attempts get at most the allowed number of password checks.
  Every throttled attempt shows one neutral message (:func:`throttled_message`,
  whichever limit refused it) and is logged with its reason and address.
- Every attempt is one row of ``dashboard_signin_log`` (never the password).
- A successful sign-in creates a ``dashboard_auth_sessions`` row. The browser
  holds the random token; the table holds its SHA-256 only. The session, not
  the cookie, is the authority: :func:`validate_session` refuses a revoked or
  expired session, or one whose account is no longer active staff; it returns
  the account as it is now (role changes apply at once).
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
from sqlalchemy import Connection, Engine, func, insert, select, text, update

from data.db import is_postgresql, translate_errors
from data.models import STAFF_ROLES, User
from data.owned import AuthSession, SignInEvent
from data.permissions import Actor
from data.settings import Settings

log = logging.getLogger(__name__)

FREE_FAILURES: Final = 5
FAILURE_WINDOW: Final = timedelta(minutes=15)
FIRST_DELAY: Final = timedelta(seconds=30)
MAX_DELAY: Final = timedelta(minutes=15)
CHECK_WINDOW: Final = timedelta(minutes=1)
NEUTRAL_MESSAGE: Final = "Identifiants incorrects."
EMAIL_MAX_CHARS: Final = 254  # RFC 5321: no real address is longer
ADDRESS_MAX_CHARS: Final = 64
BCRYPT_MAX_BYTES: Final = 72  # bcrypt only ever used the first 72 bytes
DUMMY_BCRYPT_COST: Final = 12  # the website's cost: unknown emails cost the same time
# pg_advisory_xact_lock key of the sign-in decision ("cipfaro signin" as a number).
SIGNIN_LOCK_KEY: Final = 0x6369_7066_5349_474E

# SignInEvent.reason values.
OK: Final = "ok"
PENDING: Final = "pending"  # password check under way (counts as a failure meanwhile)
BAD_CREDENTIALS: Final = "bad_credentials"  # unknown email or wrong password
INACTIVE: Final = "inactive"  # staff account with actif = false
NOT_STAFF: Final = "not_staff"  # formateur, stagiaire, recruteur
THROTTLED: Final = "throttled"  # this email from this address: wait the delay
THROTTLED_ADDRESS: Final = "throttled_address"  # too many failures from this address
BUSY: Final = "busy"  # the server's ceiling of password checks per minute
LOGOUT: Final = "logout"
FAILURE_REASONS: Final = (BAD_CREDENTIALS, INACTIVE, NOT_STAFF, PENDING)
CHECKED_REASONS: Final = (OK, *FAILURE_REASONS)  # attempts whose password was checked


@dataclass(frozen=True)
class SignInLimits:
    """The two configurable limits (the per-account delays are constants above)."""

    checks_per_minute: int = 60
    failures_per_address: int = 20

    @classmethod
    def from_settings(cls, settings: Settings) -> SignInLimits:
        return cls(settings.SIGNIN_CHECKS_PER_MINUTE, settings.SIGNIN_FAILURES_PER_ADDRESS)


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


def client_address(remote: str | None, forwarded: list[str], *, trust_forwarded: bool) -> str:
    """The address an attempt is counted under.

    ``remote`` is the connection's own address; ``forwarded`` the values of the
    header a reverse proxy sets, taken only when the deployment says the proxy
    is trusted (anyone can send such a header). The proxy appends the address
    it saw, so the last entry is the one to believe. "" when unknown.
    """
    if trust_forwarded:
        entries = [part.strip() for value in forwarded for part in value.split(",")]
        entries = [entry for entry in entries if entry]
        if entries:
            return entries[-1][:ADDRESS_MAX_CHARS]
    return (remote or "")[:ADDRESS_MAX_CHARS]


def _failures(
    connection: Connection, *, after: datetime, own_id: int, **match: str
) -> list[datetime]:
    """When the failed (or still pending) attempts matching ``match`` happened, newest first."""
    conditions = [getattr(SignInEvent, column) == value for column, value in match.items()]
    return list(
        connection.execute(
            select(SignInEvent.created_at)
            .where(
                *conditions,
                SignInEvent.reason.in_(FAILURE_REASONS),
                SignInEvent.created_at > after,
                SignInEvent.id != own_id,
            )
            .order_by(SignInEvent.created_at.desc())
        ).scalars()
    )


def account_delay(failures: int) -> timedelta:
    """The wait after the last failure once ``failures`` (>= FREE_FAILURES) have happened."""
    doublings = min(failures - FREE_FAILURES, 10)
    return min(FIRST_DELAY * 2**doublings, MAX_DELAY)


def _admission(
    connection: Connection,
    *,
    email: str,
    address: str,
    now: datetime,
    own_id: int,
    limits: SignInLimits,
) -> tuple[str, datetime] | None:
    """Why this attempt may not have its password checked, and until when; None: it may."""
    last_success = connection.execute(
        select(func.max(SignInEvent.created_at)).where(
            SignInEvent.email == email, SignInEvent.reason == OK
        )
    ).scalar_one()
    since = max(now - FAILURE_WINDOW, last_success or now - FAILURE_WINDOW)
    pair = _failures(connection, after=since, own_id=own_id, email=email, client_address=address)
    if len(pair) >= FREE_FAILURES:
        retry_after = pair[0] + account_delay(len(pair))
        if retry_after > now:
            return THROTTLED, retry_after
    from_address = _failures(
        connection, after=now - FAILURE_WINDOW, own_id=own_id, client_address=address
    )
    if len(from_address) >= limits.failures_per_address:
        return THROTTLED_ADDRESS, from_address[limits.failures_per_address - 1] + FAILURE_WINDOW
    checks = connection.execute(
        select(func.count()).where(
            SignInEvent.reason.in_(CHECKED_REASONS),
            SignInEvent.created_at > now - CHECK_WINDOW,
            SignInEvent.id != own_id,
        )
    ).scalar_one()
    if checks >= limits.checks_per_minute:
        return BUSY, now + CHECK_WINDOW
    return None


# Sign-in and sessions -------------------------------------------------------------


def _record(
    connection: Connection,
    *,
    email: str,
    user_id: int | None,
    reason: str,
    now: datetime,
    address: str | None = None,
) -> int:
    return int(
        connection.execute(
            insert(SignInEvent)
            .values(
                created_at=now,
                email=_logged_email(email),
                user_id=user_id,
                success=reason in (OK, LOGOUT),
                reason=reason,
                client_address=address,
            )
            .returning(SignInEvent.id)
        ).scalar_one()
    )


def _settle(connection: Connection, attempt_id: int, *, reason: str, user_id: int | None) -> None:
    connection.execute(
        update(SignInEvent)
        .where(SignInEvent.id == attempt_id)
        .values(reason=reason, success=reason == OK, user_id=user_id)
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


def throttled_message(retry_after: datetime, now: datetime) -> str:
    """The one message of every throttled attempt, whichever limit refused it."""
    minutes = max(1, -(-int((retry_after - now).total_seconds()) // 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"Trop de tentatives de connexion. Réessayez dans {minutes} {unit}."


def _admit_attempt(
    engine: Engine, *, email: str, address: str, now: datetime, limits: SignInLimits
) -> tuple[int, Any] | SignInResult:
    """The atomic check-and-count: the attempt's row, and the account to check; or a refusal."""
    with translate_errors(), engine.begin() as connection:
        if is_postgresql(connection):
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SIGNIN_LOCK_KEY})
        # Written first: on SQLite this takes the write lock before anything is read.
        attempt_id = _record(
            connection, email=email, user_id=None, reason=PENDING, now=now, address=address
        )
        refusal = _admission(
            connection,
            email=_logged_email(email),
            address=address,
            now=now,
            own_id=attempt_id,
            limits=limits,
        )
        account = _account(connection, email)
        if refusal is not None:
            reason, retry_after = refusal
            _settle(connection, attempt_id, reason=reason, user_id=account.id if account else None)
            log.warning("sign-in refused (%s) for %r from %r", reason, email[:80], address)
            return SignInResult(
                False, reason, throttled_message(retry_after, now), retry_after=retry_after
            )
    return attempt_id, account


def sign_in(
    engine: Engine,
    *,
    email: str,
    password: str,
    now: datetime,
    session_hours: float,
    client_address: str = "",
    limits: SignInLimits | None = None,
) -> SignInResult:
    """Check one attempt, record it, and open a session when it succeeds."""
    typed = normalise_email(email)
    admitted = _admit_attempt(
        engine, email=typed, address=client_address, now=now, limits=limits or SignInLimits()
    )
    if isinstance(admitted, SignInResult):
        return admitted
    attempt_id, account = admitted
    # bcrypt runs outside any transaction: no connection held for ~0.25 s.
    password_ok = _password_matches(password, account.password if account else None)
    reason = _refusal_reason(account, password_ok)
    user_id = account.id if account else None
    with translate_errors(), engine.begin() as connection:
        _settle(connection, attempt_id, reason=reason or OK, user_id=user_id)
        if reason is not None:
            log.info("sign-in refused (%s) for %r from %r", reason, typed[:80], client_address)
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
        _record(connection, email=normalise_email(email), user_id=user_id, reason=LOGOUT, now=now)
    return True


def revoke_user_sessions(connection: Connection, *, user_id: int, now: datetime) -> int:
    """Revoke every live session of an account (inside the caller's transaction)."""
    result = connection.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)


# The signed cookie (read back by streamlit-authenticator's CookieModel) ---------------


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
