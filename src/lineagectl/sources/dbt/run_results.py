"""A dbt run (``run_results.json``) as OpenLineage events, beside its manifest's.

Each model, seed and snapshot execution becomes a run of its job (START, then COMPLETE or FAIL
at the execute timing; a skipped one none), and each test result a ``dataQualityAssertions``
facet on the dataset (and column) it tests. ``project`` is the manifest being read
(``manifest._Manifest``): its nodes, and how it names datasets, jobs and columns.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

from lineagectl.sources.dbt.envelope import PRODUCER, SCHEMA_URL, facet
from lineagectl.sources.dbt.node_meta import DbtTest
from lineagectl.sources.dbt.shapes import a_list, an_object

if TYPE_CHECKING:
    from lineagectl.sources.dbt.manifest import _Manifest as Manifest


def run_events(project: Manifest, results: dict) -> Iterator[dict]:
    """Runs of models, seeds and snapshots, and test results as assertions, from ``run_results.json``."""
    meta = an_object(results.get("metadata"), "metadata", "run_results")
    invocation = str(meta.get("invocation_id") or meta.get("generated_at") or "dbt")
    when = meta.get("generated_at") or project.time
    assertions: dict[str, list[dict]] = {}
    for result in a_list(results.get("results"), "results", "run_results"):
        if not isinstance(result, dict) or not isinstance(result.get("unique_id"), str):
            continue
        uid, status = result["unique_id"], str(result.get("status") or "").lower()
        node = project.nodes.get(uid)
        if node is None:
            continue
        if node.get("resource_type") == "test":
            test = DbtTest(uid, node)
            if test.target in project.nodes:
                assertion = {"assertion": test.name, "success": status in ("pass", "success")}
                if isinstance(test.column, str):
                    assertion["column"] = project.column_name(test.column)
                assertions.setdefault(test.target, []).append(assertion)
        elif node.get("resource_type") in ("model", "seed", "snapshot"):
            yield from _run(project, node, uid, result, status, invocation, when)
    for target, found in sorted(assertions.items()):
        namespace, name = project.dataset_id(project.nodes[target])
        yield {"eventTime": when, "producer": PRODUCER, "schemaURL": SCHEMA_URL.format("DatasetEvent"),
               "dataset": {"namespace": namespace, "name": name,
                           "facets": {"dataQualityAssertions": facet({"assertions": found})}}}


def _run(project: Manifest, node: dict, uid: str, result: dict, status: str, invocation: str,
         when: str) -> Iterator[dict]:
    timing = {t.get("name"): t for t in a_list(result.get("timing"), f"{uid}: timing", "run_results")
              if isinstance(t, dict) and isinstance(t.get("name"), str)}
    execute = timing.get("execute") or {}
    started, ended = execute.get("started_at") or when, execute.get("completed_at") or when
    if status == "skipped":
        return
    run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"dbt://{invocation}/{uid}"))
    namespace, name = project.dataset_id(node)
    job = {"namespace": project.job_namespace(node), "name": uid}
    run: dict = {"runId": run_id}
    terminal = "COMPLETE" if status in ("success", "pass") else "FAIL"
    if terminal == "FAIL" and result.get("message"):
        run = {"runId": run_id, "facets": {"errorMessage": facet(
            {"message": str(result["message"]), "programmingLanguage": "sql"})}}
    for event_type, at, current in (("START", started, {"runId": run_id}), (terminal, ended, run)):
        yield {"eventType": event_type, "eventTime": at, "producer": PRODUCER,
               "schemaURL": SCHEMA_URL.format("RunEvent"), "run": current, "job": job,
               "inputs": [], "outputs": [{"namespace": namespace, "name": name}]}
