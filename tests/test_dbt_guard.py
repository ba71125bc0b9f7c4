"""dbt artifacts of the wrong shape are a clear InputError naming the file; a bug in the reader is not.

The reader checks the shape of every field it reads; only that check becomes "not a usable dbt
manifest". Any other exception is lineagectl's own bug and surfaces as itself (exit 70 in the CLI).
"""

from __future__ import annotations

import copy
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lineagectl.sources.dbt.manifest as dbt
import lineagectl.sources.dbt.node_meta as node_meta
from conftest import corpus_dir, json_paths
from lineagectl.api import ingest
from lineagectl.errors import InputError

JAFFLE = "jaffle_shop.v12.dbt1.12"
LONG = os.environ.get("LINEAGECTL_FUZZ") == "long"


def _artifacts() -> dict | None:
    """The jaffle_shop manifest (the sections the reader reads), catalog and run results."""
    folder = corpus_dir()
    if folder is None:
        return None
    manifest = json.loads((folder / "dbt" / f"{JAFFLE}.manifest.json").read_text())
    manifest = {key: manifest[key] for key in ("metadata", "nodes", "sources", "exposures", "groups")}
    # Four models (column lineage is the slow part), the sources and seeds, and the tests on them.
    models = {f"model.jaffle_shop.{m}" for m in ("stg_customers", "stg_orders", "customers", "orders")}
    manifest["nodes"] = {uid: node for uid, node in manifest["nodes"].items()
                         if uid in models or node["resource_type"] == "seed"
                         or (node["resource_type"] == "test" and node.get("attached_node") in models)}
    # An exposure (ml, so it is also a dataset) and a group with an owner, so every part is read.
    orders = "model.jaffle_shop.orders"
    manifest["nodes"][orders]["group"] = "finance"
    manifest["groups"] = {"group.jaffle_shop.finance": {"name": "finance", "owner": {"email": "fin@example.com"}}}
    manifest["exposures"] = {"exposure.jaffle_shop.churn": {
        "name": "churn", "type": "ml", "owner": {"name": "ds"}, "depends_on": {"nodes": [orders]}}}
    return {"manifest": manifest,
            "catalog": json.loads((folder / "dbt" / f"{JAFFLE}.catalog.json").read_text()),
            "run_results": json.loads((folder / "dbt" / f"{JAFFLE}.run_results.json").read_text())}


ARTIFACTS = _artifacts()
needs_corpus = pytest.mark.skipif(ARTIFACTS is None, reason="shared corpus not found")


def write(tmp_path, manifest=None, catalog=None, run_results=None) -> dict:
    """The artifacts as files (the corpus ones where not given), as manifest_events' arguments."""
    assert ARTIFACTS is not None
    paths = {}
    for kind, value in (("manifest", manifest), ("catalog", catalog), ("run_results", run_results)):
        path = tmp_path / f"{kind}.json"
        path.write_text(json.dumps(ARTIFACTS[kind] if value is None else value))
        paths[kind] = str(path)
    return paths


def events(paths: dict, warnings: list | None = None) -> list[dict]:
    return list(dbt.manifest_events(paths["manifest"], catalog=paths["catalog"], run_results=paths["run_results"],
                                    on_warning=(warnings if warnings is not None else []).append))


@needs_corpus
def test_the_artifacts_read_whole(tmp_path):
    found = events(write(tmp_path))
    assert any("columnLineage" in e.get("dataset", {}).get("facets", {}) for e in found)
    assert any(e.get("job", {}).get("name") == "exposure.jaffle_shop.churn" for e in found)
    assert any(e.get("eventType") == "COMPLETE" for e in found)


def _bug(*args, **kwargs):
    raise TypeError("a bug in the reader")


@needs_corpus
@pytest.mark.parametrize("target, error", [
    ("_truthy", TypeError), ("_Manifest.owners", KeyError), ("_Manifest.dataset_id", AttributeError),
    ("lineage_of_models", ValueError), ("DbtTest.__init__", RuntimeError)])
def test_a_bug_in_the_reader_is_not_a_bad_manifest(tmp_path, monkeypatch, target, error):
    def bug(*args, **kwargs):
        raise error("a bug in the reader")

    owner, _, name = target.rpartition(".")
    # A class is patched where it lives (DbtTest: node_meta, read by the run_results reader too).
    monkeypatch.setattr(getattr(dbt, owner, None) or getattr(node_meta, owner) if owner else dbt, name, bug)
    paths = write(tmp_path)
    with pytest.raises(error, match="a bug in the reader"):
        events(paths)
    with pytest.raises(error, match="a bug in the reader"):
        ingest([paths["manifest"]], str(tmp_path / "s.duckdb"), run_results=paths["run_results"])


@needs_corpus
def test_a_bug_in_the_reader_exits_70_not_2(tmp_path, monkeypatch, cli):
    monkeypatch.setattr(dbt, "_truthy", _bug)
    paths = write(tmp_path)
    result = cli("--db", tmp_path / "s.duckdb", "ingest", paths["manifest"])
    assert result.exit_code == 70, result.stderr
    assert "not a usable dbt manifest" not in result.stderr


