"""The library API: every command of the CLI is one call here.

    from lineagectl import api
    report = api.ingest(["events.ndjson"], db="lineage.duckdb")
    print(api.stats(db="lineage.duckdb").payload)

Functions raise ``lineagectl.errors.LineageError`` subclasses for user errors
and return plain data (``IngestReport``) or a ``Result`` (see ``results``).
"""

from __future__ import annotations

from lineagectl.queries.catalog import LIST_KINDS, list_entities, stats
from lineagectl.sources.ingest import IngestReport, ingest
from lineagectl.queries.lineage import graph, impact, trace
from lineagectl.queries.provenance import run_provenance
from lineagectl.results import Result
from lineagectl.graph.selectors import select
from lineagectl.queries.show import show
from lineagectl.store import open_store


def migrate(db: str | None = None) -> int:
    """Open the store for writing, which upgrades an older schema; returns the schema version."""
    from lineagectl.store import schema_version

    with open_store(db, write=True) as con:
        return schema_version(con)


__all__ = ["IngestReport", "LIST_KINDS", "Result", "graph", "impact", "ingest", "list_entities", "migrate", "run_provenance", "select", "show",
           "stats", "trace"]
