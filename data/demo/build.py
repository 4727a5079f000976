"""Fill an empty operational database with a whole demo centre.

PostgreSQL gets every table through ``COPY ... FROM STDIN`` (text format)
inside one transaction, with explicit ids, then its sequences are moved past
them (see :mod:`data.demo.pgcopy`); SQLite gets ``executemany`` in one
transaction. Rows are drawn and encoded in batches by a producer while the
database ingests the previous batch, so memory stays bounded and both cores
work: a thread for small loads, a child process for big ones (a thread would
fight the loading thread for the GIL). Both run the same code, so the rows
are identical.
"""

from __future__ import annotations

import multiprocessing
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from data.db import translate_errors
from data.demo.clock import Formats, day_number, local_today
from data.demo.contacts import contact_batches, contact_count
from data.demo.cv import write_cv_files
from data.demo.lifecycle import ApplicationStream, CvOwner
from data.demo.people import PeopleFactory
from data.demo.pgcopy import (
    fast_encoders,
    relax_for_bulk_load,
    restore_after_bulk_load,
    restore_steps,
)
from data.demo.tables import (
    TABLE_BY_NAME,
    TABLE_NAMES,
    Row,
    copy_sql,
    insert_sql,
    pg_copy_encoder,
    sqlite_encoder,
)
from data.demo.world import build_world
from data.errors import Conflict, InvalidInput
from data.kpis.summary import refresh_application_facts, summary_installed

Progress = Callable[[str, int, int], None]
CHUNK = 20_000  # applications per batch
MAX_APPLICATIONS = 5_000_000
PROCESS_THRESHOLD = 50_000  # from this many applications, draw rows in a child process
STAGE_REFERENCE = "référentiels"
STAGE_APPLICATIONS = "candidatures"
STAGE_CONTACTS = "messages"
STAGE_INDEXES = "index et contraintes"


@dataclass(frozen=True)
class DemoSummary:
    """Rows written per table, CV files written, and how long it took."""

    users: int
    formations: int
    sessions_formation: int
    entreprises: int
    offres_emploi: int
    devis: int
    candidatures: int
    candidature_events: int
    factures: int
    placements: int
    evaluations: int
    matchings: int
    contacts: int
    cv_files: int
    seconds: float

    @property
    def rows(self) -> int:
        return sum(getattr(self, name) for name in TABLE_NAMES)

    def counts(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in TABLE_NAMES}


def generate(
    engine: Engine,
    *,
    applications: int = 3000,
    seed: int = 2026,
    today: date | None = None,
    upload_root: Path | None = None,
    progress: Progress | None = None,
) -> DemoSummary:
    """Writes a deterministic demo centre into ``engine`` (operational tables, empty).

    Same ``seed`` and ``today`` give identical rows. ``today`` (default: the
    local date in Guadeloupe) ends two years of history; nothing is dated
    after 07:00 local that day. CV PDFs are written under ``upload_root``
    when it is given (their paths are in ``candidatures.cv_path`` anyway).

    From ``PROCESS_THRESHOLD`` applications on PostgreSQL the rows are drawn
    in a *spawned* child process: a script calling this must guard its entry
    point with ``if __name__ == "__main__":`` (the CLI does).
    """
    if not 0 <= applications <= MAX_APPLICATIONS:
        raise InvalidInput(f"Nombre de candidatures invalide (de 0 à {MAX_APPLICATIONS}).")
    started = time.perf_counter()
    _require_empty(engine)
    postgres = engine.dialect.name == "postgresql"
    plan = _Plan(applications, seed, day_number(today or local_today()), postgres)
    in_process = postgres and applications >= PROCESS_THRESHOLD
    batches = (_from_child_process if in_process else _from_thread)(plan)
    load = _load_postgresql if postgres else _load_sqlite
    with translate_errors():
        counts, finished = load(engine, batches, progress)
        _fold_kpi_summary(engine, progress)
    cv_files = 0
    if upload_root is not None:
        cv_files = write_cv_files(upload_root, finished.cv_owners)
    return DemoSummary(
        **{name: counts.get(name, 0) for name in TABLE_NAMES},
        cv_files=cv_files,
        seconds=round(time.perf_counter() - started, 3),
    )


def _fold_kpi_summary(engine: Engine, progress: Progress | None) -> None:
    """Folds the new event history into the KPI summary (migration 0003) now, so
    that the first screen opened does not pay for it."""
    with engine.connect() as connection:
        if not summary_installed(connection):
            return
    stage = "synthèse des indicateurs"
    if progress is not None:
        progress(stage, 0, 1)
    refresh_application_facts(engine)
    if progress is not None:
        progress(stage, 1, 1)


def _require_empty(engine: Engine) -> None:
    with translate_errors(), engine.connect() as connection:
        busy = [
            name
            for name in TABLE_NAMES
            if connection.execute(text(f"SELECT 1 FROM {name} LIMIT 1")).first() is not None
        ]
    if busy:
        raise Conflict(
            "La base contient déjà des données (" + ", ".join(busy) + ") : "
            "les données de démonstration ne s'écrivent que dans une base vide."
        )


# The producer -----------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """Everything the producer needs (picklable, for the child process)."""

    applications: int
    seed: int
    today_day: int
    postgres: bool


@dataclass(frozen=True)
class _Batch:
    stage: str
    done: int
    total: int
    payloads: dict[str, Any]  # table -> encoded rows, in foreign-key order
    counts: dict[str, int]


