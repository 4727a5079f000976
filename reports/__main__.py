"""``python -m reports render KIND --from YYYY-MM-DD --to YYYY-MM-DD [--formation SLUG] --out DIR``

Builds the report of KIND (monthly, weekly, qualiopi) for ``[from, to)`` from
the database of ``DATABASE_URL`` (the operational tables are enough), writes
its PDF and Excel file into DIR and prints their paths. Bad arguments: one
line on stderr, exit status 2; an unusable database or settings: exit 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from data.db import main_engine
from data.errors import DashboardError, InvalidInput
from data.periods import Period, parse_day
from data.settings import get_settings
from reports.builders import build_report
from reports.model import REPORT_KINDS
from reports.render import render_files

USAGE_ERROR = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"Erreur : {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m reports", description="Rapports du CIP FARO (PDF et Excel).")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    render = commands.add_parser("render", help="construire un rapport et écrire ses fichiers")
    render.add_argument(
        "kind", choices=REPORT_KINDS, metavar="KIND", help="monthly, weekly ou qualiopi"
    )
    render.add_argument("--from", dest="start", required=True, help="premier jour (AAAA-MM-JJ)")
    render.add_argument("--to", dest="end", required=True, help="jour suivant le dernier (exclu)")
    render.add_argument("--formation", default=None, help="slug d'une formation")
    render.add_argument("--out", required=True, type=Path, help="dossier de sortie")
    return parser


def main(argv: list[str] | None = None) -> int:
    # The data layer logs database errors with their traceback; the command
    # prints one line instead, so nothing reaches the last-resort handler.
    logging.getLogger().addHandler(logging.NullHandler())
    args = _parser().parse_args(argv)
    try:
        period = Period(parse_day(args.start), parse_day(args.end))
    except InvalidInput as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return USAGE_ERROR
    try:
        settings = get_settings()
        engine = main_engine(settings)
        report = build_report(
            engine,
            settings,
            kind=args.kind,
            period=period,
            formation=args.formation,
            now=datetime.now(UTC),
        )
        files = render_files(report, args.out, ("pdf", "xlsx"), settings.tz)
    except InvalidInput as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return USAGE_ERROR
    except DashboardError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"Erreur : écriture impossible dans {args.out} ({exc.strerror}).", file=sys.stderr)
        return 1
    for file in files:
        print(args.out / file.filename)
    return 0


if __name__ == "__main__":
    sys.exit(main())
