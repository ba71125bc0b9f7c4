"""``lineagectl serve``'s read endpoints over real HTTP (http.client on loopback) against a real store
of the bundled sample: Marquez's shapes, percent-encoded names, 400/404, and ``/lineagectl/v1``
answering byte for byte what the command prints with ``-f json``."""

from __future__ import annotations

import threading
import time
from urllib.parse import quote, urlencode

import orjson
import pytest

from conftest import SAMPLE, require_corpus, run_event
from lineagectl import api
from serving import Running, health, post, wait_for

POLICY = str(SAMPLE / "lineagectl.yaml")
PG_EU = "postgres://db.eu.acme.internal:5432"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    db = str(tmp_path_factory.mktemp("reads") / "lineage.duckdb")
    api.ingest([str(SAMPLE / "ecommerce.ndjson")], db)
    return db


@pytest.fixture(scope="module")
def server(store):
    running = Running(store, policy=POLICY)
    yield running
    running.stop()


def get(server: Running, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    conn = server.connection(timeout=60)
    conn.request("GET", path, headers=headers or {})
    answer = conn.getresponse()
    return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()


def get_json(server: Running, path: str, status: int = 200):
    got, headers, body = get(server, path)
    assert got == status, body
    assert headers["content-type"] == "application/json"
    return orjson.loads(body)


# --- lineagectl's own answers: exactly the command's -f json ---------------------------------------

@pytest.mark.parametrize(("endpoint", "params", "argv"), [
    ("impact", {"name": "user_master"}, ["impact", "user_master"]),
    ("impact", {"name": "user_master", "column": "email", "direct-only": "true", "depth": "3"},
     ["impact", "user_master", "--column", "email", "--direct-only", "--depth", "3"]),
    ("impact", {"name": "orders_enriched", "include-jobs": "1", "select": "type:model"},
     ["impact", "orders_enriched", "--include-jobs", "-s", "type:model"]),
    ("trace", {"name": "churn_model", "kind": "model"}, ["trace", "churn_model", "--kind", "model"]),
    ("trace", {"name": "audience.csv", "column": "email"}, ["trace", "audience.csv", "--column", "email"]),
    ("trace", {"name": "churn_model", "version": "2"}, ["trace", "churn_model", "--version", "2"]),
    # A UUID run id typed in upper case is the run the ingest stored in lower case.
    ("trace", {"run": "1B018625-B78F-5769-8282-DF53C3FFBCBB"}, ["trace", "--run", "1B018625-B78F-5769-8282-DF53C3FFBCBB"]),
    ("erase", {"column": "user_id", "value": "42"}, ["erase", "--column", "user_id", "--value", "42"]),
    ("erase", {"tag": "pii"}, ["erase", "--tag", "pii"]),
    ("residency-check", {}, ["residency-check"]),
])
def test_lineagectl_answers_are_the_commands_json_byte_for_byte(server, store, cli, endpoint, params, argv):
    status, headers, body = get(server, f"/lineagectl/v1/{endpoint}?{urlencode(params)}")
    printed = cli("--db", store, "--policy", POLICY, *argv, "-f", "json")
    assert printed.exit_code in (0, 1), printed.output  # residency-check exits 1: the sample has a violation
    assert status == 200 and headers["content-type"] == "application/json"
    assert body.decode() == printed.stdout
    assert orjson.loads(body)  # and it is one JSON document


@pytest.mark.parametrize(("path", "status", "reason"), [
    ("/lineagectl/v1/impact?name=user_master&depth=0", 400, "--depth must be 1 or more"),
    ("/lineagectl/v1/impact?name=user_master&depth=two", 400, "--depth: 'two' is not a valid integer"),
    ("/lineagectl/v1/impact?name=user_master&kind=table", 400, "--kind: 'table' is not one of"),
    ("/lineagectl/v1/impact?name=user_master&direct-only=true", 400, "--direct-only applies to column lineage"),
    ("/lineagectl/v1/impact?name=user_master&colum=email", 400, "unknown parameter 'colum'"),
    ("/lineagectl/v1/impact?name=a&name=b", 400, "name is given 2 times"),
    ("/lineagectl/v1/impact", 400, "missing name="),
    ("/lineagectl/v1/trace", 400, "trace needs a NAME"),
    ("/lineagectl/v1/impact?name=no_such_table", 404, "no_such_table"),
    ("/lineagectl/v1/impact?name=user_master&column=nope", 404, "has no column 'nope'"),
    ("/lineagectl/v1/impact?name=user_master&as-of=yesterday-ish", 400, "--as-of"),
    ("/lineagectl/v1/frobnicate", 404, "no such endpoint"),
])
def test_bad_parameters_are_400_and_unknown_names_404_with_the_commands_reason(server, path, status, reason):
    answer = get_json(server, path, status)
    assert reason in answer["error"], answer


def test_the_cli_gives_the_same_reasons(store, cli):
    printed = cli("--db", store, "impact", "user_master", "--depth", "0", "-f", "json")
    assert printed.exit_code == 2 and "--depth must be 1 or more" in printed.stderr
    printed = cli("--db", store, "impact", "user_master", "--column", "nope", "-f", "json")
    assert printed.exit_code == 2 and "has no column 'nope'" in printed.stderr


def test_reads_are_behind_the_token(store):
    running = Running(store, token="read-token")
    try:
        assert get(running, "/lineagectl/v1/impact?name=user_master")[0] == 401
        assert get(running, "/api/v1/namespaces")[0] == 401
        status, _, _ = get(running, "/lineagectl/v1/impact?name=user_master",
                           {"Authorization": "Bearer read-token"})
        assert status == 200
    finally:
        running.stop()


def test_reads_answer_while_the_ingester_writes(db):
    """Reads and the ingester take turns in one process (DuckDB refuses a read-only connection beside
    a read-write one there): every read during steady ingests is answered 200, every event stored."""
    api.ingest([str(SAMPLE / "ecommerce.ndjson")], db)
    running = Running(db, ingest_every="1s")
    statuses: list[int] = []
    done = threading.Event()

    def producer() -> None:
        conn = running.connection()
        for i in range(200):  # over ~4 s: several ingests while the reads go on
            event = run_event(f"r{i}", inputs=[("pg", "raw.x")], outputs=[("pg", f"mart.x{i % 7}")])
            assert post(conn, orjson.dumps(event))[0] == 201
            time.sleep(0.02)
        done.set()

    thread = threading.Thread(target=producer)
    thread.start()
    while not done.is_set() or len(statuses) < 20:
        statuses.append(get(running, "/lineagectl/v1/impact?name=user_master")[0])
    thread.join()
    assert wait_for(lambda: health(running)["events_stored"] == 200)
    assert health(running)["last_ingest"] is not None
    running.stop()
    assert set(statuses) == {200}, statuses
    assert not any("postponed" in line for line in running.lines), running.lines


# --- Marquez's shapes ------------------------------------------------------------------------------

def enc(text: str) -> str:
    """A path segment as Marquez's clients send it: every reserved character percent-encoded."""
    return quote(text, safe="")


def test_namespaces_are_listed_by_name_and_paged(server, store):
    every = get_json(server, "/api/v1/namespaces")
    names = [n["name"] for n in every["namespaces"]]
    expected = sorted({d["namespace"] for d in api.ls("datasets", store).payload}
                      | {j["namespace"] for j in api.ls("jobs", store).payload})
    assert names == expected and every["totalCount"] == len(expected)
    page = get_json(server, "/api/v1/namespaces?limit=2&offset=1")
    assert [n["name"] for n in page["namespaces"]] == expected[1:3] and page["totalCount"] == len(expected)
    one = get_json(server, f"/api/v1/namespaces/{enc(PG_EU)}")
    assert one["name"] == PG_EU and one["createdAt"] <= one["updatedAt"]


def test_a_dataset_is_marquezs_object_under_percent_encoded_names(server, store):
    dataset = get_json(server, f"/api/v1/namespaces/{enc(PG_EU)}/datasets/{enc('shop.public.user_master')}")
    assert dataset["id"] == {"namespace": PG_EU, "name": "shop.public.user_master"}
    assert dataset["name"] == dataset["physicalName"] == "shop.public.user_master"
    assert dataset["type"] == "DB_TABLE" and dataset["namespace"] == PG_EU and dataset["deleted"] is False
    shown = api.show("shop.public.user_master", store, namespace=PG_EU).payload
    assert [f["name"] for f in dataset["fields"]] == [c["column"] for c in shown["columns"]]
    assert [f["type"] for f in dataset["fields"]] == [c["type"] for c in shown["columns"]]
    fields = {f["name"]: f for f in dataset["fields"]}
    assert fields["email"]["tags"] == ["pii"] and fields["full_name"]["tags"] == []
    assert fields["email"]["description"] == "Customer e-mail address (PII)"
    assert dataset["tags"] == ["classification:PII"]
    assert {"schema", "ownership"} <= set(dataset["facets"])
    assert dataset["facets"]["ownership"]["owners"] == [{"name": "team:crm", "type": "MAINTAINER"}]
    assert dataset["createdAt"] == shown["first_seen"] and dataset["updatedAt"] == shown["last_seen"]


def test_a_name_holding_a_slash_is_found_encoded_or_not(server):
    encoded = get_json(server, f"/api/v1/namespaces/{enc('s3://acme-eu-raw')}/datasets/{enc('events/clickstream')}")
    plain = get_json(server, f"/api/v1/namespaces/{enc('s3://acme-eu-raw')}/datasets/events/clickstream")
    assert encoded == plain and encoded["name"] == "events/clickstream"


def test_datasets_and_jobs_of_a_namespace_are_paged_with_their_total(server, store):
    names = sorted(d["name"] for d in api.ls("datasets", store, namespace="bigquery").payload)
    listed = get_json(server, "/api/v1/namespaces/bigquery/datasets")
    assert [d["name"] for d in listed["datasets"]] == names and listed["totalCount"] == len(names)
    page = get_json(server, "/api/v1/namespaces/bigquery/datasets?limit=1&offset=1")
    assert [d["name"] for d in page["datasets"]] == names[1:2] and page["totalCount"] == len(names)
    jobs = sorted(j["name"] for j in api.ls("jobs", store, namespace="airflow://acme").payload)
    listed = get_json(server, f"/api/v1/namespaces/{enc('airflow://acme')}/jobs?limit=3")
    assert [j["name"] for j in listed["jobs"]] == jobs[:3] and listed["totalCount"] == len(jobs)


def test_a_job_carries_its_inputs_outputs_and_latest_runs(server, store):
    job = get_json(server, f"/api/v1/namespaces/{enc('airflow://acme')}/jobs/etl_orders.enrich_orders")
    shown = api.show("etl_orders.enrich_orders", store, kind="job").payload
    assert job["id"] == {"namespace": "airflow://acme", "name": "etl_orders.enrich_orders"}
    assert job["simpleName"] == "enrich_orders" and job["type"] == "BATCH"
    assert job["inputs"] == [{"namespace": d["namespace"], "name": d["name"]} for d in shown["inputs"]]
    assert job["outputs"] == [{"namespace": d["namespace"], "name": d["name"]} for d in shown["outputs"]]
    assert [r["id"] for r in job["latestRuns"]] == [r["run_id"] for r in shown["runs"]]  # newest first
    assert job["latestRun"] == job["latestRuns"][0]
    states = {"COMPLETE": "COMPLETED", "FAIL": "FAILED"}
    assert [r["state"] for r in job["latestRuns"]] == [states[r["state"]] for r in shown["runs"]]
    for run, stored in zip(job["latestRuns"], shown["runs"], strict=True):
        assert run["durationMs"] == round(stored["seconds"] * 1000)
        assert run["startedAt"] == stored["started_at"] and run["endedAt"] == stored["ended_at"]
    latest = job["latestRun"]
    assert {v["datasetVersionId"]["name"] for v in latest["outputDatasetVersions"]} == {
        d["name"] for d in shown["outputs"]}
    assert "jobType" in job["facets"]


def test_a_failed_run_is_failed_with_its_error_facet(server, store):
    failed = [r for r in api.ls("runs", store).payload if r["state"] == "FAIL"]
    assert len(failed) == 1
    run = failed[0]
    job = get_json(server, f"/api/v1/namespaces/{enc(run['job_namespace'])}/jobs/{enc(run['job'])}")
    (found,) = [r for r in job["latestRuns"] if r["id"] == run["run_id"]]
    assert found["state"] == "FAILED" and "errorMessage" in found["facets"]


@pytest.mark.parametrize("path", [
    "/api/v1/namespaces/nowhere",
    "/api/v1/namespaces/nowhere/datasets",
    "/api/v1/namespaces/bigquery/datasets/no_such_table",
    f"/api/v1/namespaces/{quote('airflow://acme', safe='')}/jobs/no_such_job",
    "/api/v1/namespaces/bigquery/datasets/acme-eu.staging.orders_enriched/versions",
    "/api/v1/lineage?nodeId=dataset:bigquery:nothing",
    "/api/v1/column-lineage?nodeId=datasetField:bigquery:acme-eu.staging.orders_enriched:no_such_field",
    "/api/v1/nothing",
])
def test_unknown_things_are_404_with_a_reason(server, path):
    assert get_json(server, path, 404)["error"]


@pytest.mark.parametrize(("path", "reason"), [
    ("/api/v1/namespaces?limit=-1", "limit and offset must be from 0 to"),
    ("/api/v1/namespaces?limit=100000000000000000000000", "limit and offset must be from 0 to"),
    ("/api/v1/namespaces?limit=ten", "'ten' is not a valid integer"),
    ("/api/v1/namespaces/bigquery/datasets?page=2", "unknown parameter 'page'"),
    ("/api/v1/search", "missing q="),
    ("/api/v1/search?q=x&filter=table", "'table' is not one of"),
    ("/api/v1/search?q=x&before=yesterday", "before must be a date as YYYY-MM-DD"),
    ("/api/v1/column-lineage?nodeId=job:airflow:etl", "nodeId must be datasetField:"),
    ("/api/v1/column-lineage?nodeId=dataset:bigquery:acme-eu.staging.orders_enriched&depth=0", "depth must be 1"),
    ("/api/v1/lineage?nodeId=table:x:y", "nodeId must be dataset:"),
])
def test_bad_marquez_parameters_are_400_with_a_reason(server, path, reason):
    assert reason in get_json(server, path, 400)["error"]


def test_search_finds_datasets_and_jobs_by_part_of_their_name(server, store):
    names = [("DATASET", d["namespace"], d["name"]) for d in api.ls("datasets", store).payload] + \
            [("JOB", j["namespace"], j["name"]) for j in api.ls("jobs", store).payload]
    matching = sorted((n, ns, t) for t, ns, n in names if "order" in n.lower())
    found = get_json(server, "/api/v1/search?q=ORDER&limit=100")
    assert found["totalCount"] == len(matching) > 3
    assert [(r["name"], r["namespace"], r["type"]) for r in found["results"]] == matching
    for result in found["results"]:
        assert result["nodeId"] == f"{result['type'].lower()}:{result['namespace']}:{result['name']}"
        assert result["updatedAt"].endswith("Z")
    first = get_json(server, "/api/v1/search?q=order&limit=2")
    assert first["totalCount"] == len(matching) and first["results"] == found["results"][:2]
    jobs = get_json(server, "/api/v1/search?q=order&filter=JOB&limit=100")
    assert {r["type"] for r in jobs["results"]} == {"JOB"}
    assert len(jobs["results"]) == sum(1 for *_, t in matching if t == "JOB")
    wildcard = get_json(server, "/api/v1/search?q=orders_enriche_&limit=100")  # '_' is any one character
    assert {r["name"] for r in wildcard["results"]} == {"acme-eu.staging.orders_enriched"}
    assert get_json(server, "/api/v1/search?q=eu%25amounts&filter=dataset")["results"][0]["name"] == \
        "acme-eu.analytics_prod.eu_order_amounts"  # '%' any run of characters, as Marquez reads q
    newest = get_json(server, "/api/v1/search?q=order&sort=UPDATED_AT&limit=100")["results"]
    assert [r["updatedAt"] for r in newest] == sorted((r["updatedAt"] for r in newest), reverse=True)


REVENUE = "datasetField:bigquery:acme-eu.analytics_prod.daily_revenue_by_country:revenue"


def test_column_lineage_is_marquezs_field_graph(server):
    graph = {n["id"]: n for n in get_json(server, f"/api/v1/column-lineage?nodeId={enc(REVENUE)}&depth=1")["graph"]}
    revenue = graph[REVENUE]
    assert revenue["type"] == "DATASET_FIELD"
    assert revenue["data"]["field"] == "revenue" and revenue["data"]["fieldType"] == "NUMERIC"
    assert revenue["data"]["dataset"] == "acme-eu.analytics_prod.daily_revenue_by_country"
    inputs = {(f["field"], f["transformationType"]): f for f in revenue["data"]["inputFields"]}
    assert inputs[("amount", "DIRECT/AGGREGATION")]["transformationDescription"] == "SUM(amount)"
    assert ("ordered_at", "INDIRECT/FILTER") in inputs and ("ordered_at", "INDIRECT/GROUP_BY") in inputs
    # As Marquez answers: an edge's origin is the node it is listed under.
    amount = "datasetField:bigquery:acme-eu.staging.orders_enriched:amount"
    assert {"origin": REVENUE, "destination": amount} in revenue["inEdges"]
    assert {"origin": amount, "destination": REVENUE} in graph[amount]["outEdges"]
    assert len(revenue["inEdges"]) == len({e["destination"] for e in revenue["inEdges"]}) == 3
    assert graph[amount]["data"]["inputFields"] == []  # depth 1: the inputs' own inputs are not walked


def test_column_lineage_reaches_what_trace_and_impact_reach(server, store):
    upstream = get_json(server, f"/api/v1/column-lineage?nodeId={enc(REVENUE)}")["graph"]
    traced = api.trace("acme-eu.analytics_prod.daily_revenue_by_country", store, column="revenue").payload
    expected = {REVENUE} | {f"datasetField:{c['namespace']}:{c['name']}:{c['column']}" for c in traced["columns"]}
    assert {n["id"] for n in upstream} == expected
    email = f"datasetField:{PG_EU}:shop.public.user_master:email"
    alone = get_json(server, f"/api/v1/column-lineage?nodeId={enc(email)}")["graph"]
    both = get_json(server, f"/api/v1/column-lineage?nodeId={enc(email)}&withDownstream=true")["graph"]
    impacted = api.impact("shop.public.user_master", store, column="email", namespace=PG_EU).payload
    downstream = {f"datasetField:{c['namespace']}:{c['name']}:{c['column']}" for c in impacted["columns"]}
    assert downstream and not downstream & {n["id"] for n in alone}
    assert downstream <= {n["id"] for n in both}


def test_column_lineage_of_a_dataset_covers_each_of_its_fields(server, store):
    node = "dataset:bigquery:acme-eu.analytics_prod.daily_revenue_by_country"
    graph = get_json(server, f"/api/v1/column-lineage?nodeId={enc(node)}&depth=1")["graph"]
    mine = {n["data"]["field"] for n in graph if n["data"]["dataset"].endswith("daily_revenue_by_country")}
    shown = api.show("acme-eu.analytics_prod.daily_revenue_by_country", store).payload
    assert mine == {c["column"] for c in shown["columns"]}


def test_hostile_names_are_data_in_paths_queries_and_answers(db):
    name = "o'rders\"; DROP TABLE datasets;--/<script>é%2F"
    namespace = "weird://h:1/a b?c#d"
    event = run_event("r1", inputs=[(namespace, name)], outputs=[("pg", "mart.x")])
    api.ingest([write_event(db, event)], db)
    running = Running(db)
    try:
        found = get_json(running, f"/api/v1/namespaces/{enc(namespace)}/datasets/{enc(name)}")
        assert found["id"] == {"namespace": namespace, "name": name}
        search = get_json(running, f"/api/v1/search?{urlencode({'q': name[:12]})}")
        assert [r["name"] for r in search["results"]] == [name]
        answer = get_json(running, f"/lineagectl/v1/impact?{urlencode({'name': name, 'namespace': namespace})}")
        assert [d["name"] for d in answer["datasets"]] == ["mart.x"]
        assert api.stats(db).payload["datasets"] == 2  # nothing was executed
    finally:
        running.stop()


def write_event(db: str, event: dict) -> str:
    path = f"{db}.events.ndjson"
    with open(path, "wb") as out:
        out.write(orjson.dumps(event) + b"\n")
    return path


def test_before_the_first_ingest_lists_are_empty_and_questions_404(tmp_path):
    running = Running(str(tmp_path / "not-yet.duckdb"))
    try:
        assert get_json(running, "/api/v1/namespaces") == {"namespaces": [], "totalCount": 0}
        assert get_json(running, "/api/v1/search?q=orders") == {"totalCount": 0, "results": []}
        assert "does not exist" in get_json(running, "/lineagectl/v1/impact?name=orders", 404)["error"]
        assert "limit and offset must be" in get_json(running, "/api/v1/search?q=x&limit=-1", 400)["error"]
    finally:
        running.stop()


def test_a_store_that_cannot_be_read_is_a_500_in_json_not_a_traceback(tmp_path):
    import duckdb

    path = tmp_path / "other.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE unrelated (x INTEGER)")
    running = Running(str(path))
    try:
        for endpoint in ("/api/v1/namespaces", "/lineagectl/v1/impact?name=x", "/api/v1/lineage?nodeId=dataset:a:b"):
            status, headers, body = get(running, endpoint)
            assert status == 500 and headers["content-type"] == "application/json", body
            assert "not a lineagectl store" in orjson.loads(body)["error"]
            assert b"Traceback" not in body
    finally:
        running.stop()


