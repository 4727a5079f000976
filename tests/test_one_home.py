"""Rules that have one home stay there: a second copy in the code fails here.

Each entry names a rule, the one module that may spell it out, and a pattern
that only a copy of the rule would match (comments and docstrings excepted)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("data", "reports", "ui", "pages", "scheduler.py", "dashboard.py")

RULES = {
    # The "changed meanwhile" message of a lost race.
    "conflict message": ("data/conflicts.py", re.compile(r"[—:] rechargez")),
    # The bulk loop: one transaction per row, a lost right stops the selection.
    "bulk loop": ("data/bulk.py", re.compile(r"except NotAllowed:\s*raise")),
    # The triage SLA: still new and older than the SLA.
    "overdue rule": ("data/workflow.py", re.compile(r"timedelta\(\s*hours\s*=\s*[\w.]*sla_hours")),
}


def _code(path: Path) -> str:
    """The file's code without its docstrings and comments."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            first.value.value = ""
    return ast.unparse(tree)


def _files() -> list[Path]:
    files: list[Path] = []
    for name in SOURCES:
        path = ROOT / name
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


@pytest.mark.parametrize("rule", sorted(RULES))
def test_a_rule_is_written_in_its_home_only(rule: str) -> None:
    home, pattern = RULES[rule]
    copies = [
        str(path.relative_to(ROOT))
        for path in _files()
        if str(path.relative_to(ROOT)) != home and pattern.search(_code(path))
    ]
    assert not copies, f"{rule}: written again outside {home}"
    assert pattern.search(_code(ROOT / home)), f"{rule}: gone from {home}"


def test_run_and_delivery_states_are_named_not_spelled() -> None:
    """Report runs and deliveries compare and write their states through
    data.owned.RunStatus / DeliveryStatus, never a bare string."""
    spelled = re.compile(
        r"status\s*==?\s*['\"](?:working|retrying|sent|sent_late|failed|interrupted|missed"
        r"|skipped|pending|sending)['\"]"
    )
    # alert_mail.py's statuses are those of another state machine (a notice's email).
    files = [
        p
        for p in _files()
        if (p.parts[-2] in ("reports", "runs") or p.name == "health.py")
        and p.name != "alert_mail.py"
    ]
    assert any(p.name == "delivery.py" for p in files)
    copies = [str(p.relative_to(ROOT)) for p in files if spelled.search(_code(p))]
    assert not copies
