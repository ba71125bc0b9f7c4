"""Marquez's column lineage (``GET /api/v1/column-lineage``) from ``queries.field_lineage``'s graph.

``nodeId`` is ``datasetField:NAMESPACE:NAME:FIELD`` (one field) or
``dataset:NAMESPACE:NAME`` (each of its fields); namespaces and names may hold
colons, so each way of splitting the id is tried against the store, shortest
namespace first. The walk goes upstream ``depth`` hops (default 20), and with
``withDownstream=true`` downstream too. Each node is a ``DATASET_FIELD`` whose
``data`` names the field, its type and its ``inputFields`` with their
transformation, as Marquez's ``ColumnLineageNodeData`` does; and as Marquez
answers, an edge's ``origin`` is the node it is listed under and its
``destination`` the other end (an ``inEdges`` edge points at an input field).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from lineagectl.errors import InputError, NotFoundError
from lineagectl.results import transformation_text
from lineagectl.serve.marquez import splits

if TYPE_CHECKING:
    from lineagectl.serve.reads import Library


def readings(node: str) -> Iterator[tuple[str, str, str | None]]:
    """``(namespace, name, field or None)`` readings of a column-lineage ``nodeId``; ``InputError`` for
    another kind of id."""
    kind, _, rest = node.partition(":")
    parts = {"datasetField": 3, "dataset": 2}.get(kind)
    if parts is None:
        raise InputError("nodeId must be datasetField:NAMESPACE:NAME:FIELD or dataset:NAMESPACE:NAME")
    for split in splits(rest, parts):
        yield split[0], split[1], split[2] if parts == 3 else None


def field_id(ref: dict) -> str:
    """Marquez's id of a field node."""
    return f"datasetField:{ref['namespace']}:{ref['name']}:{ref['column']}"


def column_lineage(library: Library, node: str, depth: int, downstream: bool) -> dict:
    """Marquez's column-lineage answer for ``node``: ``{"graph": [field nodes]}``; ``NotFoundError`` when no
    reading of the id names a dataset (and field) of the store."""
    tried = list(readings(node))  # a malformed id is a 400 before the store is opened
    try:
        found = library.field_lineage(library.db, tried, depth=depth, downstream=downstream)
    except NotFoundError as exc:
        raise NotFoundError(f"no node {node} in the store: {exc.message}") from None
    return {"graph": _nodes(found)}


def _nodes(found: dict) -> list[dict]:
    nodes: dict[str, dict[str, Any]] = {}
    for field in found["fields"]:
        nodes[field_id(field)] = {
            "id": field_id(field), "type": "DATASET_FIELD",
            "data": {"namespace": field["namespace"], "dataset": field["name"], "datasetVersion": None,
                     "field": field["column"], "fieldType": field["type"], "transformationDescription": None,
                     "transformationType": None, "inputFields": []},
            "inEdges": [], "outEdges": []}
    linked: dict[str, set[str]] = {key: set() for key in nodes}
    for edge in found["edges"]:
        source, target = field_id(edge["source"]), field_id(edge["target"])
        kind = transformation_text({"type": edge["type"], "subtype": edge["subtype"]})
        nodes[target]["data"]["inputFields"].append({
            "namespace": edge["source"]["namespace"], "dataset": edge["source"]["name"], "datasetVersion": None,
            "field": edge["source"]["column"], "transformationDescription": edge["description"],
            "transformationType": kind})
        if source not in linked[target]:  # one edge per pair of fields, however many transformations
            linked[target].add(source)
            nodes[target]["inEdges"].append({"origin": target, "destination": source})
            nodes[source]["outEdges"].append({"origin": source, "destination": target})
    for each in nodes.values():
        data = each["data"]
        if data["inputFields"]:  # Marquez's deprecated node-level copy: its first input's
            first = data["inputFields"][0]
            data["transformationDescription"] = first["transformationDescription"]
            data["transformationType"] = first["transformationType"]
        each["inEdges"].sort(key=lambda e: e["destination"])
        each["outEdges"].sort(key=lambda e: e["destination"])
    return [nodes[key] for key in sorted(nodes)]
