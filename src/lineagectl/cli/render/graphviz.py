"""Graph renderers (``dot``, ``mermaid``) for results that carry a ``graph``.

Labels are escaped for each language: DOT strings escape backslashes, quotes
and newlines; Mermaid labels use HTML entities for quotes and brackets. Node
ids are generated (``n0``, ``n1`` …) so names never reach the syntax. A node's
marks are named in its label (``(root)``, ``(PII)``, ``(dropped)``, ``(failed)`` …)
and drawn: the root bold, PII outlined red, a dropped dataset dashed and grey, a
failed last run filled red. Nodes of a policy region sit in a box (DOT cluster,
Mermaid subgraph) named after it; an edge that violates a residency or flow rule
is red and labelled with the rule's name.
"""

from __future__ import annotations

from typing import TextIO

from lineagectl.cli.render import renderer, safe_text
from lineagectl.errors import InputError
from lineagectl.results import Result

_DOT_SHAPES = {"dataset": "box", "model": "box3d", "job": "ellipse", "column": "note"}
_DOT_STYLES = {"model": "bold", "job": "rounded,dashed"}
_GREY = "grey50"  # a dropped dataset: dashed and grey, it is no longer there
_FAILED_FILL = "#f8c8c8"  # the last run failed: filled light red
# Above this many nodes a text picture is hard to read: the command says how to narrow it.
LARGE_GRAPH_NODES = 300


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


def _regions(graph: dict) -> dict[str, list[dict]]:
    """The nodes of each policy region (sorted by region; "" holds the nodes of none)."""
    found: dict[str, list[dict]] = {}
    for node in graph["nodes"]:
        found.setdefault(node.get("region") or "", []).append(node)
    return dict(sorted(found.items()))


def _dot_node(node: dict, node_id: str) -> str:
    kind, marks = node["kind"], node.get("marks", [])
    dropped, failed = "dropped" in marks, "failed" in marks
    styles = [s for s in (_DOT_STYLES.get(kind), "dashed" if dropped and kind != "job" else None,
                          "filled" if failed else None) if s]
    attributes = [f'label="{_dot_text(_label(node))}"', f"shape={_DOT_SHAPES.get(kind, 'box')}"]
    attributes += [f'style="{",".join(styles)}"'] if styles else []
    attributes += ['color="red"'] if "PII" in marks else [f'color="{_GREY}"'] if dropped else []
    attributes += [f'fontcolor="{_GREY}"'] if dropped else []
    attributes += [f'fillcolor="{_FAILED_FILL}"'] if failed else []
    attributes += ["penwidth=3"] if "root" in marks else []
    return f"{node_id} [{', '.join(attributes)}];"


@renderer("dot")
def _dot(result: Result, stream: TextIO, color: bool) -> None:
    graph, ids = _graph(result)
    stream.write("digraph lineage {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n")
    for index, (region, nodes) in enumerate(_regions(graph).items()):
        indent = "    " if region else "  "
        if region:
            stream.write(f'  subgraph cluster_r{index} {{\n    label="{_dot_text("region " + region)}";\n'
                         '    style="rounded";\n    color="grey60";\n')
        for node in nodes:
            stream.write(f"{indent}{_dot_node(node, ids[node['id']])}\n")
        if region:
            stream.write("  }\n")
    for edge in graph["edges"]:
        attributes = [f'label="{_dot_text(edge["label"])}"'] if edge.get("label") else []
        attributes += ['color="red"', 'fontcolor="red"', "penwidth=2"] if edge.get("rules") else []
        listed = f" [{', '.join(attributes)}]" if attributes else ""
        stream.write(f'  {ids[edge["source"]]} -> {ids[edge["target"]]}{listed};\n')
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
    for index, (region, nodes) in enumerate(_regions(graph).items()):
        indent = "    " if region else "  "
        if region:
            stream.write(f'  subgraph r{index}["{_mermaid_text("region " + region)}"]\n')
        for node in nodes:
            start, end = _MERMAID_SHAPES.get(node["kind"], ('["', '"]'))
            stream.write(f"{indent}{ids[node['id']]}{start}{_mermaid_text(_label(node))}{end}\n")
        if region:
            stream.write("  end\n")
    for edge in graph["edges"]:
        label = f'|"{_mermaid_text(edge["label"])}"|' if edge.get("label") else ""
        stream.write(f"  {ids[edge['source']]} -->{label} {ids[edge['target']]}\n")
    violated = [str(index) for index, edge in enumerate(graph["edges"]) if edge.get("rules")]
    if violated:
        stream.write(f"  linkStyle {','.join(violated)} stroke:#c00,stroke-width:3px,color:#c00\n")
    members = {name: [ids[n["id"]] for n in graph["nodes"] if test(n)] for name, test, _ in _MERMAID_CLASSES}
    for name, _, style in _MERMAID_CLASSES:
        if members[name]:
            stream.write(f"  classDef {name} {style}\n  class {','.join(members[name])} {name}\n")


# Later classes win where they set the same property: a failed run's red fill over a job's blue.
_MERMAID_CLASSES = (
    ("job", lambda n: n["kind"] == "job", "fill:#eef,stroke-dasharray: 4 2"),
    ("model", lambda n: n["kind"] == "model", "fill:#efe,stroke-width:3px"),
    ("pii", lambda n: "PII" in n.get("marks", []), "stroke:#c00,stroke-width:2px"),
    ("dropped", lambda n: "dropped" in n.get("marks", []), "fill:#eee,color:#777,stroke-dasharray: 5 5"),
    ("failed", lambda n: "failed" in n.get("marks", []), f"fill:{_FAILED_FILL},color:#600"),
    ("root", lambda n: "root" in n.get("marks", []), "stroke-width:4px"),
)
