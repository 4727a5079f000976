"""Sign-in decisions (data/auth.py) on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import bcrypt
import jwt
import pytest
from sqlalchemy import Engine, func, select, update

from data import auth
from data.errors import ConfigurationError
from data.models import User
from data.owned import AuthSession, SignInEvent
from data.settings import DEMO_COOKIE_KEY, load_settings
from tests import factories

T0 = factories.T0
PASSWORD = "Bon-mot-de-passe-42"


def _sign_in(engine: Engine, email: str, password: str = PASSWORD, *, minutes: float = 0):
    return auth.sign_in(
        engine,
        email=email,
        password=password,
        now=T0 + timedelta(minutes=minutes),
        session_hours=8,
    )


def _log(engine: Engine) -> list[tuple[str, bool, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(SignInEvent.email, SignInEvent.success, SignInEvent.reason).order_by(
                SignInEvent.id
            )
        ).all()
    return [tuple(row) for row in rows]


def _sessions(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as connection:
        rows = connection.execute(select(AuthSession.id, AuthSession.user_id)).all()
    return [tuple(row) for row in rows]


@pytest.mark.parametrize("role", ["admin", "direction", "secretariat"])
def test_staff_role_signs_in_and_gets_a_server_side_session(engine: Engine, role: str) -> None:
    user_id = factories.user(engine, role=role, email="agent@cipfaro.fr", password=PASSWORD)
    result = _sign_in(engine, "agent@cipfaro.fr")
    assert result.ok and result.reason == "ok" and result.message == ""
    assert result.actor is not None and (result.actor.id, result.actor.role) == (user_id, role)
    assert result.expires_at == T0 + timedelta(hours=8)
    assert result.session_token and len(result.session_token) >= 40
    [(stored_id, stored_user)] = _sessions(engine)
    assert stored_user == user_id
    assert stored_id != result.session_token  # only its digest is stored
    assert _log(engine) == [("agent@cipfaro.fr", True, "ok")]
    assert auth.validate_session(engine, result.session_token, now=T0) == result.actor


@pytest.mark.parametrize(
    ("account", "typed_password", "logged_reason"),
    [
        pytest.param({"role": "admin"}, "mauvais", "bad_credentials", id="wrong-password"),
        pytest.param(None, PASSWORD, "bad_credentials", id="unknown-email"),
        pytest.param({"role": "secretariat", "actif": False}, PASSWORD, "inactive", id="inactive"),
        pytest.param({"role": "formateur"}, PASSWORD, "not_staff", id="formateur"),
        pytest.param({"role": "stagiaire"}, PASSWORD, "not_staff", id="stagiaire"),
        pytest.param({"role": "recruteur"}, PASSWORD, "not_staff", id="recruteur"),
        pytest.param({"role": "formateur"}, "mauvais", "bad_credentials", id="formateur-wrong"),
    ],
)
def test_every_refusal_gives_the_same_neutral_message(
    engine: Engine, account: dict | None, typed_password: str, logged_reason: str
) -> None:
    if account is not None:
        factories.user(engine, email="x@cipfaro.fr", password=PASSWORD, **account)
    result = _sign_in(engine, "x@cipfaro.fr", typed_password)
    assert not result.ok
    assert result.message == "Identifiants incorrects."
    assert result.actor is None and result.session_token is None
    assert _sessions(engine) == []
    assert _log(engine) == [("x@cipfaro.fr", False, logged_reason)]


def test_email_is_trimmed_and_case_insensitive(engine: Engine) -> None:
    factories.user(engine, role="direction", email="Helene.Belenus@CIPFARO.fr", password=PASSWORD)
    result = _sign_in(engine, "  helene.belenus@cipfaro.FR ")
    assert result.ok
    assert _log(engine) == [("helene.belenus@cipfaro.fr", True, "ok")]


def test_the_password_is_never_stored(engine: Engine) -> None:
    factories.user(engine, role="admin", email="a@cipfaro.fr", password=PASSWORD)
    _sign_in(engine, "a@cipfaro.fr", "essai-secret-1")
    _sign_in(engine, "a@cipfaro.fr")
    with engine.connect() as connection:
        stored = [
            str(value)
            for table in (SignInEvent, AuthSession)
            for row in connection.execute(select(table)).all()
            for value in row
        ]
    assert stored
    assert not [value for value in stored if "essai-secret-1" in value or PASSWORD in value]


def test_five_failures_then_a_growing_delay_never_a_lockout(engine: Engine) -> None:
    factories.user(engine, role="admin", email="a@cipfaro.fr", password=PASSWORD)
    for minute in range(5):
        assert _sign_in(engine, "a@cipfaro.fr", "faux", minutes=minute).reason == "bad_credentials"
    refused = _sign_in(engine, "a@cipfaro.fr", minutes=4.25)  # right password, within 30 s
    assert not refused.ok and refused.reason == "throttled"
    assert refused.retry_after == T0 + timedelta(minutes=4, seconds=30)
    assert refused.message == "Trop de tentatives de connexion. Réessayez dans 1 minute."
    assert _log(engine)[-1] == ("a@cipfaro.fr", False, "throttled")
    assert _sessions(engine) == []
    # Refused attempts do not count: once the 30 s have passed, the password is checked.
    assert _sign_in(engine, "a@cipfaro.fr", "faux", minutes=4.6).reason == "bad_credentials"
    # Six failures: the next wait is 60 s from the last one.
    assert _sign_in(engine, "a@cipfaro.fr", minutes=5.5).reason == "throttled"
    assert _sign_in(engine, "a@cipfaro.fr", minutes=5.65).ok


@pytest.mark.parametrize(
    ("failures", "delay"),
    [
        (5, timedelta(seconds=30)),
        (6, timedelta(minutes=1)),
        (9, timedelta(minutes=8)),
        (10, timedelta(minutes=15)),
        (40, timedelta(minutes=15)),
    ],
)
def test_the_delay_doubles_up_to_fifteen_minutes(failures: int, delay: timedelta) -> None:
    assert auth.account_delay(failures) == delay


def test_failures_spread_over_more_than_15_minutes_do_not_throttle(engine: Engine) -> None:
    factories.user(engine, role="admin", email="a@cipfaro.fr", password=PASSWORD)
    for minute in (0, 4, 8, 12, 16):
        _sign_in(engine, "a@cipfaro.fr", "faux", minutes=minute)
    assert _sign_in(engine, "a@cipfaro.fr", minutes=16.1).ok


def test_a_success_resets_the_failure_count(engine: Engine) -> None:
    factories.user(engine, role="admin", email="a@cipfaro.fr", password=PASSWORD)
    for minute in range(4):
        _sign_in(engine, "a@cipfaro.fr", "faux", minutes=minute)
    assert _sign_in(engine, "a@cipfaro.fr", minutes=4).ok
    for minute in range(5, 9):
        _sign_in(engine, "a@cipfaro.fr", "faux", minutes=minute)
    assert _sign_in(engine, "a@cipfaro.fr", minutes=9).ok


def test_unknown_emails_are_throttled_the_same_way(engine: Engine) -> None:
    """Throttling must not reveal which addresses have an account."""
    for minute in range(5):
        _sign_in(engine, "personne@nulle-part.fr", "faux", minutes=minute)
    refused = _sign_in(engine, "personne@nulle-part.fr", minutes=4.1)
    assert refused.reason == "throttled"
    assert refused.message == "Trop de tentatives de connexion. Réessayez dans 1 minute."


def test_throttling_is_per_account(engine: Engine) -> None:
    factories.user(engine, role="admin", email="a@cipfaro.fr", password=PASSWORD)
    factories.user(engine, role="admin", email="b@cipfaro.fr", password=PASSWORD)
    for minute in range(5):
        _sign_in(engine, "a@cipfaro.fr", "faux", minutes=minute)
    assert _sign_in(engine, "b@cipfaro.fr", minutes=4.1).ok
    assert _sign_in(engine, "a@cipfaro.fr", minutes=4.1).reason == "throttled"


def _from(engine: Engine, email: str, address: str, password: str, *, minutes: float):
    return auth.sign_in(
        engine,
        email=email,
        password=password,
        now=T0 + timedelta(minutes=minutes),
        session_hours=8,
        client_address=address,
    )


def test_guesses_from_one_address_do_not_block_the_real_user_at_another(engine: Engine) -> None:
    factories.user(engine, role="secretariat", email="s@cipfaro.fr", password=PASSWORD)
    for n in range(12):
        _from(engine, "s@cipfaro.fr", "203.0.113.7", "faux", minutes=n / 10)
    assert _from(engine, "s@cipfaro.fr", "203.0.113.7", PASSWORD, minutes=1.2).reason == (
        "throttled"
    )
    assert _from(engine, "s@cipfaro.fr", "198.51.100.20", PASSWORD, minutes=1.2).ok


def test_one_address_trying_many_accounts_is_refused(engine: Engine) -> None:
    limits = auth.SignInLimits(failures_per_address=20)
    for n in range(20):  # real accounts: their test hashes are quick to check
        factories.user(engine, role="secretariat", email=f"agent{n}@cipfaro.fr")
        _from(engine, f"agent{n}@cipfaro.fr", "203.0.113.7", "faux", minutes=n / 10)
    factories.user(engine, role="admin", email="a@cipfaro.fr", password=PASSWORD)
    refused = auth.sign_in(
        engine,
        email="a@cipfaro.fr",
        password=PASSWORD,
        now=T0 + timedelta(minutes=3),
        session_hours=8,
        client_address="203.0.113.7",
        limits=limits,
    )
    assert refused.reason == "throttled_address"
    assert refused.message == "Trop de tentatives de connexion. Réessayez dans 12 minutes."
    assert _from(engine, "a@cipfaro.fr", "198.51.100.20", PASSWORD, minutes=3).ok


def test_a_ceiling_of_password_checks_per_minute_for_the_whole_server(engine: Engine) -> None:
    limits = auth.SignInLimits(checks_per_minute=3)
    results = [
        auth.sign_in(
            engine,
            email=f"x{n}@cipfaro.fr",
            password="faux",
            now=T0 + timedelta(seconds=n),
            session_hours=8,
            client_address=f"198.51.100.{n}",
            limits=limits,
        ).reason
        for n in range(5)
    ]
    assert results == ["bad_credentials"] * 3 + ["busy"] * 2
    later = auth.sign_in(
        engine,
        email="x9@cipfaro.fr",
        password="faux",
        now=T0 + timedelta(seconds=61),
        session_hours=8,
        limits=limits,
    )
    assert later.reason == "bad_credentials"  # the first check has left the minute


def test_forty_parallel_attempts_get_at_most_five_password_checks(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """39 wrong and 1 right at once on one account (both databases, real threads): the
    check-and-count is atomic, so at most FREE_FAILURES passwords are checked and the
    right one, arriving while the account is delayed, is refused unchecked."""
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=10)).decode()
    factories.user(engine, role="admin", email="a@cipfaro.fr", password="x")
    with engine.begin() as connection:
        connection.execute(update(User).values(password=hashed))
    checked: list[str] = []
    real_check = auth._password_matches

    def counting_check(password: str, stored_hash: str | None) -> bool:
        checked.append(password)
        return real_check(password, stored_hash)

    monkeypatch.setattr(auth, "_password_matches", counting_check)
    start = threading.Barrier(39)
    wrong_started = threading.Event()

    def attempt(password: str) -> auth.SignInResult:
        if password == PASSWORD:
            wrong_started.wait(timeout=30)
        else:
            start.wait(timeout=30)
        return auth.sign_in(
            engine, email="a@cipfaro.fr", password=password, now=T0, session_hours=8
        )

    with ThreadPoolExecutor(max_workers=40) as pool:
        futures = [pool.submit(attempt, f"faux-{n}") for n in range(39)]
        _wait_for_attempts(engine, auth.FREE_FAILURES)
        wrong_started.set()
        right = pool.submit(attempt, PASSWORD)
        results = [future.result(timeout=60) for future in futures]
    refused_right = right.result(timeout=60)
    assert len(checked) <= auth.FREE_FAILURES
    assert PASSWORD not in checked
    assert not refused_right.ok and refused_right.reason == "throttled"
    reasons = [r.reason for r in results]
    assert reasons.count("bad_credentials") == len(checked)
    assert reasons.count("throttled") == 39 - len(checked)
    assert _sessions(engine) == []


def _wait_for_attempts(engine: Engine, count: int) -> None:
    """Until ``count`` attempts have been admitted to a password check (or 30 s)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            admitted = connection.execute(
                select(func.count()).where(SignInEvent.reason.in_(auth.FAILURE_REASONS))
            ).scalar_one()
        if admitted >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"fewer than {count} attempts admitted after 30 s")


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.7", [], False, "203.0.113.7"),
        (None, [], False, ""),
        ("10.0.0.2", ["198.51.100.1"], False, "10.0.0.2"),  # header not trusted: ignored
        ("10.0.0.2", ["198.51.100.1"], True, "198.51.100.1"),
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1"], True, "198.51.100.1"),  # the proxy's entry
        ("10.0.0.2", ["6.6.6.6", "198.51.100.1"], True, "198.51.100.1"),
        ("10.0.0.2", [" , "], True, "10.0.0.2"),
        ("10.0.0.2", ["x" * 500], True, "x" * 64),
    ],
)
def test_the_client_address_trusts_a_forwarded_header_only_when_told(
    remote: str | None, forwarded: list[str], trusted: bool, expected: str
) -> None:
    assert auth.client_address(remote, forwarded, trust_forwarded=trusted) == expected


