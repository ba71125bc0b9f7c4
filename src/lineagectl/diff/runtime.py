"""Consumers outside dbt of a column change, from a lineagectl store (``diff --db``).

The manifests know the dbt project; a store also knows what reads its tables at run
time: dashboards, exports, ML models whose jobs send OpenLineage events. Each dbt
node is matched to its store dataset by ``graph.names.dbt_node_dataset`` (the name
``ingest`` gives the node, else its unique_id). From the changed column and every
dbt column that reads it in NEW, the store's lineage is walked downstream
(``graph.walk``, then ``graph.paths.EdgeIndex`` over the edges it returned):

- by column lineage, where the jobs report it: each column reached;
- by table lineage through jobs that report none (they read the table; which
  columns is unknown): each dataset reached, ``"column": null``, and each job
  that reads what the change reaches and writes nothing (a dashboard's refresh).

What the store reaches that is a dbt node of either manifest (or a dbt exposure's
job) is the manifests' to report, so it is not listed again. Owners: of each
consumer, and of the job that reached it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lineagectl.common.policy import Policy
from lineagectl.diff.facts import ProjectFacts
from lineagectl.graph.edges import ColumnEdge, DatasetEdge, column_key
from lineagectl.graph.names import dbt_node_dataset
from lineagectl.graph.paths import EdgeIndex, column_ends, dataset_ends
from lineagectl.graph.pii import pii_columns
from lineagectl.graph.walk import walk_columns, walk_datasets
from lineagectl.store.lookups import describe_datasets, describe_jobs, jobs_with_column_lineage

VIA = "store"


@dataclass
class StoreImpact:
    """What the store adds to one column change: consumers (``downstream`` items with ``"via": "store"``
    and the store's ``type``, ``JOB`` for a job) and their owners."""

    downstream: list[dict] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)


