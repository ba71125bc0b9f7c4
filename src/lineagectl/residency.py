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

from .errors import DatabaseMissingError
from .graph import column_path, reach, walk_column_set
from .pii import column_names, tagged_columns
from .policy import UNKNOWN_REGION, FlowRule, Policy, ResidencyRule, Selector, load_policy
from .results import Result
from .store import open_store

# Dataset → job → dataset pairs of the summary lineage, aliases folded into their dataset.
_PAIRS = """
    WITH e AS (SELECT coalesce(a.dataset_id, x.dataset_id) AS dataset_id, x.job_id, x.direction
               FROM edges x LEFT JOIN dataset_aliases a ON a.alias_id = x.dataset_id)
    SELECT DISTINCT i.dataset_id, o.dataset_id, i.job_id
    FROM e i JOIN e o ON o.job_id = i.job_id AND o.direction = 'out'
    WHERE i.direction = 'in' AND i.dataset_id <> o.dataset_id"""


def region_map(con, policy: Policy) -> dict[int, tuple[str, str, str]]:
    """namespace, name and region of every dataset, matched in SQL (fast on large stores)."""
    cases, params = [], {}
    for index, (region, globs) in enumerate(policy.regions.items()):
        for j, glob in enumerate(globs):
            key = f"g{index}_{j}"
            params[key] = glob.sql_regex()
            params[f"r{index}"] = region
            cases.append(f"WHEN regexp_full_match(namespace, ${key}) "
                         f"OR regexp_full_match(namespace || '/' || name, ${key}) THEN $r{index}")
    region = f"CASE {' '.join(cases)} ELSE '{UNKNOWN_REGION}' END" if cases else f"'{UNKNOWN_REGION}'"
    rows = con.execute(f"SELECT dataset_id, namespace, name, {region} FROM datasets", params).fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _dataset(info: tuple[str, str, str]) -> dict:
    return {"namespace": info[0], "name": info[1], "region": info[2]}


def _jobs(con, ids) -> dict[int, dict]:
    ids = sorted(set(ids))
    rows = con.execute("SELECT job_id, namespace, name FROM jobs WHERE job_id IN (SELECT unnest($ids::BIGINT[]))",
                       {"ids": ids}).fetchall() if ids else []
    return {r[0]: {"namespace": r[1], "name": r[2]} for r in rows}


def residency_violations(rule: ResidencyRule, regions: dict, pairs: dict[int, dict[int, set[int]]]) -> list[dict]:
    """The crossing edges of one residency rule (ids; described by the caller)."""
    allowed = set(rule.allowed)
    parent: dict[int, int | None] = {d: None for d, info in regions.items() if info[2] == rule.origin}
    queue = deque(sorted(parent))
    crossings: dict[tuple[int, int], set[int]] = {}
    while queue:
        node = queue.popleft()
        for target, jobs in sorted(pairs.get(node, {}).items()):
            if target not in regions:
                continue
            if regions[target][2] in allowed:
                if target not in parent:
                    parent[target] = node
                    queue.append(target)
            else:
                crossings.setdefault((node, target), set()).update(jobs)
    found = []
    for (source, target), jobs in sorted(crossings.items(), key=lambda kv: (regions[kv[0][0]], regions[kv[0][1]])):
        path, node = [target], source
        while node is not None:
            path.append(node)
            node = parent[node]
        found.append({"source": source, "target": target, "jobs": jobs, "path": path[::-1],
                      "affected": _downstream(target, pairs, regions)})
    return found


def _downstream(start: int, pairs: dict, regions: dict) -> list[int]:
    seen, queue = {start}, deque([start])
    while queue:
        for target in pairs.get(queue.popleft(), {}):
            if target not in seen and target in regions:
                seen.add(target)
                queue.append(target)
    seen.discard(start)
    return sorted(seen, key=lambda d: regions[d])


def _selected_columns(con, selector: Selector, policy: Policy, regions: dict) -> set[tuple[int, str]]:
    if selector.tag is not None:
        found = set(tagged_columns(con, selector.tag, policy))
    else:
        rows = con.execute("SELECT dataset_id, column_name FROM columns").fetchall()
        found = {(d, c.lower()) for d, c in rows
                 if d in regions and (selector.column is None or selector.column.match(c))}
    return {k for k in found if k[0] in regions and selector.matches_dataset(*regions[k[0]])}


