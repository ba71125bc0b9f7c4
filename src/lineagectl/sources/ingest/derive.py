"""Recomputing current state (datasets, jobs, runs, columns, tags, owners) from history.

Runs once at the end of each ingested file, for the entities it touched. The
"latest" facet of an entity and key is the one seen last by eventTime (ties
broken by hash, so every order of arrival gives the same answer); a latest
``_deleted`` facet means the entity has none.

Aliases are current state too: renames are kept as facts in time (the
``lifecycleStateChange`` RENAME facets in ``dataset_facets``) and ``dataset_aliases``
is recomputed from them as flat rows, every old name straight to the current one
(``flatten_aliases``); a run that only dropped or renamed a dataset keeps no version
of it (``reconcile_unwritten``); ``datasets.dropped`` follows the rule every answer
applies (``mark_dropped``, through ``store.lookups.dropped_at``).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from lineagectl.common.ids import RUN_ID_MACRO
from lineagectl.sources.ingest.unnest import SYMLINKS, UNWRITTEN_STATES
from lineagectl.store import with_tables
from lineagectl.store.lookups import dropped_at
from lineagectl.store.skeleton import BlobReader

DELETED = "deleted"  # the facet hash recorded for a `_deleted: true` facet

# Latest by time, ties broken by hash. arg_max aggregates spill to disk under
# DuckDB's memory limit where window functions (QUALIFY) ran out of memory on
# a 100k-dataset, 1M-event file.
_LATEST = """
    SELECT {id}, facet_key, arg_max(facet_hash, row(last_seen, facet_hash)) AS facet_hash
    FROM {table} SEMI JOIN {touched} USING ({id}) GROUP BY {id}, facet_key
