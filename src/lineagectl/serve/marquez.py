"""Marquez's shapes for ``GET /api/v1/lineage``: node ids in, ``{"graph": [...]}`` out.

A node id is ``dataset:NAMESPACE:NAME`` or ``job:NAMESPACE:NAME``; a namespace may
hold colons itself (``postgres://db:5432``), so every split is a candidate, tried
in order by the caller against the store. The answer lists each node with its
``inEdges`` and ``outEdges`` (``{"origin", "destination"}`` node ids), as Marquez does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from lineagectl.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from lineagectl.serve.reads import Library, Query

KINDS = {"dataset": "DATASET", "job": "JOB"}
DEFAULT_DEPTH = 20  # Marquez's


def answer(library: Library, segments: tuple[str, ...], query: Query) -> dict | None:
    """``GET /api/v1/lineage`` and ``/api/v1/column-lineage``; None for other paths."""
    if segments == ("lineage",):
        query.allow("nodeId", "depth")
        node = query.required("nodeId", "dataset:NAMESPACE:NAME or job:NAMESPACE:NAME")
        return lineage(library, node, _depth(query))
    if segments == ("column-lineage",):
        from lineagectl.serve.marquez_columns import column_lineage

        query.allow("nodeId", "depth", "withDownstream")
        node = query.required("nodeId", "datasetField:NAMESPACE:NAME:FIELD or dataset:NAMESPACE:NAME")
        return column_lineage(library, node, _depth(query), query.flag("withDownstream"))
    return None


def _depth(query: Query) -> int:
    depth = query.integer("depth", DEFAULT_DEPTH)
    assert depth is not None
    if depth < 1:
        raise InputError(f"depth must be 1 or more, not {depth}")
    return depth


def lineage(library: Library, node: str, depth: int) -> dict:
    """Marquez's ``GET /api/v1/lineage?nodeId=…&depth=N``: both directions from the node, as ``graph`` walks."""
    try:
        readings = list(candidates(node))
    except ValueError as exc:
        raise InputError(str(exc)) from None
    for kind, namespace, name in readings:
        try:
            found = library.graph(name, library.db, namespace=namespace, kind=kind, direction="both", depth=depth)
        except NotFoundError:
            continue
        return lineage_graph(found.payload)
    raise NotFoundError(f"no node {node} in the store")


def candidates(node_id: str) -> Iterator[tuple[str, str, str]]:
    """``(kind, namespace, name)`` readings of ``node_id``, the shortest namespace first;
    ``ValueError`` if it does not start with ``dataset:`` or ``job:``."""
    kind, _, rest = node_id.partition(":")
    if kind not in KINDS or ":" not in rest:
        raise ValueError("nodeId must be dataset:NAMESPACE:NAME or job:NAMESPACE:NAME")
    for namespace, name in splits(rest, 2):
        yield kind, namespace, name


def splits(text: str, parts: int) -> Iterator[tuple[str, ...]]:
    """Every way to cut ``text`` at colons into ``parts`` non-empty parts, the first part shortest first
    (the readings of a node id whose namespace, name or field may hold colons)."""
    if parts == 1:
        if text:
            yield (text,)
        return
    at = text.find(":")
    while at != -1:
        head = text[:at]
        if head:
            for tail in splits(text[at + 1:], parts - 1):
                yield (head, *tail)
        at = text.find(":", at + 1)


def node_id(kind: str, namespace: str, name: str) -> str:
    """The Marquez id of a node."""
    return f"{kind}:{namespace}:{name}"


def lineage_graph(graph: dict) -> dict:
    """``graph -f json``'s payload as Marquez's lineage answer (models are datasets)."""
    ids: dict[str, str] = {}
    nodes: list[dict[str, Any]] = []
    for node in graph["nodes"]:
        kind = "job" if node["kind"] == "job" else "dataset"
        ids[node["id"]] = node_id(kind, node["namespace"], node["name"])
        nodes.append({"id": ids[node["id"]], "type": KINDS[kind],
                      "data": {"namespace": node["namespace"], "name": node["name"]}, "inEdges": [], "outEdges": []})
    by_id = {node["id"]: node for node in nodes}
    for edge in graph["edges"]:
        origin, destination = ids.get(edge["source"]), ids.get(edge["target"])
        if origin is None or destination is None:
            continue
        link = {"origin": origin, "destination": destination}
        by_id[origin]["outEdges"].append(link)
        by_id[destination]["inEdges"].append(link)
    return {"graph": sorted(nodes, key=lambda node: node["id"])}
