"""The triage queue: order, keyset pages, every filter, the SLA badge, filters in the URL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from data import triage
from data.errors import InvalidInput
from data.triage import QueueFilters
from tests import factories
from tests import triage_data as td

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
TZ = ZoneInfo("America/Guadeloupe")


def _page(
    engine: Engine, filters: QueueFilters, actor_id: int | None = None, **kw: object
) -> triage.QueuePage:
    return triage.queue_page(engine, filters, actor_id=actor_id, now=NOW, sla_hours=48, tz=TZ, **kw)  # type: ignore[arg-type]


def _ids(engine: Engine, filters: QueueFilters, actor_id: int | None = None) -> list[int]:
    return [row.id for row in _page(engine, filters, actor_id, limit=500).rows]


def test_oldest_first_and_keyset_pages_cover_every_row_once(engine: Engine) -> None:
    w = td.world(engine)
    same = NOW - timedelta(hours=10)
    created = [same] * 4 + [NOW - timedelta(hours=h) for h in (1, 30, 90, 200, 5, 7, 3)]
    ids = [td.application(engine, w, created_at=c, updated_at=c) for c in created]
    expected = [i for _c, i in sorted(zip(created, ids, strict=True))]
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        page = _page(engine, QueueFilters(), after=cursor, limit=3)
        seen += [row.id for row in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == expected  # ties on created_at broken by id, no duplicate, no gap


def test_age_and_sla_badge(engine: Engine) -> None:
    w = td.world(engine)
    old = td.application(engine, w, created_at=NOW - timedelta(hours=50))
    fresh = td.application(engine, w, created_at=NOW - timedelta(hours=5))
    studied = td.application(engine, w, statut="en_etude", created_at=NOW - timedelta(hours=80))
    rows = {row.id: row for row in _page(engine, QueueFilters()).rows}
    assert rows[old].overdue and rows[old].age_hours == pytest.approx(50)
    assert not rows[fresh].overdue and not rows[studied].overdue
    assert _ids(engine, QueueFilters(overdue_only=True)) == [old]


def test_default_queue_shows_pending_statuses_only(engine: Engine) -> None:
    w = td.world(engine)
    by_status = {
        s: td.application(engine, w, statut=s)
        for s in ("nouvelle", "admise", "refusee", "terminee")
    }
    assert set(_ids(engine, QueueFilters())) == {by_status["nouvelle"], by_status["admise"]}
    assert set(_ids(engine, QueueFilters(statuses=()))) == set(by_status.values())
    assert _ids(engine, QueueFilters(statuses=("refusee",))) == [by_status["refusee"]]


def test_each_filter(engine: Engine) -> None:
    w = td.world(engine)
    session = factories.session(engine, formation_id=w.other_formation_id)
    plain = td.application(engine, w, created_at=datetime(2026, 11, 1, 15, tzinfo=UTC))
    other = td.application(engine, w, formation_id=w.other_formation_id, session_id=session)
    salon = td.application(engine, w, source="salon", financement="cpf")
    mine = td.application(engine, w, assigned_to=w.secretary.id)
    theirs = td.application(engine, w, assigned_to=w.admin.id)
    everyone = {plain, other, salon, mine, theirs}
    cases = {
        QueueFilters(formation_id=w.other_formation_id): {other},
        QueueFilters(session_id=session): {other},
        QueueFilters(source="salon"): {salon},
        QueueFilters(financement="cpf"): {salon},
        QueueFilters(financement=triage.NO_FUNDING): everyone - {salon},
        QueueFilters(assignment="moi"): {mine},
        QueueFilters(assignment="quelqu-un"): {mine, theirs},
        QueueFilters(assignment="personne"): everyone - {mine, theirs},
        # 1 Nov 15:00 UTC is 11:00 on 1 Nov in Guadeloupe: inside [1 Nov, 1 Nov].
        QueueFilters(received_from=date(2026, 11, 1), received_to=date(2026, 11, 1)): {plain},
        QueueFilters(received_from=date(2026, 11, 2)): everyone - {plain},
    }
    for filters, expected in cases.items():
        assert set(_ids(engine, filters, w.secretary.id)) == expected, filters


def test_local_day_bounds_use_the_centre_time_zone(engine: Engine) -> None:
    w = td.world(engine)
    # 2 Nov 02:00 UTC is still 1 Nov (22:00) in Guadeloupe.
    late = td.application(engine, w, created_at=datetime(2026, 11, 2, 2, tzinfo=UTC))
    day = date(2026, 11, 1)
    assert _ids(engine, QueueFilters(received_from=day, received_to=day)) == [late]


def test_count_is_capped(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    w = td.world(engine)
    for _ in range(4):
        td.application(engine, w)
    count = partial(triage.queue_count, engine, actor_id=None, now=NOW, sla_hours=48, tz=TZ)
    assert count(QueueFilters()) == 4
    page = _page(engine, QueueFilters(), with_total=True, limit=1)
    assert (len(page.rows), page.total) == (1, 4)
    monkeypatch.setattr("data.triage.queue.COUNT_CAP", 2)
    assert count(QueueFilters()) == 3  # "more than 2"


def test_broad_search_walks_the_queue_and_gives_the_same_rows(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = td.world(engine)
    others = [factories.user(engine, prenom="Josée", nom=f"Ndiaye{i}") for i in range(3)]
    expected = [td.application(engine, w)] + [td.application(engine, w, user_id=u) for u in others]
    td.application(engine, w, user_id=factories.user(engine, prenom="Marc", nom="Autre"))
    narrow = _page(engine, QueueFilters(search="JOSE"), with_total=True)
    monkeypatch.setattr("data.triage.queue.SEARCH_USER_CAP", 2)  # 4 applicants match: walk
    broad = _page(engine, QueueFilters(search="JOSE"), with_total=True)
    assert [r.id for r in narrow.rows] == [r.id for r in broad.rows] == expected
    assert (narrow.total, broad.total) == (4, None)  # a broad search is not counted


@pytest.mark.parametrize("search", ["jo", "%", "é é", "_ _"])
def test_search_of_fewer_than_3_characters_is_refused(engine: Engine, search: str) -> None:
    with pytest.raises(InvalidInput, match="au moins 3 caractères"):
        _page(engine, QueueFilters(search=search))


@pytest.mark.parametrize(("search", "found"), [("a_b", "code a_b"), ("C:\\cv", "C:\\cv\\x")])
def test_search_no_index_can_serve_still_finds_literal_text(
    engine: Engine, search: str, found: str
) -> None:
    w = td.world(engine)
    wanted = td.application(engine, w, user_id=factories.user(engine, prenom="P", nom=found))
    td.application(engine, w, user_id=factories.user(engine, prenom="P", nom="code axb C:Xcv"))
    assert [r.id for r in _page(engine, QueueFilters(search=search)).rows] == [wanted]


FORMATIONS = {"developpeur-web": 7}


@pytest.mark.parametrize(
    ("params", "expected", "notices"),
    [
        ({}, QueueFilters(), 0),
        ({"statut": "nouvelle,en_etude"}, QueueFilters(statuses=("nouvelle", "en_etude")), 0),
        ({"statut": "tous"}, QueueFilters(statuses=()), 0),
        ({"statut": "nouvelle,<script>"}, QueueFilters(), 1),
        ({"formation": "developpeur-web"}, QueueFilters(formation_id=7), 0),
        ({"formation": "inconnue'--"}, QueueFilters(), 1),
        ({"session": "12"}, QueueFilters(session_id=12), 0),
        ({"session": "-3"}, QueueFilters(), 1),
        ({"session": "9" * 40}, QueueFilters(), 1),
        (
            {"source": "salon", "financement": "aucun"},
            QueueFilters(source="salon", financement="aucun"),
            0,
        ),
        ({"source": "%"}, QueueFilters(), 1),
        (
            {"assignation": "moi", "retard": "1"},
            QueueFilters(assignment="moi", overdue_only=True),
            0,
        ),
        ({"assignation": "x", "retard": "oui"}, QueueFilters(), 2),
        (
            {"du": "2026-11-01", "au": "2026-11-30"},
            QueueFilters(received_from=date(2026, 11, 1), received_to=date(2026, 11, 30)),
            0,
        ),
        ({"du": "2026-13-01"}, QueueFilters(), 1),
        ({"du": "2026-11-30", "au": "2026-11-01"}, QueueFilters(), 1),
        ({"q": "  José\x00  N'Diaye "}, QueueFilters(search="José N'Diaye"), 0),
    ],
)
def test_filters_from_the_url_fall_back_with_a_notice(
    params: dict[str, str], expected: QueueFilters, notices: int
) -> None:
    filters, messages = triage.filters_from_params(params, FORMATIONS)
    assert filters == expected
    assert len(messages) == notices, messages


@pytest.mark.parametrize(
    "filters",
    [
        QueueFilters(),
        QueueFilters(statuses=()),
        QueueFilters(
            statuses=("refusee",),
            formation_id=7,
            session_id=3,
            source="site",
            financement="opco",
            assignment="personne",
            overdue_only=True,
            received_from=date(2026, 1, 1),
            received_to=date(2026, 2, 1),
            search="50%_off",
        ),
    ],
)
def test_filters_round_trip_through_the_url(filters: QueueFilters) -> None:
    params = triage.params_from_filters(filters, {7: "developpeur-web"})
    assert triage.filters_from_params(params, FORMATIONS) == (filters, ())