@pytest.mark.parametrize(
    "password",
    ["", " ", "x" * 10_000, "a\x00b", "' OR '1'='1", "é" * 100, "\ud800"],
    ids=["empty", "space", "10k", "nul", "sql", "accents-over-72-bytes", "lone-surrogate"],
)
def test_hostile_passwords_are_refused_cleanly(engine: Engine, password: str) -> None:
    factories.user(engine, role="admin", email="a@cipfaro.fr", password=PASSWORD)
    result = _sign_in(engine, "a@cipfaro.fr", password)
    assert not result.ok and result.message == "Identifiants incorrects."


def test_passwords_longer_than_72_bytes_match_the_websites_hash(engine: Engine) -> None:
    """bcrypt only ever hashed the first 72 bytes; bcrypt 5 refuses longer input."""
    long_password = "phrase de passe très longue " * 5
    hashed = bcrypt.hashpw(long_password.encode()[:72], bcrypt.gensalt(rounds=4)).decode()
    factories.user(engine, role="admin", email="a@cipfaro.fr", password=PASSWORD)
    with engine.begin() as connection:
        connection.execute(update(User).values(password=hashed))
    assert _sign_in(engine, "a@cipfaro.fr", long_password).ok


def test_an_unusable_stored_hash_refuses_without_error(engine: Engine) -> None:
    factories.user(engine, role="admin", email="a@cipfaro.fr", password=PASSWORD)
    with engine.begin() as connection:
        connection.execute(update(User).values(password="pas-un-hash"))
    result = _sign_in(engine, "a@cipfaro.fr", "pas-un-hash")
    assert not result.ok and result.message == "Identifiants incorrects."


