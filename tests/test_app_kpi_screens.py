"""The four KPI screens through AppTest, on a seeded database (SQLite and PostgreSQL).

Every figure asserted here is computed in the test with the KPI engine
(data.kpis, itself checked against an independent reference in test_kpis)
for the same period and formatted with data.formatting: the screens must
show exactly those numbers, for the period and filters they were given.
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, text
from streamlit.testing.v1 import AppTest

from data import formatting as fmt
from data.auth import sign_in
from data.db import UNAVAILABLE_MESSAGE
from data.kpis import (
    KPI_SPECS,
    KpiQuery,
    KpiSet,
    applications_in_period,
    closed_cohort_text,
    closed_placement_figures,
    compute_kpis,
    conversion_by,
    overdue_invoices,
    revenue_by,
    session_fill_rates,
)
from data.models import Devis, Evaluation, Facture, Matching, Placement
from data.periods import preset_period
from data.settings import get_settings
from tests import factories
from tests.page_check import check_page
from ui.auth import SESSION_KEY

APP = str(Path(__file__).resolve().parent.parent / "dashboard.py")
TZ_NAME = "America/Guadeloupe"
STAFF_EMAIL = "direction@exemple.fr"
STAFF_PASSWORD = "mot-de-passe-de-test"
COOKIE_KEY = "kpi-screens-tests-cookie-key-0123456789"
HOSTILE_TITLE = "<b>Gras</b> & **Étoiles** [lien](javascript:alert(1))"


# --- Seeding -----------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    today: date
    formations: dict[str, int]


def _local(day: date, hour: int = 10) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(TZ_NAME)).astimezone(UTC)


def _insert(engine: Engine, model: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        with engine.begin() as connection:
            connection.execute(insert(model), rows)


LADDER = ("nouvelle", "en_etude", "entretien", "admise", "inscrite", "en_formation", "terminee")


def _path(rng: random.Random, age_days: int) -> list[str]:
    """The statuses an application went through (its last one is its statut)."""
    if age_days < 5:
        return list(LADDER[: rng.choice((1, 1, 2))])
    reached = rng.choice((1, 2, 3, 4, 5, 6, 7, 7, 7))
    path = list(LADDER[:reached])
    exit_roll = rng.random()
    if path[-1] in ("en_etude", "entretien") and exit_roll < 0.5:
        path.append("refusee")
    elif path[-1] == "admise" and exit_roll < 0.4:
        path.append("desistement")
    elif path[-1] == "en_formation" and exit_roll < 0.3:
        path.append("abandon")
    return path


def seed_centre(engine: Engine, *, role: str = "admin", seed: int = 11) -> Seeded:
    """A small but complete centre: two years of applications, money, outcomes."""
    rng = random.Random(seed)
    today = datetime.now(UTC).astimezone(__import__("zoneinfo").ZoneInfo(TZ_NAME)).date()
    factories.user(
        engine, role=role, email=STAFF_EMAIL, password=STAFF_PASSWORD, prenom="Ada", nom="Admin"
    )
    formations = {
        "developpeur-web": factories.formation(
            engine, slug="developpeur-web", titre="Développeur web", domaine="Numérique"
        ),
        "aide-soignant": factories.formation(
            engine, slug="aide-soignant", titre="Aide-soignant", domaine="Santé"
        ),
        "macon-vrd": factories.formation(
            engine, slug="macon-vrd", titre="Maçon VRD", domaine="BTP"
        ),
        "hostile": factories.formation(
            engine, slug="formation-hostile", titre=HOSTILE_TITLE, domaine="Numérique"
        ),
    }
    sessions: dict[int, list[tuple[int, date, date]]] = {}
    for formation_id in formations.values():
        for offset in (700, 420, 250, 90, 20):
            start = today - timedelta(days=offset)
            end = start + timedelta(days=rng.choice((60, 120, 150)))
            sid = factories.session(
                engine,
                formation_id=formation_id,
                date_debut=start,
                date_fin=end,
                places=rng.choice((10, 12, 15)),
            )
            sessions.setdefault(formation_id, []).append((sid, start, end))
    trainees = [factories.user(engine, nom=f"D'Alembert{n}") for n in range(40)]
    _seed_applications(engine, rng, today, formations, sessions, trainees)
    _seed_business(engine, rng, today, formations)
    return Seeded(today, formations)


def _seed_applications(
    engine: Engine,
    rng: random.Random,
    today: date,
    formations: dict[str, int],
    sessions: dict[int, list[tuple[int, date, date]]],
    trainees: list[int],
) -> None:
    invoices: list[dict[str, Any]] = []
    placements: list[dict[str, Any]] = []
    evaluations: list[dict[str, Any]] = []
    weights = (5, 3, 2, 1)  # developpeur-web is the most wanted
    for n in range(160):
        age = rng.randint(0, 760) if n % 4 else rng.randint(0, 60)
        created = _local(today - timedelta(days=age), rng.randint(8, 19))
        formation_id = rng.choices(list(formations.values()), weights)[0]
        path = _path(rng, age)
        session = None
        if "inscrite" in path:
            fitting = [s for s in sessions[formation_id] if s[1] >= created.date()]
            session = (fitting or sessions[formation_id])[0]
        financement = rng.choice(("cpf", "france_travail", "region", "opco", None))
        trainee = rng.choice(trainees)
        app_id = factories.application(
            engine,
            user_id=trainee,
            formation_id=formation_id,
            statut=path[-1],
            source=rng.choice(("site", "salon", "france_travail", "prescripteur")),
            financement=financement,
            session_id=session[0] if session else None,
            created_at=created,
            updated_at=created,
            with_event=n % 25 != 0,
        )
        changed = created
        for previous, current in itertools.pairwise(path):
            changed += timedelta(hours=rng.randint(5, 200))
            factories.event(
                engine,
                candidature_id=app_id,
                from_statut=previous,
                to_statut=current,
                changed_at=changed,
            )
        if session and financement:
            issued = min(today, created.date() + timedelta(days=rng.randint(5, 40)))
            status = rng.choice(("payee", "payee", "emise", "annulee"))
            invoices.append(
                {
                    "numero": f"F-{app_id:05d}",
                    "candidature_id": app_id,
                    "financeur": financement,
                    "montant": Decimal(rng.choice(("3500.00", "2890.50", "4200.00"))),
                    "date_emission": issued,
                    "date_echeance": issued + timedelta(days=30),
                    "statut": status,
                    "date_paiement": min(today, issued + timedelta(days=rng.randint(3, 60)))
                    if status == "payee"
                    else None,
                }
            )
        if path[-1] == "terminee" and session:
            if rng.random() < 0.6:
                placements.append(
                    {
                        "user_id": trainee,
                        "candidature_id": app_id,
                        "type_contrat": rng.choice(("cdi", "cdd", "interim")),
                        "duree_mois": rng.choice((3, 6, 12)),
                        "date_debut": session[2] + timedelta(days=rng.randint(0, 150)),
                    }
                )
            evaluations.append(
                {
                    "candidature_id": app_id,
                    "note": rng.choice((3, 4, 4, 5, 5, 2)),
                    "created_at": _local(min(session[2], today)),
                }
            )
    _insert(engine, Facture, invoices)
    _insert(engine, Placement, placements)
    _insert(engine, Evaluation, evaluations)


def _seed_business(
    engine: Engine, rng: random.Random, today: date, formations: dict[str, int]
) -> None:
    companies = [
        factories.company(engine, nom=name)
        for name in ("Karukera Tech", "Hôpital du Raizet", "BTP Caraïbes")
    ]
    offers = [
        factories.offer(
            engine,
            entreprise_id=rng.choice(companies),
            created_at=_local(today - timedelta(days=rng.randint(0, 500))),
        )
        for _ in range(8)
    ]
    candidates = [factories.user(engine) for _ in range(6)]
    _insert(
        engine,
        Matching,
        [
            {
                "candidat_id": c,
                "offre_id": o,
                "score": Decimal("75.00"),
                "statut": rng.choice(("propose", "valide", "embauche")),
                "date_match": _local(today - timedelta(days=rng.randint(0, 400))),
            }
            for c, o in zip(candidates, offers, strict=False)
        ],
    )
    quotes = []
    for n in range(8):
        sent = _local(today - timedelta(days=rng.randint(1, 500)))
        quotes.append(
            {
                "numero": f"D-{n:03d}",
                "contact_email": "rh@exemple.fr",
                "formation_id": rng.choice(list(formations.values())),
                "nb_stagiaires": 3,
                "montant": Decimal("9000.00"),
                "statut": rng.choice(("envoye", "accepte", "refuse")),
                "created_at": sent,
                "sent_at": sent,
            }
        )
    _insert(engine, Devis, quotes)


# --- Helpers ------------------------------------------------------------------


def _expected(engine: Engine, preset: str, today: date, **filters: Any) -> KpiSet:
    period = preset_period(preset, today)
    query = KpiQuery.from_settings(get_settings(), period.start, period.end, **filters)
    return compute_kpis(engine, query)


def _query(preset: str, today: date, **filters: Any) -> KpiQuery:
    period = preset_period(preset, today)
    return KpiQuery.from_settings(get_settings(), period.start, period.end, **filters)


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _metric(at: AppTest, label: str) -> str:
    values = _metrics(at)
    assert label in values, (sorted(values), [e.value for e in at.error])
    return values[label]


def _money_help(at: AppTest, label: str) -> str:
    """The help of a money card, which carries the exact amount the card rounds."""
    return next(m.help for m in at.metric if m.label == label)


def _signed_in(engine: Engine) -> str:
    """A real server-side session of the seeded staff member (the sign-in gate's own hook:
    its token in st.session_state, as the login form leaves it)."""
    result = sign_in(
        engine, email=STAFF_EMAIL, password=STAFF_PASSWORD, now=datetime.now(UTC), session_hours=1
    )
    assert result.ok and result.session_token, result
    return result.session_token


def _run(
    engine: Engine,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    page: str | None = None,
    *,
    errors_expected: bool = False,
    **params: str,
) -> AppTest:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("COOKIE_KEY", COOKIE_KEY)
    get_settings.cache_clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[SESSION_KEY] = _signed_in(engine)
    at.query_params.update(params)
    at.run()
    if page is not None:
        at.switch_page(page)
        at.query_params.update(params)
        at.run()
    if errors_expected:
        assert not at.exception, at.exception
    else:
        check_page(at)
    return at


def _plotly_specs(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _dataframes(at: AppTest) -> list[Any]:
    return [frame.value for frame in at.dataframe]


def _frame_with(at: AppTest, *columns: str) -> Any:
    """The (first) dataframe on screen holding these columns."""
    for frame in _dataframes(at):
        if set(columns) <= set(frame.columns):
            return frame
    raise AssertionError(
        f"no dataframe with {columns}: {[list(f.columns) for f in _dataframes(at)]}"
    )


def _delta(current: int, previous: int) -> str:
    """The card's change, written out here from the screen's rule (not its code)."""
    difference = current - previous
    if difference == 0:
        return "stable"
    sign = "+" if difference > 0 else "\u2212"
    share = f" ({sign}{fmt.percent(abs(difference) / previous)})" if previous else ""
    return f"{sign}{fmt.number(abs(difference))}{share}"


# --- Vue d'ensemble ------------------------------------------------------------


def test_overview_cards_show_the_engine_figures_with_their_change(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed_centre(engine)
    at = _run(engine, db_url, monkeypatch)
    query = _query("12-mois", seeded.today)
    expected = compute_kpis(engine, query)
    previous = compute_kpis(engine, query.previous())
    assert expected.applications > 0 and expected.revenue_invoiced > 0
    assert _metric(at, "Candidatures") == fmt.number(expected.applications)
    assert _metric(at, "Inscriptions") == fmt.number(expected.enrolments)
    assert _metric(at, "Taux de conversion") == fmt.percent(expected.conversion_rate)
    assert _metric(at, "Chiffre d'affaires facturé") == fmt.money_short(expected.revenue_invoiced)
    assert _metric(at, "Encaissements") == fmt.money_short(expected.revenue_collected)
    assert (
        _money_help(at, "Encaissements")
        == f"Montant exact : {fmt.money(expected.revenue_collected)}."
    )
    assert _metric(at, "Taux d'insertion à 6 mois") == fmt.percent(
        expected.placement_rate_6m_closed
    )
    assert _metric(at, "Candidatures à traiter") == fmt.number(expected.backlog_new)
    assert _metric(at, "Dont en retard (> 48 h)") == fmt.number(expected.backlog_overdue)
    cards = {m.label: m for m in at.metric}
    assert cards["Candidatures"].proto.delta == _delta(expected.applications, previous.applications)
    assert at.query_params["periode"] == ["12-mois"] or at.query_params["periode"] == "12-mois"


def test_overview_keeps_the_live_counts_of_today(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_centre(engine)
    at = _run(engine, db_url, monkeypatch)
    with engine.connect() as connection:
        total = connection.execute(text("SELECT count(*) FROM candidatures")).scalar_one()
        new = connection.execute(
            text("SELECT count(*) FROM candidatures WHERE statut = 'nouvelle'")
        ).scalar_one()
    assert _metric(at, "Candidatures (total)") == fmt.number(total)
    assert _metric(at, "Nouvelles à traiter") == fmt.number(new)
    assert any(c.value.startswith("Mis à jour à ") for c in at.caption)


@pytest.mark.parametrize(
    ("params", "preset", "filters"),
    [
        ({"periode": "mois-dernier"}, "mois-dernier", {}),
        ({"periode": "annee"}, "annee", {}),
        (
            {"periode": "12-mois", "formation": "aide-soignant"},
            "12-mois",
            {"formation": "aide-soignant"},
        ),
        ({"periode": "12-mois", "domaine": "Numérique"}, "12-mois", {"domaine": "Numérique"}),
    ],
)
def test_url_parameters_change_the_figures(
    engine: Engine,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    params: dict[str, str],
    preset: str,
    filters: dict[str, str],
) -> None:
    seeded = seed_centre(engine)
    at = _run(engine, db_url, monkeypatch, **params)
    expected = _expected(engine, preset, seeded.today, **filters)
    default = _expected(engine, "12-mois", seeded.today)
    assert _metric(at, "Candidatures") == fmt.number(expected.applications)
    assert _metric(at, "Chiffre d'affaires facturé") == fmt.money_short(expected.revenue_invoiced)
    assert expected.applications != default.applications
    assert not at.warning


@pytest.mark.parametrize(
    ("params", "notice"),
    [
        ({"periode": "n-importe-quoi"}, "Paramètre « periode » invalide"),
        (
            {"periode": "perso", "du": "2026-13-45", "au": "2026-01-01"},
            "Période personnalisée ignorée",
        ),
        (
            {"periode": "perso", "du": "1900-01-01", "au": "2100-01-01"},
            "Période personnalisée ignorée : dates hors limites",
        ),
        (
            {"periode": "perso", "du": "2010-01-01", "au": "2025-01-01"},
            "Période personnalisée ignorée : période trop longue (10 ans au plus).",
        ),
        (
            {"periode": "perso", "du": "0001-01-01", "au": "0001-02-01"},
            "Période personnalisée ignorée : dates hors limites",
        ),
        ({"formation": "pas-une-formation"}, "Formation inconnue"),
        ({"domaine": "<script>"}, "Domaine inconnu"),
    ],
)
def test_malformed_url_parameter_gives_a_notice_and_the_defaults(
    engine: Engine,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    params: dict[str, str],
    notice: str,
) -> None:
    seeded = seed_centre(engine)
    at = _run(engine, db_url, monkeypatch, **params)
    assert any(notice in warning.value for warning in at.warning), [w.value for w in at.warning]
    default = _expected(engine, "12-mois", seeded.today)
    assert _metric(at, "Candidatures") == fmt.number(default.applications)


def test_secretariat_sees_the_overview_without_money(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed_centre(engine, role="secretariat")
    at = _run(engine, db_url, monkeypatch)
    expected = _expected(engine, "12-mois", seeded.today)
    metrics = _metrics(at)
    assert metrics["Candidatures"] == fmt.number(expected.applications)
    assert "Chiffre d'affaires facturé" not in metrics and "Encaissements" not in metrics
    shown = [
        *metrics.values(),
        *(str(m.proto.delta) for m in at.metric),
        *(c.value for c in at.caption),
    ]
    assert not [value for value in shown if "€" in value]
    for page in ("pages/revenue.py", "pages/conversion.py", "pages/insertion.py"):
        with pytest.raises(ValueError):
            at.switch_page(page)


def test_empty_period_shows_the_empty_state_not_a_chart(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_centre(engine)
    at = _run(engine, db_url, monkeypatch, periode="perso", du="2001-01-01", au="2001-02-01")
    assert _metric(at, "Candidatures") == "0"
    assert _metric(at, "Taux de conversion") == fmt.MISSING
    assert "Aucune donnée pour cette période." in [i.value for i in at.info]
    assert not _plotly_specs(at)


def test_a_failing_query_shows_a_french_message_and_a_retry_not_a_traceback(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_centre(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE factures"))
    at = _run(engine, db_url, monkeypatch, errors_expected=True)
    assert at.error
    check_page(at, errors=[UNAVAILABLE_MESSAGE] * len(at.error))  # never the generic one
    assert "Réessayer" in [b.label for b in at.button]
    assert _metric(at, "Candidatures (total)")  # the other blocks still render
    assert _plotly_specs(at)


def test_database_text_is_shown_as_typed_never_as_markup(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_centre(engine)
    at = _run(engine, db_url, monkeypatch, periode="perso", du="2024-01-01", au="2027-01-01")
    top = _frame_with(at, "label", "applications")
    assert HOSTILE_TITLE in list(top["label"])
    markup = [
        *(m.value for m in at.markdown),
        *(c.value for c in at.caption),
        *(h.value for h in at.header),
        *(h.value for h in at.subheader),
        *(t.value for t in at.title),
    ]
    assert not [value for value in markup if "Gras" in value]
    chart = json.dumps(_plotly_specs(at))
    assert "&lt;b&gt;Gras&lt;/b&gt;" in chart and "<b>Gras" not in chart


def test_top_formation_drills_down_to_its_applications(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed_centre(engine)
    at = _run(engine, db_url, monkeypatch)
    at.selectbox(key="overview_drill_formation").set_value("aide-soignant").run()
    rows = _frame_with(at, "applicant", "email", "statut")
    expected = applications_in_period(
        engine, _query("12-mois", seeded.today, formation="aide-soignant")
    )
    assert sorted(rows["id"]) == sorted(expected["id"]) and len(rows) > 0
    assert set(rows["formation"]) == {"Aide-soignant"}
    assert {"CSV", "Excel"} <= {b.label for b in at.get("download_button")}


# --- Conversion ------------------------------------------------------------------


def test_conversion_shows_the_funnel_and_the_breakdowns(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed_centre(engine)
    at = _run(engine, db_url, monkeypatch, "pages/conversion.py")
    query = _query("12-mois", seeded.today)
    expected = compute_kpis(engine, query)
    assert _metric(at, "Taux de refus") == fmt.percent(expected.refusal_rate)
    assert _metric(at, "Délai médian de première réponse") == fmt.hours(
        expected.median_first_response_hours
    )
    funnel = next(spec for spec in _plotly_specs(at) if spec["data"][0]["type"] == "funnel")
    assert funnel["data"][0]["x"] == [
        expected.applications,
        expected.reached_en_etude,
        expected.reached_entretien,
        expected.reached_admise,
        expected.reached_inscrite,
        expected.reached_terminee,
    ]
    assert funnel["layout"]["title"]["text"].startswith(fmt.percent(expected.conversion_rate))
    at.segmented_control(key="conversion_view").set_value("source").run()
    shown = _frame_with(at, "label", "conversion_rate")
    by_source = conversion_by(engine, query, "source")
    assert list(shown["label"]) == list(by_source["label"])
    assert int(shown["applications"].sum()) == expected.applications


def test_conversion_drills_down_from_a_funnel_stage(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed_centre(engine)
    at = _run(engine, db_url, monkeypatch, "pages/conversion.py")
    at.selectbox(key="conversion_drill_stage").set_value("entretien").run()
    expected = compute_kpis(engine, _query("12-mois", seeded.today))
    rows = _frame_with(at, "applicant", "statut")
    assert len(rows) == expected.reached_entretien > 0
    assert "Nouvelle" not in set(rows["statut"])  # labels, and nobody still new


# --- Chiffre d'affaires -------------------------------------------------------


def test_revenue_shows_money_by_funder_and_the_overdue_invoices(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed_centre(engine)
    at = _run(engine, db_url, monkeypatch, "pages/revenue.py")
    query = _query("12-mois", seeded.today)
    expected = compute_kpis(engine, query)
    assert _metric(at, "Créances échues") == fmt.money_short(expected.receivables_overdue)
    assert _money_help(at, "Créances échues").endswith(
        f"Montant exact : {fmt.money(expected.receivables_overdue)}."
    )
    assert _metric(at, "Taux d'acceptation des devis") == fmt.percent(
        expected.quote_conversion_rate
    )
    overdue = _frame_with(at, "numero", "days_overdue")
    assert sorted(overdue["numero"]) == sorted(overdue_invoices(engine, query)["numero"])
    assert round(float(overdue["montant"].sum()), 2) == float(expected.receivables_overdue)
    at.segmented_control(key="revenue_view").set_value("financeur").run()
    funders = _frame_with(at, "label", "invoiced", "collected")
    assert round(float(funders["invoiced"].sum()), 2) == float(expected.revenue_invoiced)
    best = revenue_by(engine, query, "financeur").iloc[0]
    title = next(s["layout"]["title"]["text"] for s in _plotly_specs(at))
    share = fmt.percent(best["invoiced"] / float(expected.revenue_invoiced))
    assert title.endswith(f"{share} du chiffre d'affaires"), title


# --- Insertion et qualité ----------------------------------------------------------


def test_insertion_leads_with_the_closed_cohort_and_shows_session_fill(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed_centre(engine)
    at = _run(engine, db_url, monkeypatch, "pages/insertion.py")
    query = _query("12-mois", seeded.today)
    expected = compute_kpis(engine, query)
    assert not expected.placement_window_complete  # the period ends today
    assert expected.placement_closed_shift_months > 0
    assert _metric(at, "Taux d'insertion à 6 mois") == fmt.percent(
        expected.placement_rate_6m_closed
    )
    assert _metric(at, "Taux de satisfaction (notes de 4 ou 5)") == fmt.percent(
        expected.satisfaction_rate
    )
    captions = [c.value for c in at.caption]
    assert f"Insertion à 6 mois : {closed_cohort_text(query, expected)}." in captions
    assert any("(provisoire ;" in c and "définitif le" in c for c in captions), captions
    at.segmented_control(key="insertion_view").set_value("remplissage").run()
    sessions = _frame_with(at, "session_id", "fill_rate")
    assert len(sessions) == expected.sessions_started == len(session_fill_rates(engine, query))


def test_a_provisional_figure_gets_no_change_and_the_closed_one_compares_final_periods(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed_centre(engine)
    at = _run(engine, db_url, monkeypatch)
    query = _query("12-mois", seeded.today)
    expected = compute_kpis(engine, query)
    closed = query.placement_closed(datetime.now(UTC))
    assert closed is not None and closed != query  # the selected period is provisional
    before = closed_placement_figures(engine, closed.previous())
    change = KPI_SPECS["placement_rate_6m_closed"].change(
        expected.placement_rate_6m_closed, before["placement_rate_6m_closed"], compact=True
    )
    assert change is not None
    card = next(m for m in at.metric if m.label == "Taux d'insertion à 6 mois")
    assert card.proto.delta == change.text
    # The period's own (provisional) rate is never a card, and no card is provisional.
    assert KPI_SPECS["placement_rate_6m"].label not in _metrics(at)
    provisional = [c.value for c in at.caption if "provisoire" in c.value.lower()]
    assert provisional and not any(c.startswith(("+", "\u2212")) for c in provisional)


def test_insertion_rates_are_final_once_the_window_is_over(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed_centre(engine)
    start, end = seeded.today - timedelta(days=700), seeded.today - timedelta(days=400)
    at = _run(
        engine,
        db_url,
        monkeypatch,
        "pages/insertion.py",
        periode="perso",
        du=start.isoformat(),
        au=end.isoformat(),
    )
    expected = compute_kpis(engine, KpiQuery.from_settings(get_settings(), start, end))
    assert expected.placement_window_complete
    assert expected.placement_rate_6m_closed == expected.placement_rate_6m
    assert _metric(at, "Taux d'insertion à 6 mois") == fmt.percent(expected.placement_rate_6m)
    assert not any("provisoire" in c.value.lower() for c in at.caption)


# --- Pure pieces of the screens (no app run) ---------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("cpf", "Le CPF finance 60,0\u00a0% du chiffre d'affaires"),
        ("opco", "Les OPCO financent 60,0\u00a0% du chiffre d'affaires"),
        (None, "Les factures sans financeur représentent 60,0\u00a0% du chiffre d'affaires"),
    ],
)
def test_revenue_title_states_the_main_funder_share(key: str | None, expected: str) -> None:
    import pandas as pd

    from ui import kpi_titles

    rows = pd.DataFrame(
        {
            "key": [key, "region"],
            "label": ["x", "Région"],
            "invoiced": [600.0, 400.0],
            "collected": [0.0, 0.0],
        }
    )
    assert kpi_titles.revenue(rows, "financeur") == expected
