"""Demo data: a whole, realistic, deterministic training centre in Guadeloupe.

``python -m data.demo [--url URL] [--applications N] [--seed S] [--reset] [--live]``

- :func:`generate` fills an empty operational database (COPY on PostgreSQL);
- :func:`ensure_demo_database` creates the embedded SQLite demo on first start;
- :func:`run_live` keeps adding applications and status changes;
- :data:`DEMO_ACCOUNTS` are the sign-in accounts of the demo (documented
  passwords, demo mode only: see :mod:`data.demo.accounts`).
"""

from __future__ import annotations

from data.demo.accounts import DEMO_ACCOUNTS, DemoAccount
from data.demo.bootstrap import ensure_demo_database
from data.demo.build import DemoSummary, generate
from data.demo.live import run_live

__all__ = [
    "DEMO_ACCOUNTS",
    "DemoAccount",
    "DemoSummary",
    "ensure_demo_database",
    "generate",
    "run_live",
]