def _signed_in(engine: Engine, role: str = "secretariat") -> tuple[int, str]:
    user_id = factories.user(engine, role=role, email="s@cipfaro.fr", password=PASSWORD)
    token = _sign_in(engine, "s@cipfaro.fr").session_token
    assert token
    return user_id, token


def test_logout_revokes_the_session_and_is_logged(engine: Engine) -> None:
    _, token = _signed_in(engine)
    assert auth.sign_out(engine, token=token, now=T0 + timedelta(minutes=1))
    assert auth.validate_session(engine, token, now=T0 + timedelta(minutes=2)) is None
    assert not auth.sign_out(engine, token=token, now=T0 + timedelta(minutes=3))
    assert _log(engine) == [("s@cipfaro.fr", True, "ok"), ("s@cipfaro.fr", True, "logout")]


def test_session_expires(engine: Engine) -> None:
    _, token = _signed_in(engine)
    assert auth.validate_session(engine, token, now=T0 + timedelta(hours=7, minutes=59))
    assert auth.validate_session(engine, token, now=T0 + timedelta(hours=8)) is None


@pytest.mark.parametrize(
    ("change", "still_valid"),
    [
        ({"actif": False}, False),
        ({"role": "formateur"}, False),
        ({"role": "stagiaire"}, False),
        ({"role": "direction"}, True),
    ],
    ids=["deactivated", "formateur", "stagiaire", "direction"],
)
def test_account_changes_apply_to_a_live_session_at_once(
    engine: Engine, change: dict, still_valid: bool
) -> None:
    user_id, token = _signed_in(engine)
    with engine.begin() as connection:
        connection.execute(update(User).where(User.id == user_id).values(**change))
    actor = auth.validate_session(engine, token, now=T0 + timedelta(minutes=1))
    assert (actor is not None) == still_valid
    if actor is not None:
        assert actor.role == change["role"]