@needs_corpus
@pytest.mark.parametrize("artifact, change, message", [
    ("manifest", lambda m: m["nodes"]["model.jaffle_shop.customers"].update(columns=["customer_id"]),
     "not a usable dbt manifest (model.jaffle_shop.customers: columns is a list, not an object)"),
    ("manifest", lambda m: m["nodes"]["model.jaffle_shop.orders"].update(config="table"),
     "not a usable dbt manifest (model.jaffle_shop.orders: config is a string, not an object)"),
    ("manifest", lambda m: m["nodes"]["model.jaffle_shop.orders"].update(compiled_code=42),
     "model.jaffle_shop.orders: compiled_code is a number, not a string"),
    ("manifest", lambda m: m["metadata"].update(adapter_type=["duckdb"]),
     "metadata.adapter_type is a list, not a string"),
    ("catalog", lambda c: c["nodes"]["model.jaffle_shop.orders"].update(columns="order_id"),
     "not a usable dbt catalog (model.jaffle_shop.orders: columns is a string, not an object)"),
    ("run_results", lambda r: r.update(metadata=["x"]),
     "not a usable dbt run_results.json (metadata is a list, not an object)"),
])
def test_a_wrong_typed_section_is_an_input_error_naming_the_file(tmp_path, artifact, change, message):
    document = copy.deepcopy(ARTIFACTS[artifact])
    change(document)
    paths = write(tmp_path, **{artifact: document})
    with pytest.raises(InputError) as raised:
        events(paths)
    assert raised.value.message.startswith(paths[artifact] + ": ") and message in raised.value.message
    # The ingest reports it as the file's error and stores nothing of it.
    report = ingest([paths["manifest"]], str(tmp_path / "s.duckdb"), catalog=paths["catalog"],
                    run_results=paths["run_results"])
    assert report.events_new == 0 and any(message in e for e in report.file_errors)


@needs_corpus
def test_an_unknown_adapter_is_read_with_the_generic_dialect_and_a_warning(tmp_path):
    manifest = copy.deepcopy(ARTIFACTS["manifest"])
    manifest["metadata"]["adapter_type"] = "nosuchsql"
    paths = write(tmp_path, manifest=manifest)
    warnings: list[str] = []
    found = events(paths, warnings)
    assert warnings.count(f"unknown SQL dialect 'nosuchsql' in dbt manifest {paths['manifest']} "
                          "(metadata.adapter_type): parsed with sqlglot's generic dialect") == 1
    assert not any("no column lineage" in w for w in warnings)
    assert sum("columnLineage" in e.get("dataset", {}).get("facets", {}) for e in found) == 4
    # An adapter's other name for a known dialect is no warning.
    manifest["metadata"]["adapter_type"] = "postgresql"
    warnings.clear()
    events(write(tmp_path, manifest=manifest), warnings)
    assert not any("unknown SQL dialect" in w for w in warnings)


# -- Any field the reader reads, of any shape: the events or an InputError, never another exception.

READ = {"metadata", "adapter_type", "project_name", "generated_at", "nodes", "sources", "exposures", "groups",
        "resource_type", "unique_id", "database", "schema", "alias", "identifier", "name", "columns", "data_type",
        "tags", "meta", "owner", "pii", "config", "materialized", "depends_on", "compiled_code", "compiled_sql",
        "raw_code", "attached_node", "test_metadata", "kwargs", "column_name", "group", "package_name", "email",
        "type", "description", "results", "status", "timing", "started_at", "completed_at", "message",
        "invocation_id"}


def _read_paths(kind: str) -> list[tuple]:
    if ARTIFACTS is None:
        return [()]
    return [p for p in (p for p in json_paths(ARTIFACTS[kind]) if p) if isinstance(p[-1], int) or p[-1] in READ
            or (len(p) > 1 and p[-2] in ("columns", "nodes", "sources", "exposures", "groups", "results"))]


values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                     max_size=3), max_leaves=6)
mutations = st.sampled_from(["manifest", "catalog", "run_results"]).flatmap(
    lambda kind: st.tuples(st.just(kind), st.sampled_from(_read_paths(kind)), st.sampled_from(["replace", "delete"]),
                           values))


@needs_corpus
@settings(max_examples=2000 if LONG else 40, deadline=None, derandomize=not LONG,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(mutations, min_size=1, max_size=3))
def test_any_field_of_any_shape_reads_or_is_an_input_error(tmp_path, changes):
    documents = copy.deepcopy(ARTIFACTS)
    for kind, path, how, value in changes:
        parent = documents[kind]
        try:
            for key in path[:-1]:
                parent = parent[key]
            if how == "delete":
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed or replaced the place
    paths = write(tmp_path, **documents)
    try:
        events(paths)
    except InputError as exc:
        assert exc.message.startswith(tuple(paths.values())), exc.message