"""


def _current_facets(entity: str) -> str:
    """SQL for (id, facet_key, facet_hash, payload) of the live latest facets of touched entities."""
    table, touched, id_col = {
        "dataset": ("dataset_facets", "touched_datasets", "dataset_id"),
        "job": ("job_facets", "touched_jobs", "job_id"),
    }[entity]
    latest = _LATEST.format(id=id_col, table=table, touched=touched)
    return f"""
        SELECT l.{id_col}, l.facet_key, l.facet_hash, b.payload
        FROM ({latest}) l JOIN facet_blobs b USING (facet_hash)
        WHERE l.facet_hash <> '{DELETED}'"""


_REFRESH = [
    # A touched alias (a version written under an old name, say) touches the dataset it names.
    """INSERT INTO touched_datasets
       SELECT a.dataset_id FROM dataset_aliases a SEMI JOIN touched_datasets t ON t.dataset_id = a.alias_id""",
    "CREATE OR REPLACE TEMP TABLE touched_datasets AS SELECT DISTINCT dataset_id FROM touched_datasets",
    "CREATE OR REPLACE TEMP TABLE touched_jobs AS SELECT DISTINCT job_id FROM touched_jobs",
    "CREATE OR REPLACE TEMP TABLE touched_runs AS SELECT DISTINCT run_id FROM touched_runs",
    # A JobEvent states a job's design-time lineage as of its time (a newer dbt manifest, say):
    # edges only JobEvents made (no run) that the job's newest JobEvent no longer names go.
    # Edges seen in runs are runtime history and stay.
    """DELETE FROM edges WHERE run_count = 0 AND job_id IN (SELECT job_id FROM touched_jobs)
         AND last_seen < (SELECT max(v.event_time) FROM events v WHERE v.kind = 'job' AND v.job_id = edges.job_id)""",
    f"CREATE OR REPLACE TEMP TABLE cur_dataset_facets AS {_current_facets('dataset')}",
    f"CREATE OR REPLACE TEMP TABLE cur_job_facets AS {_current_facets('job')}",
    """INSERT OR REPLACE INTO datasets
       WITH f AS (
           SELECT dataset_id,
                  max(upper(payload->>'datasetType')) FILTER (WHERE facet_key = 'datasetType') AS dataset_type,
                  max(payload->>'description') FILTER (WHERE facet_key = 'documentation') AS description,
                  max(payload->>'datasetVersion') FILTER (WHERE facet_key = 'version') AS version,
                  max(facet_hash) FILTER (WHERE facet_key = 'schema') AS schema_hash,
                  max(upper(payload->>'lifecycleStateChange'))
                      FILTER (WHERE facet_key = 'lifecycleStateChange') AS lifecycle
           FROM cur_dataset_facets GROUP BY dataset_id),
       -- Versions written under any of a dataset's names (an old name, a symlink) are its versions.
       spellings AS (
           SELECT dataset_id AS raw_id, dataset_id FROM touched_datasets
           UNION ALL SELECT alias_id, dataset_id FROM dataset_aliases SEMI JOIN touched_datasets USING (dataset_id)),
       v AS (
           SELECT s.dataset_id, arg_max(w.version, row(w.created_at, w.version)) AS version
           FROM dataset_versions w JOIN spellings s ON s.raw_id = w.dataset_id GROUP BY s.dataset_id)
       SELECT n.dataset_id, n.namespace, n.name, coalesce(f.dataset_type, 'DATASET'), f.description,
              coalesce(f.version, v.version), f.schema_hash, f.lifecycle,
              false, n.first_seen, n.last_seen
       FROM dataset_names n SEMI JOIN touched_datasets USING (dataset_id)
       LEFT JOIN f USING (dataset_id) LEFT JOIN v USING (dataset_id)
       WHERE n.dataset_id NOT IN (SELECT alias_id FROM dataset_aliases)""",
    # ``dropped`` is set after, by the rule every answer applies (``mark_dropped``).
    # A name that became an alias (symlink, rename) is no longer a dataset of its own.
    "DELETE FROM datasets WHERE dataset_id IN (SELECT alias_id FROM dataset_aliases)",
    """INSERT OR REPLACE INTO jobs
       WITH f AS (
           SELECT job_id,
                  max(payload->>'jobType') FILTER (WHERE facet_key = 'jobType') AS job_type,
                  max(payload->>'processingType') FILTER (WHERE facet_key = 'jobType') AS processing_type,
                  max(payload->>'integration') FILTER (WHERE facet_key = 'jobType') AS integration,
                  max(payload->>'query') FILTER (WHERE facet_key = 'sql') AS sql,
                  max(payload->>'dialect') FILTER (WHERE facet_key = 'sql') AS sql_dialect,
                  max(payload->>'language') FILTER (WHERE facet_key = 'sourceCode') AS source_language,
                  max(payload->>'url') FILTER (WHERE facet_key = 'sourceCodeLocation') AS source_location,
                  max(payload->>'description') FILTER (WHERE facet_key = 'documentation') AS description
           FROM cur_job_facets GROUP BY job_id)
       SELECT n.job_id, n.namespace, n.name, f.job_type, f.processing_type, f.integration, f.sql,
              f.sql_dialect, f.source_language, f.source_location, f.description,
              n.first_seen, n.last_seen
       FROM job_names n SEMI JOIN touched_jobs USING (job_id) LEFT JOIN f USING (job_id)""",
    # Current column lineage: the latest column-lineage facet of each (output dataset, job).
    "DELETE FROM column_edges WHERE dataset_id IN (SELECT dataset_id FROM touched_datasets)",
    f"""INSERT INTO column_edges
       SELECT c.src_dataset_id, c.src_column, c.dataset_id, c.column_name, l.job_id, c.type,
              c.subtype, c.masking, c.description, c.legacy_type
       FROM (SELECT dataset_id, job_id, arg_max(facet_hash, row(last_seen, facet_hash)) AS facet_hash
             FROM cll_sets SEMI JOIN touched_datasets USING (dataset_id) GROUP BY dataset_id, job_id) l
       JOIN cll_fields c USING (dataset_id, facet_hash)
       WHERE l.facet_hash <> '{DELETED}'""",
    # Columns known only from lineage live on the sources of the touched datasets' column edges:
    # their columns are recomputed too. Only their columns: the sources' tags and owners are
    # rewritten from cur_dataset_facets, which holds the touched datasets alone, so the
    # widened set is a table of its own and touched_datasets stays what it was.
    """CREATE OR REPLACE TEMP TABLE column_datasets AS
       SELECT dataset_id FROM touched_datasets
       UNION SELECT src_dataset_id FROM column_edges SEMI JOIN touched_datasets USING (dataset_id)""",
    "DELETE FROM columns WHERE dataset_id IN (SELECT dataset_id FROM column_datasets)",
    """INSERT INTO columns
       WITH schema_cols AS (
           SELECT d.dataset_id, f.name AS column_name, f.type, f.description, f.ordinal
           FROM datasets d SEMI JOIN column_datasets USING (dataset_id)
           JOIN schema_fields f ON f.schema_hash = d.schema_hash),
       lineage_cols AS (
           SELECT dataset_id, column_name FROM column_edges SEMI JOIN column_datasets USING (dataset_id)
           UNION SELECT src_dataset_id, src_column FROM column_edges
           WHERE src_dataset_id IN (SELECT dataset_id FROM column_datasets))
       SELECT dataset_id, column_name, type, description, true FROM schema_cols
       UNION ALL
       SELECT l.dataset_id, l.column_name, NULL, NULL, false FROM lineage_cols l
       ANTI JOIN schema_cols s USING (dataset_id, column_name)
       WHERE l.dataset_id IN (SELECT dataset_id FROM datasets)""",
    "DELETE FROM tags WHERE entity_kind = 'dataset' AND entity_id IN (SELECT dataset_id FROM touched_datasets)",
    "DELETE FROM tags WHERE entity_kind = 'job' AND entity_id IN (SELECT job_id FROM touched_jobs)",
    "DELETE FROM owners WHERE entity_kind = 'dataset' AND entity_id IN (SELECT dataset_id FROM touched_datasets)",
    "DELETE FROM owners WHERE entity_kind = 'job' AND entity_id IN (SELECT job_id FROM touched_jobs)",
]

# Runs are refreshed in slices: one file can touch millions, and their facets
# joined at once outgrew DuckDB's memory limit.
RUN_SLICE = 100_000
_RUNS = [
    "DELETE FROM runs WHERE run_id IN (SELECT run_id FROM run_part)",
    """INSERT INTO runs
       WITH s AS (
           SELECT run_id,
                  arg_min(job_id, row(event_time, job_id)) AS job_id,
                  arg_max(event_type, row(event_time, event_type))
                      FILTER (WHERE event_type IN ('COMPLETE', 'FAIL', 'ABORT')) AS terminal,
                  arg_max(coalesce(event_type, 'OTHER'), row(event_time, coalesce(event_type, 'OTHER')))
                      AS latest,
                  min(event_time) FILTER (WHERE event_type = 'START') AS started,
                  max(event_time) FILTER (WHERE event_type IN ('COMPLETE', 'FAIL', 'ABORT')) AS ended,
                  min(event_time) AS first_time, max(event_time) AS last_time
           FROM run_states SEMI JOIN run_part USING (run_id) GROUP BY run_id),
       f AS (
           SELECT run_id, facet_key, b.payload FROM (
               SELECT run_id, facet_key, arg_max(facet_hash, row(event_time, facet_hash)) AS facet_hash
               FROM run_facets SEMI JOIN run_part USING (run_id) GROUP BY run_id, facet_key) l
           JOIN facet_blobs b USING (facet_hash)),
       p AS (
           SELECT run_id,
                  max(payload->>'nominalStartTime') FILTER (WHERE facet_key = 'nominalTime') AS nominal_start,
                  max(payload->>'nominalEndTime') FILTER (WHERE facet_key = 'nominalTime') AS nominal_end,
                  lineagectl_run_id(max(payload->'run'->>'runId') FILTER (WHERE facet_key = 'parent')) AS parent_run,
                  max(payload->'job'->>'namespace') FILTER (WHERE facet_key = 'parent') AS parent_ns,
                  max(payload->'job'->>'name') FILTER (WHERE facet_key = 'parent') AS parent_name,
                  max(payload->>'message') FILTER (WHERE facet_key = 'errorMessage') AS error_message
           FROM f GROUP BY run_id)
       SELECT s.run_id, s.job_id, coalesce(s.terminal, s.latest), coalesce(s.started, s.first_time),
              s.ended, lineagectl_ts(p.nominal_start), lineagectl_ts(p.nominal_end),
              p.parent_run, p.parent_ns, p.parent_name, p.error_message, s.first_time, s.last_time
       FROM s LEFT JOIN p USING (run_id)""",
]

_TAG_TYPE = """'[{"key": "VARCHAR", "value": "VARCHAR", "source": "VARCHAR", "field": "VARCHAR"}]'"""
_OWNER_TYPE = """'[{"name": "VARCHAR", "type": "VARCHAR"}]'"""

for _kind, _table, _id in (("dataset", "cur_dataset_facets", "dataset_id"), ("job", "cur_job_facets", "job_id")):
    _REFRESH.append(f"""
        INSERT INTO tags
        SELECT DISTINCT '{_kind}', {_id}, t.field, t.key, t.value, t.source FROM (
            SELECT {_id}, unnest(from_json(payload->'tags', {_TAG_TYPE})) AS t
            FROM {_table} WHERE facet_key = 'tags')""")
    _REFRESH.append(f"""
        INSERT INTO owners
        SELECT DISTINCT '{_kind}', {_id}, o.name, o.type FROM (
            SELECT {_id}, unnest(from_json(payload->'owners', {_OWNER_TYPE})) AS o
            FROM {_table} WHERE facet_key = 'ownership')
        WHERE o.name IS NOT NULL""")


# --- aliases: flat, from renames as facts in time ---------------------------------------------------
#
# A rename is a fact (old name -> new name, time): each RENAME payload a dataset carried, at its
# first and last sighting. Facts are put in one total order ``k`` (time, then ids: every arrival
# order gives the same). Replaying them in that order, a rename points its old name, and every name
# that pointed there, at the new name; the new name is current again, whatever it pointed at before.
# So the latest rename of a name wins: a name last renamed to is current; a name last renamed away
# (old -> new at k) is an alias of where the table went: new, then new's first rename after k, then
# that name's first rename after that one, and so on. A chain ends at a current name, so aliases
# are flat and never name themselves. A symlink of a renamed name follows the chain from when the
# symlink was last seen.
# Payloads are read from lifecycle_payloads, a table of its own (elsewhere a MATERIALIZED CTE) so
# that the filter on a payload is not pushed below the join into a scan of every facet blob.
_FLATTEN = [
    """CREATE OR REPLACE TEMP TABLE lifecycle_payloads AS
       SELECT f.dataset_id, f.first_seen, f.last_seen, b.payload
       FROM (SELECT dataset_id, facet_hash, first_seen, last_seen FROM dataset_facets
             WHERE facet_key = 'lifecycleStateChange') f
       JOIN facet_blobs b USING (facet_hash)""",
    """CREATE OR REPLACE TEMP TABLE rename_facts AS
       WITH r AS (
           SELECT dataset_id AS new_id, first_seen, last_seen, payload->'previousIdentifier'->>'namespace' AS ns,
                  payload->'previousIdentifier'->>'name' AS name
           FROM lifecycle_payloads WHERE upper(payload->>'lifecycleStateChange') = 'RENAME'),
       facts AS (
           SELECT DISTINCT old_id, new_id, t FROM (
               SELECT lineagectl_id(ns, name) AS old_id, new_id, unnest([first_seen, last_seen]) AS t
               FROM r WHERE ns IS NOT NULL AND name IS NOT NULL))
       SELECT old_id, new_id, t, row_number() OVER (ORDER BY t, new_id, old_id) AS k
       FROM facts WHERE old_id <> new_id""",
    """CREATE OR REPLACE TEMP TABLE rename_names AS
       SELECT old_id AS name FROM rename_facts UNION SELECT new_id FROM rename_facts""",
    # Where each alias's chain starts (k NULL: no rename after, it names its carrier as it is).
    f"""CREATE OR REPLACE TEMP TABLE alias_starts AS
       WITH latest AS (
           SELECT name, max(k) AS k FROM (SELECT old_id AS name, k FROM rename_facts
                                          UNION ALL SELECT new_id, k FROM rename_facts) GROUP BY name),
       links AS (
           SELECT f.dataset_id AS carrier, f.first_seen, f.last_seen,
                  unnest(json_transform(b.payload, '{SYMLINKS}').identifiers) AS a
           FROM (SELECT dataset_id, facet_hash, first_seen, last_seen FROM dataset_facets
                 WHERE facet_key = 'symlinks' AND dataset_id IN (SELECT name FROM rename_names)) f
           JOIN facet_blobs b USING (facet_hash)),
       link_facts AS (
           SELECT lineagectl_id(a.namespace, a.name) AS alias_id, carrier, any_value(a.type) AS alias_type,
                  min(first_seen) AS first_seen, max(last_seen) AS last_seen
           FROM links WHERE a.namespace IS NOT NULL AND a.name IS NOT NULL GROUP BY 1, 2)
       SELECT l.name AS alias_id, l.name AS carrier, 'rename' AS kind, NULL::VARCHAR AS alias_type,
              l.k, NULL::TIMESTAMP AS first_seen
       FROM latest l JOIN rename_facts f ON f.k = l.k AND f.old_id = l.name
       UNION ALL
       SELECT l.alias_id, l.carrier, 'symlink', l.alias_type,
              (SELECT min(f.k) FROM rename_facts f WHERE f.old_id = l.carrier AND f.t >= l.last_seen), l.first_seen
       FROM link_facts l""",
    # Each fact's next: the first rename of the name it gave, after it. Chains follow these links.
    # A symlink seen on a name after its last rename names what that name names now.
    """CREATE OR REPLACE TEMP TABLE flat_aliases AS
       WITH RECURSIVE hop AS (
           SELECT a.k, min(b.k) AS next_k
           FROM rename_facts a LEFT JOIN rename_facts b ON b.old_id = a.new_id AND b.k > a.k GROUP BY a.k),
       chain(start_k, k) AS (
           SELECT DISTINCT k, k FROM alias_starts WHERE k IS NOT NULL
           UNION ALL
           SELECT c.start_k, h.next_k FROM chain c JOIN hop h ON h.k = c.k WHERE h.next_k IS NOT NULL),
       ends AS (
           SELECT c.start_k, e.new_id FROM (SELECT start_k, max(k) AS k FROM chain GROUP BY start_k) c
           JOIN rename_facts e USING (k)),
       resolved AS (
           SELECT s.alias_id, s.carrier, s.k, coalesce(e.new_id, s.carrier) AS dataset_id, s.kind, s.alias_type,
                  coalesce(s.first_seen, f.t) AS first_seen
           FROM alias_starts s LEFT JOIN ends e ON e.start_k = s.k LEFT JOIN rename_facts f ON f.k = s.k),
       flat AS (
           SELECT r.alias_id, CASE WHEN r.kind = 'symlink' AND r.k IS NULL THEN coalesce(n.dataset_id, r.dataset_id)
                                   ELSE r.dataset_id END AS dataset_id, r.kind, r.alias_type, r.first_seen
           FROM resolved r LEFT JOIN resolved n ON n.kind = 'rename' AND n.alias_id = r.carrier)
       SELECT alias_id, dataset_id, kind, any_value(alias_type) AS alias_type, min(first_seen) AS first_seen
       FROM flat WHERE alias_id <> dataset_id GROUP BY alias_id, dataset_id, kind""",
    # The rows recomputed: every rename, and the symlinks of names a rename involves.
    """CREATE OR REPLACE TEMP TABLE replaced_aliases AS
       SELECT * FROM dataset_aliases
       WHERE kind = 'rename' OR kind = 'symlink' AND dataset_id IN (SELECT name FROM rename_names)""",
    """DELETE FROM dataset_aliases
       WHERE kind = 'rename' OR kind = 'symlink' AND dataset_id IN (SELECT name FROM rename_names)""",
    "INSERT INTO dataset_aliases SELECT * FROM flat_aliases",
    # Names that became, or stopped being, aliases, and what they name: their current state changes.
    """INSERT INTO touched_datasets
       WITH changed AS (
           (SELECT alias_id, dataset_id, kind FROM replaced_aliases
            EXCEPT SELECT alias_id, dataset_id, kind FROM flat_aliases)
           UNION ALL
           (SELECT alias_id, dataset_id, kind FROM flat_aliases
            EXCEPT SELECT alias_id, dataset_id, kind FROM replaced_aliases))
       SELECT alias_id FROM changed UNION SELECT dataset_id FROM changed""",
]


# Whether a file's symlinks (``touched_aliases``: kind, the dataset that carried it) are on a name
# some rename involves: only then do they need flattening (renames always do).
_ON_RENAMED = """
    WITH l AS MATERIALIZED (
        SELECT f.dataset_id, b.payload
        FROM (SELECT dataset_id, facet_hash FROM dataset_facets WHERE facet_key = 'lifecycleStateChange') f
        JOIN facet_blobs b USING (facet_hash)),
    r AS (SELECT dataset_id AS new_id, lineagectl_id(payload->'previousIdentifier'->>'namespace',
                                                     payload->'previousIdentifier'->>'name') AS old_id
          FROM l WHERE upper(payload->>'lifecycleStateChange') = 'RENAME')
    SELECT EXISTS (SELECT 1 FROM touched_aliases
                   WHERE dataset_id IN (SELECT new_id FROM r UNION SELECT old_id FROM r))"""


def flatten_aliases(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute the rename aliases (and the symlinks of renamed names) as flat rows, and touch
    the datasets whose alias state changed; when the file brought a rename, or a symlink of a
    renamed name (a symlink of any other name is stored as sent, and flat already)."""
    kinds = {r[0] for r in con.execute("SELECT DISTINCT kind FROM touched_aliases").fetchall()}
    if not kinds or ("rename" not in kinds and not con.execute(_ON_RENAMED).fetchall()[0][0]):
        return
    for statement in _FLATTEN:
        con.execute(statement)