@pytest.mark.parametrize("token", ["", "inconnu", "x" * 10_000, "a\x00b", "' OR 1=1 --"])
def test_unknown_session_tokens_are_refused(engine: Engine, token: str) -> None:
    _signed_in(engine)
    assert auth.validate_session(engine, token, now=T0) is None


def test_revoking_a_users_sessions_closes_them_all(engine: Engine) -> None:
    user_id, first = _signed_in(engine)
    second = _sign_in(engine, "s@cipfaro.fr", minutes=1).session_token
    with engine.begin() as connection:
        assert auth.revoke_user_sessions(connection, user_id=user_id, now=T0) == 2
    assert auth.validate_session(engine, first, now=T0) is None
    assert auth.validate_session(engine, second or "", now=T0) is None


def test_the_cookie_names_the_session_and_is_signed(engine: Engine) -> None:
    _signed_in(engine)
    result = _sign_in(engine, "s@cipfaro.fr", minutes=1)
    key = "k" * 40
    cookie = auth.session_cookie(result, key)
    payload = jwt.decode(cookie, key, algorithms=["HS256"])
    assert payload["username"] == "s@cipfaro.fr"
    assert payload["exp_date"] == pytest.approx((T0 + timedelta(hours=8, minutes=1)).timestamp())
    assert auth.session_token_from_cookie(payload) == result.session_token
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(cookie, "autre-cle" * 5, algorithms=["HS256"])


