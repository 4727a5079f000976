"""Bulk actions: one single-row write repeated over a selection, one transaction per row.

Triage (move, assign, refuse, "Répartir") and matching (validate, reject) run
their selections through :func:`run_bulk`. Each row succeeds or fails on its
own (a colleague may have changed one of them meanwhile) and the result says,
row by row, what happened; nothing is half-written. A row selected twice is
acted on once. Losing the right to act (:class:`~data.errors.NotAllowed`)
stops the whole selection at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple, TypeVar

from data.errors import DashboardError, InvalidInput, NotAllowed

MAX_BULK_ROWS: Final = 500

_Item = TypeVar("_Item")


class RowOutcome(NamedTuple):
    id: int
    ok: bool
    message: str


@dataclass(frozen=True)
class BulkResult:
    outcomes: tuple[RowOutcome, ...]
    feminine: bool = True  # "réussie(s)" for applications, "réussi(s)" for matches

    @property
    def succeeded(self) -> tuple[int, ...]:
        return tuple(o.id for o in self.outcomes if o.ok)

    @property
    def failed(self) -> tuple[RowOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.ok)

    @property
    def summary(self) -> str:
        done = "réussie(s)" if self.feminine else "réussi(s)"
        return f"{len(self.succeeded)} {done}, {len(self.failed)} en échec."


def run_bulk(
    items: Sequence[_Item],
    *,
    key: Callable[[_Item], int],
    action: Callable[[_Item], str],
    nothing_selected: str,
    feminine: bool = True,
) -> BulkResult:
    """``action`` (one transaction, returning its message) on each distinct item."""
    if not items:
        raise InvalidInput(nothing_selected)
    distinct = list({key(item): item for item in items}.values())
    if len(distinct) > MAX_BULK_ROWS:
        raise InvalidInput(f"Sélection trop grande (maximum {MAX_BULK_ROWS} lignes).")
    outcomes: list[RowOutcome] = []
    for item in distinct:
        try:
            message = action(item)
        except NotAllowed:
            raise
        except DashboardError as exc:
            outcomes.append(RowOutcome(key(item), False, exc.user_message))
        else:
            outcomes.append(RowOutcome(key(item), True, message))
    return BulkResult(tuple(outcomes), feminine)
