"""Which columns hold the subject's identifier, and in what form: the keys a GDPR plan may use.

The **seeds** are the columns named as the subject's identifier (``seeds_of``:
``--column`` everywhere or in one dataset, or every column with a ``--tag``).

Only a copy holds the same value. A column reached from a seed through
DIRECT/IDENTITY edges without masking is a **plain key**: upstream, where the
seed was copied from (left in place, the next run re-creates the deleted rows);
downstream, where it was copied to. A plan binds the subject's value to plain
keys only.

A column computed by a masking transformation (a hash) from one key and nothing
else is a **masked key**, and so are its identity copies: it holds a function of
the value, which the operator computes from the transformation lineage recorded
(``Derivation``). Any other column computed from a key (a cast, a concatenation,
a hash of several columns, an aggregate) is never a key.

A column a seed was *computed from* (``patient_id = resource->>'subject'``)
holds the identifier inside a larger value: it is a **container**, and so are
its identity copies, upstream and downstream. A plan reviews containers by the
recorded expression and never binds the subject's value to them; what is merely
derived from a container (other fields of the same JSON) is not the subject's
identifier and is not followed.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lineagectl.common.policy import Policy
from lineagectl.errors import InputError, NotFoundError
from lineagectl.graph.edges import ColumnEdge, ColumnKey
from lineagectl.graph.names import resolve
from lineagectl.graph.paths import column_path, reach
from lineagectl.graph.pii import tagged_columns
from lineagectl.graph.walk import walk_columns
from lineagectl.results import transformation_text
from lineagectl.store.lookups import column_spellings


def is_identity(edge: ColumnEdge) -> bool:
    """A copy: DIRECT/IDENTITY without masking (the one edge that keeps the value as it is)."""
    return edge.type == "DIRECT" and edge.subtype == "IDENTITY" and not edge.masking


def is_per_row(edge: ColumnEdge) -> bool:
    """A value computed from the source value of the same row: DIRECT, not an aggregation."""
    return edge.type == "DIRECT" and edge.subtype != "AGGREGATION"


@dataclass(frozen=True)
class Derivation:
    """One lineage edge from ``source`` to the column computed from it, ``target``, with the
    transformation and the expression (``description``) lineage recorded for it, if any."""

    source: ColumnKey
    target: ColumnKey
    type: str
    subtype: str | None
    masking: bool
    description: str | None = None
    job: int | None = None  # the job that computes it, whose SQL holds the expression

    def transformation(self) -> dict:
        """The transformation as the plan's JSON shows it (``description`` only when recorded)."""
        out: dict = {"type": self.type, "subtype": self.subtype, "masking": self.masking}
        if self.description:
            out["description"] = self.description
        return out

    def text(self) -> str:
        """``DIRECT/TRANSFORMATION masked `SHA256(email)```: the transformation and its expression."""
        return transformation_text(self.transformation()) + (f" `{self.description}`" if self.description else "")


@dataclass
class Container:
    """A column holding the identifier inside a larger value: the derivations that extract a key
    from it, or (an identity copy of such a column) the container it copies."""

    derivations: list[Derivation] = field(default_factory=list)
    copy_of: ColumnKey | None = None


@dataclass
class Upstream:
    """What the seeds were copied or computed from: ``keys`` (seeds and their identity sources,
    each with why) and ``containers``; ``edges`` are (upstream, derived) dataset pairs, for ordering."""

    keys: dict[ColumnKey, str]
    containers: dict[ColumnKey, Container]
    edges: set[tuple[int, int]]


@dataclass
class Downstream:
    """The keys a downstream walk reached: ``plain`` (with the first identity edge to each, None for a
    root) and ``masked`` (each with the derivations to compute from ``masked_from``, a plain key)."""

    plain: dict[ColumnKey, ColumnEdge | None]
    masked: dict[ColumnKey, list[Derivation]]
    masked_from: dict[ColumnKey, ColumnKey]
    parents: dict[ColumnKey, ColumnEdge | None]  # how each key, plain or masked, was first reached


