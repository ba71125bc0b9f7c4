"""dbt's node selection methods, over the ``dbtNode`` facets a dbt manifest's ingest stores.

Each dataset built from a dbt node carries that node's record (``unique_id``,
``resource_type``, ``package_name``, ``fqn``, ``original_file_path``, ``patch_path``,
``tags``, rendered ``config``, ``source_name``, ``access``, ``version``, ``latest_version``) and the records
of the tests, unit tests and exposures that read it (``dependents``). Those are the
nodes dbt selects that are not datasets: a method matching them selects no dataset
itself, but their parents are what ``+`` walks to (``+exposure:x`` is the exposure's
upstream, as in dbt).

Each method means what it means in dbt (``dbt/graph/selector_methods.py``): globs
are fnmatch's, case-sensitive; ``fqn:`` matches dotted parts of the fqn with or without
the package, a glob covering the rest; ``source:`` takes ``source``,
``source.table`` or ``package.source.table``; ``path:`` a file, directory or glob
relative to the project (as ``pathlib.glob``: ``*`` stays within a directory, ``**``
crosses them), matching the node's file, its YAML patch or a directory above the file;
``config.KEY:`` compares the rendered value exactly (any element of a list; ``true``/
``false`` for booleans; ``severity`` case-insensitively).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePosixPath
from typing import Any

from lineagectl.common.globs import Glob, GlobError
from lineagectl.errors import InputError

FACET = "dbtNode"  # the facet key sources/dbt/node_meta.py writes
METHODS = ("fqn", "source", "path", "file", "package", "resource_type", "config", "test_name", "test_type",
           "exposure", "unit_test", "group", "access", "version")
# dbt's methods that need what a store does not keep (state, results, semantic layer).
UNSUPPORTED = ("state", "result", "source_status", "metric", "semantic_model", "saved_query",
               "selector")
RESOURCE_TYPES = ("model", "analysis", "test", "snapshot", "operation", "seed", "rpc", "sql_operation", "doc",
                  "source", "macro", "exposure", "metric", "group", "saved_query", "semantic_model", "unit_test",
                  "fixture", "function")
# Resource types that are neither datasets nor nodes reading them (semantic layer, macros, docs):
# a lineage store keeps none, so `resource_type:` on them could only ever say "matches no dataset".
NOT_KEPT = ("metric", "semantic_model", "saved_query", "macro", "doc", "group")
VERSION_KINDS = ("latest", "prerelease", "old", "none")
TEST_TYPES = {"generic": ("generic",), "schema": ("generic",), "singular": ("singular",),
              "data": ("generic", "singular"), "unit": ("unit",)}
_WILDCARDS = "*?[]"
_NOT_CONFIGURABLE = ("exposure", "unit_test")  # dbt reads config from nodes and sources only

# The dbtNode facets of every dataset at its latest sighting (aliases folded): a table that is
# two nodes (a seed, and a source over it) carries both, from the same manifest.
_LATEST = f"""
    WITH f AS (
        SELECT coalesce(a.dataset_id, f.dataset_id) AS dataset_id, f.facet_hash, f.last_seen
        FROM dataset_facets f LEFT JOIN dataset_aliases a ON a.alias_id = f.dataset_id
        WHERE f.facet_key = '{FACET}'
        QUALIFY f.last_seen = max(f.last_seen) OVER (PARTITION BY coalesce(a.dataset_id, f.dataset_id)))
    SELECT f.dataset_id, b.payload FROM f JOIN facet_blobs b USING (facet_hash) ORDER BY 1, 2"""
# Datasets a dbt manifest described: they carry a dbt unique_id as a symlink.
_DBT_DATASETS = "SELECT DISTINCT dataset_id FROM dataset_aliases WHERE kind = 'symlink' AND alias_type = 'DBT'"

Test = Callable[[dict], bool]


@dataclass
class DbtNodes:
    """The dbt nodes of a store: those that are datasets, and the tests and exposures reading them."""

    datasets: dict[int, list[dict]] = field(default_factory=dict)  # dataset id -> its nodes' records
    readers: dict[str, dict] = field(default_factory=dict)   # unique_id -> record of a non-dataset node
    parents: dict[str, set[int]] = field(default_factory=dict)  # unique_id -> the datasets it reads
    described: set[int] = field(default_factory=set)  # datasets from a manifest, with a record or not

    @classmethod
    def load(cls, con: Any) -> DbtNodes:
        nodes = cls(described={r[0] for r in con.execute(_DBT_DATASETS).fetchall()})
        for dataset_id, payload in con.execute(_LATEST).fetchall():
            record = json.loads(payload)
            nodes.datasets.setdefault(dataset_id, []).append(record)
            for reader in record.get("dependents") or []:
                nodes.readers.setdefault(reader["unique_id"], reader)
                nodes.parents.setdefault(reader["unique_id"], set()).add(dataset_id)
        for uid in {r["unique_id"] for records in nodes.datasets.values() for r in records} & set(nodes.readers):
            del nodes.readers[uid]  # an ml exposure is a dataset of its own
        nodes.described |= set(nodes.datasets)
        return nodes

    @cached_property
    def records(self) -> list[dict]:
        """Every node's record: datasets' and the others'."""
        return [*(r for records in self.datasets.values() for r in records), *self.readers.values()]

    @cached_property
    def paths(self) -> set[str]:
        """Every file a node was read from and every directory above one, as dbt's ``path:`` globs see them."""
        found: set[str] = set()
        for record in self.records:
            for key in ("original_file_path", "patch_path"):
                if isinstance(record.get(key), str):
                    path = PurePosixPath(record[key])
                    found |= {str(path), *(str(p) for p in path.parents if str(p) != ".")}
        return found

    def config_keys(self) -> set[str]:
        return {key for record in self.records for key in (record.get("config") or {})}

    def latest_version_of(self, name: str) -> set[int]:
        """The datasets of versioned dbt model ``name``'s latest version: what dbt's ``ref('name')``
        (no ``v=``) builds on."""
        latest = _version_test("latest", f"version:latest,{name}", self)
        return {i for i, records in self.datasets.items()
                if any(r.get("name") == name and "version" in r and latest(r) for r in records)}

    def select(self, test: Test) -> tuple[set[int], set[int], list[str]]:
        """Datasets whose node passes ``test``; the datasets read by the other nodes that pass
        (what ``+`` starts from); the resource types of those other nodes."""
        readers = [uid for uid, record in self.readers.items() if test(record)]
        return ({i for i, records in self.datasets.items() if any(test(r) for r in records)},
                set().union(*(self.parents[uid] for uid in readers)),
                [self.readers[uid]["resource_type"] for uid in readers])


