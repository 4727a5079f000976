"""Applications, their status history and what follows them.

Applications are drawn in ``created_at`` order (ids grow with time, as on the
real website), with seasonality (peaks in September and January), and each
one walks the status workflow against the calendar: a step that would happen
after the end of the history is not taken, so recent applications are still
new or under review and older ones are resolved. Enrolments take a place in
a real session of their formation; invoices, surveys, placements and job
matches follow the training.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

from data.demo.accounts import UNUSABLE_PASSWORD_HASH
from data.demo.clock import DAY, HOUR, OfficeClock, date_of, local_day, local_ts
from data.demo.people import PeopleFactory, WeightedChoice
from data.demo.tables import Row
from data.demo.vocab import (
    EVALUATION_COMMENTS,
    EVENT_COMMENTS,
    FUNDING_BY_DOMAIN,
    HOSTILE_LAST_NAMES,
    HOSTILE_MOTIVATIONS,
    MOTIVATIONS,
    PREVIOUS_JOBS,
    REFUSAL_REASONS,
    SOURCES,
    FormationSpec,
)
from data.demo.world import (
    GROWTH_PER_YEAR,
    FormationRuntime,
    Offer,
    Session,
    World,
    invoice_row,
)

Event = tuple[str | None, str, int, int | None, str | None]  # from, to, at, by, comment
Batch = dict[str, list[Row]]

MONTH_FACTOR = (1.35, 1.1, 1.0, 0.9, 0.85, 0.9, 0.6, 0.75, 1.45, 1.15, 1.0, 0.6)
WEEKDAY_FACTOR = (1.2, 1.1, 1.05, 1.0, 0.95, 0.45, 0.3)
SUBMISSION_HOURS = WeightedChoice(
    [
        (7, 2),
        (8, 5),
        (9, 8),
        (10, 9),
        (11, 8),
        (12, 5),
        (13, 5),
        (14, 7),
        (15, 7),
        (16, 6),
        (17, 5),
        (18, 5),
        (19, 5),
        (20, 6),
        (21, 6),
        (22, 4),
        (23, 2),
    ]
)
PLACEMENT_CONTRACTS = WeightedChoice(
    [
        ("cdi", 28),
        ("cdd", 30),
        ("interim", 12),
        ("alternance", 10),
        ("creation_entreprise", 8),
        ("formation", 12),
    ]
)
PLACEMENT_SOURCES = WeightedChoice(
    [("enquete", 50), ("declaratif", 25), ("entreprise", 10), ("matching", 15)]
)
NOTES = WeightedChoice([(5, 45), (4, 35), (3, 12), (2, 5), (1, 3)])
MATCH_DECISIONS = WeightedChoice(
    [("propose", 15), ("rejete", 30), ("valide", 30), ("entretien", 25)]
)
CONTRACT_MONTHS = {"cdd": (3, 12), "interim": (1, 6), "alternance": (12, 24)}
CV_FILES = 12
REPEAT_SHARE = 0.08
LEGACY_SHARE = 0.085  # of the oldest 35 %: about 3 % of all applications
ENROLLED = ("inscrite", "en_formation", "abandon", "terminee")


@dataclass(frozen=True)
class CvOwner:
    """An application whose CV is a real PDF under the upload root."""

    path: str
    prenom: str
    nom: str
    email: str
    telephone: str
    commune: str
    formation: str
    domaine: str


@dataclass(slots=True)
class Applicant:
    id: int
    prenom: str
    nom: str
    email: str
    telephone: str
    commune: str
    first_application: bool


@dataclass(slots=True)
class Walk:
    """Where an application's status workflow stopped."""

    events: list[Event]
    statut: str
    session: Session | None = None
    handler: int | None = None
    motif: str | None = None


