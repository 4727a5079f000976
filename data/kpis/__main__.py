"""``python -m data.kpis --from YYYY-MM-DD --to YYYY-MM-DD [--formation SLUG] [--json]``

Prints the headline figures of a period, computed on the database of
``DATABASE_URL`` (the embedded demo database when unset), as one JSON object
or as a French table. Only reads. Exit status: 0 done; 2 bad arguments (bad
date, ``--from`` not before ``--to``, unknown formation); 1 settings or
database problem. Messages go to stderr, one line, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import NoReturn

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from data import formatting
from data.db import create_db_engine
from data.errors import DashboardError, DatabaseUnavailable
from data.kpis.compare import closed_cohort_text
from data.kpis.headline import KPI_IDS, KpiSet, compute_kpis, formation_exists
from data.kpis.query import KpiQuery, utc_now
from data.kpis.specs import KPI_SPECS
from data.settings import Settings, get_settings

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
PROG = "python -m data.kpis"
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


class UsageError(Exception):
    """Bad command-line input: exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one short line on stderr and exit 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _iso_date(text: str) -> date:
    """``YYYY-MM-DD`` exactly (``date.fromisoformat`` alone also takes ``20260101``)."""
    try:
        if not ISO_DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"date invalide « {text} » (attendu AAAA-MM-JJ)") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Indicateurs du tableau de bord CIP FARO sur une période [du, au).",
    )
    parser.add_argument(
        "--from",
        dest="start",
        type=_iso_date,
        required=True,
        metavar="AAAA-MM-JJ",
        help="premier jour de la période (inclus)",
    )
    parser.add_argument(
        "--to",
        dest="end",
        type=_iso_date,
        required=True,
        metavar="AAAA-MM-JJ",
        help="jour suivant la fin de la période (exclu)",
    )
    parser.add_argument(
        "--formation", metavar="SLUG", default=None, help="restreindre à une formation (son slug)"
    )
    parser.add_argument("--json", action="store_true", help="sortie JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # The data layer logs database errors with their traceback; the command
    # prints one line instead, so nothing below reaches the last-resort handler.
    logging.getLogger().addHandler(logging.NullHandler())
    try:
        args = build_parser().parse_args(argv)
        if args.start >= args.end:
            raise UsageError("--from doit précéder --to")
    except UsageError as exc:
        return _fail(EXIT_USAGE, str(exc))
    try:
        settings = get_settings()
        engine = _engine(settings)
        try:
            if args.formation is not None and not formation_exists(engine, args.formation):
                return _fail(EXIT_USAGE, f"formation inconnue « {args.formation} »")
            query = KpiQuery.from_settings(settings, args.start, args.end, formation=args.formation)
            # The command only reads: the dashboard's summary (where it exists)
            # is merged with the events it has not folded yet, never refreshed.
            now = utc_now()
            kpis = compute_kpis(engine, query, now=now)
        finally:
            engine.dispose()
    except DashboardError as exc:
        return _fail(EXIT_FAILURE, exc.user_message)
    sys.stdout.write(render_json(query, kpis) if args.json else render_table(query, kpis))
    return EXIT_OK


def _engine(settings: Settings) -> Engine:
    """The engine of ``DATABASE_URL``; a missing SQLite file is not created."""
    url = settings.database_url
    parsed = make_url(url) if "://" in url else None
    if parsed is not None and parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not Path(database).is_file():
            raise DatabaseUnavailable(f"Base de données introuvable : {database}")
    return create_db_engine(url)


def _fail(status: int, message: str) -> int:
    sys.stderr.write(f"{PROG}: erreur : {message}\n")
    return status


def render_json(query: KpiQuery, kpis: KpiSet) -> str:
    closed_from, closed_to = query.shifted_bounds(kpis.placement_closed_shift_months)
    document = {
        "period": {
            "from": query.start.isoformat(),
            "to": query.end.isoformat(),
            "timezone": query.timezone,
            "formation": query.formation,
            "placement_closed": {"from": closed_from.isoformat(), "to": closed_to.isoformat()},
        },
        "kpis": kpis.as_json_dict(),
    }
    return json.dumps(document, ensure_ascii=False) + "\n"


def render_table(query: KpiQuery, kpis: KpiSet) -> str:
    values = kpis.as_dict()
    title = (
        f"Indicateurs du {formatting.day(query.start)} au {formatting.day(query.end)} (exclu)"
        f" — {query.formation or 'toutes formations'} — fuseau {query.timezone}"
    )
    closed = f"Insertion à 6 mois définitive : {closed_cohort_text(query, kpis)}"
    rows = [(KPI_SPECS[i].label, KPI_SPECS[i].value_text(values[i])) for i in KPI_IDS]
    width = max(len(label) for label, _ in rows)
    lines = [title, closed, ""] + [f"{label:<{width}}  {text}" for label, text in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
