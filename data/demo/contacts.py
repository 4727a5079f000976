"""Messages of the website's contact form."""

from __future__ import annotations

import random
from collections.abc import Iterator

from data.demo.clock import DAY, HOUR, OfficeClock, local_ts
from data.demo.people import PeopleFactory
from data.demo.tables import Row
from data.demo.vocab import CONTACT_SUBJECTS
from data.demo.world import World


def contact_count(applications: int) -> int:
    return max(30, applications // 12)


def contact_batches(
    world: World, rng: random.Random, people: PeopleFactory, count: int, chunk: int
) -> Iterator[tuple[list[Row], int]]:
    """Yields (rows, messages so far); old messages are mostly handled, recent ones not."""
    r = rng.random
    office = OfficeClock(rng).next_open
    span = world.today_day - world.start_day
    moments = sorted(
        local_ts(world.start_day + int(r() * span), 7 * HOUR + int(r() * 15 * HOUR))
        for _ in range(count)
    )
    handlers = (world.staff_ids["secretariat"], world.staff_ids["secretariat2"])
    rows: list[Row] = []
    for done, created in enumerate(moments, start=1):
        prenom, nom = people.name()
        contact_id = world.allocate("contacts")
        subject, message = CONTACT_SUBJECTS[int(r() * len(CONTACT_SUBJECTS))]
        handled_at = office(created + int((0.1 + 4 * r()) * DAY))
        handled = world.anchor - created > 5 * DAY and r() < 0.92 and handled_at < world.anchor
        rows.append(
            (
                contact_id,
                f"{prenom} {nom}",
                people.email(prenom, nom, 900_000_000 + contact_id),
                people.phone() if r() < 0.7 else None,
                subject,
                message,
                created,
                handlers[int(r() * 2)] if handled else None,
                handled_at if handled else None,
            )
        )
        if len(rows) == chunk:
            yield rows, done
            rows = []
    if rows:
        yield rows, count
