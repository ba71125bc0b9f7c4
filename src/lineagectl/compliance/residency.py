"""Governance checks for CI: residency rules and column flow rules of the policy.

Residency: every dataset gets a region (first matching ``regions:`` rule, else
``unknown``). For a rule ``from: eu, allowed: [eu]``, data of the ``from`` region
spreads downstream through datasets inside the allowed regions; a violation is a
**crossing edge** from such a dataset to one outside them. Each crossing is
reported once, with the jobs that move the data and a path from the origin;
what lies further downstream is listed as ``affected`` in that violation, so an
EU → unknown → US chain is one violation, at EU → unknown.

Flow rules (``require: masking``): every DIRECT column path from a ``from``
column into a ``to`` dataset must pass a transformation with ``masking: true``.
Each edge by which an unmasked value enters a target dataset is one violation,
naming the origin column, the target column and the column path.
"""

from __future__ import annotations

from collections import deque

from lineagectl.errors import DatabaseMissingError
from lineagectl.graph.walk import column_path, reach, walk_column_set
from lineagectl.graph.names import job_names
from lineagectl.compliance.pii import column_names, tagged_columns
from lineagectl.common.policy import UNKNOWN_REGION, FlowRule, Policy, ResidencyRule, Selector, load_policy
from lineagectl.results import Result, counted
from lineagectl.store import open_store

# Dataset → job → dataset pairs of the summary lineage, aliases folded into their dataset.
_PAIRS = """
    WITH e AS (SELECT coalesce(a.dataset_id, x.dataset_id) AS dataset_id, x.job_id, x.direction
               FROM edges x LEFT JOIN dataset_aliases a ON a.alias_id = x.dataset_id)
    SELECT DISTINCT i.dataset_id, o.dataset_id, i.job_id
    FROM e i JOIN e o ON o.job_id = i.job_id AND o.direction = 'out'
    WHERE i.direction = 'in' AND i.dataset_id <> o.dataset_id
    ORDER BY 1, 2, 3"""

Adjacency = dict[int, list[tuple[int, int]]]  # dataset -> [(downstream dataset, job)], sorted


def region_map(con, policy: Policy) -> dict[int, str]:
    """The region of every dataset, matched in SQL (fast on large stores)."""
    cases, params = [], {}
    for index, (region, globs) in enumerate(policy.regions.items()):
        # One alternation per region: RE2 matches it in one pass, however many globs.
        params[f"r{index}"] = region
        params[f"g{index}"] = "(?is)(?:" + "|".join(g.sql_regex()[5:] for g in globs) + ")"
        cases.append(f"WHEN regexp_full_match(namespace, $g{index}) "
                     f"OR regexp_full_match(namespace || '/' || name, $g{index}) THEN $r{index}")
    region = f"CASE {' '.join(cases)} ELSE '{UNKNOWN_REGION}' END" if cases else f"'{UNKNOWN_REGION}'"
    return dict(con.execute(f"SELECT dataset_id, {region} FROM datasets", params).fetchall())


def _describe(con, ids, regions: dict[int, str]) -> dict[int, dict]:
    """namespace, name and region of the datasets an answer names."""
    ids = sorted(set(ids))
    rows = con.execute("SELECT dataset_id, namespace, name FROM datasets "
                       "WHERE dataset_id IN (SELECT unnest($ids::BIGINT[]))", {"ids": ids}).fetchall() if ids else []
    return {r[0]: {"namespace": r[1], "name": r[2], "region": regions[r[0]]} for r in rows}


def residency_violations(rule: ResidencyRule, regions: dict[int, str], pairs: Adjacency) -> list[dict]:
    """The crossing edges of one residency rule, as dataset and job ids (described by the caller)."""
    allowed = set(rule.allowed)
    parent: dict[int, int | None] = {d: None for d, region in regions.items() if region == rule.origin}
    queue = deque(sorted(parent))
    crossings: dict[tuple[int, int], set[int]] = {}
    while queue:
        node = queue.popleft()
        for target, job in pairs.get(node, ()):
            region = regions.get(target)
            if region is None:
                continue
            if region in allowed:
                if target not in parent:
                    parent[target] = node
                    queue.append(target)
            else:
                crossings.setdefault((node, target), set()).add(job)
    found, affected = [], {}
    for (source, target), jobs in crossings.items():
        path, node = [target], source
        while node is not None:
            path.append(node)
            node = parent[node]
        if target not in affected:
            affected[target] = _downstream(target, pairs, regions)
        found.append({"source": source, "target": target, "jobs": jobs, "path": path[::-1],
                      "affected": affected[target]})
    return found


