"""Match review: proposed matches by score, filters, the score breakdown, decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine

from data import matching
from data.errors import Conflict, InvalidInput, NotAllowed
from data.matching import MatchFilters
from data.owned import AuditLog
from tests import factories
from tests import triage_data as td

NOW = datetime(2026, 11, 24, 18, 45, tzinfo=UTC)  # 14:45 in Guadeloupe


@pytest.fixture
def w(engine: Engine) -> td.World:
    return td.world(engine)


def _offer(engine: Engine, **values: Any) -> int:
    company = factories.company(engine, nom=values.pop("company", "Karukera Digital"))
    return factories.offer(engine, entreprise_id=company, **values)


def test_proposed_matches_by_score_with_keyset_pages(engine: Engine, w: td.World) -> None:
    offers = [_offer(engine, titre=f"Poste {i}") for i in range(5)]
    scores = ["55.00", "91.50", "70.00", "91.50", "12.25"]
    ids = [
        td.match(engine, candidat_id=w.applicant_id, offre_id=o, score=Decimal(s))
        for o, s in zip(offers, scores, strict=True)
    ]
    td.match(
        engine, candidat_id=w.secretary.id, offre_id=offers[0], statut="rejete", score=Decimal("99")
    )
    seen: list[int] = []
    cursor = None
    while True:
        page = matching.match_page(engine, MatchFilters(), after=cursor, limit=2)
        seen += [row.id for row in page.rows]
        if (cursor := page.next_cursor) is None:
            break
    expected = sorted(ids, key=lambda i: (-float(scores[ids.index(i)]), -i))
    assert seen == expected


def test_filters_by_formation_offer_company_and_score(engine: Engine, w: td.World) -> None:
    other = factories.user(engine, prenom="Léa", nom="Other")
    td.application(engine, w)  # José applied to w.formation_id
    td.application(engine, w, user_id=other, formation_id=w.other_formation_id)
    web = _offer(engine, company="WebCo")
    care = _offer(engine, company="SoinsCo")
    jose_web = td.match(engine, candidat_id=w.applicant_id, offre_id=web, score=Decimal("80"))
    lea_care = td.match(engine, candidat_id=other, offre_id=care, score=Decimal("40"))
    page_ids = lambda f: {row.id for row in matching.match_page(engine, f).rows}  # noqa: E731
    assert page_ids(MatchFilters(formation_id=w.formation_id)) == {jose_web}
    assert page_ids(MatchFilters(offre_id=care)) == {lea_care}
    options = matching.match_filter_options(engine)
    company = {name: i for i, name in options.companies}["SoinsCo"]
    assert page_ids(MatchFilters(entreprise_id=company)) == {lea_care}
    assert matching.company_offers(engine, company) == ((care, "Développeur web"),)
    assert page_ids(MatchFilters(min_score=50)) == {jose_web}
    row = matching.match_page(engine, MatchFilters(offre_id=web)).rows[0]
    assert (row.candidate, row.company, row.contract) == ("José Hippolyte", "WebCo", "cdi")


@pytest.mark.parametrize(
    ("criteres", "bars", "facts"),
    [
        (
            {"competences": 0.82, "distance_km": 14, "formation": "dev-web"},
            (("Compétences", 82.0),),
            (("Distance (km)", "14"), ("Formation", "dev-web")),
        ),
        (None, (), ()),
        ({}, (), ()),
        ([1, 2], (), (("Critères", "[1, 2]"),)),
        ("pas du json", (), (("Critères", "pas du json"),)),
        ('{"mobilite": 1}', (("Mobilité", 100.0),), ()),
        (
            {"<b>x</b>": 0.5, "ok": True, "nested": {"a": 1}, "nan": float("nan")},
            (("<b>x</b>", 50.0),),
            (("ok", "oui"), ("nested", '{"a": 1}'), ("nan", "NaN")),
        ),
    ],
)
def test_breakdown_tolerates_any_shape(criteres: Any, bars: tuple, facts: tuple) -> None:  # type: ignore[type-arg]
    breakdown = matching.score_breakdown(criteres)
    assert breakdown.bars == bars
    assert breakdown.facts == facts


def test_breakdown_names_the_formation_not_its_slug() -> None:
    criteres = {"formation": "assistant-vie-familles", "competences": 0.8}
    titles = {"assistant-vie-familles": "Assistant(e) de vie aux familles"}
    breakdown = matching.score_breakdown(criteres, titles)
    assert breakdown.facts == (("Formation", "Assistant(e) de vie aux familles"),)
    unknown = matching.score_breakdown({"formation": "retiree"}, titles)
    assert unknown.facts == (("Formation", "retiree"),)


def test_decision_writes_who_when_and_audit(engine: Engine, w: td.World) -> None:
    match_id = td.match(engine, candidat_id=w.applicant_id, offre_id=_offer(engine))
    result = matching.decide_match(
        engine,
        actor=w.secretary,
        match_id=match_id,
        decision="entretien",
        expected_statut="propose",
        expected_decided_at=None,
        now=NOW,
    )
    assert result.message == f"Matching n° {match_id} : Proposé → Entretien."
    row = matching.match_page(engine, MatchFilters(statuses=())).rows[0]
    assert (row.statut, row.decided_at, row.decided_by) == ("entretien", NOW, "Sonia Séraphin")
    [entry] = td.audits(engine, "matchings")
    assert (entry.action, entry.actor_id, entry.details) == (
        "matching.decide",
        w.secretary.id,
        {"from_statut": "propose", "to_statut": "entretien"},
    )
    # A stale screen (still showing "proposé") is refused, naming who decided and when.
    with pytest.raises(Conflict, match="modifié par Sonia Séraphin à 14:45 — rechargez"):
        matching.decide_match(
            engine,
            actor=w.admin,
            match_id=match_id,
            decision="rejete",
            expected_statut="propose",
            expected_decided_at=None,
        )
    later = matching.decide_match(
        engine,
        actor=w.admin,
        match_id=match_id,
        decision="embauche",
        expected_statut="entretien",
        expected_decided_at=NOW,
        now=NOW - timedelta(hours=1),
    )
    assert later.decided_at > NOW  # always forward
    assert td.count(engine, AuditLog) == 2


@pytest.mark.parametrize(
    ("statut", "decision"), [("rejete", "valide"), ("embauche", "rejete"), ("propose", "propose")]
)
def test_impossible_decisions_are_refused(
    engine: Engine, w: td.World, statut: str, decision: str
) -> None:
    match_id = td.match(engine, candidat_id=w.applicant_id, offre_id=_offer(engine), statut=statut)
    with pytest.raises(InvalidInput):
        matching.decide_match(
            engine,
            actor=w.admin,
            match_id=match_id,
            decision=decision,
            expected_statut=statut,
            expected_decided_at=None,
        )
    assert td.count(engine, AuditLog) == 0


def test_direction_only_reads_matches(engine: Engine, w: td.World) -> None:
    match_id = td.match(engine, candidat_id=w.applicant_id, offre_id=_offer(engine))
    with pytest.raises(NotAllowed):
        matching.decide_match(
            engine,
            actor=w.director,
            match_id=match_id,
            decision="valide",
            expected_statut="propose",
            expected_decided_at=None,
        )


def test_bulk_validate_and_reject_report_each_row(engine: Engine, w: td.World) -> None:
    offers = [_offer(engine) for _ in range(3)]
    ok, gone, done = (td.match(engine, candidat_id=w.applicant_id, offre_id=o) for o in offers)
    matching.decide_match(
        engine,
        actor=w.admin,
        match_id=done,
        decision="rejete",
        expected_statut="propose",
        expected_decided_at=None,
    )
    result = matching.bulk_decide(
        engine,
        actor=w.secretary,
        decision="valide",
        items=[
            (ok, "propose", None),
            (done, "propose", None),
            (gone + 1000, "propose", None),
            (ok, "propose", None),  # selected twice: decided once
        ],
    )
    assert result.succeeded == (ok,)
    assert [o.id for o in result.failed] == [done, gone + 1000]
    with pytest.raises(InvalidInput, match="seules"):
        matching.bulk_decide(
            engine, actor=w.admin, items=[(ok, "valide", None)], decision="embauche"
        )


@pytest.mark.parametrize(
    ("params", "expected", "notices"),
    [
        ({}, MatchFilters(), 0),
        ({"statut": "tous", "score": "60"}, MatchFilters(statuses=(), min_score=60.0), 0),
        ({"statut": "valide,bidon"}, MatchFilters(), 1),
        ({"score": "150"}, MatchFilters(), 1),
        ({"offre": "1", "entreprise": "abc", "formation": "99"}, MatchFilters(offre_id=1), 2),
    ],
)
def test_match_filters_from_the_url(
    params: dict[str, str], expected: MatchFilters, notices: int
) -> None:
    options = matching.FilterOptions(formations=((3, "Dev"),), companies=((2, "Co"),))
    filters, messages = matching.filters_from_params(params, options)
    assert filters == expected and len(messages) == notices
    assert (
        matching.filters_from_params(matching.params_from_filters(filters), options)[0] == filters
    )
