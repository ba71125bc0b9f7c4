"""Plain SQL scripts as lineage: ``lineagectl ingest etl/*.sql --dialect D``.

Each script becomes a job (named by its path, its SQL kept as the ``sql`` facet)
whose design-time lineage is a JobEvent, as dbt manifests give theirs: inputs are
the tables its statements read (through temporary tables it fills itself),
outputs the tables they write, and each output carries the ``columnLineage`` of
its columns, composed through those temporary tables. A later runtime event of
the same job refines it, as for any JobEvent. Templated SQL (Jinja's ``{{``,
``{%``) cannot be read as SQL: the file is refused with a hint to ingest the dbt
manifest instead.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from typing import Any

from lineagectl.errors import InputError
from lineagectl.sources.sql_script import compose

PRODUCER = "https://github.com/lineagectl/lineagectl/sql-script"
_FACET = {"_producer": PRODUCER, "_schemaURL": PRODUCER}
_JOB_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent"
_TEMPLATED = re.compile(r"\{\{|\{%")
DEFAULT_NAMESPACE = "sql"


def is_sql_script(path: str) -> bool:
    """Whether an input path names a SQL script (by its suffix)."""
    return path.lower().endswith(".sql")


def _dataset(name: str, namespace: str) -> dict[str, str]:
    return {"namespace": namespace, "name": name}


def script_event(path: str, text: str, answer: dict, namespace: str, job_namespace: str,
                 when: datetime) -> dict[str, Any]:
    """The JobEvent of one script, from ``answer`` (``lineagectl.api.sql_lineage``'s payload)."""
    statements = answer["statements"]
    script = compose(statements, through=lambda statement: bool(statement.get("temporary")))
    temporary = {target for statement in statements if statement.get("temporary") for target in statement["targets"]}
    outputs: dict[str, dict[str, list[dict]]] = {t: {} for t in script["targets"] if t not in temporary}
    for edge in script["columns"]:
        if edge["target"] in outputs and edge["source"] not in temporary:
            outputs[edge["target"]].setdefault(edge["column"], []).append(edge)
    inputs = dict.fromkeys(s for s in script["sources"] if s not in temporary)
    outputs_out = []
    for target, fields in outputs.items():
        facets: dict[str, Any] = {}
        if fields:
            facets["columnLineage"] = {**_FACET, "fields": {column: {"inputFields": [
                {**_dataset(e["source"], namespace), "field": e["source_column"],
                 "transformations": [{"type": e["type"], "subtype": e["subtype"], "masking": e["masking"]}]}
                for e in edges]} for column, edges in fields.items()}}
        outputs_out.append({**_dataset(target, namespace), "facets": facets})
    return {
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "job": {"namespace": job_namespace, "name": path,
                "facets": {"sql": {**_FACET, "query": text},
                           "jobType": {**_FACET, "processingType": "BATCH", "integration": "SQL",
                                       "jobType": "SCRIPT"}}},
        "inputs": [_dataset(name, namespace) for name in inputs if name not in outputs],
        "outputs": outputs_out,
        "producer": PRODUCER,
        "schemaURL": _JOB_EVENT,
    }


def read_script(path: str, dialect: str | None, namespace: str | None, job_namespace: str | None,
                warn: Any, sql_timeout: float | None = None) -> list[dict]:
    """The events of the SQL script at ``path`` (one JobEvent); ``InputError`` if it cannot be read
    as SQL. Statements that cannot be read are warned about; the rest still answer."""
    from lineagectl.sources.sql_answer import answer

    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        when = datetime.fromtimestamp(os.stat(path).st_mtime, UTC)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    templated = _TEMPLATED.search(text)
    if templated:
        line = text.count("\n", 0, templated.start()) + 1
        raise InputError(f"{path}:{line}: templated SQL ({templated.group()} …) is not SQL yet: ingest the dbt "
                         "project's target/manifest.json instead, which holds the compiled SQL")
    found = answer(text, dialect, timeout=sql_timeout)
    for statement in found["statements"]:
        for error in statement.get("errors", []):
            warn(f"{path}: statement {statement['index'] + 1}: {error}")
    return [script_event(path, text, found, namespace or DEFAULT_NAMESPACE, job_namespace or DEFAULT_NAMESPACE,
                         when)]
