"""PostgreSQL bulk load: COPY text encoders for the big tables, and the
"load first, index and constrain after" dance.

PostgreSQL's own advice for populating a database ("Populating a Database"
in its manual): drop indexes and foreign keys, COPY, then recreate them. We
do it inside the load's single transaction, so a failure rolls everything
back, and we recreate each index and constraint from its exact catalog
definition (``pg_get_indexdef`` / ``pg_get_constraintdef``), whoever created
it (the contract or a dashboard migration). Re-adding a foreign key or a
unique constraint checks every loaded row, so nothing is taken on trust.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from sqlalchemy import Connection, text

from data.demo.clock import DAY, Formats
from data.demo.tables import PG_NULL, TABLE_NAMES, Row, pg_escape


def fast_encoders(formats: Formats) -> dict[str, Callable[[Sequence[Row]], bytes]]:
    """Hand-written encoders of the tables with millions of rows."""
    days, base, times = formats.ts_days, formats.ts_base, formats.pg_times
    day_text = formats.day
    n, esc = PG_NULL, pg_escape

    def users(rows: Sequence[Row]) -> bytes:
        return "".join(
            [
                f"{id_}\t{email}\t{password}\t{role}\t{esc(prenom)}\t{esc(nom)}\t"
                f"{n if phone is None else phone}\t{n if commune is None else esc(commune)}\t"
                f"{n if born is None else day_text(born)}\t{'t' if verified else 'f'}\t"
                f"{'t' if active else 'f'}\t{days[created // DAY - base]}{times[created % DAY]}\n"
                for id_, email, password, role, prenom, nom, phone, commune, born, verified, active, created in rows
            ]
        ).encode()

    def candidatures(rows: Sequence[Row]) -> bytes:
        return "".join(
            [
                f"{id_}\t{user}\t{formation}\t{n if session is None else session}\t{statut}\t"
                f"{source}\t{n if funding is None else funding}\t{n if cv is None else cv}\t"
                f"{n if motivation is None else esc(motivation)}\t{n if motif is None else esc(motif)}\t"
                f"{n if assigned is None else assigned}\t"
                f"{days[created // DAY - base]}{times[created % DAY]}\t"
                f"{days[updated // DAY - base]}{times[updated % DAY]}\n"
                for id_, user, formation, session, statut, source, funding, cv, motivation, motif, assigned, created, updated in rows
            ]
        ).encode()

    def events(rows: Sequence[Row]) -> bytes:
        return "".join(
            [
                f"{id_}\t{application}\t{n if before is None else before}\t{after}\t"
                f"{n if by is None else by}\t{days[at // DAY - base]}{times[at % DAY]}\t"
                f"{n if comment is None else esc(comment)}\n"
                for id_, application, before, after, by, at, comment in rows
            ]
        ).encode()

    def invoices(rows: Sequence[Row]) -> bytes:
        return "".join(
            [
                f"{id_}\t{numero}\t{n if application is None else application}\t"
                f"{n if quote is None else quote}\t{funder}\t{amount // 100}.{amount % 100:02d}\t"
                f"{day_text(issued)}\t{day_text(due)}\t{statut}\t"
                f"{n if paid is None else day_text(paid)}\n"
                for id_, numero, application, quote, funder, amount, issued, due, statut, paid in rows
            ]
        ).encode()

    def matchings(rows: Sequence[Row]) -> bytes:
        return "".join(
            [
                f"{id_}\t{candidate}\t{offer}\t{score // 100}.{score % 100:02d}\t{esc(criteria)}\t"
                f"{statut}\t{days[at // DAY - base]}{times[at % DAY]}\t{n if by is None else by}\t"
                f"{n if decided is None else days[decided // DAY - base] + times[decided % DAY]}\n"
                for id_, candidate, offer, score, criteria, statut, at, by, decided in rows
            ]
        ).encode()

    def placements(rows: Sequence[Row]) -> bytes:
        return "".join(
            [
                f"{id_}\t{user}\t{n if application is None else application}\t"
                f"{n if company is None else company}\t{n if offer is None else offer}\t{contract}\t"
                f"{n if months is None else months}\t{day_text(start)}\t{source}\t"
                f"{days[created // DAY - base]}{times[created % DAY]}\n"
                for id_, user, application, company, offer, contract, months, start, source, created in rows
            ]
        ).encode()

    def evaluations(rows: Sequence[Row]) -> bytes:
        return "".join(
            [
                f"{id_}\t{application}\t{note}\t{esc(comment)}\t"
                f"{days[created // DAY - base]}{times[created % DAY]}\n"
                for id_, application, note, comment, created in rows
            ]
        ).encode()

    return {
        "users": users,
        "candidatures": candidatures,
        "candidature_events": events,
        "factures": invoices,
        "matchings": matchings,
        "placements": placements,
        "evaluations": evaluations,
    }


# Indexes and constraints -------------------------------------------------------

_CONSTRAINTS = text(
    """
    SELECT c.conrelid::regclass::text AS tbl, c.conname, c.contype,
           pg_get_constraintdef(c.oid) AS definition
    FROM pg_constraint c
    WHERE c.conrelid = ANY(CAST(:tables AS regclass[])) AND c.contype IN ('f', 'u')
    ORDER BY c.contype DESC, c.conrelid, c.conname
    """
)  # 'u' before 'f': unique keys are restored before the foreign keys
_INDEXES = text(
    """
    SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
    FROM pg_index i
    WHERE i.indrelid = ANY(CAST(:tables AS regclass[])) AND NOT i.indisprimary
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                      WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
    ORDER BY i.indrelid, name
    """
)


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def relax_for_bulk_load(connection: Connection) -> list[str]:
    """Drops secondary indexes, unique and foreign keys of the operational
    tables; returns the statements that recreate them, in order."""
    # All locks at once, in one statement: fewer chances of a deadlock with a reader.
    connection.exec_driver_sql(f"LOCK TABLE {', '.join(TABLE_NAMES)} IN ACCESS EXCLUSIVE MODE")
    params = {"tables": list(TABLE_NAMES)}
    constraints = connection.execute(_CONSTRAINTS, params).all()
    indexes = connection.execute(_INDEXES, params).all()
    restore = [row.definition for row in indexes]
    restore += [
        f"ALTER TABLE {row.tbl} ADD CONSTRAINT {_quoted(row.conname)} {row.definition}"
        for row in constraints
    ]
    for row in sorted(constraints, key=lambda r: r.contype != "f"):  # foreign keys first
        connection.exec_driver_sql(f"ALTER TABLE {row.tbl} DROP CONSTRAINT {_quoted(row.conname)}")
    for row in indexes:
        connection.exec_driver_sql(f"DROP INDEX {row.name}")
    return restore


def restore_steps(statements: list[str]) -> list[str]:
    """ANALYZE first (the checks of foreign keys are joins that need statistics),
    then what :func:`relax_for_bulk_load` dropped."""
    return [f"ANALYZE {', '.join(TABLE_NAMES)}", *statements]


def restore_after_bulk_load(connection: Connection, statements: list[str]) -> Iterator[str]:
    """Runs :func:`restore_steps`, yielding each statement once it has run."""
    for statement in restore_steps(statements):
        connection.exec_driver_sql(statement)
        yield statement
