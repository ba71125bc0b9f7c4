"""Run-level provenance: which runs and input versions produced a run or a dataset version.

``trace --run RUN_ID`` and ``trace NAME --version V`` (AI Act audits: where did
this model version come from?). From the run, each input's version is the one
the event named (``version`` facet) or else the latest version of that dataset
written before the run started; the run that wrote that version is followed in
turn, until sources or the depth limit. Every run is visited once.

Datasets are named as they are called now: an input a run read under a name
since renamed (or a symlink) is its current dataset, with ``read_as`` saying
the name the run used (``written_as`` for outputs), so a RENAME does not cut
the upstream branch. A dataset dropped since carries ``dropped``/``dropped_at``.
"""

from __future__ import annotations

from datetime import datetime

from lineagectl.common.ids import RUN_ID_MACRO
from lineagectl.errors import InputError, NotFoundError
from lineagectl.graph.names import resolve
from lineagectl.results import Result, jsonable
from lineagectl.store import open_store
from lineagectl.store.lookups import dropped_at

# Each query reads one whole level of the walk (a list of runs): no query per run or input.
# A dataset is named as it is called now: a name that has become an alias (a RENAME's old name,
# a symlink) is folded into the dataset it names, and versions written under any of its names
# are its versions.
_FOLDED = """
    fold AS (SELECT alias_id, min(dataset_id) AS dataset_id FROM dataset_aliases GROUP BY alias_id),
    versions AS (SELECT coalesce(f.dataset_id, v.dataset_id) AS dataset_id, v.version, v.run_id, v.created_at
                 FROM dataset_versions v LEFT JOIN fold f ON f.alias_id = v.dataset_id)"""
# The name a run used for a dataset, when that name is an alias now (n: its dataset_names row).
_NAME_USED = ("CASE WHEN f.dataset_id IS NOT NULL AND n.name IS NOT NULL "
              "THEN {'namespace': n.namespace, 'name': n.name} END")
_RUNS = """
    SELECT r.run_id, j.namespace, j.name, r.state, r.started_at, r.ended_at, j.sql
    FROM runs r JOIN jobs j USING (job_id) WHERE r.run_id IN (SELECT unnest($runs::VARCHAR[]))"""
# (run, dataset id, namespace, name, version, the name used when it differs from the current one).
_OUTPUTS = f"""
    WITH {_FOLDED}
    SELECT io.run_id, d.dataset_id, d.namespace, d.name, coalesce(io.version, io.run_id),
           {_NAME_USED}
    FROM run_io io LEFT JOIN fold f ON f.alias_id = io.dataset_id
    JOIN datasets d ON d.dataset_id = coalesce(f.dataset_id, io.dataset_id)
    LEFT JOIN dataset_names n ON n.dataset_id = io.dataset_id
    WHERE io.run_id IN (SELECT unnest($runs::VARCHAR[])) AND io.direction = 'out'
    ORDER BY d.namespace, d.name, n.namespace, n.name"""
# The version an input was read at: as the event said, else the latest written before the run;
# and the run that wrote that version, which the walk follows next.
_INPUTS = f"""
    WITH {_FOLDED},
    i AS (
        SELECT io.run_id, coalesce(f.dataset_id, io.dataset_id) AS dataset_id, io.version,
               coalesce(r.started_at, r.first_event_time) AS started,
               {_NAME_USED} AS read_as
        FROM run_io io JOIN runs r USING (run_id) LEFT JOIN fold f ON f.alias_id = io.dataset_id
        LEFT JOIN dataset_names n ON n.dataset_id = io.dataset_id
        WHERE io.run_id IN (SELECT unnest($runs::VARCHAR[])) AND io.direction = 'in'),
    read AS (
        SELECT i.*, coalesce(i.version, (SELECT arg_max(v.version, v.created_at) FROM versions v
                                         WHERE v.dataset_id = i.dataset_id AND v.created_at <= i.started)) AS used
        FROM i)
    SELECT read.run_id, d.dataset_id, d.namespace, d.name, read.used,
           (SELECT min(w.run_id) FROM versions w WHERE w.dataset_id = read.dataset_id AND w.version = read.used),
           read.read_as
    FROM read JOIN datasets d USING (dataset_id)
    ORDER BY d.namespace, d.name, read.read_as.namespace NULLS FIRST, read.read_as.name NULLS FIRST"""