def glob(pattern: str, selector: str, *, case_sensitive: bool = True) -> Glob:
    """``pattern`` as a glob; an ``InputError`` naming the selector when it is not one."""
    try:
        return Glob(pattern, case_sensitive=case_sensitive)
    except GlobError as exc:
        raise InputError(f"selector {selector!r}: {exc}") from None


def method_test(method: str, args: list[str], value: str, selector: str, nodes: DbtNodes) -> Test:
    """The test a node's record must pass for ``method[.args]:value``; ``InputError`` for a value
    dbt would refuse (an unknown resource type, a source of four parts, …)."""
    if method == "config":
        return _config_test(args, value, selector, nodes)
    if args:
        raise InputError(f"selector {selector!r}: only config takes a key (config.KEY:value)")
    if method == "fqn":
        return lambda r: r.get("resource_type") != "source" and _fqn_matches(
            r.get("fqn") or [], value, "version" in r, selector)
    if method in ("source", "exposure", "unit_test"):
        return _dotted_test(method, value, selector)
    if method == "path":
        return _path_test(value, selector, nodes)
    if method == "file":
        match = glob(value, selector).match
        return lambda r: isinstance(r.get("original_file_path"), str) and (
            match(PurePosixPath(r["original_file_path"]).name) or match(PurePosixPath(r["original_file_path"]).stem))
    if method == "resource_type":
        if value not in RESOURCE_TYPES:
            raise InputError(f"selector {selector!r}: {value!r} is not a dbt resource type",
                             hint=f"resource types: {', '.join(RESOURCE_TYPES)}")
        if value in NOT_KEPT:
            raise InputError(f"selector {selector!r}: a lineage store does not keep dbt {value} nodes "
                             "(they are not datasets and read none)",
                             hint="resource types it keeps: model, seed, snapshot, source, test, unit_test, exposure")
        return lambda r: r.get("resource_type") == value
    if method == "test_name":
        match = glob(value, selector).match
        return lambda r: isinstance(r.get("test_name"), str) and match(r["test_name"])
    if method == "test_type":
        if value not in TEST_TYPES:
            raise InputError(f"selector {selector!r}: {value!r} is not a dbt test type",
                             hint="test types: generic, singular, unit, data")
        return lambda r: r.get("test_type") in TEST_TYPES[value]
    if method == "group":
        match = glob(value, selector).match
        return lambda r: r.get("resource_type") not in ("source", *_NOT_CONFIGURABLE) and isinstance(
            (r.get("config") or {}).get("group"), str) and match(r["config"]["group"])
    if method == "access":
        return lambda r: r.get("resource_type") == "model" and r.get("access") == value
    if method == "version":
        return _version_test(value, selector, nodes)
    match = glob(value, selector).match  # package
    return lambda r: isinstance(r.get("package_name"), str) and match(r["package_name"])