class RuntimeLineage:
    """The runtime lineage of one open store, asked about the column changes of one diff."""

    def __init__(self, con: Any, old: ProjectFacts, new: ProjectFacts) -> None:
        self.con = con
        self._projects = (new, old)
        self._dbt_names = {(f.namespace, f.name) for p in self._projects for f in p.nodes.values()}
        self._exposure_jobs = {e.unique_id for p in self._projects for e in p.exposures}
        self._ids: dict[str, int | None] = {}
        self._datasets: dict[int, dict] = {}
        self._jobs: dict[int, dict] = {}

    def dataset_id(self, uid: str) -> int | None:
        """The store's dataset of the dbt node ``uid`` (None when the store does not hold it)."""
        if uid not in self._ids:
            facts = next((p.nodes[uid] for p in self._projects if uid in p.nodes), None)
            entity = dbt_node_dataset(self.con, uid, facts.namespace, facts.name) if facts else None
            self._ids[uid] = entity.id if entity else None
        return self._ids[uid]

    def mark_pii(self, policy: Policy, uids: list[str]) -> None:
        """Add to the nodes ``uids`` (in both projects) the columns the store says are personal data
        (``graph.pii.pii_columns``, the one rule: tags runtime events put on the table, such as
        ``classification: PII``, and the policy's globs on the store's names)."""
        nodes: dict[int, list[str]] = {}
        for uid in uids:
            ident = self.dataset_id(uid)
            if ident is not None:
                nodes.setdefault(ident, []).append(uid)
        for ident, column in pii_columns(self.con, policy, nodes) if nodes else ():
            for uid in nodes[ident]:
                for project in self._projects:
                    if uid in project.nodes:
                        project.nodes[uid].pii.add(column)

    def consumers(self, changes: list[tuple[str, str, list[tuple[str, str]]]]) -> list[StoreImpact]:
        """For each (dbt node, column, its dbt readers as (node, column)): the consumers outside dbt.

        One column walk per node, from its changes' seeds together; each change's own reach is
        then read from the walk's edges (``EdgeIndex``, in memory): the same answer as a walk per
        change, at a fraction of the queries."""
        seeds = [[(ident, col) for node, col in [(uid, column), *readers]
                  if (ident := self.dataset_id(node)) is not None] for uid, column, readers in changes]
        together: dict[str, set[tuple[int, str]]] = {}
        for (uid, _, _), own in zip(changes, seeds, strict=True):
            together.setdefault(uid, set()).update(own)
        indexes = {uid: EdgeIndex(walk_columns(self.con, sorted(found), "downstream").edges, column_ends)
                   for uid, found in together.items() if found}
        reach = [self._column_reach(own, indexes[uid]) if own else None
                 for (uid, _, _), own in zip(changes, seeds, strict=True)]
        precise_of: dict[str, set[int]] = {}
        for (uid, _, _), found in zip(changes, reach, strict=True):
            if found is not None:
                precise_of.setdefault(uid, set()).update(found[0])
        hops = {uid: _TableHop(self.con, precise) for uid, precise in precise_of.items()}
        return [self._consumers(set(own), *found, hops[uid]) if found is not None else StoreImpact()
                for (uid, _, _), own, found in zip(changes, seeds, reach, strict=True)]

    @staticmethod
    def _column_reach(seeds: list[tuple[int, str]], columns: EdgeIndex) -> tuple[set[int], list[ColumnEdge]]:
        """The datasets that read the seeds' columns by column lineage (the seeds' own included), and
        the edge that first reached each column."""
        by_column = [edge for edge in columns.parents(sorted({column_key(*s) for s in seeds}),
                                                      order=ColumnEdge.walk_order).values() if edge is not None]
        return {ident for ident, _ in seeds} | {edge.dst for edge in by_column}, by_column

    def _consumers(self, seeds: set[tuple[int, str]], precise: set[int], by_column: list[ColumnEdge],
                   hop: _TableHop) -> StoreImpact:
        # Out of a column-precise dataset, only a job that reports no column lineage may read the column
        # unseen; past what it writes, every reader may (table lineage, to the end).
        edges, readers_only = hop.out_of(precise)
        beyond = walk_datasets(self.con, {e.dst for e in edges}, "downstream") if edges else None
        reached = EdgeIndex([*edges, *(beyond.edges if beyond else ())], dataset_ends).parents(sorted(precise))
        found: list[tuple[int, str | None, int | None]] = [(e.dst, e.dst_column, e.job) for e in by_column]
        found += [(ident, None, edge.job) for ident, edge in reached.items() if edge is not None]
        # Jobs that read and write nothing: a walk lists them, with no edge.
        jobs = readers_only | set(beyond.jobs if beyond else ())
        jobs -= {e.job for e in (beyond.edges if beyond else ())}
        return self._described(found, sorted(jobs), {ident for ident, _ in seeds})

    def _described(self, found: list[tuple[int, str | None, int | None]], jobs: list[int],
                   dbt_ids: set[int]) -> StoreImpact:
        datasets = self._describe(self._datasets, describe_datasets, [i for i, _, _ in found if i not in dbt_ids])
        job_info = self._describe(self._jobs, lambda con, ids: describe_jobs(con, ids, owners=True),
                                  [*jobs, *(job for _, _, job in found if job is not None)])
        items: list[tuple[dict, list[str]]] = []
        for ident, column, job in found:
            item, via = datasets.get(ident), job_info.get(job) if job is not None else None
            if item is None or ident in dbt_ids or (item["namespace"], item["name"]) in self._dbt_names:
                continue
            if via is not None and via["name"] in self._exposure_jobs:
                continue  # an ml exposure's model: the manifests' exposures list it
            by_job = via["owners"] if via is not None else []
            items.append(({"namespace": item["namespace"], "name": item["name"], "column": column, "via": VIA,
                           "type": item["type"]}, item["owners"] + by_job))
        for job in jobs:
            info = job_info.get(job)
            if info is not None and info["name"] not in self._exposure_jobs:
                items.append(({"namespace": info["namespace"], "name": info["name"], "column": None, "via": VIA,
                               "type": "JOB"}, info["owners"]))
        items.sort(key=lambda i: (i[0]["type"] == "JOB", i[0]["column"] is None, i[0]["namespace"], i[0]["name"],
                                  i[0]["column"] or ""))
        return StoreImpact([entry for entry, _ in items], list(dict.fromkeys(o for _, found in items for o in found)))

    def _describe(self, known: dict[int, dict], describe: Any, ids: list[int]) -> dict[int, dict]:
        """``describe(con, ids)`` of the ids not described yet (the same datasets recur across changes)."""
        missing = sorted({i for i in ids if i not in known})
        if missing:
            known.update(describe(self.con, missing))
        return known


class _TableHop:
    """The hop out of a node's column-precise datasets by table lineage, read once for all its
    changes: the edges of jobs that report no column lineage, and the jobs that write nothing.
    A change whose precise datasets are fewer takes its part of the edges in memory; only when a
    job that writes nothing is on the hop (a walk does not say what such a job read) does it ask."""

    def __init__(self, con: Any, precise: set[int]) -> None:
        self.con = con
        first = walk_datasets(con, precise, "downstream", max_depth=1)
        self.reporting = jobs_with_column_lineage(con, first.jobs)
        self.edges = [e for e in first.edges if e.job not in self.reporting]
        self.readers_only = set(first.jobs) - self.reporting - {e.job for e in first.edges}

    def out_of(self, precise: set[int]) -> tuple[list[DatasetEdge], set[int]]:
        """(edges out of ``precise`` to another dataset, by jobs without column lineage; the jobs
        reading ``precise`` that write nothing)."""
        edges = [e for e in self.edges if e.src in precise and e.dst not in precise]
        if not self.readers_only:
            return edges, set()
        first = walk_datasets(self.con, precise, "downstream", max_depth=1)
        return edges, set(first.jobs) - self.reporting - {e.job for e in first.edges}
