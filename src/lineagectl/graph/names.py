"""Resolving a name given on the command line to one dataset or job.

Order (CONTRACT.md): an exact name, then ``namespace/name`` exactly (what ``-f name``
prints, so its lines can be passed back), then a unique suffix at a ``.`` or ``/``
boundary (``user_master`` for ``shop.public.user_master``); ``--namespace``
narrows, ``--kind`` picks datasets, models or jobs. When one dataset and jobs
match (a dbt model and the job that builds it), the dataset wins. Aliases (symlinks,
renames) resolve to the dataset they name. A versioned dbt model named without its version
resolves, as dbt's ``ref()`` does, to its latest version (``model.v2`` or ``model_v2`` names one).
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lineagectl.errors import InputError, NotFoundError
from lineagectl.graph.dbt_nodes import DbtNodes


@dataclass(frozen=True)
class Entity:
    """A resolved dataset or job."""

    kind: str  # "dataset" or "job"
    id: int
    namespace: str
    name: str


# Candidates whose name ends with what was typed (exact and suffix matches both
# do), so a lookup reads a handful of rows even in a store of 100k datasets.
_DATASET_NAMES = """
        SELECT DISTINCT coalesce(a.dataset_id, n.dataset_id), d.namespace, d.name, n.name, d.dataset_type
        FROM dataset_names n
        LEFT JOIN dataset_aliases a ON a.alias_id = n.dataset_id
        JOIN datasets d ON d.dataset_id = coalesce(a.dataset_id, n.dataset_id)
        WHERE ($ns IS NULL OR n.namespace = $ns OR d.namespace = $ns) AND """
_JOB_NAMES = "SELECT job_id, namespace, name, name, 'JOB' FROM jobs n WHERE ($ns IS NULL OR namespace = $ns) AND "
_CANDIDATES = {
    "dataset": _DATASET_NAMES + "($suffix IS NULL OR ends_with(n.name, $suffix))",
    "job": _JOB_NAMES + "($suffix IS NULL OR ends_with(name, $suffix))",
}
# ``namespace/name`` as ``-f name`` prints it.
_QUALIFIED = {
    "dataset": _DATASET_NAMES + "n.namespace || '/' || n.name = $q",
    "job": _JOB_NAMES + "n.namespace || '/' || n.name = $q",
}


def _candidates(con: Any, kinds: list[str], kind: str | None, namespace: str | None,
                suffix: str | None) -> list[tuple[str, tuple]]:
    rows = []
    for each in kinds:
        for row in con.execute(_CANDIDATES[each], {"ns": namespace, "suffix": suffix}).fetchall():
            if kind == "model" and row[4] != "MODEL":
                continue
            rows.append((each, row))
    return rows


def _suffix_match(full: str, wanted: str) -> bool:
    if full == wanted:
        return True
    if not full.endswith(wanted) or len(full) == len(wanted):
        return False
    return full[-len(wanted) - 1] in "./" or wanted[0] in "./"


def _levels(con: Any, name: str, kinds: list[str], kind: str | None,
            namespace: str | None) -> Iterator[dict[tuple[str, int], Entity]]:
    """The entities ``name`` matches, level by level: exact names, ``namespace/name``, then suffixes."""
    if not name:  # `impact "$NAME"` with NAME unset; ingest refuses an empty name, so none is stored
        raise InputError("the name is empty", hint="list names with `lineagectl ls datasets`")
    rows = _candidates(con, kinds, kind, namespace, name)
    yield {(k, r[0]): Entity(k, r[0], r[1], r[2]) for k, r in rows if r[3] == name}
    if "/" in name:
        qualified = [(each, row) for each in kinds
                     for row in con.execute(_QUALIFIED[each], {"q": name, "ns": namespace}).fetchall()
                     if kind != "model" or row[4] == "MODEL"]
        yield {(k, r[0]): Entity(k, r[0], r[1], r[2]) for k, r in qualified}
    yield {(k, r[0]): Entity(k, r[0], r[1], r[2]) for k, r in rows if _suffix_match(r[3], name)}


def match_datasets(con: Any, name: str, *, namespace: str | None = None) -> list[Entity]:
    """Every dataset ``name`` names at the first level that matches any (exact, else suffix);
    aliases and dbt unique ids included. Selectors take them all; ``resolve`` wants one."""
    for found in _levels(con, name, ["dataset"], None, namespace):
        if found:
            return sorted(found.values(), key=lambda e: (e.namespace, e.name))
    return []


def dbt_node_dataset(con: Any, unique_id: str, namespace: str, name: str) -> Entity | None:
    """The store's dataset of a dbt node, or None: the one named ``namespace/name`` (the name
    ``ingest`` gives the node's relation, ``sources.dbt.manifest``), else the one its ``unique_id``
    names (the ``dbt`` symlink ``ingest`` keeps, whatever ``--namespace`` the manifest was ingested
    under). Exact matches only (a qualified name as ``resolve`` reads one, a unique id in the ``dbt``
    namespace), never a suffix; a name that matches several datasets is no match."""
    for wanted, within, levels in ((f"{namespace}/{name}", None, 2), (unique_id, "dbt", 1)):
        for found in itertools.islice(_levels(con, wanted, ["dataset"], None, within), levels):
            if len(found) == 1:
                return next(iter(found.values()))
            if found:
                break
    return None


def resolve(con: Any, name: str, *, namespace: str | None = None, kind: str | None = None) -> Entity:
    """The one dataset or job ``name`` refers to; ``NotFoundError`` if none or several."""
    kinds = ["dataset", "job"] if kind is None else ["job" if kind == "job" else "dataset"]
    for found in _levels(con, name, kinds, kind, namespace):
        if len(found) == 1:
            return next(iter(found.values()))
        datasets = [e for e in found.values() if e.kind == "dataset"]
        if kind is None and len(datasets) == 1:
            return datasets[0]  # a dataset and the job that builds it (dbt): the dataset; --kind job for the job
        if len(found) > 1:
            # One line: the error boundary shows a message on one line (a newline as ⏎).
            listing = "; ".join(
                f"{e.kind} {e.namespace} {e.name}"
                for e in sorted(found.values(), key=lambda e: (e.kind, e.namespace, e.name))
            )
            raise NotFoundError(
                f"{name!r} is ambiguous; it matches: {listing}",
                hint="give the full name, or narrow with --namespace or --kind",
            )
    latest = _latest_version(con, name, namespace) if kind in (None, "dataset") else None
    if latest is not None:
        return latest
    rows = _candidates(con, kinds, kind, namespace, None)  # all names, for suggestions
    what = kind or "dataset or job"
    where = f" in namespace {namespace!r}" if namespace else ""
    # Names are case-sensitive (an S3 key, a quoted identifier), but a name that differs only in
    # case (`raw_customers` for a seed quoted as RAW_CUSTOMERS) is what was meant: offer it first.
    folded = sorted({r[3] for _, r in rows if _suffix_match(r[3].lower(), name.lower())})[:5]
    close = folded or difflib.get_close_matches(name, sorted({r[3] for _, r in rows}), n=5, cutoff=0.5)
    if not close:
        close = sorted({r[3] for _, r in rows if name.lower() in r[3].lower()})[:5]
    hint = ("did you mean: " + ", ".join(close)) if close else "list names with `lineagectl ls datasets`"
    if folded:
        hint += " (names are case-sensitive)"
    if kind is not None:
        other = [k for k in ("dataset", "job") if k != kind and _named(con, name, k, namespace)]
        if other:
            # `--kind model` is an ML model (datasetType MODEL), not a dbt model: say so to dbt users.
            meaning = " (--kind model: an ML model, datasetType MODEL)" if kind == "model" else ""
            hint = f"{name!r} is a {other[0]}{meaning}: use --kind {other[0]}, or leave --kind out"
    raise NotFoundError(f"no {what} named {name!r}{where}", hint=hint)


def _latest_version(con: Any, name: str, namespace: str | None) -> Entity | None:
    """A versioned dbt model named without its version (``orders`` for ``orders.v1``/``orders.v2``):
    its latest version's dataset, as dbt's ``ref('orders')`` resolves it; None for any other name."""
    found = []
    for dataset_id in sorted(DbtNodes.load(con).latest_version_of(name)):
        row = con.execute("SELECT namespace, name FROM datasets WHERE dataset_id = $id", {"id": dataset_id}).fetchone()
        if row and (namespace is None or row[0] == namespace):
            found.append(Entity("dataset", dataset_id, row[0], row[1]))
    return found[0] if len(found) == 1 else None


def _named(con: Any, name: str, kind: str, namespace: str | None) -> bool:
    return any(_levels(con, name, [kind], kind, namespace))


# Names with a part starting with what was typed: the whole name, or a part after a `.` or `/`.
_STARTING = {
    "dataset": "SELECT DISTINCT name FROM dataset_names",
    "job": "SELECT DISTINCT name FROM jobs",
}
_STARTING_WHERE = """ WHERE starts_with(lower(name), $p) OR contains(lower(name), '.' || $p)
                        OR contains(lower(name), '/' || $p) ORDER BY name LIMIT $rows"""


def names_starting(con: Any, prefix: str, *, jobs: bool = False, limit: int = 50) -> list[str]:
    """What a name argument starting with ``prefix`` may be completed to (case-insensitive): the
    full names, and the suffixes at a ``.`` or ``/`` boundary that ``resolve`` also takes
    (``user_m`` -> ``user_master``), sorted, at most ``limit``; with nothing typed, the full names."""
    wanted = prefix.lower()
    found: set[str] = set()
    for kind in ("dataset", "job") if jobs else ("dataset",):
        for (name,) in con.execute(_STARTING[kind] + _STARTING_WHERE, {"p": wanted, "rows": limit * 4}).fetchall():
            starts = [0, *(i + 1 for i, ch in enumerate(name) if ch in "./" and wanted)]  # nothing typed: full names
            found.update(name[i:] for i in starts if name[i:].lower().startswith(wanted))
    return sorted(found)[:limit]
