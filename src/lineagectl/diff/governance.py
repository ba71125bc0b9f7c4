"""Governance deltas of a dbt change: the violations NEW introduces or resolves, and where PII appears.

Each manifest is ingested into a temporary store and checked by the very code of
``lineagectl.compliance``: ``residency-check`` (regions, residency crossings,
``require: masking`` flow rules over column lineage) and ``pii`` (tags and the
policy's ``pii.columns``, then every column their values reach through DIRECT
column lineage), so a diff and a check never disagree. A violation is the same
in both when its rule, source and target (dataset and column) are; a PII column
when its dataset and column (case-insensitive) are.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from lineagectl.common.policy import Policy
from lineagectl.compliance.pii import pii
from lineagectl.compliance.residency import check
from lineagectl.diff.facts import ProjectFacts
from lineagectl.errors import InputError
from lineagectl.sources.ingest import ingest


def no_delta() -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    """``governance_delta``'s answer when there is nothing to find."""
    return {"new": [], "resolved": []}, {"new": [], "gone": []}


def needs_stores(policy: Policy, old: ProjectFacts, new: ProjectFacts) -> bool:
    """Whether ``governance_delta`` can find anything: the policy has residency, flow or ``pii.columns``
    rules, or a column of either manifest is tagged personal data (``graph.pii``'s rule, as the
    facts read the very tags the stores would hold). Otherwise both stores would hold no violation
    and no PII seed, so the answer is ``no_delta()`` without ingesting anything."""
    if policy.residency or policy.flows or policy.pii_columns:
        return True
    return any(node.pii for project in (old, new) for node in project.nodes.values())


def governance_delta(old: str, new: str, old_catalog: str | None, new_catalog: str | None, policy: Policy,
                     old_ids: dict[tuple[str, str], str], new_ids: dict[tuple[str, str], str],
                     ) -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    """``(violations, pii)``. ``violations``: ``{"new": [...], "resolved": [...]}``, violations
    (``residency-check``'s shape) only NEW has, and only OLD has; empty when the policy has no
    residency or flow rule. ``pii``: ``{"new": [...], "gone": [...]}``, the columns that are personal
    data in NEW and not in OLD (or did not exist there), and the reverse; each
    ``{"namespace", "name", "column", "via"}`` where ``via`` is ``{"sources": [...]}`` for a tagged
    column or ``{"origin": ref, "masked": bool}`` for one PII reaches. ``old_ids`` and ``new_ids`` name
    each side's datasets (namespace, name) by their dbt unique_id: a dataset is the same in both when
    its unique_id is, so a warehouse or schema renamed between the two is no change."""
    with tempfile.TemporaryDirectory(prefix="lineagectl-diff-") as folder:
        before = _governance(old, old_catalog, str(Path(folder) / "old.duckdb"), policy, old_ids)
        after = _governance(new, new_catalog, str(Path(folder) / "new.duckdb"), policy, new_ids)
    old_keys = {_key(v, old_ids) for v in before[0]}
    new_keys = {_key(v, new_ids) for v in after[0]}
    violations = {"new": [v for v in after[0] if _key(v, new_ids) not in old_keys],
                  "resolved": [v for v in before[0] if _key(v, old_ids) not in new_keys]}
    return violations, {"new": [p for k, p in after[1].items() if k not in before[1]],
                        "gone": [p for k, p in before[1].items() if k not in after[1]]}


def _governance(manifest: str, catalog: str | None, store: str, policy: Policy,
                ids: dict[tuple[str, str], str]) -> tuple[list[dict], dict[tuple, dict]]:
    ingest([manifest], store, catalog=catalog, max_future=None)
    violations = list(check(store, policy).payload["violations"]) if policy.residency or policy.flows else []
    try:
        found = pii(store, policy).payload
    except InputError:  # the manifest holds no table: no personal data in it
        return violations, {}
    personal = {}
    for item in found["columns"]:
        personal[_ref(item, ids)] = {**_plain(item, ids), "via": {"sources": item["sources"]}}
    for item in found["propagated"]:
        personal.setdefault(_ref(item, ids), {**_plain(item, ids), "via": {"origin": item["origin"],
                                                                           "masked": item["masked"]}})
    return violations, personal


def _plain(item: dict, ids: dict[tuple[str, str], str]) -> dict:
    return {"unique_id": ids.get((item["namespace"], item["name"])), "namespace": item["namespace"],
            "name": item["name"], "column": item["column"]}


def _ref(item: dict, ids: dict[tuple[str, str], str]) -> tuple:
    """A column by its dataset's dbt unique_id (else its namespace and name) and lower-case name."""
    dataset = (item.get("namespace"), item.get("name"))
    return ids.get(dataset, dataset), str(item.get("column")).lower()  # type: ignore[arg-type]


def _key(violation: dict, ids: dict[tuple[str, str], str]) -> tuple:
    return violation["rule"], _ref(violation["source"], ids), _ref(violation["target"], ids)
