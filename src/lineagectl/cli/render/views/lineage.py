"""Views of lineage answers: ``impact``/``trace`` (a table, or a tree in the table format),
run-level ``provenance`` and ``graph`` (one row per edge)."""

from __future__ import annotations

from lineagectl.cli.render.views import View, entity, path_text, view
from lineagectl.results import Result, counted, transformation_text

DATASET_COLUMNS = ["depth", "kind", "namespace", "name", "owners"]
COLUMN_COLUMNS = ["depth", "namespace", "name", "column", "path", "owners"]


@view("impact", "trace")
def lineage(result: Result) -> View:
    """The datasets (or columns) reached, nearest first; the same as a tree for the table format."""
    payload = result.payload
    datasets = payload["datasets"]
    if "columns" in payload:
        owners = {(d["namespace"], d["name"]): d["owners"] for d in reversed(datasets)}
        records = [{"depth": c["depth"], "namespace": c["namespace"], "name": c["name"], "column": c["column"],
                    "path": path_text(c["transformations"]), "owners": owners.get((c["namespace"], c["name"]), []),
                    **_dropped(c)} for c in payload["columns"]]
        columns = COLUMN_COLUMNS
    else:
        records = [{"depth": d["depth"], "kind": "model" if d["type"] == "MODEL" else "dataset",
                    "namespace": d["namespace"], "name": d["name"], "owners": d["owners"], **_dropped(d)}
                   for d in datasets]
        if result.context.get("include_jobs"):
            records += [{"depth": j["depth"], "kind": "job", "namespace": j["namespace"], "name": j["name"],
                         "owners": j["owners"]} for j in payload["jobs"]]
            records.sort(key=lambda r: (r["depth"], r["kind"] == "job", r["namespace"], r["name"]))
        columns = DATASET_COLUMNS
    if any("dropped_at" in r for r in records):
        columns = [*columns, "dropped_at"]  # only then, so a CSV without drops keeps its columns
    root = payload["root"]
    what = entity(root) + (f" column {root['column']}" if root["column"] is not None else "")
    found = f"{counted(len(datasets), 'dataset')} ({counted(len(payload['models']), 'model')})"
    return View(title=f"{payload['direction']} of {what}: {found}", columns=columns, records=records,
                tree=_tree(result), drop=("owners", "path", "kind", "dropped_at", "namespace"))


def _dropped(item: dict) -> dict:
    """A record's ``dropped``/``dropped_at`` as the JSON item has them (nothing unless dropped)."""
    return {"dropped": True, "dropped_at": item["dropped_at"]} if item.get("dropped") else {}


def _name(node: dict) -> str:
    """The part of a node's label a terminal keeps whole or ellipsises in the middle."""
    return entity(node) + (f" .{node['column']}" if node.get("column") else "")


def _label(node: dict) -> str:
    text = _name(node)
    if node.get("type") == "MODEL":
        text += " [model]"
    elif node.get("kind") == "job":
        text += " [job]"
    if node.get("dropped_at"):
        text += f" (dropped {node['dropped_at']})"
    if node.get("owners"):
        text += "  owners: " + ", ".join(node["owners"])
    return text


def _owned_by(job: dict) -> str:
    """The owners of the job of a hop (whom to warn for it too), when it has some."""
    return f" (owners: {', '.join(job['owners'])})" if job.get("owners") else ""


def _tree(result: Result) -> list[dict] | None:
    """Labelled tree nodes: how each was reached (transformation, or job and its owners with
    --include-jobs; a job no hop names is a leaf of its own, as ``-f json`` lists every job); datasets
    a selector cut off from their parent hang from the root with their depth, nearest first."""
    if result.tree is None:
        return None
    include_jobs = result.context.get("include_jobs")
    placed, detached = [], []
    for node in result.tree:
        label = _label(node)
        if node.get("detached"):
            detached.append((node["depth"], label, {"id": node["id"], "parent": node["parent"],
                                                     "label": f"{label}  (depth {node['depth']})",
                                                     "name_length": len(_name(node))}))
            continue
        if node.get("transformation"):
            label += f"  ({transformation_text(node['transformation'])})"
        elif include_jobs and node.get("job"):
            label += f"  via {node['job']['name']}" + _owned_by(node["job"])
        placed.append({"id": node["id"], "parent": node["parent"], "label": label, "name_length": len(_name(node))})
    return placed + [item for _, _, item in sorted(detached, key=lambda d: (d[0], d[1]))]


PROVENANCE_COLUMNS = ["depth", "run_id", "job", "state", "started_at", "input", "input_version", "produced_by_run"]
_NO_INPUT = {"namespace": "", "name": "", "version": None, "produced_by_run": None}


@view("provenance")
def provenance(result: Result) -> View:
    """One row per run and input (a run without inputs has one row); an input read under a name
    since renamed says which (``read_as``), one dropped since says when (``dropped_at``)."""
    steps = result.payload["steps"]
    records = [{"depth": s["depth"], "run_id": s["run_id"], "job": s["job"]["name"], "state": s["state"],
                "started_at": s["started_at"], "input": entity(i), "input_version": i["version"],
                "produced_by_run": i["produced_by_run"],
                **({"read_as": entity(i["read_as"])} if i.get("read_as") else {}), **_dropped(i)}
               for s in steps for i in (s["inputs"] or [_NO_INPUT])]
    # These columns only when some input has them, so other CSVs keep their columns.
    extra = [c for c in ("read_as", "dropped_at") if any(c in r for r in records)]
    return View(title=f"provenance of run {result.payload['run']}: {counted(len(steps), 'run')}",
                columns=PROVENANCE_COLUMNS + extra, records=records,
                drop=("produced_by_run", "input_version", "read_as", "depth", "started_at"))


GRAPH_COLUMNS = ["from_kind", "from_namespace", "from_name", "from_column", "to_kind", "to_namespace", "to_name",
                 "to_column", "label"]


@view("graph")
def graph(result: Result) -> View:
    """One row per edge, each end by kind, namespace, name and column."""
    graph_data = result.graph or {"nodes": [], "edges": []}
    by_id = {n["id"]: n for n in graph_data["nodes"]}
    # The dropped columns only when a dataset drawn is dropped, so other answers keep their columns.
    dropped = any(n.get("dropped") for n in graph_data["nodes"])
    records = []
    for edge in graph_data["edges"]:
        source, target = by_id[edge["source"]], by_id[edge["target"]]
        records.append({"from_kind": source["kind"], "from_namespace": source["namespace"],
                        "from_name": source["name"], "from_column": source["column"],
                        "to_kind": target["kind"], "to_namespace": target["namespace"], "to_name": target["name"],
                        "to_column": target["column"], "label": edge["label"],
                        **({"from_dropped": bool(source.get("dropped")), "to_dropped": bool(target.get("dropped"))}
                           if dropped else {})})
    columns = [*GRAPH_COLUMNS, "from_dropped", "to_dropped"] if dropped else GRAPH_COLUMNS
    return View(title=f"lineage around {entity(result.payload['root'])}", columns=columns, records=records,
                drop=("label", "from_kind", "to_kind", "from_namespace", "to_namespace"))
