"""The app's pages, each with the capability a role needs to see it.

dashboard.py builds ``st.navigation`` from :func:`pages_for`; every page also
calls :func:`ui.session.require_page` first, so a page reached by URL by a role
that may not see it refuses to render.
"""

from __future__ import annotations

from dataclasses import dataclass

from data.permissions import can


@dataclass(frozen=True)
class PageSpec:
    path: str  # relative to the project root
    title: str
    icon: str
    url_path: str
    capability: str
    section: str


PAGES: tuple[PageSpec, ...] = (
    PageSpec(
        "pages/overview.py",
        "Vue d'ensemble",
        ":material/dashboard:",
        "vue-ensemble",
        "kpi.view",
        "Pilotage",
    ),
    PageSpec(
        "pages/conversion.py",
        "Conversion",
        ":material/filter_alt:",
        "conversion",
        "kpi.analysis",
        "Pilotage",
    ),
    PageSpec(
        "pages/revenue.py",
        "Chiffre d'affaires",
        ":material/euro:",
        "chiffre-affaires",
        "kpi.money",
        "Pilotage",
    ),
    PageSpec(
        "pages/insertion.py",
        "Insertion et qualité",
        ":material/work:",
        "insertion-qualite",
        "kpi.analysis",
        "Pilotage",
    ),
    PageSpec(
        "pages/reports.py",
        "Rapports",
        ":material/description:",
        "rapports",
        "reports.view",
        "Pilotage",
    ),
    PageSpec(
        "pages/applications.py",
        "Candidatures",
        ":material/inbox:",
        "candidatures",
        "triage.view",
        "Secrétariat",
    ),
    PageSpec(
        "pages/matchings.py",
        "Matchings",
        ":material/handshake:",
        "matchings",
        "matching.view",
        "Secrétariat",
    ),
    PageSpec(
        "pages/messages.py",
        "Messages",
        ":material/mail:",
        "messages",
        "messages.view",
        "Secrétariat",
    ),
    PageSpec(
        "pages/notifications.py",
        "Notifications",
        ":material/notifications:",
        "notifications",
        "alerts.view",
        "Alertes",
    ),
    PageSpec(
        "pages/alerts.py",
        "Alertes",
        ":material/notification_important:",
        "alertes",
        "alerts.manage",
        "Alertes",
    ),
    PageSpec(
        "pages/team.py", "Équipe", ":material/group:", "equipe", "team.manage", "Administration"
    ),
    PageSpec(
        "pages/audit.py",
        "Journal d'audit",
        ":material/history:",
        "journal-audit",
        "audit.view",
        "Administration",
    ),
    PageSpec(
        "pages/signins.py",
        "Connexions",
        ":material/login:",
        "connexions",
        "audit.view",
        "Administration",
    ),
    PageSpec(
        "pages/system.py",
        "État du système",
        ":material/monitor_heart:",
        "etat-systeme",
        "system.view",
        "Administration",
    ),
)


def pages_for(role: str) -> list[PageSpec]:
    """The pages this role may see, in menu order."""
    return [page for page in PAGES if can(role, page.capability)]


def page_by_path(path: str) -> PageSpec:
    for page in PAGES:
        if page.path == path:
            return page
    raise KeyError(path)
