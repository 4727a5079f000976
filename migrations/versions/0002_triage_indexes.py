"""Indexes of the secretariat's screens: keyset pages of the triage queue for
every filter, the accent-insensitive applicant search (PostgreSQL trigram
index on the folded name and email), match review by score, untreated messages.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PENDING = "statut IN ('nouvelle', 'en_etude', 'entretien', 'admise')"

# Name -> (table, columns, partial-index condition or None). On both databases.
INDEXES = {
    # Default queue (pending statuses), oldest first: a small partial index.
    "ix_dash_candidatures_pending_queue": ("candidatures", ["created_at", "id"], PENDING),
    # Unassigned applications (recent ones, mostly): "Non assignées", "Répartir".
    "ix_dash_candidatures_unassigned_queue": (
        "candidatures",
        ["created_at", "id"],
        "assigned_to IS NULL",
    ),
    # Filters with an equality on one column, in queue order. (Every status or a
    # date range: ix_dash_candidatures_created_at of 0001; one status:
    # ix_dash_candidatures_statut_created of 0001.)
    "ix_dash_candidatures_formation_queue": (
        "candidatures",
        ["formation_id", "created_at", "id"],
        None,
    ),
    "ix_dash_candidatures_assigned_queue": (
        "candidatures",
        ["assigned_to", "created_at", "id"],
        None,
    ),
    # Places taken in a session (and the queue's session filter); open workload
    # of each member ("Répartir").
    "ix_dash_candidatures_session_seats": ("candidatures", ["session_id", "statut"], None),
    "ix_dash_candidatures_pending_assignee": ("candidatures", ["assigned_to"], PENDING),
    # Match review: by score within a status, or over every status; by offer, company.
    "ix_dash_matchings_review": ("matchings", ["statut", "score", "id"], None),
    "ix_dash_matchings_score": ("matchings", ["score", "id"], None),
    "ix_dash_matchings_offre": ("matchings", ["offre_id"], None),
    "ix_dash_offres_entreprise": ("offres_emploi", ["entreprise_id"], None),
    "ix_dash_contacts_untreated": ("contacts", ["created_at", "id"], "traite_at IS NULL"),
}

# The applicant search (data.triage.queue.applicant_haystack through
# data.sqlfuncs.fold_text): cipfaro_fold() lower-cases and strips accents.
# With the unaccent extension it is lower(unaccent(...)) (fast); without it, a
# translate() of the usual accented letters (slower, same answers for French).
# unaccent() is only STABLE, so it is wrapped in an IMMUTABLE function, as an
# index expression requires (the dictionary is never changed in place).
FOLD_FROM = "ÀÁÂÃÄÅàáâãäåÇçÈÉÊËèéêëÌÍÎÏìíîïÑñÒÓÔÕÖØòóôõöøÙÚÛÜùúûüÝŸýÿŠšŽžČčĆćŁłŃńŚśŹźŻż"
FOLD_TO = "AAAAAAaaaaaaCcEEEEeeeeIIIIiiiiNnOOOOOOooooooUUUUuuuuYYyySsZzCcCcLlNnSsZzZz"
SEARCH_INDEX = "ix_dash_users_search_trgm"
SEARCH_EXPRESSION = "cipfaro_fold(prenom || ' ' || nom || ' ' || email)"

# Trusted extensions (PostgreSQL 13+): the database owner may create them.
# Where one cannot be created, the search still works (slower, unindexed).
CREATE_SEARCH = f"""
DO $outer$
DECLARE
    has_unaccent boolean := false;
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS unaccent;
        has_unaccent := true;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'unaccent unavailable: cipfaro_fold uses translate()';
    END;
    IF has_unaccent THEN
        EXECUTE $f$CREATE OR REPLACE FUNCTION cipfaro_fold(text) RETURNS text
            LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
            AS 'SELECT lower(public.unaccent(''public.unaccent''::regdictionary, $1))'$f$;
    ELSE
        EXECUTE $f$CREATE OR REPLACE FUNCTION cipfaro_fold(text) RETURNS text
            LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
            AS 'SELECT lower(translate($1, ''{FOLD_FROM}'', ''{FOLD_TO}''))'$f$;
    END IF;
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'pg_trgm unavailable: applicant search stays unindexed';
        RETURN;
    END;
    EXECUTE $i$CREATE INDEX IF NOT EXISTS {SEARCH_INDEX} ON users
        USING gin (({SEARCH_EXPRESSION}) gin_trgm_ops)$i$;
END
$outer$;
"""


def upgrade() -> None:
    for name, (table, columns, where) in INDEXES.items():
        condition = (
            {}
            if where is None
            else {"postgresql_where": sa.text(where), "sqlite_where": sa.text(where)}
        )
        op.create_index(name, table, columns, if_not_exists=True, **condition)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CREATE_SEARCH)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {SEARCH_INDEX}")
        op.execute("DROP FUNCTION IF EXISTS cipfaro_fold(text)")
    for name, (table, _columns, _where) in INDEXES.items():
        op.drop_index(name, table_name=table, if_exists=True)