def _identity_closure(con: Any, start: Iterable[ColumnKey], direction: str
                      ) -> tuple[dict[ColumnKey, ColumnEdge | None], set[ColumnEdge]]:
    """The columns reached from ``start`` by identity copies in ``direction`` (each with its first edge),
    and every DIRECT edge leaving them: one hop at a time, so only copies are expanded."""
    parents: dict[ColumnKey, ColumnEdge | None] = dict.fromkeys(start)
    frontier, edges = list(parents), set()
    while frontier:
        hop = walk_columns(con, frontier, direction, max_depth=1, direct_only=True).edges
        edges |= hop
        frontier = []
        for edge in sorted(hop, key=ColumnEdge.walk_order):
            if is_identity(edge) and edge.dst_key not in parents:
                parents[edge.dst_key] = edge
                frontier.append(edge.dst_key)
    return parents, edges


_DIRECT_INTO = """
    WITH wanted AS (SELECT unnest($ids::BIGINT[]) AS d, unnest($cols::VARCHAR[]) AS c),
    raw AS (SELECT * FROM column_edges WHERE type = 'DIRECT' AND (dataset_id IN (SELECT d FROM wanted)
            OR dataset_id IN (SELECT alias_id FROM dataset_aliases WHERE dataset_id IN (SELECT d FROM wanted)))),
    e AS (SELECT coalesce(s.dataset_id, raw.src_dataset_id) AS src, lower(raw.src_column) AS src_col,
                 coalesce(a.dataset_id, raw.dataset_id) AS dst, lower(raw.column_name) AS dst_col,
                 raw.subtype, raw.masking, raw.description, raw.job_id
          FROM raw LEFT JOIN dataset_aliases s ON s.alias_id = raw.src_dataset_id
                   LEFT JOIN dataset_aliases a ON a.alias_id = raw.dataset_id)
    SELECT DISTINCT e.* FROM e JOIN wanted ON e.dst = wanted.d AND e.dst_col = lower(wanted.c)"""


def direct_inputs(con: Any, columns: Iterable[ColumnKey]) -> dict[ColumnKey, list[Derivation]]:
    """Every DIRECT edge into each of ``columns`` (aliases folded), with the expression recorded."""
    wanted = sorted(set(columns))
    found: dict[ColumnKey, list[Derivation]] = {}
    if not wanted:
        return found
    rows = con.execute(_DIRECT_INTO, {"ids": [d for d, _ in wanted], "cols": [c for _, c in wanted]}).fetchall()
    for src, src_col, dst, dst_col, subtype, masking, description, job in sorted(rows, key=str):
        found.setdefault((dst, dst_col), []).append(Derivation(
            (src, src_col), (dst, dst_col), "DIRECT", subtype, bool(masking), description or None, job))
    return found


def recorded(inputs: dict[ColumnKey, list[Derivation]], edge: ColumnEdge, source: ColumnKey,
             target: ColumnKey) -> Derivation:
    """The derivation of ``target`` from ``source`` along ``edge``, with the expression ``inputs`` holds for it."""
    for found in inputs.get(target, ()):
        if (found.source, found.subtype, found.masking, found.job) == (source, edge.subtype, bool(edge.masking),
                                                                     edge.job):
            return found
    return Derivation(source, target, edge.type, edge.subtype, bool(edge.masking), job=edge.job)


def upstream(con: Any, seeds: dict[ColumnKey, str]) -> Upstream:
    """The seeds plus the columns they were copied from (plain keys), and the containers they were
    computed from."""
    parents, edges = _identity_closure(con, seeds, "upstream")
    keys = dict(seeds)
    spelled = column_spellings(con, [e.src_key for e in parents.values() if e is not None])
    for key in sorted(set(parents) - set(seeds)):
        edge = parents[key]
        assert edge is not None  # only seeds have no edge
        keys[key] = f"source of {spelled[edge.src_key]} (DIRECT/IDENTITY)"
    # An upstream walk's edge runs from the derived column (src) to its source (dst).
    extracted = [e for e in edges if e.src_key in keys and is_per_row(e) and not is_identity(e)
                 and e.dst_key not in keys]
    inputs = direct_inputs(con, {e.src_key for e in extracted})
    containers: dict[ColumnKey, Container] = {}
    for edge in sorted(extracted, key=ColumnEdge.walk_order):
        containers.setdefault(edge.dst_key, Container()).derivations.append(
            recorded(inputs, edge, edge.dst_key, edge.src_key))
    pairs = {(e.dst, e.src) for e in edges if e.dst_key in keys or e.dst_key in containers}
    for direction in ("upstream", "downstream"):
        copies, _ = _identity_closure(con, list(containers), direction)
        for key, edge in sorted(copies.items()):
            if edge is None or key in keys or key in containers:
                continue
            containers[key] = Container(copy_of=edge.src_key)
            pairs.add((edge.dst, edge.src) if direction == "upstream" else (edge.src, edge.dst))
    return Upstream(keys, containers, pairs)