def flow_violations(con, rule: FlowRule, policy: Policy, regions: dict) -> list[dict]:
    """Edges by which an unmasked value of a ``from`` column enters a ``to`` dataset (ids; described later)."""
    seeds = _selected_columns(con, rule.source, policy, regions)
    targets = {d for d, info in regions.items() if rule.target.matches_dataset(*info)}
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
        pairs: dict[int, dict[int, set[int]]] = {}
        if rules.residency:
            for src, dst, job in con.execute(_PAIRS).fetchall():
                pairs.setdefault(src, {}).setdefault(dst, set()).add(job)
        raw = [(r.name, v) for r in rules.residency for v in residency_violations(r, regions, pairs)]
        flows = [(r.name, v) for r in rules.flows for v in flow_violations(con, r, rules, regions)]
        jobs = _jobs(con, [j for _, v in raw for j in v["jobs"]] + [v["edge"][2] for _, v in flows])
        names = column_names(con, {k for _, v in flows for e in v["path"]
                                   for k in ((e[0], e[1].lower()), (e[3], e[4].lower()))})
    violations = []
    for rule, v in raw:
        violations.append({
            "rule": rule, "source": _dataset(regions[v["source"]]), "target": _dataset(regions[v["target"]]),
            "path": [{"namespace": regions[d][0], "name": regions[d][1]} for d in v["path"]],
            "jobs": sorted((jobs[j] for j in v["jobs"] if j in jobs), key=lambda j: (j["namespace"], j["name"])),
            "affected": [_dataset(regions[d]) for d in v["affected"]]})
    for rule, v in flows:
        def column(key, names=names):
            return {**_dataset(regions[key[0]]), "column": names.get(key, key[1])}
        nodes = [(v["path"][0][0], v["path"][0][1].lower())] + [(e[3], e[4].lower()) for e in v["path"]]
        job = jobs.get(v["edge"][2])
        violations.append({
            "rule": rule, "source": column(v["source"]), "target": column(v["target"]),
            "path": [{"namespace": regions[d][0], "name": regions[d][1], "column": names.get((d, c), c)}
                     for d, c in nodes],
            "jobs": [job] if job else []})
    return _result(rules, len(regions), violations)


def _where(item: dict) -> str:
    text = f"{item['namespace']} {item['name']}" + (f".{item['column']}" if item.get("column") else "")
    return text + f" ({item['region']})"


def _result(rules: Policy, datasets: int, violations: list[dict]) -> Result:
    names = [r.name for r in rules.residency] + [r.name for r in rules.flows]
    payload = {"ok": not violations, "rules": len(names), "datasets": datasets, "violations": violations}
    findings, records = [], []
    for v in violations:
        via = ", ".join(f"{j['namespace']} {j['name']}" for j in v["jobs"]) or "no recorded job"
        is_flow = "column" in v["source"]
        message = (f"{_where(v['source'])} -> {_where(v['target'])} via {via}"
                   + (" without masking" if is_flow else "")
                   + (f"; affected downstream: {len(v['affected'])}" if v.get("affected") else ""))
        findings.append({"rule": v["rule"], "level": "error", "message": message, "source": v["source"],
                         "target": v["target"], "path": v["path"], "jobs": v["jobs"]})
        records.append({"rule": v["rule"], "source": _where(v["source"]), "target": _where(v["target"]),
                        "jobs": [f"{j['namespace']} {j['name']}" for j in v["jobs"]],
                        "path": " > ".join(p["name"] + (f".{p['column']}" if p.get("column") else "")
                                           for p in v["path"]),
                        "affected": [f"{a['namespace']} {a['name']}" for a in v.get("affected", [])]})
    verdict = "ok" if not violations else f"{len(violations)} violation{'s' * (len(violations) != 1)}"
    return Result(payload=payload, records=records,
                  columns=["rule", "source", "target", "jobs", "path", "affected"],
                  title=f"{len(names)} rules over {datasets} datasets: {verdict}",
                  rules=names, findings=findings)


def policy_report(path: str | None = None, db: str | None = None) -> Result:
    """Validate a policy file, and show how its regions map the datasets in the store."""
    rules = load_policy(path, required=True)
    try:
        with open_store(db) as con:
            regions = region_map(con, rules)
    except DatabaseMissingError:
        regions = {}
    counts = {region: sum(1 for info in regions.values() if info[2] == region)
              for region in [*rules.regions, UNKNOWN_REGION]}
    unmapped = sorted((info[0], info[1]) for info in regions.values() if info[2] == UNKNOWN_REGION)
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
