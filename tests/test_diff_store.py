"""``lineagectl diff --db``: consumers outside dbt from a store's runtime lineage, with their owners.

A real store: the example project's production manifest ingested with OpenLineage events as NDJSON
(examples/diff/runtime.ndjson, or written here) of jobs that read its tables at run time (an export
with column lineage, an ML model's training without, a dashboard's refresh that writes nothing).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from lineagectl import api
from lineagectl.errors import DatabaseMissingError, ExitStatus
from test_diff import _diff, _manifest

EXAMPLE = ROOT / "examples" / "diff"
PROD, PR = str(EXAMPLE / "prod" / "manifest.json"), str(EXAMPLE / "pr" / "manifest.json")
RUNTIME = EXAMPLE / "runtime.ndjson"  # examples/diff/generate.py writes it
WAREHOUSE = "postgres://warehouse"


def _event(job: str, inputs: list[tuple[str, str]], outputs: list[dict], owner: str | None = None,
           run: str = "11111111-1111-4111-8111-000000000001") -> list[dict]:
    namespace, name = job.split(" ")
    facets = {"ownership": {"_producer": "test", "owners": [{"name": owner}]}} if owner else {}
    base = {"producer": "https://example.com/runtime", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": run}, "job": {"namespace": namespace, "name": name, "facets": facets},
            "inputs": [{"namespace": ns, "name": n} for ns, n in inputs], "outputs": outputs}
    return [{**base, "eventType": "START", "eventTime": "2026-03-01T10:00:00Z"},
            {**base, "eventType": "COMPLETE", "eventTime": "2026-03-01T10:05:00Z"}]


def _output(namespace: str, name: str, reads: dict[str, tuple[str, str, str]] | None = None,
            owner: str | None = None, kind: str | None = None) -> dict:
    facets: dict = {}
    if reads:
        facets["columnLineage"] = {"_producer": "test", "fields": {
            column: {"inputFields": [{"namespace": ns, "name": n, "field": f}]} for column, (ns, n, f) in reads.items()}}
    if owner:
        facets["ownership"] = {"_producer": "test", "owners": [{"name": owner}]}
    if kind:
        facets["datasetType"] = {"_producer": "test", "datasetType": kind}
    return {"namespace": namespace, "name": name, "facets": facets}


@pytest.fixture
def store(tmp_path):
    db = str(tmp_path / "lineage.duckdb")
    report = api.ingest([PROD, str(RUNTIME)], db)
    assert report.events_rejected == 0 and report.events_new > 8
    return db


def test_the_runtime_events_are_what_the_generator_writes():
    generated = subprocess.run([sys.executable, "-c", "import generate, json; print(json.dumps(generate.RUNTIME))"],
                               cwd=EXAMPLE, capture_output=True, text=True, check=True)
    assert json.loads(generated.stdout) == [json.loads(line) for line in RUNTIME.read_text().splitlines()]


def _change(result, column: str, change: str) -> dict:
    return next(c for c in result.payload["columns"] if (c["column"], c["change"]) == (column, change))


def test_a_removed_column_reaches_the_runtime_consumers_of_the_store_with_their_owners(store):
    removed = _change(api.diff(PROD, PR, db=store), "country", "removed")
    assert removed["class"] == "breaking"
    manifest, runtime = ([d for d in removed["downstream"] if d.get("via") != "store"],
                         [d for d in removed["downstream"] if d.get("via") == "store"])
    assert manifest == [{"namespace": WAREHOUSE, "name": "warehouse.analytics.customers", "column": "country"}]
    assert runtime == [
        {"namespace": "s3://exports", "name": "customers.csv", "column": "country", "via": "store", "type": "DATASET"},
        {"namespace": "mlflow://models", "name": "churn", "column": None, "via": "store", "type": "MODEL"},
        {"namespace": "superset://bi", "name": "refresh_country_board", "column": None, "via": "store",
         "type": "JOB"}]
    # emails.csv reads customers.email only: not reached; the manifest's owners first, then the store's
    assert removed["store_owners"] == ["@crm-team", "exports-oncall", "@ml-team", "@bi-oncall"]
    assert removed["owners"] == ["@growth-team", "bi@example.com", "BI team", *removed["store_owners"]]


def test_without_a_store_the_answer_is_the_manifests_alone(store):
    with_store, without = api.diff(PROD, PR, db=store).payload, api.diff(PROD, PR).payload
    removed = _change(api.diff(PROD, PR), "country", "removed")
    assert "store_owners" not in removed and all("via" not in d for d in removed["downstream"])
    # the store only adds: every change and every manifest reader is the same
    for a, b in zip(with_store["columns"], without["columns"], strict=True):
        assert [d for d in a["downstream"] if d.get("via") != "store"] == b["downstream"]
        assert (a["column"], a["change"], a["class"]) == (b["column"], b["change"], b["class"])


def test_a_column_read_only_outside_dbt_is_breaking_with_the_store(tmp_path):
    """Unread in the project a removed column is partial; a runtime job reading it makes it breaking."""
    old, new = _manifest(reader=False), _manifest("select id, email from wh.raw.users", reader=False)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(old))
    events = tmp_path / "runtime.ndjson"
    stg = ("postgres://wh", "wh.analytics.stg_users")
    events.write_text("".join(json.dumps(e) + "\n" for e in _event(
        "airflow://reporting export_countries", [stg],
        [_output("s3://exports", "countries.csv", {"country": (*stg, "country")}, owner="@crm-team")])))
    db = str(tmp_path / "lineage.duckdb")
    api.ingest([str(tmp_path / "m" / "manifest.json"), str(events)], db)
    assert _change(_diff(tmp_path, old, new), "country", "removed")["class"] == "partial"
    result = _diff(tmp_path, old, new, db=db)
    removed = _change(result, "country", "removed")
    assert removed["class"] == "breaking" and removed["owners"] == ["@crm-team"]
    assert [(d["name"], d["column"]) for d in removed["downstream"]] == [("countries.csv", "country")]
    assert result.exit_status == ExitStatus.FINDINGS


def test_the_model_is_found_by_its_unique_id_when_ingested_under_another_namespace(tmp_path):
    """``ingest --namespace`` names the tables otherwise; the dbt unique_id still finds them."""
    events = tmp_path / "runtime.ndjson"
    events.write_text(RUNTIME.read_text().replace(f'"{WAREHOUSE}"', '"postgres://prod-host:5432"'))
    db = str(tmp_path / "lineage.duckdb")
    api.ingest([PROD], db, namespace="postgres://prod-host:5432")
    api.ingest([str(events)], db)
    removed = _change(api.diff(PROD, PR, db=db), "country", "removed")
    assert [d["name"] for d in removed["downstream"] if d.get("via") == "store"] == [
        "customers.csv", "churn", "refresh_country_board"]


def test_what_the_manifests_report_is_not_listed_again_from_the_store(tmp_path):
    """A store holding the project itself: its dbt models and an ml exposure's model are the manifests'."""
    old, new = _manifest(), _manifest("select id, email from wh.raw.users")
    for manifest in (old, new):
        manifest["exposures"]["exposure.shop.board"]["type"] = "ml"
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(old))
    db = str(tmp_path / "lineage.duckdb")
    api.ingest([str(tmp_path / "m" / "manifest.json")], db)
    removed = _change(_diff(tmp_path, old, new, db=db), "country", "removed")
    assert removed["exposures"] == [{"unique_id": "exposure.shop.board", "name": "board"}]
    assert removed["downstream"] == [{"namespace": "postgres://wh", "name": "wh.analytics.customers",
                                      "column": "country"}] and removed["store_owners"] == []


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "lineagectl", "diff", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})


def test_the_command_shows_store_consumers_and_a_missing_or_locked_store_exits_2_or_3(store, tmp_path):
    done = _cli(PROD, PR, "--db", store, "-f", "markdown")
    assert done.returncode == 1, done.stderr
    assert "customers.csv.country" in done.stdout and "@ml-team" in done.stdout
    missing = _cli(PROD, PR, "--db", str(tmp_path / "nowhere.duckdb"))
    assert missing.returncode == 2 and "nowhere.duckdb" in missing.stderr and "Traceback" not in missing.stderr
    assert not (tmp_path / "nowhere.duckdb").exists()  # read-only: never created
    with pytest.raises(DatabaseMissingError):
        api.diff(PROD, PR, db=str(tmp_path / "nowhere.duckdb"))
    holder = subprocess.Popen([sys.executable, "-c", (
        "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ok', flush=True); time.sleep(30)"),
        store], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        locked = _cli(PROD, PR, "--db", store)
        assert locked.returncode == 3 and "locked" in locked.stderr
    finally:
        holder.kill()
        holder.wait()


# --- one PII rule (graph.pii) -------------------------------------------------------------------

TAGS = [("a", "pii", "true"), ("b", "PII", "Yes"), ("c", "pii", None), ("d", "pii", "false"), ("e", "pii", "no"),
        ("f", "classification", "PII"), ("g", "Classification", "pii"), ("h", "classification", "internal"),
        ("i", "sensitivity", "pii"), ("j", "pii", "1"), ("k", "classification", None)]


def _dataset_event(namespace: str, name: str, tags: list[tuple[str, str, str | None]]) -> dict:
    return {"eventTime": "2026-03-01T09:00:00Z", "producer": "https://example.com/catalog",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
            "dataset": {"namespace": namespace, "name": name, "facets": {"tags": {"_producer": "t", "tags": [
                {"key": key, **({"value": value} if value is not None else {}), "source": "catalog", "field": column}
                for column, key, value in tags]}}}}


def test_the_diffs_pii_test_of_a_tag_is_the_stores(tmp_path):
    """``is_pii_tag`` (tags read from a manifest's events) says what the store's queries say."""
    from lineagectl.common.policy import Policy
    from lineagectl.graph.pii import is_pii_tag, pii_columns

    events = tmp_path / "tags.ndjson"
    events.write_text(json.dumps(_dataset_event("pg://x", "db.s.t", TAGS)) + "\n")
    db = str(tmp_path / "lineage.duckdb")
    api.ingest([str(events)], db)
    with api.open_store(db) as opened:
        assert opened.con is not None
        stored = {column for _, column in pii_columns(opened.con, Policy())}
    assert stored == {column for column, key, value in TAGS if is_pii_tag(key, value)} == {"a", "b", "c", "f", "g",
                                                                                          "j"}


def test_masking_removed_from_a_column_the_store_classifies_pii_is_breaking(tmp_path):
    """No manifest marks ``email``; a catalog's runtime event says ``classification: PII`` on the raw
    table. With the store, the diff's PII path is the store's (the one rule): masking removed breaks."""
    masked, plain = _manifest("select id, md5(email) as email, country from wh.raw.users"), _manifest()
    assert _change(_diff(tmp_path, masked, plain), "email", "expression")["class"] == "partial"
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(masked))
    events = tmp_path / "catalog.ndjson"
    events.write_text(json.dumps(_dataset_event("postgres://wh", "wh.raw.users",
                                                 [("email", "classification", "PII")])) + "\n")
    db = str(tmp_path / "lineage.duckdb")
    api.ingest([str(tmp_path / "m" / "manifest.json"), str(events)], db)
    change = _change(_diff(tmp_path, masked, plain, db=db), "email", "expression")
    assert change["class"] == "breaking" and change["detail"] == "masking removed"
    # a tag that marks nothing (classification: internal) leaves it partial
    other = tmp_path / "other.duckdb"
    events.write_text(json.dumps(_dataset_event("postgres://wh", "wh.raw.users",
                                                 [("email", "classification", "internal")])) + "\n")
    api.ingest([str(tmp_path / "m" / "manifest.json"), str(events)], str(other))
    assert _change(_diff(tmp_path, masked, plain, db=str(other)), "email", "expression")["class"] == "partial"
