"""Writing a staged batch into the store's history tables, set-based.

Raw events arrive as one Arrow table (DuckDB's executemany is ~500x slower).
Events whose hash the store already holds are dropped first, which makes
re-ingest a no-op; the rest are unnested by ``unnest.py`` into ``stg_*`` rows
and merged with SQL. Time ranges widen with least()/greatest() and counts add
up, so the result does not depend on the order events arrive in.
"""

from __future__ import annotations

import re
from datetime import datetime

import duckdb
import orjson
import pyarrow as pa

from lineagectl.sources.ingest.unnest import DERIVED_CLL, SETUP, UNNEST
from lineagectl.store import with_tables
from lineagectl.store.skeleton import FacetRow, blobs_table, facet_hash

# The store keeps ``skeleton`` and ``facet_refs`` (store/skeleton.py), with the blobs they name
# staged beside (``skeleton.blobs_table``); ``unnest.py`` reads the skeleton's envelope and the facet rows
# Python made while splitting (FACET_SCHEMA), joined to the event by ``seq``, its place in the batch.
STAGE_SCHEMA = pa.schema([
    ("seq", pa.int32()), ("event_hash", pa.string()), ("source", pa.string()), ("kind", pa.string()),
    ("event_type", pa.string()), ("event_time", pa.timestamp("us")),
    ("skeleton", pa.string()), ("facet_refs", pa.string()),
])
FACET_SCHEMA = pa.schema([
    ("seq", pa.int32()), ("holder", pa.string()), ("position", pa.int32()), ("io", pa.bool_()),
    ("facet_key", pa.string()), ("facet_hash", pa.string()),
])


class Batch:
    """Validated events waiting to be written, column by column, with their facet rows and the
    facet blobs they name."""

    __slots__ = ("blobs", "event_hash", "event_time", "event_type", "facet_refs", "facet_seq", "facets", "kind",
                 "seen", "size", "skeleton", "source")

    def __init__(self) -> None:
        # One list per column of STAGE_SCHEMA but seq (the place in these lists).
        self.event_hash: list[str] = []
        self.source: list[str] = []
        self.kind: list[str] = []
        self.event_type: list[str | None] = []
        self.event_time: list[datetime] = []
        self.skeleton: list[str] = []
        self.facet_refs: list[str] = []
        # FACET_SCHEMA's columns: seq, and the others as one tuple per facet row (as split made them).
        self.facet_seq: list[int] = []
        self.facets: list[FacetRow] = []
        self.blobs: dict[str, bytes] = {}
        self.seen: set[str] = set()
        self.size = 0  # bytes of skeletons and of the distinct blobs

    def __len__(self) -> int:
        return len(self.event_hash)

    def add(self, event_hash: str, source: str, kind: str, event_type: str | None, event_time: datetime,
            skeleton: bytes, facet_refs: str, blobs: dict[str, bytes], facets: list[FacetRow]) -> bool:
        """Add an event (``skeleton``, ``facet_refs``, ``blobs``, ``facets``: ``store.skeleton.split``'s
        parts of it); ``False`` if the batch holds the same event already."""
        if event_hash in self.seen:
            return False
        self.seen.add(event_hash)
        seq = len(self.event_hash)
        self.event_hash.append(event_hash)
        self.source.append(source)
        self.kind.append(kind)
        self.event_type.append(event_type)
        self.event_time.append(event_time)
        self.skeleton.append(skeleton.decode())
        self.facet_refs.append(facet_refs)
        self.facet_seq.extend([seq] * len(facets))
        self.facets.extend(facets)
        self.size += len(skeleton)
        for digest, blob in blobs.items():
            if digest not in self.blobs:
                self.blobs[digest] = blob
                self.size += len(blob)
        return True

    def to_arrow(self) -> pa.Table:
        """The events as one Arrow table (``STAGE_SCHEMA``)."""
        columns = [pa.array(range(len(self.event_hash)), pa.int32())]
        columns += [pa.array(getattr(self, f.name), type=f.type) for f in STAGE_SCHEMA if f.name != "seq"]
        return pa.Table.from_arrays(columns, schema=STAGE_SCHEMA)

    def facets_arrow(self) -> pa.Table:
        """The events' facet rows (``FACET_SCHEMA``)."""
        if not self.facets:
            return FACET_SCHEMA.empty_table()
        columns = [self.facet_seq, *zip(*self.facets, strict=True)]
        return pa.Table.from_arrays([pa.array(column, type=f.type) for column, f in zip(columns, FACET_SCHEMA,
                                                                                      strict=True)],
                                    schema=FACET_SCHEMA)

    def blobs_arrow(self) -> pa.Table:
        """The distinct facet blobs the events name (``skeleton.blobs_table``); the store keeps the new ones."""
        return blobs_table(self.blobs)


