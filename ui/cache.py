"""Cached wrappers of data-layer reads for the app (the scheduler never imports this).

Every wrapper takes plain hashable parameters (the database URL is part of
the key, so two databases never share an answer), has a TTL, and bounds its
entries where keys vary.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from data.catalog import FormationOption, formation_options
from data.overview import LiveCounts, live_counts
from ui import state

LIVE_TTL_SECONDS = 15


@st.cache_data(ttl=LIVE_TTL_SECONDS, max_entries=4, show_spinner=False)
def cached_live_counts(database_url: str, sla_hours: float) -> LiveCounts:
    return live_counts(state.engine(), now=datetime.now(UTC), sla_hours=sla_hours)


@st.cache_data(ttl=300, max_entries=4, show_spinner=False)
def cached_formation_options(database_url: str) -> tuple[FormationOption, ...]:
    return formation_options(state.engine())
