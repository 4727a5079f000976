"""Process-wide resources of the app: settings and engines (one per process)."""

from __future__ import annotations

import logging

import streamlit as st
from sqlalchemy import Engine

from data.db import analytics_engine, main_engine
from data.settings import Settings, get_settings

log = logging.getLogger(__name__)


def settings() -> Settings:
    """The validated settings (raises ConfigurationError once, with a clear line)."""
    return get_settings()


@st.cache_resource(show_spinner=False)
def _engines(database_url: str, analytics_url: str | None) -> tuple[Engine, Engine]:
    current = settings()
    main = main_engine(current)
    return main, analytics_engine(current, main)


def engine() -> Engine:
    """The engine of the operational database (reads and writes)."""
    current = settings()
    return _engines(current.database_url, current.ANALYTICS_DATABASE_URL)[0]


def analytics() -> Engine:
    """The engine for KPI reads (the replica when ANALYTICS_DATABASE_URL is set)."""
    current = settings()
    return _engines(current.database_url, current.ANALYTICS_DATABASE_URL)[1]


@st.cache_resource(show_spinner="Préparation de la base de démonstration…")
def _prepare_database(database_url: str) -> bool:
    """Once per process: create the embedded demo on first start, migrate it."""
    current = settings()
    if not current.demo_mode:
        return False
    from data.demo import ensure_demo_database  # the demo generator is heavy

    return ensure_demo_database(current)


def prepare_database() -> None:
    _prepare_database(settings().database_url)
