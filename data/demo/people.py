"""Names, e-mail addresses, phones and birth dates of demo people."""

from __future__ import annotations

import random
import unicodedata
from bisect import bisect
from collections.abc import Sequence
from itertools import accumulate
from typing import Generic, TypeVar

from data.demo.vocab import COMMUNES, EMAIL_DOMAINS, FIRST_NAMES_F, FIRST_NAMES_M, LAST_NAMES

T = TypeVar("T")


class WeightedChoice(Generic[T]):
    """Fast weighted choice driven by an external ``random()`` draw in [0, 1)."""

    def __init__(self, items: Sequence[tuple[T, float]]) -> None:
        self.values = [value for value, _ in items]
        self.cumulative = list(accumulate(weight for _, weight in items))
        self.total = self.cumulative[-1]

    def pick(self, draw: float) -> T:
        return self.values[bisect(self.cumulative, draw * self.total)]


def ascii_slug(text: str) -> str:
    """'Marie-Josée N'Diaye' -> 'marie-josee-ndiaye' (for e-mail addresses)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    kept = "".join(ch if ch.isalnum() else "-" if ch in " -" else "" for ch in plain)
    return "-".join(part for part in kept.split("-") if part)


class PeopleFactory:
    """Draws people; every choice comes from the run's seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self._random = rng.random
        self.communes = WeightedChoice(COMMUNES)
        self._slugs: dict[str, str] = {}

    def _slug(self, text: str) -> str:
        slug = self._slugs.get(text)
        if slug is None:
            slug = self._slugs[text] = ascii_slug(text)
        return slug

    def name(self) -> tuple[str, str]:
        r = self._random
        first = FIRST_NAMES_F if r() < 0.56 else FIRST_NAMES_M
        return first[int(r() * len(first))], LAST_NAMES[int(r() * len(LAST_NAMES))]

    def email(self, prenom: str, nom: str, unique: int) -> str:
        domain = EMAIL_DOMAINS[unique % len(EMAIL_DOMAINS)]
        return f"{self._slug(prenom)}.{self._slug(nom)}.{unique}@{domain}"

    def phone(self) -> str:
        r = self._random
        prefix = "0690" if r() < 0.6 else "0691" if r() < 0.8 else "0590"
        digits = f"{int(r() * 1_000_000):06d}"
        return f"{prefix} {digits[:2]} {digits[2:4]} {digits[4:]}"

    def commune(self) -> str:
        return self.communes.pick(self._random())

    def birth_day(self, today_day: int) -> int:
        r = self._random
        age_years = 18 + int(37 * r() * r())  # mostly young adults, some up to 55
        return today_day - age_years * 365 - int(r() * 365)
