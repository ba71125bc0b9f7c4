"""Personal data: which columns are PII, and where their values flow.

A column is personal data when a field-level ``tags`` facet marks it
(``pii`` = true/yes/1, or ``classification`` = PII; dbt ``meta: {pii: true}`` and
``tags: [pii]`` arrive as such tags), or when a ``pii.columns`` glob of the policy
matches it. ``lineagectl pii`` lists them, and every column their values reach
downstream through DIRECT column lineage, saying whether each path is masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lineagectl.common.policy import Policy, load_policy
from lineagectl.graph.edges import ColumnEdge, ColumnKey
from lineagectl.graph.paths import PathIndex, column_ends, reach
from lineagectl.graph.pii import pii_columns
from lineagectl.graph.walk import walk_columns
from lineagectl.results import Result
from lineagectl.store import open_store
from lineagectl.store.lookups import column_spellings, describe_datasets, require_datasets


@dataclass
class PiiReach:
    """Personal-data columns (``seeds``, with why), the columns their values reach through DIRECT
    lineage (``reached``), and the shortest-path parents of each reached column by any path and by
    unmasked paths only: a reached column missing from ``unmasked`` gets only masked values."""

    seeds: dict[ColumnKey, list[str]]
    reached: set[ColumnKey]
    any_path: dict[ColumnKey, ColumnEdge | None]
    unmasked: dict[ColumnKey, ColumnEdge | None]


def pii_reach(con: Any, rules: Policy) -> PiiReach:
    """Where personal data is and where it flows, by the rules of ``lineagectl pii`` (also for the explorer)."""
    seeds = pii_columns(con, rules)
    walk = walk_columns(con, list(seeds), "downstream", direct_only=True)
    reached = {(d, c.lower()) for d, c in walk.columns} - set(seeds)
    return PiiReach(seeds, reached, reach(seeds, walk.edges), reach(seeds, walk.edges, keep=lambda e: not e.masking))


def pii(db: str | None = None, policy: str | Policy | None = None) -> Result:
    """Personal-data columns and every column their values reach through DIRECT column lineage."""
    rules = policy if isinstance(policy, Policy) else load_policy(policy)
    with open_store(db) as con:
        require_datasets(con, "pii")
        found = pii_reach(con, rules)
        seeds, reached = found.seeds, found.reached
        names = column_spellings(con, set(seeds) | reached)
        datasets = describe_datasets(con, [k[0] for k in names])
    any_path, unmasked = found.any_path, found.unmasked

    def where(key: ColumnKey) -> dict:
        found = datasets.get(key[0], {"namespace": "?", "name": "?"})
        return {"namespace": found["namespace"], "name": found["name"], "column": names[key]}

    # depth 0: a column found personal itself; ndjson and csv carry these and the propagated ones alike.
    tagged = sorted(({**where(k), "depth": 0, "sources": sorted(v)} for k, v in seeds.items() if k[0] in datasets),
                    key=lambda r: (r["namespace"], r["name"], r["column"].lower()))
    propagated = []
    # At most 50 transformations per column (the first and last 25; the middle counted), as impact.
    plain_paths, any_paths = PathIndex(unmasked, column_ends), PathIndex(any_path, column_ends)
    for key in reached:
        if key[0] not in datasets:
            continue
        paths = plain_paths if key in unmasked else any_paths
        head, omitted, tail = paths.shown(key)
        item = {**where(key), "depth": paths.length(key), "masked": key not in unmasked,
                "origin": where(head[0].src_key), "transformations": [e.transformation() for e in head + tail]}
        if omitted:
            item["transformations_omitted"] = omitted
        propagated.append(item)
    propagated.sort(key=lambda r: (r["depth"], r["namespace"], r["name"], r["column"].lower()))
    # The policy read (None: none, so only what the events and manifests tag counts as PII).
    return Result("pii", {"columns": tagged, "propagated": propagated}, context={"policy": rules.path})