def test_real_spark_events_answer_through_their_aliases_and_slashes(db, cli):
    """DataHub's Spark and Glue events (the corpus): names starting with '/', a name with a space,
    a Glue symlink whose namespace holds colons, and column lineage with two transformations."""
    events = require_corpus() / "openlineage" / "datahub-ol-events"
    api.ingest([str(events)], db)
    running = Running(db)
    try:
        glue = get_json(running, f"/api/v1/namespaces/{enc('aws:glue:us-west-2:123456789012')}"
                                 f"/datasets/{enc('my_glue_database.my_glue_table')}")
        assert glue["id"] == {"namespace": "s3://my-bucket-test", "name": "/sample_data/input_data.parquet"}
        result = get_json(running, f"/api/v1/namespaces/file/datasets/{enc('/spark-test/result_test')}")
        assert [f["name"] for f in result["fields"]] == ["age", "name"]  # the schema facet's order
        assert result["sourceName"] == result["facets"]["dataSource"]["name"]
        age = "datasetField:file:/spark-test/result_test:age"
        answer = get_json(running, f"/api/v1/column-lineage?{urlencode({'nodeId': age})}")
        graph = {n["id"]: n for n in answer["graph"]}
        kinds = {f["transformationType"] for f in graph[age]["data"]["inputFields"]}
        assert kinds == {"DIRECT/IDENTITY", "INDIRECT/FILTER"}
        source = "datasetField:file:/spark-test/people.parquet:age"
        assert graph[age]["inEdges"] == [{"origin": age, "destination": source}]  # one edge, two transformations
        spaced = "datasetField:s3://my-bucket-test:mydata _output:field1"
        graph = get_json(running, f"/api/v1/column-lineage?nodeId={enc(spaced)}")["graph"]
        assert {n["id"] for n in graph} == {spaced, "datasetField:s3://my-bucket-test:/output/field1.parquet:field1"}
        question = urlencode({"name": "/spark-test/result_test", "column": "age"})
        status, _, body = get(running, f"/lineagectl/v1/trace?{question}")
        printed = cli("--db", db, "trace", "/spark-test/result_test", "--column", "age", "-f", "json")
        assert status == 200 and printed.exit_code == 0 and body.decode() == printed.stdout
    finally:
        running.stop()
