"""The transition tables: what may follow what, what may be undone, refusal reasons."""

from __future__ import annotations

import pytest

from data.errors import InvalidInput
from data.models import APPLICATION_STATUSES, MATCH_STATUSES
from data.workflow import (
    MATCH_TRANSITIONS,
    PENDING_STATUSES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    can_undo,
    check_match_decision,
    check_move,
    clean_comment,
    needs_confirmation,
    refusal_text,
)


def test_every_transition_targets_a_known_status() -> None:
    """That every status has a row is asserted when data.workflow is imported; what the
    rows point to is checked here."""
    targets = [target for row in TRANSITIONS.values() for target in row]
    assert targets and set(targets) <= set(APPLICATION_STATUSES)
    match_targets = [target for row in MATCH_TRANSITIONS.values() for target in row]
    assert match_targets and set(match_targets) <= set(MATCH_STATUSES)


def test_terminal_statuses_are_the_exits() -> None:
    assert set(TERMINAL_STATUSES) == {"refusee", "desistement", "abandon", "terminee"}
    assert set(PENDING_STATUSES).isdisjoint(TERMINAL_STATUSES)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("nouvelle", "en_etude"),
        ("nouvelle", "refusee"),
        ("en_etude", "entretien"),
        ("en_etude", "admise"),
        ("entretien", "admise"),
        ("admise", "inscrite"),
        ("inscrite", "en_formation"),
        ("en_formation", "terminee"),
        ("en_formation", "abandon"),
    ],
)
def test_allowed_moves_pass(current: str, target: str) -> None:
    check_move(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("nouvelle", "admise"),
        ("nouvelle", "nouvelle"),
        ("refusee", "en_etude"),
        ("terminee", "en_formation"),
        ("en_formation", "refusee"),
        ("admise", "nouvelle"),
        ("nouvelle", "inconnu"),
        ("legacy_status", "en_etude"),
    ],
)
def test_impossible_moves_are_refused(current: str, target: str) -> None:
    with pytest.raises(InvalidInput):
        check_move(current, target)


@pytest.mark.parametrize(
    ("from_status", "to_status", "expected"),
    [
        ("nouvelle", "en_etude", True),
        ("en_etude", "refusee", True),
        ("entretien", "admise", True),
        ("admise", "desistement", True),
        ("admise", "inscrite", False),  # enrolment is not undone
        ("inscrite", "en_formation", False),
        ("en_formation", "terminee", False),
        ("refusee", "en_etude", False),  # an undo cannot be undone
        (None, "nouvelle", False),  # the creation
    ],
)
def test_what_can_be_undone(from_status: str | None, to_status: str, expected: bool) -> None:
    assert can_undo(from_status, to_status) is expected


def test_irreversible_moves_ask_for_confirmation() -> None:
    assert needs_confirmation("admise", "inscrite")
    assert needs_confirmation("en_formation", "abandon")
    assert not needs_confirmation("nouvelle", "en_etude")


def test_refusal_text_joins_reason_and_detail() -> None:
    assert refusal_text("prerequis", None) == "Prérequis non remplis"
    assert (
        refusal_text("prerequis", "  niveau B1\x00 requis ")
        == "Prérequis non remplis — niveau B1 requis"
    )


@pytest.mark.parametrize(("code", "detail"), [("autre", None), ("autre", "   "), ("bidon", "x")])
def test_refusal_needs_a_listed_reason_and_a_text_for_other(code: str, detail: str | None) -> None:
    with pytest.raises(InvalidInput):
        refusal_text(code, detail)


def test_comments_are_bounded() -> None:
    assert clean_comment("  ") is None
    with pytest.raises(InvalidInput, match="trop long"):
        clean_comment("x" * 2001)


@pytest.mark.parametrize(
    ("current", "decision", "ok"),
    [
        ("propose", "valide", True),
        ("propose", "embauche", True),
        ("valide", "entretien", True),
        ("entretien", "embauche", True),
        ("rejete", "valide", False),
        ("embauche", "rejete", False),
        ("propose", "propose", False),
        ("propose", "nimporte", False),
    ],
)
def test_match_decisions_follow_their_table(current: str, decision: str, ok: bool) -> None:
    if ok:
        check_match_decision(current, decision)
    else:
        with pytest.raises(InvalidInput):
            check_match_decision(current, decision)