def _widen(table: str, source: str, keys: str, columns: str = "", counted: bool = False) -> str:
    """Upsert rows keyed by ``keys``, widening first_seen/last_seen (and adding seen_count)."""
    select = ", ".join(part for part in (keys, columns, "min(event_time), max(event_time)",
                                         "count(*)" if counted else "") if part)
    updates = [f"first_seen = least({table}.first_seen, excluded.first_seen)",
               f"last_seen = greatest({table}.last_seen, excluded.last_seen)"]
    if counted:
        updates.append(f"seen_count = {table}.seen_count + excluded.seen_count")
    return (f"INSERT INTO {table} SELECT {select} FROM {source} GROUP BY {keys} "
            f"ON CONFLICT DO UPDATE SET {', '.join(updates)}")


# The same event has the same eventTime: bounding the lookup by the batch's time range lets
# DuckDB skip row groups of a large store instead of scanning every stored hash per batch.
# Only the duplicates' hashes come back; the batch itself is kept as it is (usually nothing is
# dropped) rather than copied whole into a new Arrow table (measured: 52 -> 15 ms CPU a batch).
_STORED = """SELECT event_hash FROM stg_lines WHERE event_hash IN (
        SELECT event_hash FROM events
        WHERE event_time BETWEEN (SELECT min(event_time) FROM stg_lines) AND (SELECT max(event_time) FROM stg_lines))"""


def _new_events(con: duckdb.DuckDBPyConnection, lines: pa.Table) -> pa.Table:
    """The events of ``lines`` the store does not hold yet."""
    stored = [row[0] for row in with_tables(con, _STORED, {"stg_lines": lines}).fetchall()]
    if not stored:
        return lines
    # Imported here: pyarrow.compute takes ~70 ms to import, a tenth of a re-ingest's fixed cost,
    # and only a batch holding duplicates needs it.
    import pyarrow.compute as pc

    return lines.filter(pc.invert(pc.is_in(lines["event_hash"], value_set=pa.array(stored, pa.string()))))


# Facets and column lineage derived by lineagectl (``write_derived_cll``); ``_MERGE`` stores an event's.
_MERGE_FACET_BLOBS = """INSERT INTO facet_blobs SELECT s.facet_hash, s.payload FROM stg_facet_blobs s
       ANTI JOIN facet_blobs b USING (facet_hash)"""
_MERGE_CLL_SETS = _widen("cll_sets", "stg_cll_sets", "dataset_id, job_id, facet_hash", counted=True)
_MERGE_CLL_FIELDS = """INSERT INTO cll_fields SELECT s.* FROM stg_cll_fields s
       ANTI JOIN (SELECT DISTINCT dataset_id, facet_hash FROM cll_fields) f
       USING (dataset_id, facet_hash)"""

