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

from typing import Any

from lineagectl.common.globs import sql_regex_any
from lineagectl.common.policy import UNKNOWN_REGION, Policy, ResidencyRule, load_policy
from lineagectl.compliance.flows import flow_items, flow_violations
from lineagectl.errors import DatabaseMissingError, ExitStatus
from lineagectl.graph.paths import EdgeIndex, bfs_parents, dataset_ends, dataset_path
from lineagectl.graph.walk import walk_datasets
from lineagectl.results import Result
from lineagectl.store import open_store
from lineagectl.store.lookups import column_spellings, describe_datasets, describe_jobs, require_datasets


def region_map(con: Any, policy: Policy) -> dict[int, str]:
    """The region of every dataset, matched in SQL (fast on large stores)."""
    cases, params = [], {}
    for index, (region, globs) in enumerate(policy.regions.items()):
        # One alternation per region: RE2 matches it in one pass, however many globs.
        params[f"r{index}"] = region
        params[f"g{index}"] = sql_regex_any(globs)
        cases.append(f"WHEN regexp_full_match(namespace, $g{index}) "
                     f"OR regexp_full_match(namespace || '/' || name, $g{index}) THEN $r{index}")
    region = f"CASE {' '.join(cases)} ELSE '{UNKNOWN_REGION}' END" if cases else f"'{UNKNOWN_REGION}'"
    return dict(con.execute(f"SELECT dataset_id, {region} FROM datasets", params).fetchall())


def _describe(con: Any, ids: Any, regions: dict[int, str]) -> dict[int, dict]:
    """namespace, name and region of the datasets an answer names."""
    return {i: {"namespace": d["namespace"], "name": d["name"], "region": regions[i]}
            for i, d in describe_datasets(con, ids, owners=False).items() if i in regions}


def residency_violations(con: Any, rule: ResidencyRule, regions: dict[int, str]) -> list[dict]:
    """The crossing edges of one residency rule, as dataset and job ids (described by the caller).

    Data of the rule's origin region spreads downstream only through datasets
    of allowed regions (the walk's ``through``); an edge from such a dataset
    to one outside them is a crossing.
    """
    allowed = set(rule.allowed)
    inside = {d for d, region in regions.items() if region in allowed}.__contains__
    origins = sorted(d for d, region in regions.items() if region == rule.origin)
    if not origins:
        return []
    walk = walk_datasets(con, origins, "downstream", through=inside)
    crossings: dict[tuple[int, int], set[int]] = {}
    # Every edge leaves a dataset the walk went through (an origin or an allowed one), so an
    # edge into a dataset outside the allowed regions is a crossing. Untyped rows: the walk is large.
    for src, job, dst in walk.rows:
        if dst in regions and not inside(dst):
            crossings.setdefault((src, dst), set()).add(job)
    if not crossings:
        return []
    # One shortest path from an origin to each crossing, through allowed datasets only.
    parents = bfs_parents(origins, [e for e in walk.edges if e.src != e.dst and inside(e.dst)], dataset_ends)
    # What lies downstream of each crossing: one walk from all targets, then a reach per target.
    targets = sorted({target for _, target in crossings})
    beyond = walk_datasets(con, targets, "downstream")
    index = EdgeIndex((e for e in beyond.edges if e.dst in regions), dataset_ends)
    affected = {t: index.reachable([t]) - {t} for t in targets}
    return [{"source": source, "target": target, "jobs": jobs,
             "path": [*dataset_path(parents, source), target], "affected": affected[target]}
            for (source, target), jobs in sorted(crossings.items())]


def check(db: str | None = None, policy: str | Policy | None = None) -> Result:
    """Run every residency and flow rule of the policy over the store (contract: ``residency-check``)."""
    rules = policy if isinstance(policy, Policy) else load_policy(policy, required=True)
    with open_store(db) as con:
        require_datasets(con, "residency-check")
        regions = region_map(con, rules)
        raw = [(r.name, v) for r in rules.residency for v in residency_violations(con, r, regions)]
        flows = [(r.name, v) for r in rules.flows for v in flow_violations(con, r, rules, regions)]
        jobs = describe_jobs(con, [j for _, v in raw for j in v["jobs"]] + [v["edge"].job for _, v in flows])
        columns = {k for _, v in flows for e in v["path"] for k in (e.src_key, e.dst_key)}
        names = column_spellings(con, columns)
        info = _describe(con, {d for _, v in raw for d in (*v["path"], *v["affected"])} | {k[0] for k in columns},
                         regions)
    return _result(rules, len(regions), _residency_items(raw, info, jobs) + flow_items(flows, info, names, jobs))


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
    rank: dict[str, int] = {}
    for rule, _ in raw:
        rank.setdefault(rule, len(rank))  # rules keep the policy's order
    return sorted(items, key=lambda v: (rank[v["rule"]], v["source"]["namespace"], v["source"]["name"],
                                        v["target"]["namespace"], v["target"]["name"]))


def _relative(path: str) -> str:
    import os

    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative.replace(os.sep, "/")


def _result(rules: Policy, datasets: int, violations: list[dict]) -> Result:
    names = [r.name for r in rules.residency] + [r.name for r in rules.flows]
    requires = {r.name: r.require for r in rules.flows}
    payload = {"ok": not violations, "rules": len(names), "datasets": datasets, "violations": violations}
    findings = []
    policy_file = _relative(rules.path) if rules.path else None
    for v in violations:
        finding = {"rule": v["rule"], "level": "error", "source": v["source"], "target": v["target"],
                   "path": v["path"], "jobs": v["jobs"], "affected": v.get("affected", []),
                   "require": requires.get(v["rule"]) if "column" in v["source"] else None}
        if policy_file and v["rule"] in rules.rule_lines:
            # Datasets are not files; the rule in the policy file is what CI annotates.
            finding["location"] = {"file": policy_file, "line": rules.rule_lines[v["rule"]]}
        findings.append(finding)
    return Result("residency-check", payload, rules=names, findings=findings,
                  exit_status=ExitStatus.FINDINGS if findings else ExitStatus.OK)


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
    payload = {"policy": rules.path, "valid": True,
               "regions": [{"region": r, "globs": [g.pattern for g in rules.regions.get(r, [])], "datasets": n}
                           for r, n in counts.items()],
               "residency": [{"name": r.name, "from": r.origin, "allowed": r.allowed} for r in rules.residency],
               "flows": [r.name for r in rules.flows], "pii_columns": [g.pattern for g in rules.pii_columns],
               "unmapped": [{"namespace": ns, "name": n} for ns, n in unmapped]}
    return Result("policy-check", payload, context={"mapped": bool(regions)})
