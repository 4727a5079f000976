"""The "Délai" column of the triage queue says something for every row."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from data.triage.queue import QueueRow
from ui.triage_widgets import sla_badge

NBSP = "\u00a0"
ROW = QueueRow(
    id=1,
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
    updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    statut="nouvelle",
    source="site",
    financement=None,
    formation_id=1,
    formation="Maçon",
    session_id=None,
    applicant="Noé Jalta",
    email="noe@example.org",
    assigned_to=None,
    assignee=None,
    age_hours=12.0,
    overdue=False,
)


@pytest.mark.parametrize(
    ("statut", "age_hours", "overdue", "expected"),
    [
        ("nouvelle", 12.0, False, f"Reste 1{NBSP}j 12{NBSP}h"),
        ("nouvelle", 47.5, False, f"Reste 0,5{NBSP}h"),
        ("nouvelle", 75.0, True, f"En retard de 1{NBSP}j 3{NBSP}h"),
        ("en_etude", 16_800.0, False, "Prise en charge"),
        ("refusee", 30.0, False, "Prise en charge"),
    ],
)
def test_every_row_says_where_it_stands_against_the_first_response_deadline(
    statut: str, age_hours: float, overdue: bool, expected: str
) -> None:
    row = replace(ROW, statut=statut, age_hours=age_hours, overdue=overdue)
    assert sla_badge(row, 48) == expected
