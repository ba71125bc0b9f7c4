"""What dbt's node selection reads about each node, kept as a ``dbtNode`` dataset facet.

dbt selects nodes by their ``unique_id``, ``resource_type``, ``package_name``,
``fqn``, ``original_file_path`` (and the YAML ``patch_path``), ``tags``, rendered
``config``, ``source_name``, ``access``, ``version`` and ``latest_version``; tests by their generic test's
name and their kind. A dataset built from a model, seed, snapshot, source or ``ml``
exposure carries those fields of its own node, and under ``dependents`` the same
fields of the tests, unit tests and exposures that read it (nodes that are not
datasets), so ``graph/selectors`` can select as dbt does from the store alone.

Tests also keep their older form, ``dbt_test`` tags on the datasets and columns
they check (``show`` lists them): ``DbtTest`` says what a test node checks.
"""

from __future__ import annotations

from lineagectl.sources.dbt.shapes import a_text, an_object, node_config, node_parents, strings

FACET = "dbtNode"  # the key graph/dbt_nodes.py reads (answers never import sources)
DEPENDENT_TYPES = ("test", "unit_test", "exposure")


class DbtTest:
    """What a dbt test node says: the node it tests, its name, the column it tests (if one)."""

    def __init__(self, uid: str, node: dict) -> None:
        self.target = a_text(node.get("attached_node"), f"{uid}: attached_node") or next(
            iter(node_parents(uid, node)), None)
        metadata = an_object(node.get("test_metadata"), f"{uid}: test_metadata")
        self.generic = metadata.get("name") if isinstance(metadata.get("name"), str) else None
        self.name = self.generic or node.get("name") or uid
        self.column = node.get("column_name") or an_object(
            metadata.get("kwargs"), f"{uid}: test_metadata.kwargs").get("column_name")


def test_tags(nodes: dict[str, dict]) -> dict[str, list[dict]]:
    """The dbt tests defined on each node, as ``dbt_test`` tags (value: the test's name; on the
    column it checks, if one), by the unique_id of the node tested."""
    found: dict[str, list[dict]] = {}
    for uid, node in sorted(nodes.items()):
        if node.get("resource_type") != "test":
            continue
        test = DbtTest(uid, node)
        if test.target not in nodes:
            continue
        tag = {"key": "dbt_test", "value": str(test.name), "source": "dbt"}
        if isinstance(test.column, str) and test.column:
            tag["field"] = test.column
        if tag not in found.setdefault(test.target, []):
            found[test.target].append(tag)
    return found


def node_record(uid: str, node: dict) -> dict:
    """The fields of a dbt node that selection reads, as the manifest has them (config rendered)."""
    kind = a_text(node.get("resource_type"), f"{uid}: resource_type")
    record: dict = {"unique_id": uid, "resource_type": kind,
                    "package_name": a_text(node.get("package_name"), f"{uid}: package_name"),
                    "name": a_text(node.get("name"), f"{uid}: name"),
                    "fqn": strings(node.get("fqn"), f"{uid}: fqn"),
                    "original_file_path": a_text(node.get("original_file_path"), f"{uid}: original_file_path"),
                    "tags": strings(node.get("tags"), f"{uid}: tags")}
    patch = a_text(node.get("patch_path"), f"{uid}: patch_path")
    if patch:
        record["patch_path"] = patch.split("://", 1)[-1]  # "package://models/x.yml": the path in its package
    if kind != "exposure":  # dbt reads no exposure's config
        record["config"] = node_config(uid, node)
    for key in ("source_name", "access"):
        if isinstance(node.get(key), str):
            record[key] = node[key]
    for key in ("version", "latest_version"):  # dbt's version: method compares the two
        if node.get(key) is not None and not isinstance(node.get(key), (dict, list)):
            record[key] = str(node[key])
    if kind == "test":
        test = DbtTest(uid, node)
        record["test_type"] = "generic" if test.generic else "singular"
        if test.generic:
            record["test_name"] = test.generic
    elif kind == "unit_test":
        record["test_type"] = "unit"
        record["test_name"] = record["name"]
    return record


def dependents(nodes: dict[str, dict], exposures: dict, unit_tests: dict) -> dict[str, list[dict]]:
    """The tests, unit tests and exposures reading each node (by its unique_id), as records."""
    found: dict[str, list[dict]] = {}
    for uid, node in sorted({**nodes, **exposures, **unit_tests}.items()):
        if not isinstance(node, dict) or node.get("resource_type") not in DEPENDENT_TYPES:
            continue
        record = node_record(uid, node)
        for parent in sorted(set(node_parents(uid, node))):
            found.setdefault(parent, []).append(record)
    return found


def node_facet(uid: str, node: dict, readers: list[dict]) -> dict:
    """The ``dbtNode`` facet of the dataset of node ``uid``: its record, and the tests, unit
    tests and exposures that read it under ``dependents``."""
    record = node_record(uid, node)
    if readers:
        record["dependents"] = readers
    return record