# The RENAME and DROP marks of touched datasets, by any of their names: (the name that carried it,
# the dataset it is now, state). Payloads are joined in a MATERIALIZED CTE so that the filter on
# them is not pushed into a scan of every facet blob.
_MARKS = f"""
    WITH spellings AS (
        SELECT dataset_id AS raw_id, dataset_id FROM touched_datasets
        UNION SELECT a.alias_id, a.dataset_id FROM dataset_aliases a
              WHERE a.dataset_id IN (SELECT dataset_id FROM touched_datasets)
                 OR a.alias_id IN (SELECT dataset_id FROM touched_datasets)),
    l AS MATERIALIZED (
        SELECT f.dataset_id AS raw_id, b.payload
        FROM (SELECT dataset_id, facet_hash FROM dataset_facets
              WHERE facet_key = 'lifecycleStateChange' AND dataset_id IN (SELECT raw_id FROM spellings)) f
        JOIN facet_blobs b USING (facet_hash))
    SELECT DISTINCT l.raw_id, s.dataset_id, upper(l.payload->>'lifecycleStateChange')
    FROM l JOIN spellings s USING (raw_id)
    WHERE upper(l.payload->>'lifecycleStateChange') IN {UNWRITTEN_STATES}"""


# A run whose output carried a RENAME or a DROP wrote no version of it. An event's batch leaves
# such versions out (unnest.py, stg_lifecycle_marks); this drops the ones another event of the
# same run made (a START without the facet, in another file or batch): versions of touched runs
# on touched datasets that ever had such a state, checked against the runs' stored events.
_UNWRITTEN_CANDIDATES = """CREATE OR REPLACE TEMP TABLE unwritten_candidates AS
    SELECT dataset_id, run_id FROM dataset_versions
    WHERE version = run_id AND dataset_id IN (SELECT unnest($ids::BIGINT[]))
      AND run_id IN (SELECT run_id FROM touched_runs)"""
