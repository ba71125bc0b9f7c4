"""``quality``: the latest data-quality metrics and assertions, and what is at risk downstream.

Metrics come from ``dataQualityMetrics`` facets (``inputFacets`` of the runs that
read a dataset, or dataset facets): ``rowCount``, ``bytes`` and per-column
``nullCount``/``distinctCount``. Assertions come from ``dataQualityAssertions``
facets (``assertion``, ``success``, ``column``). Both are stored as ingested
(``io_facets`` / ``dataset_facets``); this module reads the latest of each.

A dataset breaks a rule when its latest null fraction for a column exceeds the
policy's ``quality.max_null_fraction`` (or a ``quality.columns`` override), or
when an assertion of its latest ``dataQualityAssertions`` failed. Every dataset
and model downstream of it (table-level lineage) is then **at risk**, with the
path and the upstream column that caused it. ``quality --gate NAME`` exits 1 if
NAME breaks a rule or is at risk: the check a scheduler runs before a job.
"""

from __future__ import annotations

from typing import Any

from lineagectl.common.policy import Policy, load_policy
from lineagectl.common.timeutil import format_timestamp
from lineagectl.errors import ExitStatus
from lineagectl.graph.names import resolve
from lineagectl.graph.paths import bfs_parents, dataset_ends, dataset_path
from lineagectl.graph.walk import walk_datasets
from lineagectl.results import Result
from lineagectl.store import open_store
from lineagectl.store.lookups import describe_datasets, require_datasets

# The latest payload of a facet key per dataset, from run inputs/outputs and from dataset facets.
_LATEST = """
    WITH all_facets AS (
        SELECT dataset_id, facet_hash, event_time AS seen FROM io_facets WHERE facet_key = $key
        UNION ALL
        SELECT dataset_id, facet_hash, last_seen FROM dataset_facets WHERE facet_key = $key)
    SELECT l.dataset_id, l.seen, b.payload FROM (
        SELECT dataset_id, max(seen) AS seen, arg_max(facet_hash, row(seen, facet_hash)) AS facet_hash
        FROM all_facets WHERE $ids IS NULL OR dataset_id IN (SELECT unnest($ids::BIGINT[]))
        GROUP BY dataset_id) l
    JOIN facet_blobs b USING (facet_hash)"""


def _latest(con, key: str, ids: list[int] | None) -> dict[int, tuple]:
    import json

    rows = con.execute(_LATEST, {"key": key, "ids": ids}).fetchall()
    return {dataset_id: (seen, json.loads(payload)) for dataset_id, seen, payload in rows}


def _number(value) -> int | float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def dataset_quality(con, policy: Policy, ids: list[int] | None = None) -> dict[int, dict]:
    """Latest metrics, failed assertions and broken rules per dataset that reported any."""
    metrics = _latest(con, "dataQualityMetrics", ids)
    assertions = _latest(con, "dataQualityAssertions", ids)
    names = {i: (d["namespace"], d["name"]) for i, d in describe_datasets(con, set(metrics) | set(assertions)).items()}
    report = {}
    for dataset_id in sorted(set(names)):
        namespace, name = names[dataset_id]
        seen, payload = metrics.get(dataset_id, (None, {}))
        rows = _number(payload.get("rowCount"))
        columns, broken = [], []
        for column, values in sorted((payload.get("columnMetrics") or {}).items()):
            values = values if isinstance(values, dict) else {}
            nulls = _number(values.get("nullCount"))
            total = _number(values.get("count")) or rows
            fraction = nulls / total if nulls is not None and total else None
            columns.append({"column": column, "null_count": nulls, "null_fraction": fraction,
                            "distinct_count": _number(values.get("distinctCount"))})
            limit = policy.max_null_fraction(namespace, name, column)
            if fraction is not None and limit is not None and fraction > limit:
                broken.append({"rule": "max_null_fraction", "column": column, "value": round(fraction, 6),
                               "limit": limit, "time": seen})
        failed_time, failed_payload = assertions.get(dataset_id, (None, {}))
        checked = [a for a in failed_payload.get("assertions") or [] if isinstance(a, dict)]
        failed = [a for a in checked if a.get("success") is False]
        for assertion in failed:
            broken.append({"rule": "assertion", "column": assertion.get("column"),
                           "value": assertion.get("assertion"), "limit": None, "time": failed_time})
        report[dataset_id] = {"namespace": namespace, "name": name, "time": seen or failed_time, "row_count": rows,
                              "columns": columns, "assertions": len(checked), "failed_assertions": failed,
                              "broken": broken}
    return report