def _downstream(start: int, pairs: Adjacency, regions: dict) -> set[int]:
    seen, queue = {start}, deque([start])
    while queue:
        for target, _job in pairs.get(queue.popleft(), ()):
            if target not in seen and target in regions:
                seen.add(target)
                queue.append(target)
    seen.discard(start)
    return seen


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


def _selected_datasets(con, selector: Selector, regions: dict[int, str]) -> set[int]:
    """Datasets matching a selector's namespace and name globs (in SQL) and its region."""
    where, params = _dataset_filter(selector)
    found = {r[0] for r in con.execute(f"SELECT dataset_id FROM datasets d WHERE {where}", params).fetchall()}
    return {i for i in found if i in regions and selector.region in (None, regions[i])}


def _selected_columns(con, selector: Selector, policy: Policy, regions: dict[int, str]) -> set[tuple[int, str]]:
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
    datasets = _selected_datasets(con, selector, regions) if (
        selector.namespace or selector.name or selector.region) else set(regions)
    return {k for k in found if k[0] in datasets}


def flow_violations(con, rule: FlowRule, policy: Policy, regions: dict[int, str]) -> list[dict]:
    """Edges by which an unmasked value of a ``from`` column enters a ``to`` dataset (ids; described later)."""
    seeds = _selected_columns(con, rule.source, policy, regions)
    targets = _selected_datasets(con, rule.target, regions)
    if not seeds or not targets:
        return []
    walk = walk_column_set(con, sorted(seeds), "downstream", direct_only=True)
    unmasked = reach(seeds, walk.edges, keep=lambda e: not e[7])
    found = []
    for edge in sorted(walk.edges, key=lambda e: tuple(map(str, e))):
        src, dst = (edge[0], edge[1].lower()), (edge[3], edge[4].lower())
        if edge[7] or src not in unmasked or edge[3] not in targets or edge[0] in targets:
            continue
        path = column_path(unmasked, src) + [edge]
        found.append({"edge": edge, "path": path, "source": (path[0][0], path[0][1].lower()), "target": dst})
    return found


def check(db: str | None = None, policy: str | Policy | None = None) -> Result:
    """Run every residency and flow rule of the policy over the store (contract: ``residency-check``)."""
    rules = policy if isinstance(policy, Policy) else load_policy(policy, required=True)
    with open_store(db) as con:
        regions = region_map(con, rules)
        pairs: Adjacency = {}
        if rules.residency:
            for src, dst, job in con.execute(_PAIRS).fetchall():
                pairs.setdefault(src, []).append((dst, job))
        raw = [(r.name, v) for r in rules.residency for v in residency_violations(r, regions, pairs)]
        flows = [(r.name, v) for r in rules.flows for v in flow_violations(con, r, rules, regions)]
        jobs = job_names(con, [j for _, v in raw for j in v["jobs"]] + [v["edge"][2] for _, v in flows])
        columns = {k for _, v in flows for e in v["path"] for k in ((e[0], e[1].lower()), (e[3], e[4].lower()))}
        names = column_names(con, columns)
        info = _describe(con, {d for _, v in raw for d in (*v["path"], *v["affected"])} | {k[0] for k in columns},
                         regions)
    return _result(rules, len(regions), _residency_items(raw, info, jobs) + _flow_items(flows, info, names, jobs))


def _residency_items(raw: list, info: dict, jobs: dict) -> list[dict]:
    items, affected = [], {}
    for rule, v in raw:
        # Many crossings share what lies downstream: describe each set once.
        if v["target"] not in affected:
            affected[v["target"]] = sorted((info[d] for d in v["affected"]), key=lambda d: (d["namespace"], d["name"]))
        items.append({
            "rule": rule, "source": info[v["source"]], "target": info[v["target"]],
            "path": [{"namespace": info[d]["namespace"], "name": info[d]["name"]} for d in v["path"]],
            "jobs": sorted((jobs[j] for j in v["jobs"] if j in jobs), key=lambda j: (j["namespace"], j["name"])),
            "affected": affected[v["target"]]})
    rank = {}
    for rule, _ in raw:
        rank.setdefault(rule, len(rank))  # rules keep the policy's order
    return sorted(items, key=lambda v: (rank[v["rule"]], v["source"]["namespace"], v["source"]["name"],
                                        v["target"]["namespace"], v["target"]["name"]))


