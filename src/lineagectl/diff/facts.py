"""What one dbt manifest says about its tables' columns, read from the ingest's own events.

``project_facts`` runs the manifest through ``manifest_events`` (the reader
``ingest`` uses: the same dataset names, catalog types, PII tags, owners and
column lineage from compiled SQL) and keeps, per dbt node, what a diff compares:
its columns and their types, each column's lineage (inputs named by the input's
unique_id, so a renamed warehouse schema is not a change), PII columns, owners;
plus who reads each column (the reverse of the lineage) and the exposures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from lineagectl.graph.paths import EdgeIndex
from lineagectl.graph.pii import is_pii_tag
from lineagectl.sources.dbt.manifest import manifest_events

# One input of a column: (input node or "namespace name", input column, type, subtype, masking).
Input = tuple[str, str, str, str, bool]


@dataclass
class NodeFacts:
    """One dbt table: its dataset, columns (lower-case name -> (name, type or None)), lineage, PII, owners."""

    namespace: str
    name: str
    columns: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    lineage: dict[str, frozenset[Input]] = field(default_factory=dict)
    pii: set[str] = field(default_factory=set)  # lower-case columns personal data (graph.pii's rule)
    owners: list[str] = field(default_factory=list)


@dataclass
class Exposure:
    unique_id: str
    name: str
    reads: set[str]
    owners: list[str]


@dataclass
class ProjectFacts:
    nodes: dict[str, NodeFacts] = field(default_factory=dict)
    # (node, lower-case column) -> the (node, column name) that read it directly.
    readers: dict[tuple[str, str], set[tuple[str, str]]] = field(default_factory=dict)
    exposures: list[Exposure] = field(default_factory=list)

    def downstream(self, uid: str, column: str) -> list[tuple[str, str]]:
        """Every (node, column) whose lineage reaches ``uid.column``, breadth-first, nearest first
        (``graph.paths``, the one in-memory walk, over the readers)."""
        root = (uid, column.lower())
        parents = self._reader_index.parents([root], order=lambda edge: edge[1])
        return [edge[1] for node, edge in parents.items() if edge is not None and node != root]

    @cached_property
    def _reader_index(self) -> EdgeIndex:
        edges = [(key, reader) for key, readers in self.readers.items() for reader in readers]
        return EdgeIndex(edges, lambda edge: (edge[0], (edge[1][0], edge[1][1].lower())))

    def exposures_reading(self, uids: set[str]) -> list[Exposure]:
        """The exposures that read any of ``uids``."""
        return [e for e in self.exposures if e.reads & uids]


def _uid(dataset: dict) -> str | None:
    for ident in (dataset.get("facets", {}).get("symlinks") or {}).get("identifiers") or []:
        if ident.get("namespace") == "dbt":
            return ident.get("name")
    return None


def _owners(facets: dict) -> list[str]:
    return [o["name"] for o in (facets.get("ownership") or {}).get("owners") or [] if isinstance(o.get("name"), str)]


def project_facts(path: str, catalog: str | None = None) -> ProjectFacts:
    """The column facts of the dbt manifest at ``path`` (with its ``catalog.json``, if given)."""
    facts = ProjectFacts()
    located: dict[tuple[str, str], str] = {}
    facets_of: dict[str, dict] = {}
    for event in manifest_events(path, catalog=catalog):
        dataset = event.get("dataset")
        if dataset is not None:
            uid = _uid(dataset)
            if uid is None:
                continue
            facts.nodes[uid] = NodeFacts(dataset["namespace"], dataset["name"])
            located[(dataset["namespace"], dataset["name"])] = uid
            facets_of[uid] = dataset["facets"]
            continue
        job = event.get("job") or {}
        if (job.get("facets", {}).get("jobType") or {}).get("jobType") == "EXPOSURE":
            reads = {located[(i["namespace"], i["name"])] for i in event.get("inputs") or []
                     if (i["namespace"], i["name"]) in located}
            facts.exposures.append(Exposure(job["name"], job["name"].rsplit(".", 1)[-1], reads,
                                            _owners(job.get("facets", {}))))
    for uid, facets in facets_of.items():
        _fill(facts, uid, facets, located)
    return facts


def _fill(facts: ProjectFacts, uid: str, facets: dict, located: dict[tuple[str, str], str]) -> None:
    node = facts.nodes[uid]
    for spec in (facets.get("schema") or {}).get("fields") or []:
        node.columns[spec["name"].lower()] = (spec["name"], spec.get("type"))
        if spec.get("description"):
            node.descriptions[spec["name"].lower()] = spec["description"]
    for tag in (facets.get("tags") or {}).get("tags") or []:
        if tag.get("field") and is_pii_tag(tag.get("key"), tag.get("value")):
            node.pii.add(tag["field"].lower())
    node.owners = _owners(facets)
    for column, spec in ((facets.get("columnLineage") or {}).get("fields") or {}).items():
        node.columns.setdefault(column.lower(), (column, None))
        inputs = set()
        for item in spec.get("inputFields") or []:
            source = located.get((item["namespace"], item["name"])) or f"{item['namespace']} {item['name']}"
            for t in item.get("transformations") or [{}]:
                inputs.add((source, item["field"].lower(), t.get("type") or "", t.get("subtype") or "",
                            bool(t.get("masking"))))
                facts.readers.setdefault((source, item["field"].lower()), set()).add((uid, column))
        node.lineage[column.lower()] = frozenset(inputs)
