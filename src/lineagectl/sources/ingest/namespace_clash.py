"""Warning when a dbt manifest's datasets would land beside the same tables in another namespace.

A manifest has no host or port, so its datasets go to ``postgres://postgres`` while dbt-ol's
runtime events name them ``postgres://postgres:5432``: ingested after or with those events,
every table is stored twice and every bare name becomes ambiguous. Once the ingest has
written, the store is asked which other namespaces hold the manifest's table names (the
events of the same call included), and the warning names the ``--namespace`` to pass.
"""

from __future__ import annotations

from collections import defaultdict

import duckdb

_SHOWN = 3  # namespaces named in one warning


def _datasets(events: list[dict]) -> dict[str, set[str]]:
    """The dataset names of ``events`` by namespace (event datasets, inputs and outputs)."""
    found: dict[str, set[str]] = defaultdict(set)
    for event in events:
        for dataset in [event.get("dataset"), *(event.get("inputs") or ()), *(event.get("outputs") or ())]:
            if isinstance(dataset, dict) and isinstance(dataset.get("namespace"), str) \
                    and isinstance(dataset.get("name"), str):
                found[dataset["namespace"]].add(dataset["name"])
    return found


def manifest_namespace_warnings(con: duckdb.DuckDBPyConnection, manifests: dict[str, object]) -> list[str]:
    """One warning per manifest (path -> its events; an error is skipped) whose table names the
    store holds under other namespaces too, naming those and the ``--namespace`` to pass."""
    warnings = []
    for path, events in manifests.items():
        if not isinstance(events, list):
            continue
        for namespace, names in sorted(_datasets(events).items()):
            others = con.execute(
                """SELECT namespace, count(DISTINCT name) AS shared FROM datasets
                   WHERE name IN (SELECT unnest($names::VARCHAR[])) AND namespace <> $namespace
                   GROUP BY namespace ORDER BY shared DESC, namespace""",
                {"names": sorted(names), "namespace": namespace}).fetchall()
            if not others:
                continue
            listed = ", ".join(f"{other} ({shared} of them)" for other, shared in others[:_SHOWN])
            more = f" and {len(others) - _SHOWN} more" if len(others) > _SHOWN else ""
            warnings.append(
                f"{path}: its datasets go to namespace {namespace}, but the store holds "
                f"tables of the same names under {listed}{more}: pass --namespace {others[0][0]} "
                f"to store them as the same datasets")
    return warnings