def _flow_items(flows: list, info: dict, names: dict, jobs: dict) -> list[dict]:
    def column(key):
        return {**info[key[0]], "column": names.get(key, key[1])}

    items = []
    for rule, v in flows:
        nodes = [(v["path"][0][0], v["path"][0][1].lower())] + [(e[3], e[4].lower()) for e in v["path"]]
        job = jobs.get(v["edge"][2])
        items.append({
            "rule": rule, "source": column(v["source"]), "target": column(v["target"]),
            "path": [{"namespace": info[d]["namespace"], "name": info[d]["name"], "column": names.get((d, c), c)}
                     for d, c in nodes],
            "jobs": [job] if job else []})
    return items


def _where(item: dict) -> str:
    text = f"{item['namespace']} {item['name']}" + (f".{item['column']}" if item.get("column") else "")
    return text + f" ({item['region']})"


def _relative(path: str) -> str:
    import os

    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative.replace(os.sep, "/")


def _result(rules: Policy, datasets: int, violations: list[dict]) -> Result:
    names = [r.name for r in rules.residency] + [r.name for r in rules.flows]
    payload = {"ok": not violations, "rules": len(names), "datasets": datasets, "violations": violations}
    findings, records = [], []
    policy_file = _relative(rules.path) if rules.path else None
    for v in violations:
        via = ", ".join(f"{j['namespace']} {j['name']}" for j in v["jobs"]) or "no recorded job"
        is_flow = "column" in v["source"]
        message = (f"{_where(v['source'])} -> {_where(v['target'])} via {via}"
                   + (" without masking" if is_flow else "")
                   + (f"; affected downstream: {len(v['affected'])}" if v.get("affected") else ""))
        finding = {"rule": v["rule"], "level": "error", "message": message, "source": v["source"],
                   "target": v["target"], "path": v["path"], "jobs": v["jobs"]}
        if policy_file and v["rule"] in rules.rule_lines:
            # Datasets are not files; the rule in the policy file is what CI annotates.
            finding["location"] = {"file": policy_file, "line": rules.rule_lines[v["rule"]]}
        findings.append(finding)
        records.append({"rule": v["rule"], "source": _where(v["source"]), "target": _where(v["target"]),
                        "jobs": [f"{j['namespace']} {j['name']}" for j in v["jobs"]],
                        "path": " > ".join(p["name"] + (f".{p['column']}" if p.get("column") else "")
                                           for p in v["path"]),
                        "affected": len(v.get("affected", []))})
    verdict = "ok" if not violations else counted(len(violations), "violation")
    return Result(payload=payload, records=records,
                  columns=["rule", "source", "target", "jobs", "path", "affected"],
                  title=f"{counted(len(names), 'rule')} over {counted(datasets, 'dataset')}: {verdict}",
                  rules=names, findings=findings)


def policy_report(path: str | None = None, db: str | None = None) -> Result:
    """Validate a policy file, and show how its regions map the datasets in the store."""
    rules = load_policy(path, required=True)
    try:
        with open_store(db) as con:
            regions = region_map(con, rules)
            info = _describe(con, [d for d, r in regions.items() if r == UNKNOWN_REGION], regions)
    except DatabaseMissingError:
        regions, info = {}, {}
    counts = {region: sum(1 for r in regions.values() if r == region) for region in [*rules.regions, UNKNOWN_REGION]}
    unmapped = sorted((d["namespace"], d["name"]) for d in info.values())
    records = [{"region": r, "globs": [g.pattern for g in rules.regions.get(r, [])], "datasets": n}
               for r, n in counts.items()]
    payload = {"policy": rules.path, "valid": True, "regions": records,
               "residency": [{"name": r.name, "from": r.origin, "allowed": r.allowed} for r in rules.residency],
               "flows": [r.name for r in rules.flows], "pii_columns": [g.pattern for g in rules.pii_columns],
               "unmapped": [{"namespace": ns, "name": n} for ns, n in unmapped]}
    section = Result(payload=None, title="datasets that match no region (unknown)",
                     columns=["namespace", "name"],
                     records=[{"namespace": ns, "name": n} for ns, n in unmapped])
    title = (f"{rules.path}: valid: {len(rules.regions)} regions, {len(rules.residency)} residency rules, "
             f"{len(rules.flows)} flow rules" + ("" if regions else "; no store to map"))
    return Result(payload=payload, records=records, columns=["region", "globs", "datasets"], title=title,
                  sections=[section] if regions else [])
