"""The governance marks of a page, by the rules of the commands that report them.

PII and masked columns as ``lineagectl pii`` finds them (``compliance.pii.pii_reach``:
tags, dbt meta and the policy's globs, propagated through DIRECT column lineage),
each dataset's region and the residency and flow violations as
``residency-check`` finds them (``compliance.residency``), and what breaks a quality
rule or is at risk downstream of one as ``quality`` says (``operations.quality``).
Nothing here decides anew what is personal data or what a violation is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lineagectl.common.policy import Policy
from lineagectl.compliance.flows import flow_violations
from lineagectl.compliance.pii import pii_reach
from lineagectl.compliance.residency import region_map, residency_violations
from lineagectl.explore.focus import dataset_key, job_key
from lineagectl.graph.pii import pii_datasets
from lineagectl.operations.quality import dataset_quality, datasets_at_risk
from lineagectl.store.lookups import column_spellings


@dataclass
class Violation:
    """One violation of a rule, as dataset and job ids (and columns for a flow rule)."""

    rule: str
    source: int
    target: int
    jobs: list[int]
    columns: tuple[str, str] | None = None


@dataclass
class Marks:
    """Per dataset id: PII columns (with why), masked columns, region; the violations; quality."""

    pii: dict[int, dict[str, list[str]]] = field(default_factory=dict)
    masked: dict[int, list[str]] = field(default_factory=dict)
    pii_datasets: set[int] = field(default_factory=set)
    regions: dict[int, str] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    broken: dict[int, list[dict]] = field(default_factory=dict)
    at_risk: dict[int, dict] = field(default_factory=dict)


def governance_marks(con: Any, rules: Policy, ids: list[int]) -> Marks:
    """The marks of the datasets ``ids`` (the walks behind them read the whole store, as the commands do)."""
    marks = Marks()
    found = pii_reach(con, rules)
    wanted = set(ids)
    keys = [k for k in (*found.seeds, *found.reached) if k[0] in wanted]
    spelled = column_spellings(con, keys)
    for key in keys:
        why = found.seeds.get(key) or ["propagated"]
        marks.pii.setdefault(key[0], {})[spelled[key]] = why
        if key in found.reached and key not in found.unmasked:
            marks.masked.setdefault(key[0], []).append(spelled[key])
    marks.pii_datasets = set(marks.pii) | pii_datasets(con, rules, ids)
    every_region = region_map(con, rules) if rules.regions or rules.flows else {}
    if rules.regions:
        marks.regions = {i: every_region[i] for i in ids if i in every_region}
    for rule in rules.residency:
        marks.violations += [Violation(rule.name, v["source"], v["target"], sorted(v["jobs"]))
                             for v in residency_violations(con, rule, every_region)]
    for flow in rules.flows:
        for v in flow_violations(con, flow, rules, every_region):
            edge = v["edge"]
            names = column_spellings(con, [edge.src_key, edge.dst_key])
            marks.violations.append(Violation(flow.name, edge.src, edge.dst, [edge.job] if edge.job else [],
                                              (names[edge.src_key], names[edge.dst_key])))
    reported = dataset_quality(con, rules)
    marks.broken = {i: q["broken"] for i, q in reported.items() if q["broken"] and i in wanted}
    marks.at_risk = {i: r for i, r in datasets_at_risk(con, reported).items() if i in wanted}
    return marks


def violated_edges(violations: list[Violation]) -> dict[tuple[str, str], set[str]]:
    """The rules each drawn edge's data crossing violates, by (source key, target key): the hops
    dataset → job → dataset of each violation, and the dataset → dataset edge that stands for
    them when jobs are hidden (``--datasets-only``)."""
    broken: dict[tuple[str, str], set[str]] = {}
    for v in violations:
        source, target = dataset_key(v.source), dataset_key(v.target)
        hops = [hop for job in v.jobs for hop in ((source, job_key(job)), (job_key(job), target))]
        for edge in ((source, target), *hops):
            broken.setdefault(edge, set()).add(v.rule)
    return broken
