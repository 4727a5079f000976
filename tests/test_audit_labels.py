"""Every action the dashboard writes to its audit log has a French label on the audit screen."""

from __future__ import annotations

import re

from data.audit.viewing import ACTION_LABELS
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


ENTITY_CODE = re.compile(r'(?:entity=|ENTITY: Final = )"([a-z_]+)"')


def test_every_audited_object_has_a_french_name() -> None:
    from data.audit.labels import ENTITY_LABELS

    codes = set()
    for folder in ("data", "reports"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            codes |= set(ENTITY_CODE.findall(path.read_text(encoding="utf-8")))
    assert {"candidatures", "dashboard_report_runs", "users"} <= codes
    assert sorted(codes - set(ENTITY_LABELS)) == []


def test_details_read_as_french_sentences_not_json() -> None:
    from data.audit.labels import details_text

    move = {"from_statut": "nouvelle", "to_statut": "en_etude", "comment": "Dossier complet"}
    assert details_text(move) == (
        "Statut avant : Nouvelle · Statut après : En étude · Commentaire : Dossier complet"
    )
    role = {"email": "a@b.fr", "role": ["secretariat", "direction"]}
    assert details_text(role) == "Adresse e-mail : a@b.fr · Rôle : Secrétariat → Direction"
    assert details_text({"actif": [True, False], "sessions_revoked": 2}) == (
        "Actif : oui → non · Sessions fermées : 2"
    )
    assert details_text(None) == ""
