"""Column lineage for jobs that send SQL but no ``columnLineage`` facet.

Runs at the end of each ingested file, for the jobs it touched (after their
current state is refreshed, then the outputs it derived for are refreshed again): when a job's
latest ``sql`` facet is newer than any column lineage derived from it, and its
output carries no ``columnLineage`` from the producer, ``lineagectl.sql_lineage``
derives one from the SQL (tables matched to the job's inputs by name; the input
columns known to the store as sqlglot's schema) and stores it as a facet whose
``_producer`` says it was derived. A producer's own facet, when one arrives,
is newer and wins. Only jobs with one output are derived: with several, which
SELECT column lands in which output is not knowable from the SQL alone.
"""

from __future__ import annotations

import hashlib
import json

PRODUCER = "https://github.com/lineagectl/lineagectl/sql"
DBT_PRODUCER = "https://github.com/lineagectl/lineagectl/dbt"  # lineagectl.dbt.PRODUCER, without its imports
_SCHEMA_URL = "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"

# Touched jobs whose latest SQL has not been turned into column lineage yet, with one output that
# has no producer-sent column lineage from this job.
_CANDIDATES = f"""
    WITH sql AS (
        SELECT job_id, arg_max(facet_hash, row(last_seen, facet_hash)) AS facet_hash,
               max(last_seen) AS seen, arg_max(first_seen, row(last_seen, facet_hash)) AS since
        FROM job_facets SEMI JOIN touched_jobs USING (job_id) WHERE facet_key = 'sql' GROUP BY job_id),
    outs AS (SELECT job_id, min(dataset_id) AS dataset_id, count(*) AS n FROM edges
             WHERE direction = 'out' GROUP BY job_id)
    SELECT s.job_id, o.dataset_id, s.seen, b.payload->>'query', b.payload->>'dialect'
    FROM sql s JOIN facet_blobs b USING (facet_hash) JOIN outs o USING (job_id)
    WHERE o.n = 1 AND s.facet_hash <> 'deleted' AND b.payload->>'query' IS NOT NULL
      -- dbt models get their column lineage from the manifest reader already.
      AND coalesce(b.payload->>'_producer', '') <> '{DBT_PRODUCER}'
      AND NOT EXISTS (SELECT 1 FROM cll_sets c JOIN facet_blobs p USING (facet_hash)
                      WHERE c.dataset_id = o.dataset_id AND c.job_id IN (s.job_id, 0)
                        AND (coalesce(p.payload->>'_producer', '') <> '{PRODUCER}' OR c.last_seen >= s.since))"""
_INPUTS = """
    SELECT e.dataset_id, d.name, list(c.column_name ORDER BY c.column_name) FILTER (WHERE c.column_name IS NOT NULL),
           list(c.type ORDER BY c.column_name) FILTER (WHERE c.column_name IS NOT NULL)
    FROM edges e JOIN dataset_names d USING (dataset_id) LEFT JOIN columns c USING (dataset_id)
    WHERE e.job_id = ? AND e.direction = '{direction}' GROUP BY ALL"""


def derive_sql_lineage(con, warn) -> list[int]:
    """Derive and store column lineage for the touched jobs that need it.

    Runs after the file's current state is refreshed (it reads dataset names and
    columns); returns the output datasets whose current state must be refreshed again.
    """
    from lineagectl.sources.sql_lineage import SqlLineageError, column_lineage

    derived = []
    for job_id, output_id, seen, query, dialect in con.execute(_CANDIDATES).fetchall():
        inputs = con.execute(_INPUTS.format(direction="in"), [job_id]).fetchall()
        # The output's columns too: an INSERT without a column list writes them in order.
        output = con.execute(_INPUTS.format(direction="out"), [job_id]).fetchall()
        try:
            edges = column_lineage(query, _dialect(dialect), _schema(inputs + output))
        except SqlLineageError as exc:
            name = con.execute("SELECT name FROM job_names WHERE job_id = ?", [job_id]).fetchall()
            warn(f"{name[0][0] if name else job_id}: no column lineage from its SQL: {exc}")
            continue
        facet = _facet(edges, inputs, con)
        if facet is None:
            continue
        _store(con, output_id, job_id, seen, facet)
        derived.append(output_id)
    return derived


