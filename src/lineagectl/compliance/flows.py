"""Flow rules of the policy (``flows:``, ``require: masking``) over column lineage.

Every DIRECT column path from a ``from`` column into a ``to`` dataset must pass
a transformation with ``masking: true``. Each edge by which an unmasked value
enters a target dataset is one violation, naming the origin column, the target
column and the column path.
"""

from __future__ import annotations

from typing import Any

from lineagectl.common.policy import FlowRule, Policy, Selector
from lineagectl.graph.edges import ColumnEdge
from lineagectl.graph.paths import column_path, reach
from lineagectl.graph.pii import tagged_columns
from lineagectl.graph.walk import walk_columns


def _dataset_filter(selector: Selector) -> tuple[str, dict]:
    """SQL condition on ``datasets`` (namespace, name) for a selector's globs."""
    conditions, params = [], {}
    if selector.namespace is not None:
        conditions.append("regexp_full_match(d.namespace, $ns)")
        params["ns"] = selector.namespace.sql_regex()
    if selector.name is not None:
        conditions.append("regexp_full_match(d.name, $name)")
        params["name"] = selector.name.sql_name_regex()
    return " AND ".join(conditions) or "true", params


def selected_datasets(con: Any, selector: Selector, regions: dict[int, str]) -> set[int]:
    """Datasets matching a selector's namespace and name globs (in SQL) and its region."""
    where, params = _dataset_filter(selector)
    found = {r[0] for r in con.execute(f"SELECT dataset_id FROM datasets d WHERE {where}", params).fetchall()}
    return {i for i in found if i in regions and selector.region in (None, regions[i])}


def _selected_columns(con: Any, selector: Selector, policy: Policy, regions: dict[int, str]) -> set[tuple[int, str]]:
    """(dataset, lower column) pairs a flow rule's ``from`` names."""
    if selector.tag is not None:
        found = set(tagged_columns(con, selector.tag, policy))
        if selector.column is not None:
            found = {k for k in found if selector.column.match(k[1])}
    else:
        where, params = _dataset_filter(selector)
        if selector.column is not None:
            where += " AND regexp_full_match(c.column_name, $column)"
            params["column"] = selector.column.sql_regex()
        found = {(i, c.lower()) for i, c in con.execute(
            f"SELECT c.dataset_id, c.column_name FROM columns c JOIN datasets d USING (dataset_id) WHERE {where}",
            params).fetchall()}
    datasets = selected_datasets(con, selector, regions) if (
        selector.namespace or selector.name or selector.region) else set(regions)
    return {k for k in found if k[0] in datasets}


def flow_violations(con: Any, rule: FlowRule, policy: Policy, regions: dict[int, str]) -> list[dict]:
    """Edges by which an unmasked value of a ``from`` column enters a ``to`` dataset (ids; described later)."""
    seeds = _selected_columns(con, rule.source, policy, regions)
    targets = selected_datasets(con, rule.target, regions)
    if not seeds or not targets:
        return []
    walk = walk_columns(con, sorted(seeds), "downstream", direct_only=True)
    unmasked = reach(seeds, walk.edges, keep=lambda e: not e.masking)
    found = []
    for edge in sorted(walk.edges, key=lambda e: tuple(map(str, e))):
        if edge.masking or edge.src_key not in unmasked or edge.dst not in targets or edge.src in targets:
            continue
        path: list[ColumnEdge] = [*column_path(unmasked, edge.src_key), edge]
        found.append({"edge": edge, "path": path, "source": path[0].src_key, "target": edge.dst_key})
    return found


def flow_items(flows: list, info: dict, names: dict, jobs: dict) -> list[dict]:
    """Flow violations (ids) as the contract's violation objects."""
    def column(key):
        return {**info[key[0]], "column": names.get(key, key[1])}

    items = []
    for rule, v in flows:
        nodes = [v["path"][0].src_key] + [e.dst_key for e in v["path"]]
        job = jobs.get(v["edge"].job)
        items.append({
            "rule": rule, "source": column(v["source"]), "target": column(v["target"]),
            "path": [{"namespace": info[d]["namespace"], "name": info[d]["name"], "column": names.get((d, c), c)}
                     for d, c in nodes],
            "jobs": [job] if job else []})
    return items
