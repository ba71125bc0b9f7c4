"""``show NAME``: everything the store knows about one dataset or job, as one JSON object."""

from __future__ import annotations

from typing import Any

from lineagectl.graph.names import Entity, resolve
from lineagectl.queries.run_order import newest_runs_first
from lineagectl.results import Result, jsonable, records_from_rows
from lineagectl.store import open_store
from lineagectl.store.lookups import dropped_at

RECENT_RUNS = 10
# A column's place in its dataset's current schema, for ``ORDER BY`` over ``columns c`` joined to
# ``datasets d``. A subquery, not a join: a schema may name a field twice (Spark's ``SELECT *`` over
# a join), and a join on the name would list every such column once per occurrence.
FIELD_ORDINAL = ("(SELECT min(f.ordinal) FROM schema_fields f"
                 " WHERE f.schema_hash = d.schema_hash AND f.name = c.column_name)")


def _query(con, columns: list[str], sql: str, params: list | dict) -> list[dict]:
    return records_from_rows(columns, con.execute(sql, params).fetchall())


def _owners(con, kind: str, entity_id: int) -> list[str]:
    rows = con.execute("SELECT owner FROM owners WHERE entity_kind = ? AND entity_id = ? ORDER BY owner",
                       [kind, entity_id]).fetchall()
    return [row[0] for row in rows]


_NEIGHBOURS = """
    SELECT j.namespace, j.name, e.run_count, e.last_seen,
           (SELECT string_agg(d.namespace || ' ' || d.name, '; ' ORDER BY d.namespace, d.name)
            FROM edges o JOIN datasets d USING (dataset_id)
            WHERE o.job_id = e.job_id AND o.direction = ? AND o.dataset_id <> e.dataset_id)
    FROM edges e JOIN jobs j USING (job_id)
    WHERE e.dataset_id = ? AND e.direction = ?
    ORDER BY j.namespace, j.name"""


def _dataset(con, entity: Entity) -> Result:
    row = con.execute(
        """SELECT dataset_type, description, current_version, lifecycle_state, dropped,
                  first_seen, last_seen FROM datasets WHERE dataset_id = ?""",
        [entity.id],
    ).fetchall()[0]
    keys = ["type", "description", "version", "lifecycle_state", "dropped", "first_seen", "last_seen"]
    info: dict[str, Any] = {"kind": "dataset", "namespace": entity.namespace, "name": entity.name}
    info.update({k: jsonable(v) for k, v in zip(keys, row, strict=True)})
    i = entity.id
    # Dropped as every answer says it (a write or CREATE after the DROP brings it back).
    gone = dropped_at(con, [i]).get(i)
    info["dropped"], info["dropped_at"] = gone is not None, jsonable(gone)
    info["owners"] = _owners(con, "dataset", i)
    info["aliases"] = _query(con, ["namespace", "name", "kind"], """
        SELECT n.namespace, n.name, a.kind FROM dataset_aliases a
        JOIN dataset_names n ON n.dataset_id = a.alias_id WHERE a.dataset_id = ?
        ORDER BY n.namespace, n.name""", [i])
    info["tags"] = _query(con, ["field", "key", "value", "source"], """
        SELECT field, key, value, source FROM tags WHERE entity_kind = 'dataset' AND entity_id = ?
        ORDER BY field NULLS FIRST, key, value""", [i])
    info["columns"] = _query(con, ["column", "type", "description", "in_schema"], f"""
        SELECT c.column_name, c.type, c.description, c.in_schema FROM columns c
        LEFT JOIN datasets d USING (dataset_id)
        WHERE c.dataset_id = ? ORDER BY {FIELD_ORDINAL} NULLS LAST, c.column_name""", [i])
    info["versions"] = _query(con, ["version", "created_at", "run_id", "columns"], """
        SELECT v.version, v.created_at, v.run_id,
               (SELECT count(*) FROM schema_fields f WHERE f.schema_hash = v.schema_hash)
        FROM dataset_versions v WHERE v.dataset_id = ? ORDER BY v.created_at DESC LIMIT 20""", [i])
    neighbour_cols = ["job_namespace", "job", "runs", "last_seen", "datasets"]
    info["upstream"] = _query(con, neighbour_cols, _NEIGHBOURS, ["in", i, "out"])
    info["downstream"] = _query(con, neighbour_cols, _NEIGHBOURS, ["out", i, "in"])
    info["last_writes"] = _query(con, ["run_id", "job", "state", "started_at", "ended_at"], f"""
        SELECT r.run_id, j.name, r.state, r.started_at, r.ended_at
        FROM run_io io JOIN runs r USING (run_id) JOIN jobs j ON j.job_id = r.job_id
        WHERE io.dataset_id = ? AND io.direction = 'out'
        ORDER BY {newest_runs_first("r")} LIMIT {RECENT_RUNS}""", [i])
    return Result("show", info)