# Statements run per batch, in order. ``stg_*`` are the staged Arrow tables.
_MERGE = [
    """INSERT INTO events
       SELECT n.event_hash, n.kind, n.event_type, n.event_time, i.run_id, i.job_id, i.dataset_id,
              i.producer, i.schema_url, n.skeleton, n.facet_refs, n.source, now()::TIMESTAMP
       FROM new_events n JOIN ev_ids i USING (event_hash)""",
    # The blobs the skeletons and the facet tables name (Python is the one hasher of facets).
    """INSERT INTO facet_blobs SELECT s.facet_hash, s.payload FROM stg_event_blobs s
       ANTI JOIN facet_blobs b USING (facet_hash)""",
    """INSERT INTO run_states SELECT s.run_id, s.job_id, s.event_type, s.event_time, s.event_hash
       FROM stg_run_states s""",
    # Detailed lineage: one row per (run, dataset, direction); earliest time, any version. A run id
    # two jobs send (a producer's bug) belongs to the job of its earliest event, ties to the smaller
    # job id: the rule the runs table follows (derive.py), whatever order the events come in.
    """CREATE OR REPLACE TEMP TABLE batch_io AS
       SELECT run_id, arg_min(job_id, row(event_time, job_id)) AS job_id, dataset_id, direction,
              max(version) AS version, min(event_time) AS first_time, max(event_time) AS last_time
       FROM stg_run_io
       GROUP BY run_id, dataset_id, direction""",
    """CREATE OR REPLACE TEMP TABLE new_io AS
       SELECT b.* FROM batch_io b ANTI JOIN run_io r USING (run_id, dataset_id, direction)""",
    """UPDATE run_io SET event_time = least(run_io.event_time, b.first_time),
              job_id = CASE WHEN row(b.first_time, b.job_id) < row(run_io.event_time, run_io.job_id)
                            THEN b.job_id ELSE run_io.job_id END,
              version = coalesce(run_io.version, b.version)
       FROM batch_io b
       WHERE run_io.run_id = b.run_id AND run_io.dataset_id = b.dataset_id
         AND run_io.direction = b.direction
         AND (row(b.first_time, b.job_id) < row(run_io.event_time, run_io.job_id)
              OR (run_io.version IS NULL AND b.version IS NOT NULL))""",
    """INSERT INTO run_io SELECT run_id, job_id, dataset_id, direction, version, first_time FROM new_io""",
    # Summary lineage: time range over every new event, run count over new (run, edge) pairs.
    """INSERT INTO edges
       SELECT dataset_id, job_id, direction, min(t0), max(t1), sum(runs) FROM (
           SELECT b.dataset_id, b.job_id, b.direction, b.first_time AS t0, b.last_time AS t1,
                  CASE WHEN n.run_id IS NULL THEN 0 ELSE 1 END AS runs
           FROM batch_io b LEFT JOIN new_io n USING (run_id, dataset_id, direction)
           UNION ALL
           SELECT dataset_id, job_id, direction, event_time, event_time, 0
           FROM stg_static_edges)
       GROUP BY dataset_id, job_id, direction
       ON CONFLICT DO UPDATE SET first_seen = least(edges.first_seen, excluded.first_seen),
                                 last_seen = greatest(edges.last_seen, excluded.last_seen),
                                 run_count = edges.run_count + excluded.run_count""",
    _widen("dataset_names", "stg_dataset_names", "dataset_id", "any_value(namespace), any_value(name)"),
    _widen("job_names", "stg_job_names", "job_id", "any_value(namespace), any_value(name)"),
    _widen("dataset_facets", "stg_dataset_facets", "dataset_id, facet_key, facet_hash", counted=True),
    _widen("job_facets", "stg_job_facets", "job_id, facet_key, facet_hash", counted=True),
    """INSERT INTO run_facets SELECT run_id, facet_key, facet_hash, event_time
       FROM stg_run_facets""",
    """INSERT INTO io_facets SELECT run_id, dataset_id, direction, facet_key, facet_hash, event_time
       FROM stg_io_facets""",
    # One version per (dataset, version): earliest creation, the schema of the latest event with one.
    """CREATE OR REPLACE TEMP TABLE batch_versions AS
       SELECT dataset_id, version, arg_min(run_id, event_time) AS run_id,
              arg_max(schema_hash, event_time) FILTER (WHERE schema_hash IS NOT NULL) AS schema_hash,
              max(event_time) FILTER (WHERE schema_hash IS NOT NULL) AS schema_time,
              min(event_time) AS created_at
       FROM stg_dataset_versions GROUP BY dataset_id, version""",
    """UPDATE dataset_versions v SET
           created_at = least(v.created_at, b.created_at),
           run_id = CASE WHEN b.created_at < v.created_at THEN b.run_id ELSE v.run_id END,
           schema_hash = CASE WHEN b.schema_time > coalesce(v.schema_time, b.schema_time - INTERVAL 1 SECOND)
                              THEN b.schema_hash ELSE v.schema_hash END,
           schema_time = greatest(v.schema_time, b.schema_time)
       FROM batch_versions b WHERE v.dataset_id = b.dataset_id AND v.version = b.version""",
    """INSERT INTO dataset_versions
       SELECT b.dataset_id, b.version, b.run_id, b.schema_hash, b.schema_time, b.created_at
       FROM batch_versions b ANTI JOIN dataset_versions v USING (dataset_id, version)""",
    """INSERT INTO schema_fields SELECT s.* FROM stg_schema_fields s
       ANTI JOIN (SELECT DISTINCT schema_hash FROM schema_fields) f USING (schema_hash)""",
    _MERGE_CLL_SETS,
    _MERGE_CLL_FIELDS,
    # An alias is also a name: keep it in dataset_names so lookups find it.
    _widen("dataset_names", "stg_aliases", "alias_id", "any_value(alias_namespace), any_value(alias_name)"),
    # Symlinks as sent; renames are facts in time (dataset_facets), made aliases at the end of the
    # file, where chains are flattened (derive.py, flatten_aliases).
    """INSERT INTO dataset_aliases
       SELECT alias_id, dataset_id, kind, any_value(alias_type), min(event_time)
       FROM stg_aliases WHERE kind = 'symlink'
       GROUP BY alias_id, dataset_id, kind
       ON CONFLICT DO UPDATE SET first_seen = least(dataset_aliases.first_seen, excluded.first_seen)""",
    # Remember what this file touched, for the refresh of current state at its end.
    """INSERT INTO touched_datasets
       SELECT dataset_id FROM stg_dataset_names
       UNION SELECT src_dataset_id FROM stg_cll_fields
       UNION SELECT alias_id FROM stg_aliases""",
    """INSERT INTO touched_jobs SELECT job_id FROM stg_job_names""",
    """INSERT INTO touched_runs SELECT run_id FROM stg_run_states""",
    "INSERT INTO touched_aliases SELECT DISTINCT kind, dataset_id FROM stg_aliases",
]