def broken_rules(con, ids: list[int], policy: Policy) -> list[dict]:
    """One entry per broken rule of the datasets ``ids``: for ``changes``."""
    found = []
    for dataset_id, q in dataset_quality(con, policy, ids).items():
        for b in q["broken"]:
            what = (f"null fraction of {b['column']} is {b['value']:.1%} (limit {b['limit']:.0%})"
                    if b["rule"] == "max_null_fraction" else f"assertion {b['value']} failed"
                    + (f" on {b['column']}" if b["column"] else ""))
            found.append({"dataset_id": dataset_id, "time": b["time"], "summary": "quality: " + what,
                          "details": {k: v for k, v in b.items() if k != "time"}})
    return found


def datasets_at_risk(con: Any, quality: dict[int, dict]) -> dict[int, dict]:
    """Every dataset downstream of one that breaks a rule, with the nearest cause and the path to it."""
    at_risk: dict[int, dict] = {}
    for source, q in sorted(quality.items(), key=lambda kv: (kv[1]["namespace"], kv[1]["name"])):
        if not q["broken"]:
            continue
        walk = walk_datasets(con, [source], "downstream")
        parents = bfs_parents([source], walk.edges, dataset_ends)
        for dataset_id, depth in walk.datasets.items():
            if dataset_id in at_risk and at_risk[dataset_id]["depth"] <= depth:
                continue
            at_risk[dataset_id] = {"depth": depth, "source": source, "path": dataset_path(parents, dataset_id),
                                   "broken": q["broken"]}
    return at_risk


def quality(db: str | None = None, policy: str | Policy | None = None, gate: str | None = None,
            namespace: str | None = None) -> Result:
    """Latest quality per dataset, broken rules, and what is at risk downstream (``gate``: only NAME)."""
    rules = policy if isinstance(policy, Policy) else load_policy(policy)
    with open_store(db) as con:
        require_datasets(con, "quality")
        target = resolve(con, gate, namespace=namespace, kind="dataset") if gate is not None else None
        reported = dataset_quality(con, rules)
        risk = datasets_at_risk(con, reported)
        info = {i: {"namespace": d["namespace"], "name": d["name"], "type": d["type"]} for i, d in
                describe_datasets(con, set(risk) | {p for r in risk.values() for p in r["path"]}).items()}

    def cause(entry: dict) -> dict:
        source = reported[entry["source"]]
        first = entry["broken"][0]
        return {"namespace": source["namespace"], "name": source["name"], "column": first["column"],
                "rule": first["rule"], "value": first["value"], "limit": first["limit"]}

    at_risk = sorted(({**info[i], "depth": r["depth"], "cause": cause(r),
                       "path": [{"namespace": info[p]["namespace"], "name": info[p]["name"]} for p in r["path"]]}
                      for i, r in risk.items() if i in info),
                     key=lambda a: (a["depth"], a["namespace"], a["name"]))
    datasets = [{"namespace": q["namespace"], "name": q["name"], "time": format_timestamp(q["time"]),
                 "row_count": q["row_count"], "columns": q["columns"], "assertions": q["assertions"],
                 "failed_assertions": q["failed_assertions"],
                 "broken": [{k: v for k, v in b.items() if k != "time"} for b in q["broken"]]}
                for q in reported.values()]
    payload: dict[str, Any] = {"datasets": datasets, "at_risk": at_risk}
    if target is not None:
        own = reported.get(target.id, {}).get("broken", [])
        entry = next((a for a in at_risk if (a["namespace"], a["name"]) == (target.namespace, target.name)), None)
        payload["gate"] = {"namespace": target.namespace, "name": target.name, "ok": not own and entry is None,
                           "broken": [{k: v for k, v in b.items() if k != "time"} for b in own],
                           "at_risk": entry}
    failed = target is not None and not payload["gate"]["ok"]
    return Result("quality", payload, exit_status=ExitStatus.FINDINGS if failed else ExitStatus.OK)