def _version_key(version: str) -> tuple[int, float, str]:
    """dbt's order of versions (UnparsedVersion): as numbers when both are, else as text."""
    try:
        return (0, float(version), "")
    except ValueError:
        return (1, 0.0, version)


def _version_test(value: str, selector: str, nodes: DbtNodes) -> Test:
    """dbt's ``version:``: models whose ``version`` is their ``latest_version`` (latest), above it
    (prerelease), below it (old), or unversioned models (none)."""
    if value not in VERSION_KINDS:
        raise InputError(f"selector {selector!r}: {value!r} is not a dbt version kind",
                         hint=f"version kinds: {', '.join(VERSION_KINDS)}")
    if any("version" in r and "latest_version" not in r for r in nodes.records):
        raise InputError(f"selector {selector!r}: the store's versioned dbt models were ingested before "
                         "lineagectl kept their latest_version",
                         hint="re-ingest the manifest: lineagectl ingest --force target/manifest.json")

    def test(r: dict) -> bool:
        if r.get("resource_type") != "model":
            return False
        if value == "none":
            return "version" not in r
        if "version" not in r or "latest_version" not in r:
            return False
        mine, latest = _version_key(r["version"]), _version_key(r["latest_version"])
        if mine[0] != latest[0]:  # one a number, one not: dbt compares their text
            mine, latest = (1, 0.0, r["version"]), (1, 0.0, r["latest_version"])
        return {"latest": mine == latest, "prerelease": mine > latest, "old": mine < latest}[value]
    return test


def _dotted_test(method: str, value: str, selector: str) -> Test:
    """``source:`` (source, source.table, package.source.table), ``exposure:`` and ``unit_test:``
    (name, package.name): each part a glob, the parts not given match anything."""
    parts = value.split(".")
    if method == "source":
        if len(parts) > 3:
            raise InputError(f"selector {selector!r}: a source is source_name, source_name.table_name "
                             "or package.source_name.table_name")
        wanted = {1: ["*", parts[0], "*"], 2: ["*", *parts], 3: parts}[len(parts)]
        keys: tuple[str, ...] = ("package_name", "source_name", "name")
    else:
        if len(parts) > 2:
            raise InputError(f"selector {selector!r}: {'an exposure' if method == 'exposure' else 'a unit test'}"
                             " is name or package.name")
        wanted = ["*", *parts] if len(parts) == 1 else parts
        keys = ("package_name", "name")
    globs = [glob(part, selector).match for part in wanted]
    return lambda r: r.get("resource_type") == method and all(
        isinstance(r.get(key), str) and match(r[key]) for key, match in zip(keys, globs, strict=True))