_WRITER = f"WITH {_FOLDED} SELECT min(run_id) FROM versions WHERE dataset_id = ? AND version = ? HAVING count(*) > 0"
_KNOWN = f"WITH {_FOLDED} SELECT version FROM versions WHERE dataset_id = ? ORDER BY created_at DESC LIMIT 10"


def _start(con, run_id: str | None, name: str | None, version: str | None, namespace: str | None) -> str:
    if run_id is not None:
        if name is not None or version is not None:
            raise InputError("give either --run RUN_ID or NAME --version V, not both")
        # Stored as ingest keys it: a UUID in lower case (RFC 4122), so an id copied in upper case
        # from a producer's log names the same run.
        con.execute(RUN_ID_MACRO)
        return con.execute("SELECT lineagectl_run_id(?)", [run_id]).fetchone()[0]
    if name is None or version is None:
        raise InputError("run provenance needs --run RUN_ID, or NAME with --version V")
    dataset = resolve(con, name, namespace=namespace, kind="dataset")
    rows = con.execute(_WRITER, [dataset.id, version]).fetchall()
    if not rows:
        known = [r[0] for r in con.execute(_KNOWN, [dataset.id]).fetchall()]
        raise NotFoundError(f"{dataset.namespace} {dataset.name} has no version {version!r}",
                            hint=("recent versions: " + ", ".join(known)) if known else "no versions recorded")
    return rows[0][0]


def _dropped(when: datetime | None) -> dict:
    return {} if when is None else {"dropped": True, "dropped_at": jsonable(when)}


def run_provenance(db: str | None = None, *, run_id: str | None = None, name: str | None = None,
                   version: str | None = None, namespace: str | None = None,
                   depth: int | None = None) -> Result:
    """The runs, jobs, SQL and input dataset versions behind a run or a dataset version."""
    if depth is not None and depth < 1:
        raise InputError("--depth must be 1 or more")
    steps: list[dict] = []
    with open_store(db) as con:
        start = _start(con, run_id, name, version, namespace)
        if not con.execute(_RUNS, {"runs": [start]}).fetchall():
            raise NotFoundError(f"no run with id {start!r}", hint="list runs with `lineagectl ls runs`")
        seen = {start}
        frontier = [start]
        level = 0
        while frontier and (depth is None or level < depth):
            runs = {r[0]: r[1:] for r in con.execute(_RUNS, {"runs": frontier}).fetchall()}
            input_rows = con.execute(_INPUTS, {"runs": frontier}).fetchall()
            output_rows = con.execute(_OUTPUTS, {"runs": frontier}).fetchall()
            gone = dropped_at(con, {r[1] for r in input_rows} | {r[1] for r in output_rows})
            inputs: dict[str, list[dict]] = {}
            for run, dataset, in_ns, in_name, in_version, producer, read_as in input_rows:
                inputs.setdefault(run, []).append({
                    "namespace": in_ns, "name": in_name, "version": in_version, "produced_by_run": producer,
                    **({"read_as": read_as} if read_as else {}), **_dropped(gone.get(dataset))})
            outputs: dict[str, list[dict]] = {}
            for run, dataset, out_ns, out_name, out_version, written_as in output_rows:
                outputs.setdefault(run, []).append({
                    "namespace": out_ns, "name": out_name, "version": out_version,
                    **({"written_as": written_as} if written_as else {}), **_dropped(gone.get(dataset))})
            next_frontier = []
            for current in frontier:
                if current not in runs:
                    continue  # a producer run pruned since: named by its output, not followed
                ns, job, state, started, ended, sql = runs[current]
                for item in inputs.get(current, []):
                    producer = item["produced_by_run"]
                    if producer and producer not in seen:
                        seen.add(producer)
                        next_frontier.append(producer)
                steps.append({"depth": level, "run_id": current, "job": {"namespace": ns, "name": job},
                              "state": state, "started_at": jsonable(started), "ended_at": jsonable(ended),
                              "sql": sql, "outputs": outputs.get(current, []), "inputs": inputs.get(current, [])})
            frontier = sorted(next_frontier)
            level += 1
    return Result("provenance", {"run": start, "steps": steps})
