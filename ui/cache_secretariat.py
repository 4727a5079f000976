"""Cached option lists of the secretariat's screens (formations, staff, sessions, matches).

Only slowly changing choices are cached, for a minute; the queue, the files
and the messages are always read fresh (an action must see the current version).
"""

from __future__ import annotations

import streamlit as st

from data.matching import FilterOptions, match_filter_options
from data.triage import (
    FormationChoice,
    SessionOption,
    StaffOption,
    assignable_staff,
    formation_choices,
    session_options,
)
from ui import state

OPTIONS_TTL_SECONDS = 60


@st.cache_data(ttl=OPTIONS_TTL_SECONDS, max_entries=4, show_spinner=False)
def cached_formation_choices(database_url: str) -> tuple[FormationChoice, ...]:
    return formation_choices(state.engine())


@st.cache_data(ttl=OPTIONS_TTL_SECONDS, max_entries=4, show_spinner=False)
def cached_assignable_staff(database_url: str) -> tuple[StaffOption, ...]:
    return assignable_staff(state.engine())


@st.cache_data(ttl=OPTIONS_TTL_SECONDS, max_entries=64, show_spinner=False)
def cached_session_options(database_url: str, formation_id: int) -> tuple[SessionOption, ...]:
    return session_options(state.engine(), formation_id)


@st.cache_data(ttl=OPTIONS_TTL_SECONDS, max_entries=4, show_spinner=False)
def cached_match_filter_options(database_url: str) -> FilterOptions:
    return match_filter_options(state.engine())
