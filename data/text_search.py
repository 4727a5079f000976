"""Search boxes: what the user typed, as a safe accent- and case-insensitive filter.

"jose" finds "José"; quotes, ``%``, ``_`` and backslashes are plain text (LIKE
wildcards are escaped, values are always bound parameters); NUL characters
are dropped (PostgreSQL text cannot hold them); a very long input is cut.
Every word typed must appear somewhere in the searched text.
"""

from __future__ import annotations

import re
from typing import Final

from sqlalchemy import ColumnElement, and_, literal
from sqlalchemy.sql.elements import ColumnElement as _Column

from data.errors import InvalidInput
from data.sqlfuncs import fold, fold_text

MAX_SEARCH_CHARS: Final = 200
MAX_TERMS: Final = 6
ESCAPE: Final = "\\"
MIN_CHARS: Final = 3
MIN_RUN: Final = 3
TOO_SHORT = "Recherche trop courte : tapez au moins 3 caractères."
_RUN = re.compile(rf"[^\W_]{{{MIN_RUN},}}")


def normalise_search(text: str | None) -> str:
    """The search text as used: NUL removed, blanks collapsed, at most 200 characters."""
    if not text:
        return ""
    cleaned = " ".join(text.replace("\x00", "").split())
    return cleaned[:MAX_SEARCH_CHARS].strip()


def search_terms(text: str | None) -> tuple[str, ...]:
    """The distinct words of the search, in order (at most six)."""
    terms: list[str] = []
    for word in normalise_search(text).split(" "):
        if word and word not in terms:
            terms.append(word)
    return tuple(terms[:MAX_TERMS])


def check_searchable(text: str | None) -> None:
    """Refuse a search of fewer than 3 characters (it would match nearly everyone)."""
    terms = search_terms(text)
    if terms and sum(len(term) for term in terms) < MIN_CHARS:
        raise InvalidInput(TOO_SHORT)


def indexable(text: str | None) -> bool:
    """Can a trigram index serve this search? (Some word has 3 letters or digits in a row.)"""
    return any(_RUN.search(fold(term) or "") for term in search_terms(text))


def escape_like(term: str) -> str:
    r"""Escape LIKE wildcards so they match themselves (escape character ``\``)."""
    return term.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def contains_pattern(term: str) -> str:
    """``'50%_off'`` -> ``'%50\\%\\_off%'``: a LIKE pattern for "contains", as plain text."""
    return f"%{escape_like(term)}%"


def folded(text: str) -> str:
    """The Python side of the fold, for display and tests (``'José'`` -> ``'jose'``)."""
    return fold(text) or ""


def matches_search(haystack: _Column[str], text: str | None) -> ColumnElement[bool] | None:
    """A condition "every word of ``text`` is in ``haystack``", ignoring accents and case.

    None when there is nothing to search. Both sides go through the same fold
    in the database, so PostgreSQL and SQLite agree.
    """
    terms = search_terms(text)
    if not terms:
        return None
    target = fold_text(haystack)
    conditions = [
        target.like(fold_text(literal(contains_pattern(term))), escape=ESCAPE) for term in terms
    ]
    return and_(*conditions)
