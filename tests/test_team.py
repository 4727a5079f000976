"""Staff accounts (data/team.py): the list and the only writes to ``users``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from data import auth, team
from data.errors import Conflict, DashboardError, InvalidInput, NotAllowed, NotFound
from data.models import STAFF_ROLES, User
from data.owned import AuditLog
from data.permissions import Actor
from tests import factories

T0 = factories.T0
PASSWORD = "Bon-mot-de-passe-42"


def _actor(engine: Engine, user_id: int) -> Actor:
    with engine.connect() as connection:
        row = connection.execute(
            select(User.id, User.email, User.role, User.prenom, User.nom).where(User.id == user_id)
        ).one()
    return Actor(*row)


def _state(engine: Engine, user_id: int) -> tuple[str, bool]:
    with engine.connect() as connection:
        row = connection.execute(select(User.role, User.actif).where(User.id == user_id)).one()
    return row.role, row.actif


def _audit(engine: Engine) -> list[tuple]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                AuditLog.actor_id,
                AuditLog.action,
                AuditLog.entity,
                AuditLog.entity_id,
                AuditLog.details,
            ).order_by(AuditLog.id)
        ).all()
    return [tuple(row) for row in rows]


@pytest.fixture
def admins(engine: Engine) -> tuple[Actor, int]:
    """Two active admins: the acting one and another."""
    acting = factories.user(engine, role="admin", email="chef@cipfaro.fr", nom="Chef")
    other = factories.user(engine, role="admin", email="adjoint@cipfaro.fr", nom="Adjoint")
    return _actor(engine, acting), other


def test_staff_accounts_lists_staff_only_with_last_sign_in(engine: Engine) -> None:
    active = factories.user(
        engine, role="secretariat", email="s@cipfaro.fr", password=PASSWORD, nom="Théodore"
    )
    inactive = factories.user(engine, role="direction", actif=False, nom="Zébulon")
    factories.user(engine, role="stagiaire")
    factories.user(engine, role="formateur")
    for minutes, password in ((0, PASSWORD), (5, "faux"), (10, PASSWORD), (11, "faux")):
        auth.sign_in(
            engine,
            email="s@cipfaro.fr",
            password=password,
            now=T0 + timedelta(minutes=minutes),
            session_hours=8,
        )
    frame = team.staff_accounts(engine)
    assert list(frame["id"]) == [active, inactive]  # active first
    assert list(frame["role_label"]) == ["Secrétariat", "Direction"]
    assert list(frame["actif"]) == [True, False]
    assert frame["last_sign_in"].iloc[0] == T0 + timedelta(minutes=10)
    assert frame["last_sign_in"].iloc[1] is None


def test_deactivation_revokes_sessions_and_is_audited(engine: Engine, admins) -> None:
    actor, _ = admins
    target = factories.user(engine, role="secretariat", email="s@cipfaro.fr", password=PASSWORD)
    token = auth.sign_in(
        engine, email="s@cipfaro.fr", password=PASSWORD, now=T0, session_hours=8
    ).session_token
    change = team.deactivate_account(engine, actor=actor, user_id=target, now=T0)
    assert (change.field, change.old, change.new, change.sessions_revoked) == (
        "actif",
        True,
        False,
        1,
    )
    assert _state(engine, target) == ("secretariat", False)
    assert auth.validate_session(engine, token or "", now=T0) is None
    assert _audit(engine) == [
        (
            actor.id,
            "user.deactivate",
            "users",
            str(target),
            {"email": "s@cipfaro.fr", "actif": [True, False], "sessions_revoked": 1},
        ),
    ]


def test_reactivation_is_audited(engine: Engine, admins) -> None:
    actor, _ = admins
    target = factories.user(engine, role="secretariat", actif=False)
    change = team.reactivate_account(engine, actor=actor, user_id=target, now=T0)
    assert (change.old, change.new) == (False, True)
    assert _state(engine, target) == ("secretariat", True)
    assert [row[1] for row in _audit(engine)] == ["user.reactivate"]


@pytest.mark.parametrize(
    ("old", "new"), [("secretariat", "direction"), ("direction", "admin"), ("admin", "secretariat")]
)
def test_role_changes_among_staff_roles_are_audited(
    engine: Engine, admins, old: str, new: str
) -> None:
    actor, _ = admins
    target = factories.user(engine, role=old)
    change = team.change_role(engine, actor=actor, user_id=target, role=new, now=T0)
    assert (change.old, change.new) == (old, new)
    assert _state(engine, target) == (new, True)
    assert _audit(engine)[0][1:4] == ("user.role_change", "users", str(target))
    assert _audit(engine)[0][4]["role"] == [old, new]


@pytest.mark.parametrize(
    "role", ["formateur", "stagiaire", "recruteur", "superadmin", "", "admin'--"]
)
def test_only_staff_roles_can_be_given(engine: Engine, admins, role: str) -> None:
    actor, _ = admins
    target = factories.user(engine, role="secretariat")
    with pytest.raises(InvalidInput, match="Rôle non autorisé"):
        team.change_role(engine, actor=actor, user_id=target, role=role)
    assert _state(engine, target) == ("secretariat", True)
    assert _audit(engine) == []


@pytest.mark.parametrize("role", ["direction", "secretariat"])
@pytest.mark.parametrize("write", ["deactivate", "reactivate", "role"])
def test_only_admins_may_write(engine: Engine, role: str, write: str) -> None:
    actor = _actor(engine, factories.user(engine, role=role))
    target = factories.user(engine, role="secretariat", actif=write != "reactivate")
    calls = {
        "deactivate": lambda: team.deactivate_account(engine, actor=actor, user_id=target),
        "reactivate": lambda: team.reactivate_account(engine, actor=actor, user_id=target),
        "role": lambda: team.change_role(engine, actor=actor, user_id=target, role="admin"),
    }
    with pytest.raises(NotAllowed, match="Votre rôle ne permet pas cette action"):
        calls[write]()
    assert _state(engine, target) == ("secretariat", write != "reactivate")
    assert _audit(engine) == []


def test_an_admin_demoted_or_deactivated_since_the_page_ran_may_not_write(
    engine: Engine, admins
) -> None:
    actor, _ = admins
    target = factories.user(engine, role="secretariat")
    for change in ({"role": "direction"}, {"actif": False}):
        with engine.begin() as connection:
            connection.execute(update(User).where(User.id == actor.id).values(**change))
        with pytest.raises(NotAllowed):
            team.deactivate_account(engine, actor=actor, user_id=target)  # stale Actor
        with engine.begin() as connection:
            connection.execute(
                update(User).where(User.id == actor.id).values(role="admin", actif=True)
            )
    assert _state(engine, target) == ("secretariat", True)
    assert _audit(engine) == []


def test_the_last_active_admin_cannot_be_demoted(engine: Engine) -> None:
    lone = factories.user(engine, role="admin", email="seul@cipfaro.fr")
    factories.user(engine, role="admin", actif=False)  # an inactive admin does not count
    actor = _actor(engine, lone)
    with pytest.raises(InvalidInput, match="dernier administrateur actif"):
        team.change_role(engine, actor=actor, user_id=lone, role="direction")
    assert _state(engine, lone) == ("admin", True)
    assert _audit(engine) == []


def test_an_admin_may_not_deactivate_themself(engine: Engine, admins) -> None:
    actor, _ = admins
    with pytest.raises(InvalidInput, match="votre propre compte"):
        team.deactivate_account(engine, actor=actor, user_id=actor.id)
    assert _state(engine, actor.id) == ("admin", True)


def test_deactivating_the_other_admin_leaves_one_then_is_refused(engine: Engine, admins) -> None:
    actor, other = admins
    team.deactivate_account(engine, actor=actor, user_id=other)
    third = factories.user(engine, role="admin", email="trois@cipfaro.fr")
    third_actor = _actor(engine, third)
    team.deactivate_account(engine, actor=third_actor, user_id=actor.id)
    with pytest.raises(InvalidInput, match="dernier administrateur actif"):
        team.change_role(engine, actor=third_actor, user_id=third, role="secretariat")
    with engine.connect() as connection:
        active_admins = connection.execute(
            select(func.count()).where(User.role == "admin", User.actif.is_(True))
        ).scalar_one()
    assert active_admins == 1


@pytest.mark.parametrize("kind", ["missing", "stagiaire", "formateur"])
def test_only_staff_accounts_can_be_changed(engine: Engine, admins, kind: str) -> None:
    actor, _ = admins
    target = 999_999 if kind == "missing" else factories.user(engine, role=kind)
    with pytest.raises(NotFound, match="Compte du personnel introuvable"):
        team.deactivate_account(engine, actor=actor, user_id=target)
    with pytest.raises(NotFound):
        team.change_role(engine, actor=actor, user_id=target, role="admin")
    assert _audit(engine) == []


def test_repeating_a_change_is_a_conflict_and_writes_nothing(engine: Engine, admins) -> None:
    actor, _ = admins
    target = factories.user(engine, role="secretariat")
    team.deactivate_account(engine, actor=actor, user_id=target)
    with pytest.raises(Conflict, match="déjà désactivé"):
        team.deactivate_account(engine, actor=actor, user_id=target)
    with pytest.raises(Conflict, match="déjà ce rôle"):
        team.change_role(engine, actor=actor, user_id=target, role="secretariat")
    assert len(_audit(engine)) == 1


def _race_behind_a_held_write(
    engine: Engine, held: dict[str, object], held_user: int, racer: Callable[[], object]
) -> list[object]:
    """Run ``racer`` while another transaction holds the staff rows after writing ``held``.

    The racer must wait for the lock, then decide on the committed change.
    """
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(racer())
        except DashboardError as exc:
            outcome.append(exc)

    with engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(
            select(User.id).where(User.role.in_(STAFF_ROLES)).order_by(User.id).with_for_update()
        )
        connection.execute(update(User).where(User.id == held_user).values(**held))
        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive(), "the second write must wait for the first one's lock"
        transaction.commit()
    thread.join(timeout=10)
    return outcome


def test_two_admins_deactivating_each_other_at_once_leave_one_admin(pg_engine: Engine) -> None:
    first = factories.user(pg_engine, role="admin", email="a@cipfaro.fr")
    second = factories.user(pg_engine, role="admin", email="b@cipfaro.fr")
    second_actor = _actor(pg_engine, second)
    outcome = _race_behind_a_held_write(
        pg_engine,
        {"actif": False},
        second,  # the first admin deactivates the second...
        lambda: team.deactivate_account(pg_engine, actor=second_actor, user_id=first),
    )
    assert len(outcome) == 1 and isinstance(outcome[0], NotAllowed)  # ...who lost the right
    assert _state(pg_engine, first) == ("admin", True)


def test_concurrent_demotions_cannot_remove_the_last_admin(pg_engine: Engine) -> None:
    first = factories.user(pg_engine, role="admin", email="a@cipfaro.fr")
    second = factories.user(pg_engine, role="admin", email="b@cipfaro.fr")
    first_actor = _actor(pg_engine, first)
    outcome = _race_behind_a_held_write(
        pg_engine,
        {"role": "direction"},
        second,  # one tab demotes the other admin...
        lambda: team.change_role(pg_engine, actor=first_actor, user_id=first, role="direction"),
    )
    assert len(outcome) == 1 and isinstance(outcome[0], InvalidInput)  # ...the other tab waits
    assert "dernier administrateur actif" in str(outcome[0])
    assert _state(pg_engine, first) == ("admin", True)