def root_container(containers: dict[ColumnKey, Container], key: ColumnKey) -> ColumnKey:
    """The container ``key`` is an identity copy of (itself when it is not a copy)."""
    seen = {key}
    while (copy_of := containers[key].copy_of) is not None and copy_of in containers and copy_of not in seen:
        key = copy_of
        seen.add(key)
    return key


def downstream(con: Any, roots: Iterable[ColumnKey], edges: set[ColumnEdge]) -> Downstream:
    """The plain and masked keys among the columns a downstream walk from the plain keys ``roots``
    reached over ``edges``: identity copies, and single-source hashes of a key with their copies."""
    roots = list(roots)
    plain = reach(roots, edges, keep=is_identity)
    hashed = [e for e in edges if is_per_row(e) and e.masking]
    inputs = direct_inputs(con, {e.dst_key for e in hashed})

    def single_source_hash(edge: ColumnEdge) -> bool:
        sources = {d.source for d in inputs.get(edge.dst_key, ()) if d.subtype != "AGGREGATION"}
        return is_per_row(edge) and edge.masking and sources == {edge.src_key}

    keyish = reach(roots, edges, keep=lambda e: is_identity(e) or single_source_hash(e))
    masked: dict[ColumnKey, list[Derivation]] = {}
    masked_from: dict[ColumnKey, ColumnKey] = {}
    for key in sorted(set(keyish) - set(plain)):
        path = column_path(keyish, key)
        first = next(i for i, e in enumerate(path) if not is_identity(e))
        masked_from[key] = path[first].src_key
        masked[key] = [recorded(inputs, e, e.src_key, e.dst_key) for e in path[first:] if not is_identity(e)]
    return Downstream(plain, masked, masked_from, keyish)


def seeds_of(con: Any, column: str | None, name: str | None, namespace: str | None, tag: str | None,
           policy: Policy) -> dict[ColumnKey, str]:
    """The subject's identifier columns, (dataset id, lower column) → why it is a seed."""
    if tag is not None:
        if column is not None or name is not None:
            raise InputError("--tag seeds from tagged columns: do not combine it with --column or a NAME")
        found = tagged_columns(con, tag, policy)
        if not found:
            raise NotFoundError(f"no column is tagged {tag!r}",
                                hint="tags come from field-level tags facets, dbt meta/tags and policy pii globs")
        return {k: "tagged " + ", ".join(sorted(v)) for k, v in found.items()}
    if column is None:
        raise InputError("say which identifier to follow: --column COL (or --tag TAG)")
    if name is not None:
        entity = resolve(con, name, namespace=namespace, kind="dataset")
        rows = con.execute("SELECT column_name FROM columns WHERE dataset_id = ? AND lower(column_name) = lower(?)",
                           [entity.id, column]).fetchall()
        if not rows:
            raise NotFoundError(f"{entity.namespace} {entity.name} has no column {column!r}")
        return {(entity.id, column.lower()): f"holds {rows[0][0]}"}
    rows = con.execute(
        "SELECT c.dataset_id, c.column_name FROM columns c JOIN datasets d USING (dataset_id) "
        "WHERE lower(c.column_name) = lower($col) AND ($ns IS NULL OR d.namespace = $ns)",
        {"col": column, "ns": namespace}).fetchall()
    if not rows:
        if namespace is not None:
            # The column may well exist, elsewhere: say where rather than suggest its own name.
            elsewhere = [r[0] for r in con.execute(
                "SELECT DISTINCT d.namespace FROM columns c JOIN datasets d USING (dataset_id) "
                "WHERE lower(c.column_name) = lower(?) ORDER BY 1 LIMIT 5", [column]).fetchall()]
            if elsewhere:
                raise NotFoundError(f"no dataset in namespace {namespace!r} has a column {column!r}",
                                    hint="datasets in " + ", ".join(elsewhere) + " have it: check --namespace")
        known = [r[0] for r in con.execute("SELECT DISTINCT column_name FROM columns").fetchall()]
        close = difflib.get_close_matches(column, known, n=5, cutoff=0.6)
        where = f" in namespace {namespace!r}" if namespace is not None else ""
        raise NotFoundError(f"no dataset{where} has a column {column!r}",
                            hint=("did you mean: " + ", ".join(close)) if close else None)
    return {(d, c.lower()): f"holds {c}" for d, c in rows}
