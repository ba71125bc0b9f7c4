"""Run-level provenance: which runs and input versions produced a run or a dataset version.

``trace --run RUN_ID`` and ``trace NAME --version V`` (AI Act audits: where did
this model version come from?). From the run, each input's version is the one
the event named (``version`` facet) or else the latest version of that dataset
written before the run started; the run that wrote that version is followed in
turn, until sources or the depth limit. Every run is visited once.
"""

from __future__ import annotations

from lineagectl.errors import InputError, NotFoundError
from lineagectl.graph.names import resolve
from lineagectl.results import Result, jsonable
from lineagectl.store import open_store

# Each query reads one whole level of the walk (a list of runs): no query per run or input.
_RUNS = """
    SELECT r.run_id, j.namespace, j.name, r.state, r.started_at, r.ended_at, j.sql
    FROM runs r JOIN jobs j USING (job_id) WHERE r.run_id IN (SELECT unnest($runs::VARCHAR[]))"""
_OUTPUTS = """
    SELECT io.run_id, d.namespace, d.name, coalesce(io.version, io.run_id)
    FROM run_io io JOIN datasets d USING (dataset_id)
    WHERE io.run_id IN (SELECT unnest($runs::VARCHAR[])) AND io.direction = 'out'
    ORDER BY d.namespace, d.name"""
# The version an input was read at: as the event said, else the latest written before the run;
# and the run that wrote that version, which the walk follows next.
_INPUTS = """
    WITH i AS (
        SELECT io.run_id, d.namespace, d.name, io.dataset_id,
               coalesce(io.version, (SELECT arg_max(v.version, v.created_at) FROM dataset_versions v
                                     WHERE v.dataset_id = io.dataset_id
                                       AND v.created_at <= coalesce(r.started_at, r.first_event_time))) AS version
        FROM run_io io JOIN runs r USING (run_id) JOIN datasets d ON d.dataset_id = io.dataset_id
        WHERE io.run_id IN (SELECT unnest($runs::VARCHAR[])) AND io.direction = 'in')
    SELECT i.run_id, i.namespace, i.name, i.version,
           (SELECT min(w.run_id) FROM dataset_versions w WHERE w.dataset_id = i.dataset_id AND w.version = i.version)
    FROM i ORDER BY i.namespace, i.name"""
_WRITER = "SELECT run_id FROM dataset_versions WHERE dataset_id = ? AND version = ?"


def _start(con, run_id: str | None, name: str | None, version: str | None, namespace: str | None) -> str:
    if run_id is not None:
        if name is not None or version is not None:
            raise InputError("give either --run RUN_ID or NAME --version V, not both")
        return run_id
    if name is None or version is None:
        raise InputError("run provenance needs --run RUN_ID, or NAME with --version V")
    dataset = resolve(con, name, namespace=namespace, kind="dataset")
    rows = con.execute(_WRITER, [dataset.id, version]).fetchall()
    if not rows:
        known = [r[0] for r in con.execute(
            "SELECT version FROM dataset_versions WHERE dataset_id = ? ORDER BY created_at DESC LIMIT 10",
            [dataset.id]).fetchall()]
        raise NotFoundError(f"{dataset.namespace} {dataset.name} has no version {version!r}",
                            hint=("recent versions: " + ", ".join(known)) if known else "no versions recorded")
    return rows[0][0]


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
            inputs: dict[str, list[dict]] = {}
            for run, in_ns, in_name, in_version, producer in con.execute(_INPUTS, {"runs": frontier}).fetchall():
                inputs.setdefault(run, []).append({"namespace": in_ns, "name": in_name, "version": in_version,
                                                   "produced_by_run": producer})
            outputs: dict[str, list[dict]] = {}
            for run, out_ns, out_name, out_version in con.execute(_OUTPUTS, {"runs": frontier}).fetchall():
                outputs.setdefault(run, []).append({"namespace": out_ns, "name": out_name, "version": out_version})
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
