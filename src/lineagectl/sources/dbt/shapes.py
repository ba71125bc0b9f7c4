"""Reading the fields of dbt artifacts with the shapes dbt writes.

Absent values (null, empty) read as absent; a value of another shape raises
``Shape``, which the manifest reader reports as an ``InputError`` naming the
file. Only these checks may turn into "not a usable dbt manifest": a bug in
lineagectl's own code propagates as itself.
"""

from __future__ import annotations


class Shape(Exception):
    """A field of a dbt artifact does not have the shape dbt writes; ``manifest_events`` reports it
    as an ``InputError`` naming the file (``artifact``: manifest, catalog or run_results)."""

    def __init__(self, where: str, expected: str, value: object, artifact: str = "manifest") -> None:
        super().__init__(f"{where} is {json_type(value)}, not {expected}")
        self.artifact = artifact


def json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
             float: "a number"}
    return names.get(type(value), type(value).__name__)


def an_object(value: object, where: str, artifact: str = "manifest") -> dict:
    """A JSON object of the artifact; absent (null, empty) reads as {}."""
    if isinstance(value, dict):
        return value
    if not value:
        return {}
    raise Shape(where, "an object", value, artifact)


def a_list(value: object, where: str, artifact: str = "manifest") -> list:
    """A JSON list of the artifact; absent (null, empty) reads as []."""
    if isinstance(value, list):
        return value
    if not value:
        return []
    raise Shape(where, "a list", value, artifact)


def a_text(value: object, where: str, artifact: str = "manifest") -> str | None:
    """A string of the artifact; absent (null, empty) reads as None."""
    if isinstance(value, str):
        return value or None
    if not value:
        return None
    raise Shape(where, "a string", value, artifact)


def strings(value: object, where: str) -> list[str]:
    """A list of names (tags, parents): its strings; one string reads as a list of it."""
    if isinstance(value, str):
        return [value]
    return [item for item in a_list(value, where) if isinstance(item, str)]


def mapping(value: object) -> dict:
    """A top-level section: only the shapes dbt writes count; anything else is skipped, not fatal."""
    return value if isinstance(value, dict) else {}


def compiled_sql(uid: str, node: dict) -> str | None:
    return a_text(node.get("compiled_code"), f"{uid}: compiled_code") or a_text(
        node.get("compiled_sql"), f"{uid}: compiled_sql")


def node_meta(uid: str, node: dict) -> dict:
    return an_object(node.get("meta"), f"{uid}: meta")


def node_config(uid: str, node: dict) -> dict:
    return an_object(node.get("config"), f"{uid}: config")


def node_parents(uid: str, node: dict) -> list[str]:
    depends_on = an_object(node.get("depends_on"), f"{uid}: depends_on")
    return strings(depends_on.get("nodes"), f"{uid}: depends_on.nodes")


def materialization(uid: str, node: dict) -> str | None:
    return a_text(node_config(uid, node).get("materialized"), f"{uid}: config.materialized")
