"""The result type every library query returns, ready for any output format.

A ``Result`` carries the JSON payload (the contract's shape), the same data as
flat records for table/csv/ndjson, and optional named sections for views such
as ``show`` that are several tables at once. Renderers (``lineagectl.cli.render``)
only ever look at these fields, never at a command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lineagectl.common.timeutil import format_timestamp
from lineagectl.errors import ExitStatus


@dataclass
class Result:
    """A query answer: ``payload`` for JSON, ``records``/``columns`` for tabular formats."""

    payload: Any
    records: list[dict] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    title: str | None = None
    sections: list[Result] = field(default_factory=list)
    # For graph formats (dot, mermaid): {"nodes": [{id, label, kind, marks}], "edges": [{source, target, label}]}
    graph: dict | None = None
    # For a tree view in table format: [{"id", "parent" (None for the root), "label"}], parents first.
    tree: list[dict] | None = None
    # For check formats (github, junit, sarif): the rules checked and one finding per violation:
    # {"rule", "level" ("error"|"warning"), "message", "source", "target", "path", "jobs"}.
    rules: list[str] | None = None
    findings: list[dict] | None = None
    # How the command ends when it prints this result: FINDINGS for violations or a failed gate.
    exit_status: ExitStatus = ExitStatus.OK


def counted(count: int, noun: str) -> str:
    """``count`` and ``noun``, plural unless one: "1 model", "7 datasets"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def jsonable(value: Any) -> Any:
    """Times as ISO 8601 UTC strings; everything else unchanged."""
    if isinstance(value, datetime):
        return format_timestamp(value)
    return value


def records_from_rows(columns: list[str], rows: list[tuple]) -> list[dict]:
    """Rows of a query as dicts with JSON-able values."""
    return [{c: jsonable(v) for c, v in zip(columns, row, strict=True)} for row in rows]


def transformation_text(transformation: dict) -> str:
    """How an answer spells one column transformation: ``DIRECT/IDENTITY``, ``masked`` added when it masks."""
    subtype = transformation.get("subtype")
    return (transformation["type"] + (f"/{subtype}" if subtype else "")
            + (" masked" if transformation.get("masking") else ""))
