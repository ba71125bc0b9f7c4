"""Graph renderers (``dot``, ``mermaid``) for results that carry a ``graph``.

Labels are escaped for each language: DOT strings escape backslashes, quotes
and newlines; Mermaid labels use HTML entities for quotes and brackets. Node
ids are generated (``n0``, ``n1`` …) so names never reach the syntax. A node's
marks are named in its label (``(PII)``, ``(dropped)``) and drawn: PII outlined
red, a dropped dataset dashed and grey.
"""

from __future__ import annotations

from typing import TextIO

from lineagectl.cli.render import renderer, safe_text
from lineagectl.errors import InputError
from lineagectl.results import Result

_DOT_SHAPES = {"dataset": "box", "model": "box3d", "job": "ellipse", "column": "note"}
_DOT_STYLES = {"model": "bold", "job": "rounded,dashed"}
_GREY = "grey50"  # a dropped dataset: dashed and grey, it is no longer there


def _graph(result: Result) -> tuple[dict, dict[str, str]]:
    """The result's graph and a generated id (``n0``, ``n1`` …) for each node."""
    if result.graph is None:
        raise InputError("this command has no graph to draw; use table, json, ndjson or csv")
    return result.graph, {node["id"]: f"n{i}" for i, node in enumerate(result.graph["nodes"])}


def _dot_text(text: str) -> str:
    lines = [safe_text(line).replace("\\", "\\\\").replace('"', '\\"') for line in text.split("\n")]
    return "\\n".join(lines)


def _label(node: dict) -> str:
    marks = "".join(f" ({m})" for m in node.get("marks", []))
    return f"{node['label']}{marks}"


@renderer("dot")
def _dot(result: Result, stream: TextIO, color: bool) -> None:
    graph, ids = _graph(result)
    stream.write("digraph lineage {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n")
    for node in graph["nodes"]:
        kind, marks = node["kind"], node.get("marks", [])
        dropped = "dropped" in marks
        styles = [s for s in (_DOT_STYLES.get(kind), "dashed" if dropped and kind != "job" else None) if s]
        attributes = [f'label="{_dot_text(_label(node))}"', f"shape={_DOT_SHAPES.get(kind, 'box')}"]
        attributes += [f'style="{",".join(styles)}"'] if styles else []
        attributes += ['color="red"'] if "PII" in marks else [f'color="{_GREY}"'] if dropped else []
        attributes += [f'fontcolor="{_GREY}"'] if dropped else []
        stream.write(f'  {ids[node["id"]]} [{", ".join(attributes)}];\n')
    for edge in graph["edges"]:
        label = f' [label="{_dot_text(edge["label"])}"]' if edge.get("label") else ""
        stream.write(f'  {ids[edge["source"]]} -> {ids[edge["target"]]}{label};\n')
    stream.write("}\n")


def _mermaid_text(text: str) -> str:
    text = " ".join(safe_text(line) for line in text.split("\n"))
    # "#" first: a name holding "#quot;" would otherwise be drawn as the character it names.
    for char, entity in (("#", "#35;"), ("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"),
                         ("[", "#91;"), ("]", "#93;"), ("|", "#124;"), ("`", "#96;")):
        text = text.replace(char, entity)
    return text


_MERMAID_SHAPES = {"dataset": ('["', '"]'), "model": ('[["', '"]]'), "job": ('(["', '"])'),
                   "column": ('["', '"]')}


@renderer("mermaid")
def _mermaid(result: Result, stream: TextIO, color: bool) -> None:
    graph, ids = _graph(result)
    stream.write("flowchart LR\n")
    for node in graph["nodes"]:
        start, end = _MERMAID_SHAPES.get(node["kind"], ('["', '"]'))
        stream.write(f"  {ids[node['id']]}{start}{_mermaid_text(_label(node))}{end}\n")
    for edge in graph["edges"]:
        label = f'|"{_mermaid_text(edge["label"])}"|' if edge.get("label") else ""
        stream.write(f"  {ids[edge['source']]} -->{label} {ids[edge['target']]}\n")
    styled = {kind: [ids[n["id"]] for n in graph["nodes"] if n["kind"] == kind] for kind in ("job", "model")}
    marked = {mark: [ids[n["id"]] for n in graph["nodes"] if mark in n.get("marks", [])] for mark in ("PII", "dropped")}
    for name, members, style in (("job", styled["job"], "fill:#eef,stroke-dasharray: 4 2"),
                                 ("model", styled["model"], "fill:#efe,stroke-width:3px"),
                                 ("pii", marked["PII"], "stroke:#c00,stroke-width:2px"),
                                 ("dropped", marked["dropped"], "fill:#eee,color:#777,stroke-dasharray: 5 5")):
        if members:
            stream.write(f"  classDef {name} {style}\n  class {','.join(members)} {name}\n")
