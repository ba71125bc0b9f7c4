"""What changed between two dbt manifests, by dbt's own ``state:modified`` rules.

dbt (``StateSelectorMethod`` and the ``same_*`` methods of its nodes) calls a
node modified when, compared with the old manifest, any of these differs; each
is one reason here, named as dbt's ``state:modified.<sub-selector>`` names it:

- ``body``: ``raw_code`` (``raw_sql`` before dbt 1.3), compared exactly, as dbt
  does (whitespace counts); a seed's ``checksum``;
- ``configs``: ``unrendered_config`` (the project's own words: the rendered
  ``config`` differs across dbt versions), without the keys dbt leaves out of the
  comparison (database, schema, alias: the next reason; tags; group);
- ``relation``: the unrendered ``database``/``schema``/``alias`` (a source's
  database, schema and identifier);
- ``contract``: a model's contract, once enforced (its ``checksum``);
- ``macros``: a macro the node depends on, directly or through other macros,
  whose ``macro_sql`` changed (or that was added or removed);
- ``persisted_descriptions``: descriptions dbt writes to the warehouse
  (``persist_docs``);
- ``fqn``: the node moved in the project;
- sources: ``freshness`` (with ``loaded_at_field``), ``quoting``, ``external``.

Only nodes that are tables (models, seeds, snapshots, sources) are compared;
tests and exposures follow from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import orjson

from lineagectl.errors import InputError
from lineagectl.sources.dbt.artifacts import artifact

DATASET_TYPES = ("model", "seed", "snapshot", "source")
# Config keys dbt's comparison excludes (CompareBehavior.Exclude): the relation is its own reason.
_CONFIG_EXCLUDED = frozenset({"database", "schema", "alias", "tags", "group"})


@dataclass
class StateChanges:
    """Added and removed node ids, and each modified node id with its reasons (in the order above)."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    modified: dict[str, list[str]] = field(default_factory=dict)


def read_manifest(path: str) -> dict:
    """The manifest at ``path`` as a dict; an ``InputError`` naming it when it is not a dbt manifest."""
    try:
        data = orjson.loads(Path(path).read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read dbt manifest: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), dict):
        raise InputError(f"{path}: not a dbt manifest (no nodes)")
    # A catalog has "nodes" too (none of them a model): read as a manifest it made every node
    # "added" and the diff pass with 0 breaking changes.
    found = artifact(path)
    if found is not None and found[0] != "manifest":
        raise InputError(f"{path}: a dbt {found[0]} file, not a manifest",
                         hint="diff compares two manifest.json files (or the target/ folders that hold them); "
                              "a catalog goes with --old-catalog/--new-catalog")
    return data


def table_nodes(manifest: dict) -> dict[str, dict]:
    """The models, seeds, snapshots and sources of ``manifest``, by unique_id."""
    sections = {**_mapping(manifest.get("nodes")), **_mapping(manifest.get("sources"))}
    return {uid: node for uid, node in sections.items()
            if isinstance(node, dict) and node.get("resource_type") in DATASET_TYPES}


def state_changes(old: dict, new: dict) -> StateChanges:
    """The nodes ``new`` adds, removes and modifies compared with ``old`` (dbt's ``state:new``,
    deleted nodes and ``state:modified``, each with its reasons)."""
    old_nodes, new_nodes = table_nodes(old), table_nodes(new)
    changed_macros = _changed_macros(_mapping(old.get("macros")), _mapping(new.get("macros")))
    new_macros = _mapping(new.get("macros"))
    changes = StateChanges(added=sorted(set(new_nodes) - set(old_nodes)),
                           removed=sorted(set(old_nodes) - set(new_nodes)))
    for uid in sorted(set(new_nodes) & set(old_nodes)):
        reasons = node_reasons(old_nodes[uid], new_nodes[uid])
        if _reaches_changed_macro(new_nodes[uid], new_macros, changed_macros):
            reasons.append("macros")
        if reasons:
            changes.modified[uid] = reasons
    return changes


def node_reasons(old: dict, new: dict) -> list[str]:
    """Why dbt would call ``new`` modified compared with ``old`` (macros aside)."""
    reasons = []
    if new.get("resource_type") == "seed":
        if _get(new, "checksum") != _get(old, "checksum"):
            reasons.append("body")
    elif _code(new) != _code(old):
        reasons.append("body")
    if _config(new) != _config(old):
        reasons.append("configs")
    if _relation(new) != _relation(old):
        reasons.append("relation")
    if new.get("resource_type") == "model" and not _same_contract(old, new):
        reasons.append("contract")
    if not _same_persisted_descriptions(old, new):
        reasons.append("persisted_descriptions")
    if new.get("fqn") != old.get("fqn"):
        reasons.append("fqn")
    if new.get("resource_type") == "source":
        if (new.get("freshness"), new.get("loaded_at_field")) != (old.get("freshness"), old.get("loaded_at_field")):
            reasons.append("freshness")
        if new.get("quoting") != old.get("quoting"):
            reasons.append("quoting")
        if new.get("external") != old.get("external"):
            reasons.append("external")
    return reasons


def _mapping(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _get(node: dict, key: str) -> object:
    return node.get(key)


def _code(node: dict) -> object:
    return node["raw_code"] if "raw_code" in node else node.get("raw_sql")


def _config(node: dict) -> dict:
    return {k: v for k, v in _mapping(node.get("unrendered_config")).items() if k not in _CONFIG_EXCLUDED}


def _relation(node: dict) -> tuple:
    if node.get("resource_type") == "source":
        return node.get("database"), node.get("schema"), node.get("identifier")
    config = _mapping(node.get("unrendered_config"))
    return config.get("database"), config.get("schema"), config.get("alias")


def _enforced(node: dict) -> bool:
    return _mapping(node.get("contract")).get("enforced") is True


def _same_contract(old: dict, new: dict) -> bool:
    if not _enforced(old) and not _enforced(new):
        return True
    if _enforced(old) != _enforced(new):
        return False
    return _mapping(old.get("contract")).get("checksum") == _mapping(new.get("contract")).get("checksum")


def _persist(node: dict) -> dict:
    return _mapping(_mapping(node.get("config")).get("persist_docs"))


def _same_persisted_descriptions(old: dict, new: dict) -> bool:
    persist = _persist(new)
    if persist.get("relation") and new.get("description") != old.get("description"):
        return False
    if persist.get("columns"):
        def described(node: dict) -> dict:
            return {k: _mapping(v).get("description") for k, v in _mapping(node.get("columns")).items()}
        return described(new) == described(old)
    return True


def _changed_macros(old: dict, new: dict) -> set[str]:
    """Macros added, removed, or whose ``macro_sql`` differs."""
    changed = set(old) ^ set(new)
    changed |= {uid for uid in set(old) & set(new)
                if _mapping(old[uid]).get("macro_sql") != _mapping(new[uid]).get("macro_sql")}
    return changed


def _macro_parents(node: dict) -> list[str]:
    return [m for m in _mapping(node.get("depends_on")).get("macros") or [] if isinstance(m, str)]


def _reaches_changed_macro(node: dict, macros: dict, changed: set[str]) -> bool:
    """True when ``node`` depends on a changed macro, directly or through other macros."""
    if not changed:
        return False
    seen: set[str] = set()
    frontier = _macro_parents(node)
    while frontier:
        uid = frontier.pop()
        if uid in seen:
            continue
        seen.add(uid)
        if uid in changed:
            return True
        frontier.extend(_macro_parents(_mapping(macros.get(uid))))
    return False
