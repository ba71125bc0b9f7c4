"""The inputs that are not OpenLineage event files, turned into events before the store opens:
dbt manifests (with the catalog and run results found beside them) and SQL scripts.

Read before the store is opened: column lineage of a large dbt project runs in forked
worker processes, which is safe only while no DuckDB connection or writer thread exists.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from lineagectl.common.dialects import option_dialect
from lineagectl.errors import InputError
from lineagectl.sources.dbt.artifacts import artifact
from lineagectl.sources.dbt.manifest import manifest_events
from lineagectl.sources.ingest.reader import STDIN, Source
from lineagectl.sources.ingest.sql_scripts import read_script


def dbt_companions(sources: list[Source],
                   warn: Callable[[str], None]) -> tuple[list[Source], list[str], dict[str, dict]]:
    """Sort dbt's artifacts out of the inputs (one look at each file's head): the manifests, and
    the other artifacts by the folder of the manifest beside them (``lineagectl ingest target/``
    reads the manifest with its catalog and run results). Returns the inputs without those
    others, the manifests' paths (in input order), and the others by folder.

    A catalog or run_results.json with no manifest beside it is a usage error: it describes
    a manifest and must be passed with ``--catalog``/``--run-results``.
    """
    kinds = {s.path: found[0] for s in sources if s.path != STDIN and (found := artifact(s.path))}
    manifests = list(dict.fromkeys(s.path for s in sources if kinds.get(s.path) == "manifest"))
    manifest_dirs = {os.path.dirname(path) for path in manifests}
    beside: dict[str, dict] = {}
    kept = []
    for source in sources:
        kind = kinds.get(source.path)
        if kind is None or kind == "manifest":
            kept.append(source)
            continue
        folder = os.path.dirname(source.path)
        if folder not in manifest_dirs:
            option = {"catalog": "--catalog", "run-results": "--run-results"}.get(kind)
            raise InputError(f"{source.path}: a dbt {kind} file, not OpenLineage events or a manifest",
                             hint=(f"pass it with {option} beside its manifest: "
                                   f"lineagectl ingest manifest.json {option} {source.path}") if option else
                             "lineagectl reads dbt's manifest.json (with --catalog and --run-results)")
        if kind in ("catalog", "run-results"):
            beside.setdefault(folder, {})[kind] = source.path
        else:
            warn(f"{source.path}: dbt {kind} file beside the manifest, not read")
    return kept, manifests, beside


def read_manifests(manifests: list[str], warn: Callable[[str], None], namespace, catalog, run_results,
                    beside: dict[str, dict], sql_timeout: float | None = None) -> dict:
    """The events of every dbt manifest among the inputs (or the error reading it), by path;
    ``catalog``/``run_results`` given as options win over the artifacts found beside a manifest;
    ``sql_timeout`` bounds each model's column lineage (seconds; None: no limit).

    Read before the store is opened: column lineage of a large project runs in forked
    worker processes, which is safe only while no DuckDB or writer thread exists.
    """
    found: dict = {}
    for path in manifests:
        companions = beside.get(os.path.dirname(path), {})
        try:
            found[path] = list(manifest_events(
                path, namespace, catalog or companions.get("catalog"), warn,
                run_results=run_results or companions.get("run-results"), sql_timeout=sql_timeout))
        except InputError as exc:
            found[path] = exc
    return found


def read_scripts(paths: list[str], warn: Callable[[str], None], dialect: str | None, namespace: str | None,
                  job_namespace: str | None, sql_timeout: float | None = None) -> dict:
    """The JobEvent of every SQL script among the inputs (or the error reading it), by path;
    ``sql_timeout`` as ``sql_answer.answer``'s ``timeout``."""
    if paths:
        option_dialect(dialect)  # said once, not per script
    found: dict = {}
    for path in paths:
        try:
            found[path] = read_script(path, dialect, namespace, job_namespace, warn, sql_timeout)
        except InputError as exc:
            found[path] = exc
    return found