@pytest.mark.parametrize("payload", [None, {}, {"username": "a"}, {"sid": ""}, {"sid": 42}, "x"])
def test_cookie_payload_without_a_session_token_gives_none(payload: object) -> None:
    assert auth.session_token_from_cookie(payload) is None  # type: ignore[arg-type]


def test_demo_mode_uses_the_demo_cookie_key() -> None:
    assert load_settings().require_cookie_key() == DEMO_COOKIE_KEY


def test_outside_demo_mode_the_web_app_needs_a_cookie_key() -> None:
    settings = load_settings(DATABASE_URL="postgresql://h/db")  # the scheduler runs without
    with pytest.raises(ConfigurationError, match="COOKIE_KEY manquant"):
        settings.require_cookie_key()


@pytest.mark.parametrize(
    "cookie_key", [DEMO_COOKIE_KEY, "court", "x" * 31], ids=["demo-key", "short", "31-chars"]
)
def test_the_settings_refuse_an_improper_cookie_key(cookie_key: str) -> None:
    with pytest.raises(ConfigurationError, match="Réglage COOKIE_KEY invalide") as caught:
        load_settings(DATABASE_URL="postgresql://h/db", COOKIE_KEY=cookie_key)
    assert cookie_key not in str(caught.value)


def test_a_proper_cookie_key_is_accepted() -> None:
    key = "une-vraie-cle-de-production-assez-longue"
    settings = load_settings(DATABASE_URL="postgresql://h/db", COOKIE_KEY=key)
    assert settings.require_cookie_key() == key
