"""The result type every library query returns: data, never words for a user.

A ``Result`` names the command that produced it (``kind``) and carries the JSON
payload (CONTRACT.md's shape), plus what some output formats need beyond it,
as data: ``graph`` (nodes and edges for dot/mermaid), ``tree`` (which node of an
impact/trace answer hangs under which), ``rules``/``findings`` (the checks of
the CI formats) and ``context`` (the options that shaped the answer). Titles,
table rows and messages are the command line's: its views
(``lineagectl.cli.render.views``), one per kind, turn a ``Result`` into them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lineagectl.common.timeutil import format_timestamp
from lineagectl.errors import ExitStatus


@dataclass
class Result:
    """A query answer: ``kind`` (the command, e.g. ``impact``) and ``payload`` (its JSON)."""

    kind: str
    payload: Any
    # The options that shaped the answer and that the payload does not show, e.g. {"list": "runs"}
    # for `ls runs`, {"include_jobs": True} for impact/trace, {"expression": …} for a selection.
    context: dict[str, Any] = field(default_factory=dict)
    # For graph formats (dot, mermaid): {"nodes": [{id, label, kind, marks, …}], "edges": [{source, target, label}]}
    graph: dict | None = None
    # impact/trace: the reached nodes as a breadth-first tree, parents first. Each node:
    # {"id", "parent" (None for the root), "kind" ("dataset", or "job": with --include-jobs, a leaf for
    #  each job no hop names, e.g. a reader that writes nothing), "namespace", "name", "column", "type", "owners",
    #  "depth" (dataset hops, None for columns), "job" (of the hop from the parent, {namespace, name, owners} or None),
    #  "transformation" (of the column hop from the parent, or None),
    #  "detached" (True: its path runs through datasets a selector left out, so it hangs from the root)}.
    tree: list[dict] | None = None
    # For check formats (github, junit, sarif): the rules checked and one finding per violation:
    # {"rule", "level" ("error"|"warning"), "source", "target", "path", "jobs", "affected" (datasets
    #  further downstream), "require" (what a flow rule requires, e.g. "masking"; None for residency),
    #  "location" ({"file", "line"} of the rule in the policy file; absent when unknown)}.
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


def json_text(value: Any, indent: bool = True) -> str:
    """``value`` as the JSON text every machine answer is written in: ``-f json`` prints it
    (indented), ``serve``'s ``/lineagectl/v1`` endpoints answer with it, so the two are the
    same bytes; keys that are not strings become strings, unknown types their ``str``."""
    import orjson

    option = orjson.OPT_NON_STR_KEYS | (orjson.OPT_INDENT_2 if indent else 0)
    return orjson.dumps(value, option=option, default=str).decode()


def records_from_rows(columns: list[str], rows: list[tuple]) -> list[dict]:
    """Rows of a query as dicts with JSON-able values."""
    return [{c: jsonable(v) for c, v in zip(columns, row, strict=True)} for row in rows]


def transformation_text(transformation: dict) -> str:
    """How an answer spells one column transformation: ``DIRECT/IDENTITY``, ``masked`` added when it
    masks; a hop's others (``also``) follow it: ``DIRECT/IDENTITY + INDIRECT/FILTER``."""
    subtype = transformation.get("subtype")
    text = (transformation["type"] + (f"/{subtype}" if subtype else "")
            + (" masked" if transformation.get("masking") else ""))
    return " + ".join([text, *map(transformation_text, transformation.get("also", ()))])
