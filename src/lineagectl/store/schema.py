"""The DuckDB schema of a lineagectl store, and its migrations.

docs/store.md describes every table and column; keep the two in step (a test
checks that every table here is documented there).

Design, in short:
* ``facet_blobs`` holds every distinct facet payload once, addressed by a hash
  of its canonical JSON, so a facet repeated by every run of a job costs one
  row. Other tables refer to facets by that hash.
* History tables (``events``, ``run_states``, ``run_io``, ``*_facets``,
  ``cll_*``, ``dataset_versions``, ``edges``) only ever gain rows or widen
  ``first_seen``/``last_seen`` ranges, which makes ingest order-independent.
* Current-state tables (``datasets``, ``jobs``, ``runs``, ``columns``,
  ``column_edges``, ``tags``, ``owners``) are recomputed from history for the
  entities an ingest touched; they are caches and can be rebuilt.
* Datasets and jobs are identified by a 64-bit hash of ``namespace`` and
  ``name`` (``lineagectl.ids``), so rows can be written without lookups.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from lineagectl.store.skeleton import to_skeletons

SCHEMA_VERSION = 6

_PRUNE_LOG = """
        CREATE TABLE IF NOT EXISTS prune_log (
            pruned_at       TIMESTAMP NOT NULL,
            detailed_cutoff TIMESTAMP NOT NULL,
            summary_cutoff  TIMESTAMP NOT NULL,
            table_name      VARCHAR NOT NULL,
            rows            BIGINT NOT NULL)"""

# What ``ingest`` read, so that a directory's unchanged file is not read again (``--force`` does).
# Inode and status-change time catch a file rewritten with its size and mtime kept
# (``cp -p``, ``rsync -t``): both change whenever the file is written or replaced.
_INGESTED_FILES = """
        CREATE TABLE IF NOT EXISTS ingested_files (
            path        VARCHAR NOT NULL,
            size        BIGINT NOT NULL,
            mtime_ns    BIGINT NOT NULL,
            events      BIGINT NOT NULL,
            ingested_at TIMESTAMP NOT NULL,
            inode       BIGINT,
            ctime_ns    BIGINT)"""
# Version 4's table, frozen: migration 4 creates it, migration 5 widens it.
_INGESTED_FILES_V4 = """
        CREATE TABLE IF NOT EXISTS ingested_files (
            path        VARCHAR NOT NULL,
            size        BIGINT NOT NULL,
            mtime_ns    BIGINT NOT NULL,
            events      BIGINT NOT NULL,
            ingested_at TIMESTAMP NOT NULL)"""

# Version 3 to 5's events table, frozen: migration 3 creates it, migration 6 converts it.
_EVENTS_V5 = """
        CREATE TABLE {table} (
            event_hash  VARCHAR NOT NULL,
            kind        VARCHAR NOT NULL,
            event_type  VARCHAR,
            event_time  TIMESTAMP NOT NULL,
            run_id      VARCHAR,
            job_id      BIGINT,
            dataset_id  BIGINT,
            producer    VARCHAR,
            schema_url  VARCHAR,
            payload     VARCHAR NOT NULL USING COMPRESSION zstd,
            source      VARCHAR,
            ingested_at TIMESTAMP NOT NULL)"""

# Raw events as skeletons (store/skeleton.py): the canonical event with each facet object
# replaced by a reference into facet_blobs (``facet_refs``), rebuilt byte for byte when read.
# zstd: skeletons repeat their envelope run after run (measured on the 100k-event bench log
# with whole payloads: store 183 MB -> 48 MB, commit and checkpoint 7.3 s -> 3.6 s).
_EVENTS = """
        CREATE TABLE {table} (
            event_hash  VARCHAR NOT NULL,
            kind        VARCHAR NOT NULL,
            event_type  VARCHAR,
            event_time  TIMESTAMP NOT NULL,
            run_id      VARCHAR,
            job_id      BIGINT,
            dataset_id  BIGINT,
            producer    VARCHAR,
            schema_url  VARCHAR,
            skeleton    VARCHAR NOT NULL USING COMPRESSION zstd,
            facet_refs  VARCHAR NOT NULL USING COMPRESSION zstd,
            source      VARCHAR,
            ingested_at TIMESTAMP NOT NULL)"""

TABLES: dict[str, str] = {
    "meta": """
        CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)""",
    "facet_blobs": """
        CREATE TABLE facet_blobs (
            facet_hash VARCHAR NOT NULL,
            payload    VARCHAR NOT NULL)""",
    "events": _EVENTS.format(table="events"),
    "run_states": """
        CREATE TABLE run_states (
            run_id     VARCHAR NOT NULL,
            job_id     BIGINT NOT NULL,
            event_type VARCHAR,
            event_time TIMESTAMP NOT NULL,
            event_hash VARCHAR NOT NULL)""",
    "run_io": """
        CREATE TABLE run_io (
            run_id     VARCHAR NOT NULL,
            job_id     BIGINT NOT NULL,
            dataset_id BIGINT NOT NULL,
            direction  VARCHAR NOT NULL,
            version    VARCHAR,
            event_time TIMESTAMP NOT NULL)""",
    "edges": """
        CREATE TABLE edges (
            dataset_id BIGINT NOT NULL,
            job_id     BIGINT NOT NULL,
            direction  VARCHAR NOT NULL,
            first_seen TIMESTAMP NOT NULL,
            last_seen  TIMESTAMP NOT NULL,
            run_count  BIGINT NOT NULL,
            PRIMARY KEY (dataset_id, job_id, direction))""",
    "dataset_names": """
        CREATE TABLE dataset_names (
            dataset_id BIGINT PRIMARY KEY,
            namespace  VARCHAR NOT NULL,
            name       VARCHAR NOT NULL,
            first_seen TIMESTAMP NOT NULL,
            last_seen  TIMESTAMP NOT NULL)""",
    "job_names": """
        CREATE TABLE job_names (
            job_id     BIGINT PRIMARY KEY,
            namespace  VARCHAR NOT NULL,
            name       VARCHAR NOT NULL,
            first_seen TIMESTAMP NOT NULL,
            last_seen  TIMESTAMP NOT NULL)""",
    "dataset_facets": """
        CREATE TABLE dataset_facets (
            dataset_id BIGINT NOT NULL,
            facet_key  VARCHAR NOT NULL,
            facet_hash VARCHAR NOT NULL,
            first_seen TIMESTAMP NOT NULL,
            last_seen  TIMESTAMP NOT NULL,
            seen_count BIGINT NOT NULL,
            PRIMARY KEY (dataset_id, facet_key, facet_hash))""",
    "job_facets": """
        CREATE TABLE job_facets (
            job_id     BIGINT NOT NULL,
            facet_key  VARCHAR NOT NULL,
            facet_hash VARCHAR NOT NULL,
            first_seen TIMESTAMP NOT NULL,
            last_seen  TIMESTAMP NOT NULL,
            seen_count BIGINT NOT NULL,
            PRIMARY KEY (job_id, facet_key, facet_hash))""",
    "run_facets": """
        CREATE TABLE run_facets (
            run_id     VARCHAR NOT NULL,
            facet_key  VARCHAR NOT NULL,
            facet_hash VARCHAR NOT NULL,
            event_time TIMESTAMP NOT NULL)""",
    "io_facets": """
        CREATE TABLE io_facets (
            run_id     VARCHAR NOT NULL,
            dataset_id BIGINT NOT NULL,
            direction  VARCHAR NOT NULL,
            facet_key  VARCHAR NOT NULL,
            facet_hash VARCHAR NOT NULL,
            event_time TIMESTAMP NOT NULL)""",
    "dataset_versions": """
        CREATE TABLE dataset_versions (
            dataset_id  BIGINT NOT NULL,
            version     VARCHAR NOT NULL,
            run_id      VARCHAR,
            schema_hash VARCHAR,
            schema_time TIMESTAMP,
            created_at  TIMESTAMP NOT NULL)""",
    "schema_fields": """
        CREATE TABLE schema_fields (
            schema_hash VARCHAR NOT NULL,
            ordinal     INTEGER NOT NULL,
            name        VARCHAR NOT NULL,
            type        VARCHAR,
            description VARCHAR)""",
    "cll_sets": """
        CREATE TABLE cll_sets (
            dataset_id BIGINT NOT NULL,
            job_id     BIGINT NOT NULL,
            facet_hash VARCHAR NOT NULL,
            first_seen TIMESTAMP NOT NULL,
            last_seen  TIMESTAMP NOT NULL,
            seen_count BIGINT NOT NULL,
            PRIMARY KEY (dataset_id, job_id, facet_hash))""",
    "cll_fields": """
        CREATE TABLE cll_fields (
            dataset_id     BIGINT NOT NULL,
            facet_hash     VARCHAR NOT NULL,
            column_name    VARCHAR NOT NULL,
            src_dataset_id BIGINT NOT NULL,
            src_column     VARCHAR NOT NULL,
            type           VARCHAR NOT NULL,
            subtype        VARCHAR,
            masking        BOOLEAN NOT NULL,
            description    VARCHAR,
            legacy_type    VARCHAR)""",
    "dataset_aliases": """
        CREATE TABLE dataset_aliases (
            alias_id   BIGINT NOT NULL,
            dataset_id BIGINT NOT NULL,
            kind       VARCHAR NOT NULL,
            alias_type VARCHAR,
            first_seen TIMESTAMP NOT NULL,
            PRIMARY KEY (alias_id, dataset_id, kind))""",
    # ---- current state, recomputed for touched entities ----
    "datasets": """
        CREATE TABLE datasets (
            dataset_id      BIGINT PRIMARY KEY,
            namespace       VARCHAR NOT NULL,
            name            VARCHAR NOT NULL,
            dataset_type    VARCHAR NOT NULL,
            description     VARCHAR,
            current_version VARCHAR,
            schema_hash     VARCHAR,
            lifecycle_state VARCHAR,
            dropped         BOOLEAN NOT NULL,
            first_seen      TIMESTAMP NOT NULL,
            last_seen       TIMESTAMP NOT NULL)""",
    "jobs": """
        CREATE TABLE jobs (
            job_id          BIGINT PRIMARY KEY,
            namespace       VARCHAR NOT NULL,
            name            VARCHAR NOT NULL,
            job_type        VARCHAR,
            processing_type VARCHAR,
            integration     VARCHAR,
            sql             VARCHAR,
            sql_dialect     VARCHAR,
            source_language VARCHAR,
            source_location VARCHAR,
            description     VARCHAR,
            first_seen      TIMESTAMP NOT NULL,
            last_seen       TIMESTAMP NOT NULL)""",
    "runs": """
        CREATE TABLE runs (
            run_id          VARCHAR NOT NULL,
            job_id          BIGINT NOT NULL,
            state           VARCHAR NOT NULL,
            started_at      TIMESTAMP,
            ended_at        TIMESTAMP,
            nominal_start   TIMESTAMP,
            nominal_end     TIMESTAMP,
            parent_run_id   VARCHAR,
            parent_job_namespace VARCHAR,
            parent_job_name VARCHAR,
            error_message   VARCHAR,
            first_event_time TIMESTAMP NOT NULL,
            last_event_time  TIMESTAMP NOT NULL)""",
    "columns": """
        CREATE TABLE columns (
            dataset_id  BIGINT NOT NULL,
            column_name VARCHAR NOT NULL,
            type        VARCHAR,
            description VARCHAR,
            in_schema   BOOLEAN NOT NULL)""",
    "column_edges": """
        CREATE TABLE column_edges (
            src_dataset_id BIGINT NOT NULL,
            src_column     VARCHAR NOT NULL,
            dataset_id     BIGINT NOT NULL,
            column_name    VARCHAR NOT NULL,
            job_id         BIGINT NOT NULL,
            type           VARCHAR NOT NULL,
            subtype        VARCHAR,
            masking        BOOLEAN NOT NULL,
            description    VARCHAR,
            legacy_type    VARCHAR)""",
    "tags": """
        CREATE TABLE tags (
            entity_kind VARCHAR NOT NULL,
            entity_id   BIGINT NOT NULL,
            field       VARCHAR,
            key         VARCHAR NOT NULL,
            value       VARCHAR,
            source      VARCHAR)""",
    "owners": """
        CREATE TABLE owners (
            entity_kind VARCHAR NOT NULL,
            entity_id   BIGINT NOT NULL,
            owner       VARCHAR NOT NULL,
            owner_type  VARCHAR)""",
    # ---- audit ----
    "ingested_files": _INGESTED_FILES,
    "prune_log": _PRUNE_LOG,
}

# Keys (PRIMARY KEY) only on tables that grow with distinct entities or change,
# never with run count: DuckDB keeps ART indexes in memory, and tables keyed by
# run would make an ingest's memory grow with the log. Those are merged with
# anti-joins instead. No secondary indexes: DuckDB scans columns fast.

# Each entry upgrades a store from version N-1 to N. Append; never edit a shipped one.
MIGRATIONS: dict[int, list[str | Callable[[duckdb.DuckDBPyConnection], None]]] = {
    2: [_PRUNE_LOG],  # lineagectl prune's audit table
    # events.payload compressed with zstd; DuckDB cannot change a column's compression
    # in place.
    3: [_EVENTS_V5.format(table="events_v3"), "INSERT INTO events_v3 SELECT * FROM events",
        "DROP TABLE events", "ALTER TABLE events_v3 RENAME TO events"],
    4: [_INGESTED_FILES_V4],  # unchanged files are skipped by ingest
    # Files rewritten with size and mtime preserved are read again; rows of version 4 have
    # no inode, so their files are read once more (deduplication makes that harmless).
    5: ["ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS inode BIGINT",
        "ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS ctime_ns BIGINT"],
    # Events as skeletons with facets by reference: every stored payload split by the function
    # ingest uses (store/skeleton.py), its blobs added where missing; event_hash unchanged.
    6: [_EVENTS.format(table="events_v6"), to_skeletons,
        "DROP TABLE events", "ALTER TABLE events_v6 RENAME TO events"],
}