_OUTPUT_STATES = ('{"outputs": [{"namespace": "VARCHAR", "name": "VARCHAR",'
                  ' "facets": {"lifecycleStateChange": "JSON"}}]}')
_UNWRITTEN = f"""
    DELETE FROM dataset_versions v USING (
        SELECT DISTINCT run_id, lineagectl_id(o.namespace, o.name) AS dataset_id FROM (
            SELECT run_id, unnest(json_transform(payload, '{_OUTPUT_STATES}').outputs) AS o FROM run_events)
        WHERE upper(o.facets.lifecycleStateChange->>'lifecycleStateChange') IN {UNWRITTEN_STATES}
          AND (o.facets.lifecycleStateChange->>'_deleted') IS DISTINCT FROM 'true') m
    WHERE v.dataset_id = m.dataset_id AND v.run_id = m.run_id AND v.version = v.run_id"""


def reconcile_unwritten(con: duckdb.DuckDBPyConnection, marked: list[int]) -> None:
    """Drop the versions that touched runs made of the ``marked`` names (touched names that had a
    RENAME or DROP) if they dropped or renamed them."""
    if not marked:
        return
    con.execute(_UNWRITTEN_CANDIDATES, {"ids": marked})
    runs = [r[0] for r in con.execute("SELECT DISTINCT run_id FROM unwritten_candidates").fetchall()]
    if not runs:
        return
    # The runs' events by hash within their time range (zone maps skip the rest of the events).
    hashes = con.execute("""SELECT event_hash, event_time FROM run_states
                            WHERE run_id IN (SELECT unnest($runs::VARCHAR[]))""", {"runs": runs}).fetchall()
    if not hashes:
        return
    stored = con.execute("""SELECT run_id, skeleton, facet_refs FROM events
                            WHERE kind = 'run' AND event_time BETWEEN $lo AND $hi
                              AND event_hash IN (SELECT unnest($hashes::VARCHAR[]))""",
                         {"hashes": [h for h, _ in hashes], "lo": min(t for _, t in hashes),
                          "hi": max(t for _, t in hashes)}).fetchall()
    payloads = BlobReader(con).rebuild_all((skeleton, refs) for _, skeleton, refs in stored)
    run_events = pa.table({"run_id": pa.array([run for run, _, _ in stored], pa.string()),
                           "payload": pa.array([p.decode() for p in payloads], pa.string())})
    with_tables(con, _UNWRITTEN, {"run_events": run_events})