def _fqn_matches(fqn: list[str], value: str, versioned: bool, selector: str) -> bool:
    """dbt's qualified-name match, with the package (``pkg.staging.x``) or without it (``staging``)."""
    return _fqn_part_match(fqn, value, versioned, selector) or (
        len(fqn) > 1 and _fqn_part_match(fqn[1:], value, versioned, selector))


def _fqn_part_match(fqn: list[str], value: str, versioned: bool, selector: str) -> bool:
    wanted = value.split(".")
    if versioned and len(fqn) > 1:  # model.v2: "model", "model.v2" or "model_v2"
        if fqn[-2] == value or "_".join(fqn[-2:]) == "_".join(wanted[-2:]):
            return True
    elif fqn and fqn[-1] == value:
        return True
    flat = [part for segment in fqn for part in segment.split(".")]  # dots in a name separate parts
    if len(flat) < len(wanted):
        return False
    for index, part in enumerate(wanted):
        if any(c in part for c in _WILDCARDS):  # a glob from here on covers the rest of the fqn
            return glob(".".join(wanted[index:]), selector).match(".".join(flat[index:]))
        if flat[index] != part:
            return False
    return True


def _path_test(value: str, selector: str, nodes: DbtNodes) -> Test:
    """dbt globs ``value`` in the project and takes the node whose file, YAML patch or a directory
    above its file is among the paths found; the paths a store knows are those of its nodes."""
    pattern = value.strip()
    while pattern.startswith("./"):
        pattern = pattern[2:]
    parts = [part for part in pattern.split("/") if part not in ("", ".")]
    matchers: list[Callable[[str], bool]] = [glob(part, selector).match for part in parts]
    found = {p for p in nodes.paths if _path_glob(matchers, parts, p.split("/"))}

    def test(record: dict) -> bool:
        own = record.get("original_file_path")
        if not isinstance(own, str):
            return False
        path = PurePosixPath(own)
        return (str(path) in found or record.get("patch_path") in found
                or any(str(parent) in found for parent in path.parents))

    return test


def _path_glob(matchers: list[Callable[[str], bool]], parts: list[str], path: list[str]) -> bool:
    """``pathlib``'s glob: each part one directory level, ``**`` any number of them."""
    if not parts:
        return not path
    if parts[0] == "**":
        return any(_path_glob(matchers[1:], parts[1:], path[k:]) for k in range(len(path) + 1))
    return bool(path) and matchers[0](path[0]) and _path_glob(matchers[1:], parts[1:], path[1:])


def _config_test(keys: list[str], value: str, selector: str, nodes: DbtNodes) -> Test:
    if not keys:
        raise InputError(f"selector {selector!r}: config needs a key, e.g. config.materialized:table")
    known = nodes.config_keys()
    if keys[0] not in known:
        raise InputError(f"selector {selector!r}: no dbt node has a config key {keys[0]!r}",
                         hint="config keys: " + ", ".join(sorted(known)) if known else None)
    folded = value.upper() if keys == ["severity"] else value  # dbt compares severity case-insensitively

    def equal(item: object) -> bool:
        if isinstance(item, bool):
            return value.lower() == str(item).lower()
        return isinstance(item, str) and (item.upper() if keys == ["severity"] else item) == folded

    def test(record: dict) -> bool:
        if record.get("resource_type") in _NOT_CONFIGURABLE:
            return False
        found: object = record.get("config") or {}
        for key in keys:
            if not isinstance(found, dict) or key not in found:
                return False
            found = found[key]
        return any(equal(item) for item in found) if isinstance(found, list) else equal(found)

    return test
