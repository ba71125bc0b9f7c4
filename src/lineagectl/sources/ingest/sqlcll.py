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

from collections.abc import Callable
from typing import TYPE_CHECKING

import duckdb

from lineagectl.common.dialects import dialect_or_generic
from lineagectl.sources.ingest.writer import write_derived_cll

if TYPE_CHECKING:
    from lineagectl.sources.sql_lineage import Edge

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
    SELECT s.job_id, coalesce(j.name, s.job_id::VARCHAR), o.dataset_id, s.seen, b.payload->>'query',
           b.payload->>'dialect'
    FROM sql s JOIN facet_blobs b USING (facet_hash) JOIN outs o USING (job_id) LEFT JOIN job_names j USING (job_id)
    WHERE o.n = 1 AND s.facet_hash <> 'deleted' AND b.payload->>'query' IS NOT NULL
      -- dbt models get their column lineage from the manifest reader already.
      AND coalesce(b.payload->>'_producer', '') <> '{DBT_PRODUCER}'
      AND NOT EXISTS (SELECT 1 FROM cll_sets c JOIN facet_blobs p USING (facet_hash)
                      WHERE c.dataset_id = o.dataset_id AND c.job_id IN (s.job_id, 0)
                        AND (coalesce(p.payload->>'_producer', '') <> '{PRODUCER}' OR c.last_seen >= s.since))
    ORDER BY s.job_id"""
# Columns in the order of the dataset's current schema (an INSERT without a column list writes
# by position), then those known only from lineage, by name.
_INPUTS = """
    SELECT e.dataset_id, d.name,
           list(c.column_name ORDER BY f.ordinal NULLS LAST, c.column_name) FILTER (WHERE c.column_name IS NOT NULL),
           list(c.type ORDER BY f.ordinal NULLS LAST, c.column_name) FILTER (WHERE c.column_name IS NOT NULL)
    FROM edges e JOIN dataset_names d USING (dataset_id) LEFT JOIN columns c USING (dataset_id)
    LEFT JOIN datasets s ON s.dataset_id = e.dataset_id
    LEFT JOIN schema_fields f ON f.schema_hash = s.schema_hash AND f.name = c.column_name
    WHERE e.job_id = ? AND e.direction = '{direction}' GROUP BY ALL"""

# (dataset id, name, column names, column types) of a job's input or output
Relation = tuple[int, str, list[str] | None, list[str | None] | None]


def derive_sql_lineage(con: duckdb.DuckDBPyConnection, warn: Callable[[str], None]) -> list[int]:
    """Derive and store column lineage for the touched jobs that need it.

    Runs after the file's current state is refreshed (it reads dataset names and
    columns); returns the output datasets whose current state must be refreshed again.
    An unreadable query, or a dialect sqlglot does not know, is a warning (``warn``).
    """
    from lineagectl.sources.sql_lineage import SqlLineageError, column_lineage

    derived = []
    for job_id, job, output_id, seen, query, dialect in con.execute(_CANDIDATES).fetchall():
        inputs: list[Relation] = con.execute(_INPUTS.format(direction="in"), [job_id]).fetchall()
        # The output's columns too: an INSERT without a column list writes them in order.
        output: list[Relation] = con.execute(_INPUTS.format(direction="out"), [job_id]).fetchall()
        sql_dialect = dialect_or_generic(dialect, f"the sql facet of job {job}", warn)
        try:
            edges = column_lineage(query, sql_dialect, _schema(inputs + output))
        except SqlLineageError as exc:
            warn(f"{job}: no column lineage from its SQL: {exc}")
            continue
        facet = _facet(edges, inputs, con)
        if facet is not None:
            derived.append((output_id, job_id, seen, facet))
    write_derived_cll(con, derived)
    return [output_id for output_id, *_ in derived]


def _schema(inputs: list[Relation]) -> dict | None:
    """sqlglot's nested schema from the inputs' names and columns, if their names nest alike."""
    parts = [(name.split("."), dict(zip(columns or [], [t or "VARCHAR" for t in types or []], strict=True)))
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


def _source_dataset(table: str, inputs: list[Relation]) -> int | None:
    """The input a SQL table reference names: same name, or one a suffix of the other at a dot."""
    table = table.lower()
    found = {i for i, n, _, _ in inputs
             if n.lower() == table or n.lower().endswith("." + table) or table.endswith("." + n.lower())}
    return found.pop() if len(found) == 1 else None


def _facet(edges: list[Edge], inputs: list[Relation], con: duckdb.DuckDBPyConnection) -> dict | None:
    """The columnLineage facet of ``edges``, their tables matched to the job's inputs."""
    from lineagectl.sources.sql_lineage import column_lineage_facet

    names: dict[int, tuple[str, str]] = {dataset_id: (namespace, name) for dataset_id, namespace, name in con.execute(
        "SELECT dataset_id, namespace, name FROM dataset_names WHERE dataset_id IN (SELECT unnest($ids::BIGINT[]))",
        {"ids": [i for i, *_ in inputs]}).fetchall()}

    def locate(table: str) -> tuple[str, str] | None:
        source = _source_dataset(table, inputs)
        return None if source is None else names.get(source)

    facet = column_lineage_facet(edges, locate)
    return None if facet is None else {"_producer": PRODUCER, "_schemaURL": _SCHEMA_URL, **facet}
