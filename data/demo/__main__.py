"""``python -m data.demo [--url URL] [--applications N] [--seed S] [--reset] [--live]``

Fills a database with the demo centre. ``--url`` defaults to the settings'
database (the embedded SQLite demo when ``DATABASE_URL`` is unset). Missing
operational tables are created (``data.schema``) and the dashboard's tables
brought up to date (``data.migrate``). A database that already holds
applications is refused (exit status 2) unless ``--reset`` empties it first,
or ``--live`` only adds activity to it. Errors print one line, no traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from datetime import date

from sqlalchemy import Engine, MetaData, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from data.db import create_db_engine, translate_errors
from data.demo.build import MAX_APPLICATIONS, DemoSummary, generate
from data.demo.live import run_live
from data.errors import DashboardError
from data.formatting import number
from data.migrate import upgrade
from data.models import Base
from data.schema import create_operational_tables
from data.settings import get_settings

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
ALEMBIC_TABLE = "dashboard_alembic_version"


class ProgressBar:
    """A one-line progress bar on stderr."""

    WIDTH = 30

    def __init__(self) -> None:
        self._last = 0.0
        self._stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage == self._stage and done < total and now - self._last < 0.2:
            return
        if stage != self._stage and self._stage:
            sys.stderr.write("\n")
        self._stage, self._last = stage, now
        share = done / total if total else 1.0
        filled = int(share * self.WIDTH)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        sys.stderr.write(
            f"\r{stage:<22} [{bar}] {share * 100:5.1f} %  {number(done)} / {number(total)}"
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self._stage:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m data.demo", description="Données de démonstration du tableau de bord."
    )
    parser.add_argument("--url", help="base cible (défaut : réglage DATABASE_URL ou la démo)")
    parser.add_argument("--applications", type=int, default=3000, help="nombre de candidatures")
    parser.add_argument(
        "--seed", type=int, default=2026, help="graine (mêmes données à l'identique)"
    )
    parser.add_argument("--today", type=date.fromisoformat, help="fin de l'historique (AAAA-MM-JJ)")
    parser.add_argument("--reset", action="store_true", help="vider la base avant d'écrire")
    parser.add_argument("--live", action="store_true", help="ajouter de l'activité jusqu'à Ctrl-C")
    parser.add_argument("--interval", type=float, default=3.0, help="secondes entre deux ajouts")
    args = parser.parse_args(argv)
    if not 0 <= args.applications <= MAX_APPLICATIONS:
        parser.error(f"--applications : de 0 à {MAX_APPLICATIONS}")
    if args.interval <= 0:
        parser.error("--interval doit être positif")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    # Details of database errors are logged with their traceback; a command
    # line prints one line instead.
    logging.basicConfig(handlers=[logging.NullHandler()], force=True)
    try:
        settings = get_settings()
        engine = create_db_engine(args.url or settings.database_url)
        existing = _prepare(engine)
        if existing and not (args.reset or args.live):
            print(
                f"Erreur : la base contient déjà {number(existing)} candidatures ; "
                "relancez avec --reset pour l'effacer d'abord.",
                file=sys.stderr,
            )
            return EXIT_USAGE
        if args.reset and existing:
            _reset(engine)
        if args.reset or not existing:
            _generate(engine, args, settings.upload_root)
        if args.live:
            _live(engine, args)
    except KeyboardInterrupt:
        print("\nInterrompu : rien n'a été écrit pour l'étape en cours.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except DashboardError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return EXIT_ERROR
    except (SQLAlchemyError, OSError) as exc:
        print(f"Erreur : {type(exc).__name__} : {str(exc).splitlines()[0]}", file=sys.stderr)
        return EXIT_ERROR
    return 0


def _prepare(engine: Engine) -> int:
    """Creates missing tables; returns how many applications the base already holds."""
    with translate_errors():
        if not inspect(engine).has_table("candidatures"):
            create_operational_tables(engine)
        upgrade(engine)
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM candidatures")).scalar_one())


def _reset(engine: Engine) -> None:
    """Empties the operational tables and the dashboard's (not its migration history)."""
    with translate_errors(), engine.begin() as connection:
        names = [
            name
            for name in inspect(connection).get_table_names()
            if name in Base.metadata.tables
            or (name.startswith("dashboard_") and name != ALEMBIC_TABLE)
        ]
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
            connection.exec_driver_sql(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE")
            return
        reflected = MetaData()
        reflected.reflect(connection, only=names)
        for table in reversed(reflected.sorted_tables):
            connection.execute(table.delete())
    print("Base vidée.", file=sys.stderr)


def _generate(engine: Engine, args: argparse.Namespace, upload_root: object) -> None:
    bar = ProgressBar()
    try:
        summary = generate(
            engine,
            applications=args.applications,
            seed=args.seed,
            today=args.today,
            upload_root=upload_root,  # type: ignore[arg-type]
            progress=bar,
        )
    finally:
        bar.close()
    print(_describe(summary))


def _describe(summary: DemoSummary) -> str:
    counts = ", ".join(f"{name} {number(count)}" for name, count in summary.counts().items())
    seconds = number(summary.seconds, decimals=1)
    return (
        f"Données de démonstration écrites en {seconds} s : {counts} ; CV PDF {summary.cv_files}."
    )


def _live(engine: Engine, args: argparse.Namespace) -> None:
    print(
        f"Activité en direct toutes les {number(args.interval, decimals=1)} s (Ctrl-C pour arrêter)…",
        file=sys.stderr,
    )
    stop = threading.Event()
    try:
        run_live(engine, interval_seconds=args.interval, stop=stop)
    except KeyboardInterrupt:
        stop.set()
        print("\nArrêt de l'activité en direct.", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