@dataclass(frozen=True)
class _Finished:
    last_ids: dict[str, int]
    cv_owners: list[CvOwner]


@dataclass(frozen=True)
class _Failure:
    error: BaseException


def _produce(plan: _Plan, put: Callable[[object], bool]) -> None:
    """Draws and encodes every row, handing batches to ``put`` (False: stop)."""
    rng = random.Random(plan.seed)  # reproducible demo data, not security
    people = PeopleFactory(rng)
    world = build_world(rng, people, plan.applications, plan.today_day)
    stream = ApplicationStream(world, rng, people, plan.applications)
    formats = Formats(world.start_day - 1500, world.today_day + 1500)
    make = pg_copy_encoder if plan.postgres else sqlite_encoder
    encoders: dict[str, Callable[[list[Row]], Any]] = {
        name: make(TABLE_BY_NAME[name], formats) for name in TABLE_NAMES
    }
    if plan.postgres:
        encoders.update(fast_encoders(formats))

    def batch(stage: str, done: int, total: int, rows: dict[str, list[Row]]) -> _Batch:
        payloads = {name: encoders[name](rows[name]) for name in TABLE_NAMES if rows.get(name)}
        return _Batch(stage, done, total, payloads, {name: len(rows[name]) for name in payloads})

    if not put(batch(STAGE_REFERENCE, 1, 1, world.rows)):
        return
    for rows, done in stream.batches(CHUNK):
        if not put(batch(STAGE_APPLICATIONS, done, plan.applications, rows)):
            return
    total = contact_count(plan.applications)
    for contact_rows, done in contact_batches(world, rng, people, total, CHUNK * 2):
        if not put(batch(STAGE_CONTACTS, done, total, {"contacts": contact_rows})):
            return
    put(_Finished(dict(world.next_id), stream.cv_owners))


def _from_thread(plan: _Plan) -> Iterator[object]:
    channel: queue.Queue[object] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                channel.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            _produce(plan, put)
        except BaseException as exc:  # noqa: BLE001 - handed over to the loading thread
            put(_Failure(exc))

    worker = threading.Thread(target=run, name="demo-generator", daemon=True)
    worker.start()
    try:
        yield from _drain(channel.get)
    finally:
        stop.set()
        worker.join()


def _child_main(plan: _Plan, channel: Any) -> None:
    try:
        _produce(plan, lambda item: channel.put(item) or True)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent process
        channel.put(_Failure(RuntimeError(f"{type(exc).__name__}: {exc}")))


def _from_child_process(plan: _Plan) -> Iterator[object]:
    context = multiprocessing.get_context("spawn")  # safe even with threads in this process
    channel = context.Queue(maxsize=2)
    child = context.Process(target=_child_main, args=(plan, channel), name="demo-generator")
    child.start()
    try:
        yield from _drain(lambda: _get_from(child, channel))
    finally:
        if child.is_alive():
            child.terminate()
        child.join()
        channel.close()


def _get_from(child: Any, channel: Any) -> object:
    while True:
        try:
            return channel.get(timeout=1.0)
        except queue.Empty:
            if not child.is_alive():
                return _Failure(RuntimeError("le générateur de données s'est arrêté"))


def _drain(get: Callable[[], object]) -> Iterator[object]:
    """Yields batches up to and including the final :class:`_Finished`."""
    while True:
        item = get()
        if isinstance(item, _Failure):
            raise item.error
        yield item
        if isinstance(item, _Finished):
            return


# Loaders ----------------------------------------------------------------------


def _load_postgresql(
    engine: Engine, items: Iterator[object], progress: Progress | None
) -> tuple[dict[str, int], _Finished]:
    counts: dict[str, int] = {}
    finished: _Finished | None = None
    with engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
        connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
        restore = relax_for_bulk_load(connection)
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        for item in items:
            if isinstance(item, _Finished):
                finished = item
                break
            assert isinstance(item, _Batch)
            for name, payload in item.payloads.items():
                with cursor.copy(copy_sql(TABLE_BY_NAME[name])) as copy:
                    copy.write(payload)
            _count(counts, item, progress)
        if finished is None:
            raise RuntimeError("le générateur de données s'est arrêté sans terminer")
        _set_sequences(connection, finished.last_ids)
        steps = len(restore_steps(restore))
        for done, _ in enumerate(restore_after_bulk_load(connection, restore), start=1):
            if progress is not None:
                progress(STAGE_INDEXES, done, steps)
    return counts, finished


def _set_sequences(connection: Connection, last_ids: dict[str, int]) -> None:
    for name in TABLE_NAMES:
        last = last_ids.get(name, 0)
        connection.execute(
            text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :value, :called)"),
            {"table": name, "value": max(last, 1), "called": last > 0},
        )


def _load_sqlite(
    engine: Engine, items: Iterator[object], progress: Progress | None
) -> tuple[dict[str, int], _Finished]:
    counts: dict[str, int] = {}
    with engine.begin() as connection:
        for item in items:
            if isinstance(item, _Finished):
                return counts, item
            assert isinstance(item, _Batch)
            for name, payload in item.payloads.items():
                connection.exec_driver_sql(insert_sql(TABLE_BY_NAME[name]), payload)
            _count(counts, item, progress)
    raise RuntimeError("le générateur de données s'est arrêté sans terminer")


def _count(counts: dict[str, int], batch: _Batch, progress: Progress | None) -> None:
    for name, count in batch.counts.items():
        counts[name] = counts.get(name, 0) + count
    if progress is not None:
        progress(batch.stage, batch.done, batch.total)