def _job(con, entity: Entity) -> Result:
    row = con.execute(
        """SELECT job_type, processing_type, integration, sql, sql_dialect, source_language,
                  source_location, description, first_seen, last_seen FROM jobs WHERE job_id = ?""",
        [entity.id],
    ).fetchall()[0]
    keys = ["type", "processing_type", "integration", "sql", "sql_dialect", "source_language",
            "source_location", "description", "first_seen", "last_seen"]
    info: dict[str, Any] = {"kind": "job", "namespace": entity.namespace, "name": entity.name}
    info.update({k: jsonable(v) for k, v in zip(keys, row, strict=True)})
    i = entity.id
    info["owners"] = _owners(con, "job", i)
    io_cols = ["namespace", "name", "runs", "last_seen"]
    io_sql = """SELECT d.namespace, d.name, e.run_count, e.last_seen FROM edges e
                JOIN datasets d USING (dataset_id) WHERE e.job_id = ? AND e.direction = ?
                ORDER BY d.namespace, d.name"""
    info["inputs"] = _query(con, io_cols, io_sql, [i, "in"])
    info["outputs"] = _query(con, io_cols, io_sql, [i, "out"])
    # The run hierarchy of a parent run facet (an Airflow task's DAG run, a Spark query's application):
    # the job its latest run names as parent (not itself: some producers name the run's own job), and
    # the jobs whose runs name this one.
    parent = con.execute("""
        SELECT parent_job_namespace, parent_job_name FROM runs
        WHERE job_id = $job AND parent_job_name IS NOT NULL
          AND (parent_job_namespace, parent_job_name) IS DISTINCT FROM ($ns, $name)
        ORDER BY coalesce(started_at, first_event_time) DESC, run_id LIMIT 1""",
                         {"job": i, "ns": entity.namespace, "name": entity.name}).fetchall()
    info["parent"] = {"namespace": parent[0][0], "name": parent[0][1]} if parent else None
    info["children"] = _query(con, ["namespace", "name", "runs", "last_seen"], """
        SELECT j.namespace, j.name, count(*), max(r.last_event_time) FROM runs r JOIN jobs j USING (job_id)
        WHERE r.parent_job_namespace = $ns AND r.parent_job_name = $name AND r.job_id <> $job
        GROUP BY ALL ORDER BY j.namespace, j.name""", {"job": i, "ns": entity.namespace, "name": entity.name})
    run_cols = ["run_id", "state", "started_at", "ended_at", "seconds", "error", "parent_run_id"]
    info["runs"] = _query(con, run_cols, f"""
        SELECT run_id, state, started_at, ended_at, round(epoch(ended_at) - epoch(started_at), 3),
               error_message, parent_run_id FROM runs WHERE job_id = ?
        ORDER BY {newest_runs_first()} LIMIT {RECENT_RUNS}""", [i])
    return Result("show", info)


def show(name: str, db: str | None = None, *, namespace: str | None = None,
         kind: str | None = None) -> Result:
    """Details of the dataset or job ``name`` (resolved as CONTRACT.md describes)."""
    with open_store(db) as con:
        entity = resolve(con, name, namespace=namespace, kind=kind)
        return _dataset(con, entity) if entity.kind == "dataset" else _job(con, entity)
