"""The fixed part of the demo centre: staff, formations, sessions, companies,
job offers, quotes and their invoices. Applications and everything that
follows them are drawn afterwards (:mod:`data.demo.lifecycle`).
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from data.demo.accounts import DEMO_ACCOUNTS, UNUSABLE_PASSWORD_HASH, demo_password_hash
from data.demo.clock import DAY, HOUR, date_of, day_number, local_ts
from data.demo.people import PeopleFactory, WeightedChoice
from data.demo.tables import Row
from data.demo.vocab import (
    COMPANY_PREFIXES,
    COMPANY_SECTORS,
    FORMATIONS,
    JOB_TITLES,
    LEGAL_FORMS,
    PAYMENT_DELAYS,
    FormationSpec,
)

EXTRA_TRAINERS = 8
AVERAGE_PLACES = 15
EXPECTED_ENROLMENT_SHARE = 0.68
HISTORY_DAYS = 730
GROWTH_PER_YEAR = 0.15  # applications grow by 15 % a year
MEAN_GROWTH = 1 + GROWTH_PER_YEAR * HISTORY_DAYS / 365 / 2
TARGET_FILL = 0.92

Draw = Callable[[], float]


class Session:
    """A session and how many enrolled applications it holds so far."""

    __slots__ = ("end_day", "formateur_id", "id", "places", "start_day", "taken")

    def __init__(self, id_: int, start_day: int, end_day: int, places: int, formateur: int):
        self.id, self.start_day, self.end_day = id_, start_day, end_day
        self.places, self.formateur_id, self.taken = places, formateur, 0


@dataclass
class FormationRuntime:
    id: int
    spec: FormationSpec
    price_cents: int
    slot_starts: list[int] = field(default_factory=list)
    slots: list[list[Session]] = field(default_factory=list)
    open_group: list[int] = field(default_factory=list)  # per slot: first group not yet full

    def next_session(self, earliest_day: int) -> Session | None:
        """Takes a place in the first session starting on or after ``earliest_day``
        that has one (sessions of a slot fill up one after the other)."""
        for index in range(bisect_left(self.slot_starts, earliest_day), len(self.slots)):
            groups, group = self.slots[index], self.open_group[index]
            while group < len(groups):
                session = groups[group]
                if session.taken < session.places:
                    session.taken += 1
                    return session
                group += 1
                self.open_group[index] = group
        return None


@dataclass(frozen=True)
class Offer:
    id: int
    entreprise_id: int
    day: int
    type_contrat: str
    duree_mois: int | None
    statut: str


@dataclass
class World:
    """Everything drawn before the applications, plus the id counters."""

    today_day: int
    start_day: int
    anchor: int  # history stops here (UTC timestamp): today 07:00 local
    staff_ids: dict[str, int]
    trainer_ids: list[int]
    formations: list[FormationRuntime]
    companies_by_domain: dict[str, list[int]]
    offers_by_domain: dict[str, tuple[list[int], list[Offer]]]
    rows: dict[str, list[Row]]
    next_id: dict[str, int]

    def allocate(self, table: str) -> int:
        value = self.next_id.get(table, 0) + 1
        self.next_id[table] = value
        return value


def build_world(
    rng: random.Random, people: PeopleFactory, applications: int, today_day: int
) -> World:
    start_day = today_day - HISTORY_DAYS
    world = World(
        today_day=today_day,
        start_day=start_day,
        anchor=local_ts(today_day, 7 * HOUR),
        staff_ids={},
        trainer_ids=[],
        formations=[],
        companies_by_domain={},
        offers_by_domain={},
        rows={},
        next_id={},
    )
    _staff(world, people, rng)
    _formations(world, rng, applications)
    _companies_and_offers(world, people, rng, applications)
    _quotes(world, rng, applications)
    return world


def _staff(world: World, people: PeopleFactory, rng: random.Random) -> None:
    rows = world.rows.setdefault("users", [])
    joined = local_ts(world.start_day - 400, 9 * HOUR)
    for account in DEMO_ACCOUNTS:
        user_id = world.allocate("users")
        key = account.email.split("@")[0]
        world.staff_ids[key] = user_id
        password = demo_password_hash(account.email, account.password)
        rows.append(
            (
                user_id,
                account.email,
                password,
                account.role,
                account.prenom,
                account.nom,
                people.phone(),
                "Les Abymes",
                None,
                True,
                account.actif,
                joined + user_id * DAY,
            )
        )
        if account.role == "formateur":
            world.trainer_ids.append(user_id)
    for index in range(EXTRA_TRAINERS):
        user_id = world.allocate("users")
        prenom, nom = people.name()
        email = f"{people.email(prenom, nom, user_id).split('@')[0]}@formateurs.cipfaro.example"
        rows.append(
            (
                user_id,
                email,
                UNUSABLE_PASSWORD_HASH,
                "formateur",
                prenom,
                nom,
                people.phone(),
                people.commune(),
                None,
                True,
                index != 0,
                joined + int(rng.random() * 300) * DAY,
            )
        )
        world.trainer_ids.append(user_id)


def _formations(world: World, rng: random.Random, applications: int) -> None:
    rows = world.rows.setdefault("formations", [])
    session_rows = world.rows.setdefault("sessions_formation", [])
    total_weight = sum(spec.weight for spec in FORMATIONS)
    created = local_ts(world.start_day - 500, 10 * HOUR)
    for index, spec in enumerate(FORMATIONS):
        formation_id = world.allocate("formations")
        runtime = FormationRuntime(formation_id, spec, spec.prix_euros * 100)
        world.formations.append(runtime)
        rows.append(
            (
                formation_id,
                spec.slug,
                spec.titre,
                spec.domaine,
                spec.duree_heures,
                runtime.price_cents,
                spec.modalite,
                spec.lieu,
                spec.code_rncp,
                spec.actif,
                created + index * 3 * DAY,
            )
        )
        if not spec.actif:
            continue
        slots_in_history = HISTORY_DAYS / 30.4 / spec.cadence_months
        expected = applications * spec.weight / total_weight * EXPECTED_ENROLMENT_SHARE
        per_slot = expected / slots_in_history / (AVERAGE_PLACES * TARGET_FILL)
        for start_day in _slot_days(world, index, spec.cadence_months):
            growth = (1 + GROWTH_PER_YEAR * (start_day - world.start_day) / 365) / MEAN_GROWTH
            groups = max(1, round(per_slot * growth))
            slot: list[Session] = []
            end_day = start_day + spec.weeks * 7 - 3  # ends on a Friday
            for group in range(groups):
                places = 10 + int(rng.random() * 11)
                trainer = world.trainer_ids[(index + group) % len(world.trainer_ids)]
                session = Session(
                    world.allocate("sessions_formation"), start_day, end_day, places, trainer
                )
                lieu = spec.lieu if group % 3 == 0 else ("Basse-Terre", "Le Moule")[group % 2]
                session_rows.append(
                    (session.id, formation_id, start_day, end_day, places, lieu, trainer)
                )
                slot.append(session)
            runtime.slot_starts.append(start_day)
            runtime.slots.append(slot)
            runtime.open_group.append(0)


def _slot_days(world: World, index: int, cadence_months: int) -> list[int]:
    """Session start days: every ``cadence_months``, a Monday early in the month."""
    first = date_of(world.start_day - 75)
    last_day = world.today_day + 180
    month = first.year * 12 + first.month - 1 + index % cadence_months
    days: list[int] = []
    while True:
        year, month0 = divmod(month, 12)
        day = day_number(date(year, month0 + 1, 1))
        day += 1 + (index * 3) % 8
        day += (7 - (day + 3) % 7) % 7  # next Monday
        if day > last_day:
            return days
        days.append(day)
        month += cadence_months


def _companies_and_offers(
    world: World, people: PeopleFactory, rng: random.Random, applications: int
) -> None:
    r = rng.random
    domains = WeightedChoice(_domain_weights())
    company_rows = world.rows.setdefault("entreprises", [])
    recruiter_rows = world.rows["users"]
    drafts: list[tuple[int, int, str, str]] = []  # (created ts, company, domain, commune)
    for _ in range(max(24, applications // 40)):
        company_id = world.allocate("entreprises")
        domain = domains.pick(r())
        sectors = COMPANY_SECTORS[domain]
        nom = (
            f"{COMPANY_PREFIXES[int(r() * len(COMPANY_PREFIXES))]} "
            f"{sectors[int(r() * len(sectors))]} {LEGAL_FORMS[int(r() * len(LEGAL_FORMS))]}"
        )
        siret = None if r() < 0.05 else f"{400_000_000 + company_id * 37:09d}{10_017:05d}"
        commune = people.commune()
        created = local_ts(world.start_day - int(r() * 1000), 9 * HOUR + int(r() * 8 * HOUR))
        company_rows.append((company_id, nom, siret, domain, commune, created))
        world.companies_by_domain.setdefault(domain, []).append(company_id)
        if r() < 0.3:
            user_id = world.allocate("users")
            prenom, last = people.name()
            recruiter_rows.append(
                (
                    user_id,
                    people.email(prenom, last, user_id),
                    UNUSABLE_PASSWORD_HASH,
                    "recruteur",
                    prenom,
                    last,
                    people.phone(),
                    commune,
                    None,
                    True,
                    True,
                    created + HOUR,
                )
            )
        for _ in range(1 + int(r() * 4)):
            span = world.today_day - world.start_day
            when = local_ts(world.start_day + int(r() * span), 8 * HOUR + int(r() * 9 * HOUR))
            drafts.append((max(when, created + DAY), company_id, domain, commune))
    drafts.sort()
    _offers(world, rng, drafts)


def _domain_weights() -> list[tuple[str, float]]:
    weights: dict[str, float] = {}
    for spec in FORMATIONS:
        weights[spec.domaine] = weights.get(spec.domaine, 0) + spec.weight + 0.2
    return list(weights.items())


OFFER_CONTRACTS = WeightedChoice(
    [("cdi", 30), ("cdd", 35), ("interim", 12), ("alternance", 13), ("stage", 10)]
)
OFFER_MONTHS = {"cdd": (3, 12), "interim": (1, 6), "alternance": (12, 24)}


def _offers(world: World, rng: random.Random, drafts: list[tuple[int, int, str, str]]) -> None:
    r = rng.random
    rows = world.rows.setdefault("offres_emploi", [])
    for created, company_id, domain, commune in drafts:
        offer_id = world.allocate("offres_emploi")
        contract: str = OFFER_CONTRACTS.pick(r())
        low_high = OFFER_MONTHS.get(contract)
        months = (
            None if low_high is None else low_high[0] + int(r() * (low_high[1] - low_high[0] + 1))
        )
        salary = 60_000 if contract == "stage" else (145_000 + int(r() * 160) * 1_000)
        age = world.today_day - (created // DAY)
        u = r()
        if age > 120:
            statut = "pourvue" if u < 0.55 else "fermee"
        elif age > 45:
            statut = "ouverte" if u < 0.4 else "pourvue" if u < 0.75 else "fermee"
        else:
            statut = "ouverte" if u < 0.9 else "pourvue"
        titles = JOB_TITLES[domain]
        title = titles[int(r() * len(titles))]
        if contract == "alternance":
            title += " (alternance)"
        rows.append(
            (
                offer_id,
                company_id,
                title,
                contract,
                months,
                salary,
                commune,
                domain,
                statut,
                created,
            )
        )
        days, offers = world.offers_by_domain.setdefault(domain, ([], []))
        days.append(created // DAY)
        offers.append(Offer(offer_id, company_id, created // DAY, contract, months, statut))


QUOTE_FINANCEURS = ("opco", "opco", "opco", "employeur", "employeur")


def _quotes(world: World, rng: random.Random, applications: int) -> None:
    r = rng.random
    quote_rows = world.rows.setdefault("devis", [])
    invoices = world.rows.setdefault("factures", [])
    companies = [cid for ids in world.companies_by_domain.values() for cid in ids]
    active = [f for f in world.formations if f.spec.actif]
    count = max(16, applications // 60)
    span = (world.today_day - world.start_day) * DAY
    starts = sorted(local_ts(world.start_day, 8 * HOUR) + int(r() * span) for _ in range(count))
    for created in starts:
        quote_id = world.allocate("devis")
        formation = active[int(r() * len(active))]
        trainees = 2 + int(r() * 11)
        amount = formation.price_cents * trainees * (80 + int(r() * 21)) // 100 // 100 * 100
        company = companies[int(r() * len(companies))] if r() < 0.92 else None
        statut, sent, decided = _quote_outcome(world, r, created)
        year = date_of(created // DAY).year
        email = (
            f"rh{company or quote_id}@entreprise.example"
            if company
            else f"contact{quote_id}@example.org"
        )
        quote_rows.append(
            (
                quote_id,
                f"DEV-{year}-{quote_id:05d}",
                company,
                email,
                formation.id,
                trainees,
                amount,
                statut,
                created,
                sent,
                decided,
            )
        )
        if statut == "accepte" and decided is not None:
            issued = decided // DAY + 7 + int(r() * 24)
            if issued < world.today_day:
                funder = QUOTE_FINANCEURS[int(r() * len(QUOTE_FINANCEURS))]
                invoices.append(invoice_row(world, r, None, quote_id, funder, amount, issued))


def _quote_outcome(world: World, draw: Draw, created: int) -> tuple[str, int | None, int | None]:
    age_days = (world.anchor - created) // DAY
    if age_days < 15 and draw() < 0.4:
        return "brouillon", None, None
    sent = created + int(draw() * 3 * DAY)
    decided = sent + (5 + int(draw() * 35)) * DAY
    if decided >= world.anchor:
        return "envoye", min(sent, world.anchor - HOUR), None
    u = draw()
    if u < 0.45:
        return "accepte", sent, decided
    if u < 0.75:
        return "refuse", sent, decided
    return "expire", sent, sent + 30 * DAY if sent + 30 * DAY < world.anchor else decided


def invoice_row(
    world: World,
    draw: Draw,
    application_id: int | None,
    quote_id: int | None,
    funder: str,
    amount: int,
    issued_day: int,
    cancelled: bool = False,
) -> Row:
    """An invoice, paid or not depending on the funder's habits and its age."""
    invoice_id = world.allocate("factures")
    low, high, never = PAYMENT_DELAYS[funder]
    due_days = 60 if funder in ("region", "france_travail") else 30
    statut, paid_day = "emise", None
    if cancelled:
        statut = "annulee"
    elif draw() >= never:
        pay_day = issued_day + low + int(draw() * (high - low + 1))
        if pay_day < world.today_day:
            statut, paid_day = "payee", pay_day
    year = date_of(issued_day).year
    return (
        invoice_id,
        f"FAC-{year}-{invoice_id:07d}",
        application_id,
        quote_id,
        funder,
        amount,
        issued_day,
        issued_day + due_days,
        statut,
        paid_day,
    )
