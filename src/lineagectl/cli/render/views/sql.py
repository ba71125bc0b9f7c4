"""The view of ``sql``: each statement's tables, then the column edges and the dataset-wide influence."""

from __future__ import annotations

from lineagectl.cli.render.views import View, view
from lineagectl.results import Result, counted, transformation_text

STATEMENT_COLUMNS = ["statement", "kind", "targets", "sources", "errors"]
COLUMN_COLUMNS = ["statement", "target", "column", "source", "source_column", "transformation"]
DATASET_COLUMNS = ["statement", "target", "source", "source_column", "transformation"]


@view("sql")
def sql(result: Result) -> View:
    """One row per statement (targets and sources joined by commas); a table of column edges and one of
    the dataset-wide INDIRECT influence (joins, filters, …) when there are any."""
    statements = result.payload["statements"]
    records = [{"statement": s["index"] + 1, "kind": s["kind"], "targets": ", ".join(s["targets"]),
                "sources": ", ".join(s["sources"]), "errors": "; ".join(s["errors"])} for s in statements]
    columns = [{"statement": s["index"] + 1, "target": c["target"] or "", "column": c["column"],
                "source": c["source"], "source_column": c["source_column"], "transformation": transformation_text(c)}
               for s in statements for c in s["columns"]]
    dataset = [{"statement": s["index"] + 1, "target": d["target"] or "", "source": d["source"],
                "source_column": d["source_column"], "transformation": transformation_text(d)}
               for s in statements for d in s["dataset"]]
    sections = []
    if columns:
        sections.append(View(title="column lineage", columns=COLUMN_COLUMNS, records=columns))
    if dataset:
        sections.append(View(title="dataset-wide influence (joins, filters, grouping, sorting)",
                             columns=DATASET_COLUMNS, records=dataset))
    return View(title=counted(len(statements), "statement"), columns=STATEMENT_COLUMNS, records=records,
                sections=sections)