def mark_dropped(con: duckdb.DuckDBPyConnection, candidates: list[int]) -> None:
    """Set ``datasets.dropped`` of the ``candidates`` (touched datasets a DROP was seen on, by any
    name) by the rule every answer applies: the one lookup, ``store.lookups.dropped_at``."""
    if not candidates:
        return
    gone = sorted(dropped_at(con, candidates))
    if gone:
        con.execute("UPDATE datasets SET dropped = true WHERE dataset_id IN (SELECT unnest($ids::BIGINT[]))",
                    {"ids": gone})


def _define_macros(con: duckdb.DuckDBPyConnection) -> None:
    # Producers send nanoseconds; DuckDB reads at most microseconds.
    con.execute(r"""CREATE OR REPLACE TEMP MACRO lineagectl_ts(s) AS
        try_cast(regexp_replace(s, '(\.\d{6})\d+', '\1') AS TIMESTAMPTZ)::TIMESTAMP""")
    con.execute(RUN_ID_MACRO)


def refresh_current_state(con: duckdb.DuckDBPyConnection, datasets: list[int] | None = None) -> None:
    """Recompute current-state rows for the ids collected in the ``touched_*`` temp tables
    (or, given ``datasets``, for those datasets alone)."""
    if datasets is not None:
        con.execute("CREATE OR REPLACE TEMP TABLE touched_datasets AS "
                    "SELECT unnest($ids::BIGINT[]) AS dataset_id", {"ids": datasets})
        con.execute("CREATE OR REPLACE TEMP TABLE touched_jobs (job_id BIGINT)")
        con.execute("CREATE OR REPLACE TEMP TABLE touched_runs (run_id VARCHAR)")
    _define_macros(con)
    if datasets is None:
        flatten_aliases(con)
    marks = con.execute(_MARKS).fetchall()
    if datasets is None:
        reconcile_unwritten(con, sorted({raw for raw, _, _ in marks}))
    for statement in _REFRESH:
        con.execute(statement)
    mark_dropped(con, sorted({dataset for _, dataset, state in marks if state == "DROP"}))
    runs = con.execute("SELECT count(*) FROM touched_runs").fetchall()[0][0]
    parts = max(1, -(-runs // RUN_SLICE))
    for part in range(parts):
        con.execute("CREATE OR REPLACE TEMP TABLE run_part AS SELECT run_id FROM touched_runs "
                    "WHERE hash(run_id) % $parts = $part", {"parts": parts, "part": part})
        for statement in _RUNS:
            con.execute(statement)
