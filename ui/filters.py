"""The one filter bar of the KPI screens: period preset, dates, formation, domaine.

Filters live in the URL (``?periode=12-mois&formation=developpeur-web``) so a
view can be bookmarked or sent; a malformed parameter falls back to the
default with a notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import streamlit as st

from data import formatting as fmt
from data.catalog import FormationOption
from data.errors import InvalidInput
from data.periods import (
    DEFAULT_PRESET,
    EARLIEST_DAY,
    LATEST_DAY,
    PRESET_LABELS,
    Period,
    custom_period,
    parse_day,
    preset_period,
)
from ui import cache, state
from ui.components import as_plain

ALL = "__all__"


@dataclass(frozen=True)
class Filters:
    preset: str
    period: Period
    formation: str | None
    domaine: str | None

    @property
    def label(self) -> str:
        return f"du {fmt.day(self.period.start)} au {fmt.day(self.period.last_day)}"


def local_today() -> date:
    return datetime.now(state.settings().tz).date()


def _from_url(options: tuple[FormationOption, ...], today: date) -> tuple[Filters, list[str]]:
    """Filters from the URL, with notices for what had to be ignored."""
    params = st.query_params
    notices: list[str] = []
    preset = params.get("periode", DEFAULT_PRESET)
    if preset not in PRESET_LABELS:
        notices.append("Paramètre « periode » invalide : période par défaut appliquée.")
        preset = DEFAULT_PRESET
    period = preset_period(DEFAULT_PRESET, today)
    if preset == "perso":
        try:
            period = custom_period(parse_day(params.get("du", "")), parse_day(params.get("au", "")))
        except InvalidInput as exc:
            notices.append(f"Période personnalisée ignorée : {exc.user_message}")
            preset = DEFAULT_PRESET
    else:
        period = preset_period(preset, today)
    slugs = {option.slug for option in options}
    formation = params.get("formation")
    if formation is not None and formation not in slugs:
        notices.append("Formation inconnue dans l'adresse : toutes les formations sont affichées.")
        formation = None
    domaines = {option.domaine for option in options}
    domaine = params.get("domaine")
    if domaine is not None and domaine not in domaines:
        notices.append("Domaine inconnu dans l'adresse : tous les domaines sont affichés.")
        domaine = None
    return Filters(preset, period, formation, domaine), notices


def _to_url(filters: Filters) -> None:
    wanted = {"periode": filters.preset}
    if filters.preset == "perso":
        wanted |= {"du": filters.period.start.isoformat(), "au": filters.period.end.isoformat()}
    if filters.formation:
        wanted["formation"] = filters.formation
    if filters.domaine:
        wanted["domaine"] = filters.domaine
    if dict(st.query_params) != wanted:
        st.query_params.from_dict(wanted)


def filter_bar(page_key: str) -> Filters:
    """Draw the filter bar; return the filters in force (also written to the URL)."""
    options = cache.cached_formation_options(state.settings().database_url)
    today = local_today()
    initial, notices = _from_url(options, today)
    for notice in notices:
        st.warning(as_plain(notice), icon=":material/link_off:")
    presets = list(PRESET_LABELS)
    columns = st.columns([1.2, 1.6, 2, 1.4])
    preset = columns[0].selectbox(
        "Période",
        presets,
        index=presets.index(initial.preset),
        format_func=PRESET_LABELS.__getitem__,
        key=f"{page_key}_preset",
    )
    period = initial.period if preset == initial.preset else None
    if preset == "perso":
        chosen = columns[1].date_input(
            "Du … au (exclu)",
            value=(initial.period.start, initial.period.end),
            min_value=EARLIEST_DAY,
            max_value=LATEST_DAY,
            format="DD/MM/YYYY",
            key=f"{page_key}_dates",
        )
        period = initial.period
        if isinstance(chosen, tuple) and len(chosen) == 2 and chosen[0] < chosen[1]:
            try:
                period = custom_period(chosen[0], chosen[1])
            except InvalidInput as exc:
                columns[1].caption(f"Période refusée : {as_plain(exc.user_message)}")
        else:
            columns[1].caption("Choisissez deux dates, la première avant la seconde.")
    else:
        period = preset_period(preset, today)
        columns[1].text_input(
            "Dates",
            value=f"{fmt.day(period.start)} – {fmt.day(period.last_day)}",
            disabled=True,
            key=f"{page_key}_dates_shown_{preset}",
        )
    domaines = [ALL, *sorted({option.domaine for option in options})]
    domaine = columns[3].selectbox(
        "Domaine",
        domaines,
        index=domaines.index(initial.domaine or ALL),
        format_func=lambda value: "Tous les domaines" if value == ALL else value,
        key=f"{page_key}_domaine",
    )
    visible = [o for o in options if domaine == ALL or o.domaine == domaine]
    slugs = [ALL, *(o.slug for o in visible)]
    titles = {o.slug: o.titre for o in options}
    formation = columns[2].selectbox(
        "Formation",
        slugs,
        index=slugs.index(initial.formation) if initial.formation in slugs else 0,
        format_func=lambda slug: "Toutes les formations" if slug == ALL else titles[slug],
        key=f"{page_key}_formation",
    )
    filters = Filters(
        preset, period, None if formation == ALL else formation, None if domaine == ALL else domaine
    )
    _to_url(filters)
    return filters
