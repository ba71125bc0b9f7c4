"""Governance deltas of a dbt change: the residency and flow violations NEW introduces or resolves.

Each manifest is ingested into a temporary store and checked by the very
``residency-check`` of ``lineagectl.compliance`` (regions, residency crossings,
``require: masking`` flow rules over column lineage), so a diff and a check
never disagree on what a violation is. A violation is the same in both when its
rule, source and target (dataset and column) are.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from lineagectl.common.policy import Policy
from lineagectl.compliance.residency import check
from lineagectl.sources.ingest import ingest


def violation_delta(old: str, new: str, old_catalog: str | None, new_catalog: str | None,
                    policy: Policy) -> dict[str, list[dict]]:
    """``{"new": [...], "resolved": [...]}``: violations (``residency-check``'s shape) only NEW has,
    and only OLD has. Empty when the policy has no residency or flow rule."""
    if not policy.residency and not policy.flows:
        return {"new": [], "resolved": []}
    with tempfile.TemporaryDirectory(prefix="lineagectl-diff-") as folder:
        before = _violations(old, old_catalog, str(Path(folder) / "old.duckdb"), policy)
        after = _violations(new, new_catalog, str(Path(folder) / "new.duckdb"), policy)
    old_keys, new_keys = {_key(v) for v in before}, {_key(v) for v in after}
    return {"new": [v for v in after if _key(v) not in old_keys],
            "resolved": [v for v in before if _key(v) not in new_keys]}


def _violations(manifest: str, catalog: str | None, store: str, policy: Policy) -> list[dict]:
    ingest([manifest], store, catalog=catalog, max_future=None)
    return list(check(store, policy).payload["violations"])


def _key(violation: dict) -> tuple:
    def ref(item: dict) -> tuple:
        return item.get("namespace"), item.get("name"), item.get("column")

    return violation["rule"], ref(violation["source"]), ref(violation["target"])