def begin_touch_tracking(con: duckdb.DuckDBPyConnection) -> None:
    """Create (empty) the temp tables that collect the ids an ingest touched."""
    for statement in SETUP:
        con.execute(statement)
    con.execute("CREATE OR REPLACE TEMP TABLE touched_datasets (dataset_id BIGINT)")
    con.execute("CREATE OR REPLACE TEMP TABLE touched_jobs (job_id BIGINT)")
    con.execute("CREATE OR REPLACE TEMP TABLE touched_runs (run_id VARCHAR)")
    con.execute("CREATE OR REPLACE TEMP TABLE touched_aliases (kind VARCHAR, dataset_id BIGINT)")


_STAGE = re.compile(r"\s*CREATE OR REPLACE TEMP TABLE (\w+) AS\s+(.*)", re.DOTALL)


def _run(con: duckdb.DuckDBPyConnection, statements: list[str], stages: dict[str, pa.Table]) -> None:
    """Run ``statements`` in order; each ``CREATE OR REPLACE TEMP TABLE x AS …`` adds stage ``x``."""
    for statement in statements:
        staged = _STAGE.match(statement)
        if staged:
            name, select = staged.groups()
            stages[name] = with_tables(con, select, stages).to_arrow_table()
        else:
            relation = with_tables(con, statement, stages)
            if relation is not None:
                relation.fetchall()


def write_batch(con: duckdb.DuckDBPyConnection, lines: pa.Table, facets: pa.Table, blobs: pa.Table) -> int:
    """Unnest and merge one batch of validated events (``Batch.to_arrow``), their facet rows
    (``Batch.facets_arrow``) and the facet blobs they name (``Batch.blobs_arrow``); returns the
    count of new events."""
    stages: dict[str, pa.Table] = {"new_events": _new_events(con, lines), "facet_rows": facets,
                                   "stg_event_blobs": blobs}
    _run(con, [*UNNEST, *_MERGE], stages)
    return stages["new_events"].num_rows


_DERIVED_SCHEMA = pa.schema([("dataset_id", pa.int64()), ("job_id", pa.int64()),
                             ("event_time", pa.timestamp("us")), ("facet_hash", pa.string()),
                             ("value", pa.string())])


def write_derived_cll(con: duckdb.DuckDBPyConnection, rows: list[tuple[int, int, datetime, dict]]) -> None:
    """Store columnLineage facets lineagectl derived, as (output dataset, job, time seen, facet):
    serialised and hashed as an event's facet is (``store.skeleton.facet_hash``), and expanded
    into ``cll_fields`` by the statements that store an event's, so a facet gets the hash and the
    rows the same facet sent in an event gets."""
    if not rows:
        return
    columns: list[list] = [[], [], [], [], []]
    for dataset_id, job_id, seen, facet in rows:
        blob = orjson.dumps(facet)
        for column, value in zip(columns, (dataset_id, job_id, seen, facet_hash(blob), blob.decode()), strict=True):
            column.append(value)
    table = pa.Table.from_arrays(
        [pa.array(values, type=f.type) for values, f in zip(columns, _DERIVED_SCHEMA, strict=True)],
        schema=_DERIVED_SCHEMA)
    _run(con, [*DERIVED_CLL, _MERGE_FACET_BLOBS, _MERGE_CLL_SETS, _MERGE_CLL_FIELDS], {"derived_cll": table})