def _dialect(name: str | None) -> str | None:
    from sqlglot.dialects import Dialect

    if not name:
        return None
    try:
        Dialect.get_or_raise(name.lower())
        return name.lower()
    except ValueError:
        return None


def _schema(inputs: list[tuple]) -> dict | None:
    """sqlglot's nested schema from the inputs' names and columns, if their names nest alike."""
    parts = [(name.split("."), dict(zip(columns or [], [t or "VARCHAR" for t in types or []])))
             for _, name, columns, types in inputs]
    depths = {len(p) for p, columns in parts if columns}
    if len(depths) != 1 or depths.pop() > 3:
        return None
    schema: dict = {}
    for path, columns in parts:
        if not columns:
            continue
        node = schema
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = columns
    return schema


def _source_dataset(table: str, inputs: list[tuple]) -> tuple[int, str] | None:
    """The input a SQL table reference names: same name, or one a suffix of the other at a dot."""
    table = table.lower()
    found = {(i, n) for i, n, _, _ in inputs
             if n.lower() == table or n.lower().endswith("." + table) or table.endswith("." + n.lower())}
    return found.pop() if len(found) == 1 else None


def _facet(edges, inputs: list[tuple], con) -> dict | None:
    names = {r[0]: r for r in con.execute(
        "SELECT dataset_id, namespace, name FROM dataset_names WHERE dataset_id IN (SELECT unnest($ids::BIGINT[]))",
        {"ids": [i for i, *_ in inputs]}).fetchall()}
    fields: dict = {}
    dataset: list = []
    for edge in edges:
        source = _source_dataset(edge.source.table, inputs)
        if source is None or source[0] not in names:
            continue
        item = {"namespace": names[source[0]][1], "name": names[source[0]][2], "field": edge.source.column,
                "transformations": [{"type": edge.type, "subtype": edge.subtype, "masking": edge.masking}]}
        if edge.column is None:
            dataset.append(item)
        else:
            fields.setdefault(edge.column, {"inputFields": []})["inputFields"].append(item)
    if not fields and not dataset:
        return None
    return {"_producer": PRODUCER, "_schemaURL": _SCHEMA_URL, "fields": fields, "dataset": dataset}


def _store(con, dataset_id: int, job_id: int, seen, facet: dict) -> None:
    payload = json.dumps(facet, separators=(",", ":"), sort_keys=True)
    facet_hash = hashlib.md5(payload.encode()).hexdigest()
    con.execute("INSERT INTO facet_blobs SELECT ?, ? WHERE NOT EXISTS "
                "(SELECT 1 FROM facet_blobs WHERE facet_hash = ?)", [facet_hash, payload, facet_hash])
    con.execute("""INSERT INTO cll_sets VALUES (?, ?, ?, ?, ?, 1)
                   ON CONFLICT DO UPDATE SET last_seen = greatest(cll_sets.last_seen, excluded.last_seen)""",
                [dataset_id, job_id, facet_hash, seen, seen])
    if not con.execute("SELECT 1 FROM cll_fields WHERE dataset_id = ? AND facet_hash = ? LIMIT 1",
                       [dataset_id, facet_hash]).fetchall():
        rows = []
        for column, spec in facet["fields"].items():
            for item in spec["inputFields"]:
                rows.append((column, item))
        # Dataset-level entries (joins, filters) apply to every output column, as the spec says.
        rows += [(column, item) for item in facet["dataset"] for column in facet["fields"]]
        con.executemany("INSERT INTO cll_fields SELECT ?, ?, ?, lineagectl_id(?, ?), ?, ?, ?, ?, NULL, NULL", [
            [dataset_id, facet_hash, column, item["namespace"], item["name"], item["field"],
             t["type"], t["subtype"], t["masking"]]
            for column, item in rows for t in item["transformations"]])
