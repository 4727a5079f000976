"""Every action the dashboard writes to its audit log has a French label on the audit screen."""

from __future__ import annotations

import re

from data.audit_log import ACTION_LABELS
from data.settings import PROJECT_ROOT

# action="x.y" at a call of audit.record, or a constant holding a code.
ACTION_CODE = re.compile(r'(?:action=|_ACTION: Final = )"([a-z_]+\.[a-z_]+)"')


def test_every_recorded_action_has_a_french_label() -> None:
    codes = set()
    for folder in ("data", "reports", "ui", "pages"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            codes |= set(ACTION_CODE.findall(path.read_text(encoding="utf-8")))
    assert {"candidature.move", "report_run.owner_alerted", "user.role_change"} <= codes
    missing = sorted(codes - set(ACTION_LABELS))
    assert missing == [], f"no French label for {missing}"