class ApplicationStream:
    """Draws ``count`` applications and their dependants, in batches."""

    def __init__(self, world: World, rng: random.Random, people: PeopleFactory, count: int):
        self.world, self.rng, self.people, self.count = world, rng, people, count
        self.r = rng.random
        self.office = OfficeClock(rng).next_open
        self.anchor = world.anchor
        active = [f for f in world.formations if f.spec.actif]
        self.formation_choice = WeightedChoice([(f, f.spec.weight) for f in active])
        self.sources = WeightedChoice(SOURCES)
        self.funding = {k: WeightedChoice(v) for k, v in FUNDING_BY_DOMAIN.items()}
        self.staff = world.staff_ids
        self.recent_applicants: list[Applicant] = []
        self.day_counts = self._allocate_days()
        self.cv_owners: list[CvOwner] = []
        self.cv_paths = self._cv_paths()

    # Calendar ---------------------------------------------------------------

    def _allocate_days(self) -> list[tuple[int, int]]:
        """How many applications each day gets: seasonality, weekdays, growth, noise."""
        r, world = self.r, self.world
        days = range(world.start_day, world.today_day)
        weights = []
        for day in days:
            month = date_of(day).month
            trend = 1 + GROWTH_PER_YEAR * (day - world.start_day) / 365
            weights.append(
                MONTH_FACTOR[month - 1] * WEEKDAY_FACTOR[(day + 3) % 7] * trend * (0.8 + 0.4 * r())
            )
        total, running, previous, counts = sum(weights), 0.0, 0, []
        for day, weight in zip(days, weights, strict=True):
            running += weight
            reached = round(self.count * running / total)
            counts.append((day, reached - previous))
            previous = reached
        return counts

    def _day_of_index(self, index: int) -> int:
        seen = 0
        for day, count in self.day_counts:
            seen += count
            if index < seen:
                return day
        return self.world.today_day - 1

    def _cv_paths(self) -> dict[int, str]:
        owners = [self.count - 1 - 3 * j for j in range(CV_FILES) if self.count - 1 - 3 * j >= 0]
        paths = {}
        for index in owners:
            day = date_of(self._day_of_index(index))
            paths[index] = f"cv/{day.year}/{day.month:02d}/{self.rng.getrandbits(64):016x}.pdf"
        return paths

    # Stream -----------------------------------------------------------------

    def batches(self, chunk: int) -> Iterator[tuple[Batch, int]]:
        """Yields (rows by table, applications so far) every ``chunk`` applications."""
        batch = self._new_batch()
        index = 0
        shared_cvs = list(self.cv_paths.values())
        for day, count in self.day_counts:
            seconds = sorted(
                SUBMISSION_HOURS.pick(self.r()) * HOUR + int(self.r() * HOUR) for _ in range(count)
            )
            for sod in seconds:
                self._application(batch, index, local_ts(day, sod), shared_cvs)
                index += 1
                if index % chunk == 0:
                    yield batch, index
                    batch = self._new_batch()
        if index % chunk:
            yield batch, index

    @staticmethod
    def _new_batch() -> Batch:
        return {
            name: []
            for name in (
                "users",
                "candidatures",
                "candidature_events",
                "factures",
                "evaluations",
                "placements",
                "matchings",
            )
        }

    def _application(self, batch: Batch, index: int, created: int, shared_cvs: list[str]) -> None:
        r, world = self.r, self.world
        applicant = self._applicant(batch, index, created)
        formation: FormationRuntime = self.formation_choice.pick(r())
        spec = formation.spec
        source = self.sources.pick(r())
        funding: str | None = self.funding.get(spec.domaine, self.funding["default"]).pick(r())
        if r() < 0.15:
            funding = None
        cv = self.cv_paths.get(index)
        if cv is not None:
            self.cv_owners.append(
                CvOwner(
                    cv,
                    applicant.prenom,
                    applicant.nom,
                    applicant.email,
                    applicant.telephone,
                    applicant.commune,
                    spec.titre,
                    spec.domaine,
                )
            )
        elif shared_cvs and r() < 0.45:
            # This draw once lent this applicant another applicant's CV file: a
            # secretary opened a stranger's CV. An applicant without a file of their
            # own now has none; the two draws stay so that a seed still builds the
            # same world (the README's benchmark figures are measured on it).
            r()
        forgotten = created > self.anchor - 21 * DAY and r() < 0.1
        walk = self._walk(created, formation, forgotten)
        if walk.statut in ENROLLED and funding is None:
            funding = self.funding["default"].pick(r())
        app_id = world.allocate("candidatures")
        assigned = (
            walk.handler if walk.handler is not None or r() < 0.8 else self.staff["secretariat"]
        )
        batch["candidatures"].append(
            (
                app_id,
                applicant.id,
                formation.id,
                walk.session.id if walk.session else None,
                walk.statut,
                source,
                funding,
                cv,
                self._motivation(index, spec),
                walk.motif,
                assigned,
                created,
                walk.events[-1][2],
            )
        )
        legacy = index < self.count * 0.35 and r() < LEGACY_SHARE
        if not legacy:
            first = world.next_id.get("candidature_events", 0) + 1
            world.next_id["candidature_events"] = first + len(walk.events) - 1
            batch["candidature_events"].extend(
                [
                    (first + k, app_id, from_, to, by, at, comment)
                    for k, (from_, to, at, by, comment) in enumerate(walk.events)
                ]
            )
        if walk.session is not None and walk.statut != "inscrite":
            self._after_enrolment(batch, app_id, applicant, formation, walk, funding or "cpf")

    def _applicant(self, batch: Batch, index: int, created: int) -> Applicant:
        r, people, recent = self.r, self.people, self.recent_applicants
        special = index in self.cv_paths or index in (self.count - 5, self.count - 9)
        if recent and not special and r() < REPEAT_SHARE:
            known = recent[int(r() * len(recent))]
            return Applicant(
                known.id,
                known.prenom,
                known.nom,
                known.email,
                known.telephone,
                known.commune,
                first_application=False,
            )
        user_id = self.world.allocate("users")
        prenom, nom = people.name()
        if index == self.count - 5:
            nom = HOSTILE_LAST_NAMES[0]
        elif index == self.count - 9:
            nom = HOSTILE_LAST_NAMES[1]
        applicant = Applicant(
            user_id,
            prenom,
            nom,
            people.email(prenom, nom, user_id),
            people.phone(),
            people.commune(),
            first_application=True,
        )
        batch["users"].append(
            (
                user_id,
                applicant.email,
                UNUSABLE_PASSWORD_HASH,
                "stagiaire",
                prenom,
                nom,
                applicant.telephone,
                applicant.commune,
                people.birth_day(self.world.today_day),
                r() < 0.85,
                True,
                created - 300 - int(r() * 3000),
            )
        )
        if len(recent) < 2000:
            recent.append(applicant)
        else:
            recent[user_id % 2000] = applicant
        return applicant

    def _motivation(self, index: int, spec: FormationSpec) -> str | None:
        r = self.r
        if index == self.count - 2:
            return HOSTILE_MOTIVATIONS[0]
        if index == self.count - 7:
            return HOSTILE_MOTIVATIONS[1]
        if r() < 0.2:
            return None
        template = MOTIVATIONS[int(r() * len(MOTIVATIONS))]
        return template.format(
            domaine=spec.domaine,
            titre=spec.titre,
            years=1 + int(r() * 12),
            months=2 + int(r() * 20),
            job=PREVIOUS_JOBS[int(r() * len(PREVIOUS_JOBS))],
        )

    # The status workflow ----------------------------------------------------

    def _handler(self, at: int) -> int:
        r, staff = self.r, self.staff
        if at < self.anchor - 300 * DAY and r() < 0.5:
            return staff["inactif"]  # she handled applications until she left
        u = r()
        return (
            staff["admin"]
            if u < 0.03
            else staff["secretariat"]
            if u < 0.58
            else staff["secretariat2"]
        )

    def _comment(self, statut: str) -> str | None:
        if self.r() >= 0.3:
            return None
        choices = EVENT_COMMENTS.get(statut)
        return None if choices is None else choices[int(self.r() * len(choices))]

    def _step(
        self, walk: Walk, to: str, at: int, by: int | None, comment: str | None = None
    ) -> None:
        walk.events.append((walk.statut, to, at, by, comment if comment else self._comment(to)))
        walk.statut = to

    def _exit(self, walk: Walk, to: str, at: int) -> Walk:
        """Refusal or withdrawal, if it happens before the end of the history."""
        if at >= self.anchor:
            return walk
        if to == "refusee":
            walk.motif = REFUSAL_REASONS[int(self.r() * len(REFUSAL_REASONS))]
            self._step(walk, to, at, walk.handler, walk.motif)
        else:
            self._step(walk, to, at, None if self.r() < 0.5 else walk.handler)
        return walk

    def _walk(self, created: int, formation: FormationRuntime, forgotten: bool) -> Walk:
        r, office, anchor = self.r, self.office, self.anchor
        walk = Walk([(None, "nouvelle", created, None, None)], "nouvelle")
        if forgotten:
            return walk
        at = office(created + 600 + int(HOUR * math.exp(3.0 + 0.9 * self.rng.gauss())))
        if at >= anchor:
            return walk
        walk.handler = self._handler(at)
        self._step(walk, "en_etude", at, walk.handler)
        u = r()
        if u < 0.02:
            return walk  # dormant file
        if u < 0.14:
            return self._exit(walk, "refusee", office(at + int((2 + 8 * r()) * DAY)))
        if u < 0.18:
            return self._exit(walk, "desistement", office(at + int((3 + 17 * r()) * DAY)))
        if r() < 0.85:
            at = office(at + int((3 + 11 * r()) * DAY))
            if at >= anchor:
                return walk
            self._step(walk, "entretien", at, walk.handler)
            u = r()
            if u < 0.13:
                return self._exit(walk, "refusee", office(at + int((1 + 4 * r()) * DAY)))
            if u < 0.18:
                return self._exit(walk, "desistement", office(at + int((2 + 10 * r()) * DAY)))
        at = office(at + int((1 + 6 * r()) * DAY))
        if at >= anchor:
            return walk
        self._step(walk, "admise", at, self.staff["direction"] if r() < 0.5 else walk.handler)
        if r() < 0.05:
            return self._exit(walk, "desistement", office(at + int((5 + 25 * r()) * DAY)))
        return self._enrol(walk, formation, at)

    def _enrol(self, walk: Walk, formation: FormationRuntime, admitted: int) -> Walk:
        r, anchor = self.r, self.anchor
        session = formation.next_session(local_day(admitted) + 7)
        if session is None:
            return walk  # waiting list: no session with a free place yet
        start = local_ts(session.start_day, 8 * HOUR + 1800)
        enrolled = self.office(admitted + DAY + int(r() * min(20 * DAY, (start - admitted) // 2)))
        enrolled = min(enrolled, start - HOUR)
        if enrolled >= anchor:
            session.taken -= 1
            return walk
        walk.session = session
        self._step(walk, "inscrite", enrolled, walk.handler)
        if start >= anchor:
            return walk
        trainer = session.formateur_id
        self._step(walk, "en_formation", start, trainer if r() < 0.6 else walk.handler)
        end = local_ts(session.end_day, 17 * HOUR)
        if r() < 0.10:
            left = self.office(start + DAY + int(r() * (end - start) * 0.8))
            left = min(left, end - HOUR)
            if left < anchor:
                self._step(walk, "abandon", left, walk.handler)
            return walk
        if end < anchor:
            self._step(walk, "terminee", end, trainer if r() < 0.6 else walk.handler)
        return walk

    # After the training -----------------------------------------------------

    def _after_enrolment(
        self,
        batch: Batch,
        app_id: int,
        applicant: Applicant,
        formation: FormationRuntime,
        walk: Walk,
        funding: str,
    ) -> None:
        r, world = self.r, self.world
        session = walk.session
        assert session is not None
        if session.start_day < world.today_day:
            cancelled = walk.statut == "abandon" and r() < 0.3
            invoice = invoice_row(
                world, r, app_id, None, funding, formation.price_cents, session.start_day, cancelled
            )
            batch["factures"].append(invoice)
        matches: list[tuple[Row, Offer]] = []
        if (
            applicant.first_application
            and walk.statut in ("en_formation", "terminee")
            and r() < 0.75
        ):
            matches = self._matchings(applicant, formation, session)
        if walk.statut != "en_formation":
            if r() < (0.85 if walk.statut == "terminee" else 0.25):
                self._evaluation(batch, app_id, walk.events[-1][2])
            self._placement(batch, app_id, applicant, formation, walk, matches)
        if matches:
            batch["matchings"].extend(row for row, _ in matches)

    def _evaluation(self, batch: Batch, app_id: int, ended: int) -> None:
        r = self.r
        at = self.office(ended + int(r() * 10 * DAY))
        if at >= self.anchor:
            return
        note: int = NOTES.pick(r())
        comments = EVALUATION_COMMENTS[note]
        comment = comments[int(r() * len(comments))] if r() < 0.5 else None
        batch["evaluations"].append((self.world.allocate("evaluations"), app_id, note, comment, at))

    def _matchings(
        self, applicant: Applicant, formation: FormationRuntime, session: Session
    ) -> list[tuple[Row, Offer]]:
        """Job offers of the formation's domain suggested around the end of the training."""
        r, world = self.r, self.world
        days, offers = world.offers_by_domain.get(formation.spec.domaine, ([], []))
        around = session.end_day - 30
        low = bisect_left(days, around - 60)
        high = bisect_right(days, min(around + 90, world.today_day - 1))
        if high <= low or around >= world.today_day:
            return []
        picked = sorted({low + int(r() * (high - low)) for _ in range(1 + (r() < 0.4))})
        rows: list[tuple[Row, Offer]] = []
        slug, domain = formation.spec.slug, formation.spec.domaine
        for position in picked:
            offer = offers[position]
            when = local_ts(max(offer.day, around) + int(r() * 20), 9 * HOUR + int(r() * 8 * HOUR))
            if when >= self.anchor:
                continue
            competences = 45 + int(r() * 56)  # hundredths
            experience = int(r() * 101)
            distance = 2 + int(r() * 60)
            available = 100 if r() < 0.8 else 50
            score = (
                50 * competences
                + 20 * experience
                + 15 * available
                + 15 * max(0, 100 - distance * 100 // 80)
            )  # hundredths of a point
            criteres = (
                f'{{"competences": {competences / 100}, "experience": {experience / 100}, '
                f'"distance_km": {distance}, "disponibilite": {available / 100}, '
                f'"formation": "{slug}", "domaine": "{domain}"}}'
            )
            statut = "propose" if when > self.anchor - 7 * DAY else MATCH_DECISIONS.pick(r())
            decided_at = (
                None
                if statut == "propose"
                else min(self.office(when + int((1 + 9 * r()) * DAY)), self.anchor - HOUR)
            )
            decided_by = None if decided_at is None else self._handler(decided_at)
            row = (
                world.allocate("matchings"),
                applicant.id,
                offer.id,
                score,
                criteres,
                statut,
                when,
                decided_by,
                decided_at,
            )
            rows.append((row, offer))
        return rows

    def _placement(
        self,
        batch: Batch,
        app_id: int,
        applicant: Applicant,
        formation: FormationRuntime,
        walk: Walk,
        matches: list[tuple[Row, Offer]],
    ) -> None:
        r, world = self.r, self.world
        ended_day = local_day(walk.events[-1][2])
        u = r()
        if walk.statut == "abandon":
            if u >= 0.25:
                return
            delay = int(r() * 20)
        elif u < 0.64:
            delay = int(r() * 181)
        elif u < 0.72:
            delay = 181 + int(r() * 185)
        else:
            return
        contract: str = PLACEMENT_CONTRACTS.pick(r())
        if walk.statut == "abandon" and contract in ("formation", "creation_entreprise"):
            contract = "cdd"
        source: str = PLACEMENT_SOURCES.pick(r())
        start_day = ended_day + delay
        offer: Offer | None = None
        if source == "matching":
            hire = self._hire(matches)
            if hire is None:
                source = "enquete"
            else:
                offer, matched_at = hire
                contract = offer.type_contrat
                start_day = max(start_day, local_day(matched_at) + 7)
        months = self._months(contract, offer)
        created = local_ts(start_day + 3 + int(r() * 40), 10 * HOUR)
        if start_day >= world.today_day or created >= self.anchor:
            return  # not known yet
        company = offer.entreprise_id if offer else self._employer(formation, contract)
        batch["placements"].append(
            (
                world.allocate("placements"),
                applicant.id,
                app_id,
                company,
                offer.id if offer else None,
                contract,
                months,
                start_day,
                source,
                created,
            )
        )

    @staticmethod
    def _hire(matches: list[tuple[Row, Offer]]) -> tuple[Offer, int] | None:
        """Turns a reviewed match on a filled offer into a hire; (offer, match time)."""
        for position, (row, offer) in enumerate(matches):
            if offer.statut == "pourvue" and offer.type_contrat != "stage" and row[8] is not None:
                matches[position] = ((*row[:5], "embauche", *row[6:]), offer)
                return offer, row[6]
        return None

    def _months(self, contract: str, offer: Offer | None) -> int | None:
        if offer is not None and offer.duree_mois is not None:
            return offer.duree_mois
        bounds = CONTRACT_MONTHS.get(contract)
        if bounds is None:
            return None
        return bounds[0] + int(self.r() * (bounds[1] - bounds[0] + 1))

    def _employer(self, formation: FormationRuntime, contract: str) -> int | None:
        if contract in ("creation_entreprise", "formation"):
            return None
        companies = self.world.companies_by_domain.get(formation.spec.domaine)
        if not companies or self.r() < 0.2:
            return None
        return companies[int(self.r() * len(companies))]
