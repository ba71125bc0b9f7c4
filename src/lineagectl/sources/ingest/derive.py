"""Recomputing current state (datasets, jobs, runs, columns, tags, owners) from history.

Runs once at the end of each ingested file, for the entities it touched. The
"latest" facet of an entity and key is the one seen last by eventTime (ties
broken by hash, so every order of arrival gives the same answer); a latest
``_deleted`` facet means the entity has none.
"""

from __future__ import annotations

import duckdb

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
       v AS (
           SELECT dataset_id, arg_max(version, row(created_at, version)) AS version
           FROM dataset_versions SEMI JOIN touched_datasets USING (dataset_id) GROUP BY dataset_id)
       SELECT n.dataset_id, n.namespace, n.name, coalesce(f.dataset_type, 'DATASET'), f.description,
              coalesce(f.version, v.version), f.schema_hash, f.lifecycle,
              coalesce(f.lifecycle = 'DROP', false), n.first_seen, n.last_seen
       FROM dataset_names n SEMI JOIN touched_datasets USING (dataset_id)
       LEFT JOIN f USING (dataset_id) LEFT JOIN v USING (dataset_id)
       WHERE n.dataset_id NOT IN (SELECT alias_id FROM dataset_aliases)""",
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
                  max(payload->'run'->>'runId') FILTER (WHERE facet_key = 'parent') AS parent_run,
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


def _define_macros(con: duckdb.DuckDBPyConnection) -> None:
    # Producers send nanoseconds; DuckDB reads at most microseconds.
    con.execute(r"""CREATE OR REPLACE TEMP MACRO lineagectl_ts(s) AS
        try_cast(regexp_replace(s, '(\.\d{6})\d+', '\1') AS TIMESTAMPTZ)::TIMESTAMP""")


def refresh_current_state(con: duckdb.DuckDBPyConnection, datasets: list[int] | None = None) -> None:
    """Recompute current-state rows for the ids collected in the ``touched_*`` temp tables
    (or, given ``datasets``, for those datasets alone)."""
    if datasets is not None:
        con.execute("CREATE OR REPLACE TEMP TABLE touched_datasets AS "
                    "SELECT unnest($ids::BIGINT[]) AS dataset_id", {"ids": datasets})
        con.execute("CREATE OR REPLACE TEMP TABLE touched_jobs (job_id BIGINT)")
        con.execute("CREATE OR REPLACE TEMP TABLE touched_runs (run_id VARCHAR)")
    _define_macros(con)
    for statement in _REFRESH:
        con.execute(statement)
    runs = con.execute("SELECT count(*) FROM touched_runs").fetchall()[0][0]
    parts = max(1, -(-runs // RUN_SLICE))
    for part in range(parts):
        con.execute("CREATE OR REPLACE TEMP TABLE run_part AS SELECT run_id FROM touched_runs "
                    "WHERE hash(run_id) % $parts = $part", {"parts": parts, "part": part})
        for statement in _RUNS:
            con.execute(statement)
