"""Compliance answers: erase / access plans, PII propagation, residency and flow rules.

The sample expectations below were written by hand from sample_events/README.md
(the scenario's story) before the code, as a compliance engineer would.
"""

from __future__ import annotations

import csv
import io
import json

import duckdb
import pytest
import sqlglot

from conftest import SAMPLE, run_event, write_ndjson
from lineagectl.api import ingest
from lineagectl.common.policy import parse_policy
from lineagectl.compliance.erase import access, erase
from lineagectl.compliance.pii import pii
from lineagectl.compliance.residency import check
from lineagectl.errors import InputError, NotFoundError

POLICY = SAMPLE / "lineagectl.yaml"
EU, US = "postgres://db.eu.acme.internal:5432", "postgres://db.us.acme.internal:5432"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> str:
    db = str(tmp_path_factory.mktemp("sample") / "s.duckdb")
    ingest([str(SAMPLE / "ecommerce.ndjson")], db)
    return db


def actions(result) -> dict[tuple[str, str], str]:
    return {(s["namespace"], s["name"]): s["action"] for s in result.payload["steps"]}


def position(result) -> dict[str, int]:
    return {s["name"] if s["namespace"] != US else "US orders": s["order"] for s in result.payload["steps"]}


def test_erase_user_id_on_the_sample(sample):
    plan = erase("user_id", db=sample, value="42")
    assert actions(plan) == {
        (EU, "shop.public.user_master"): "delete",
        (EU, "shop.public.orders"): "delete",
        (US, "shop.public.orders"): "delete",
        ("s3://acme-eu-raw", "events/clickstream"): "delete",
        ("kafka://kafka.eu.acme.internal:9092", "clickstream.events"): "delete",  # where it is ingested from
        ("bigquery", "acme-eu.staging.orders_enriched"): "delete",
        ("bigquery", "acme-eu.analytics_prod.user_features"): "delete",
        ("snowflake://acme-us", "ANALYTICS.MARKETING.EU_USER_EXPORT"): "delete",
        # SUM(amount)/COUNT(order_id) over the subject's orders: re-run after the deletes.
        ("bigquery", "acme-eu.analytics_prod.daily_revenue_by_country"): "recompute",
        # Join on user_id and filter on country only; no user column is carried.
        ("bigquery", "acme-eu.analytics_prod.eu_order_amounts"): "review",
        ("mlflow://acme-eu", "models/churn_model"): "retrain",
    }
    order = position(plan)
    for upstream, downstream in [("shop.public.user_master", "acme-eu.staging.orders_enriched"),
                                 ("acme-eu.staging.orders_enriched", "acme-eu.analytics_prod.user_features"),
                                 ("acme-eu.analytics_prod.user_features", "models/churn_model"),
                                 ("acme-eu.staging.orders_enriched", "acme-eu.analytics_prod.daily_revenue_by_country"),
                                 ("shop.public.user_master", "ANALYTICS.MARKETING.EU_USER_EXPORT")]:
        assert order[upstream] < order[downstream], (upstream, downstream)
    steps = {s["name"]: s for s in plan.payload["steps"] if s["namespace"] != US}
    master = steps["shop.public.user_master"]
    assert master["sql"] == 'DELETE FROM "shop"."public"."user_master" WHERE "user_id" = %s'
    assert master["params"] == ["42"] and master["owners"] == ["team:crm"] and not master["masked"]
    assert steps["events/clickstream"]["sql"] is None  # files, not a SQL table
    assert steps["acme-eu.staging.orders_enriched"]["sql"].startswith("DELETE FROM `acme-eu`.`staging`")
    assert "DIRECT/AGGREGATION" in steps["acme-eu.analytics_prod.daily_revenue_by_country"]["reason"]
    # user_features is grouped by user_id: one row per user, so deleting it is all (no re-run).
    assert "recompute_columns" not in steps["acme-eu.analytics_prod.user_features"]
    assert "INDIRECT/JOIN" in steps["acme-eu.analytics_prod.eu_order_amounts"]["reason"]
    assert all(s["sql"] is None for s in plan.payload["steps"] if s["action"] != "delete")
    assert {s["name"] for s in plan.payload["seeds"]} >= {"shop.public.user_master", "events/clickstream"}
    assert plan.payload["subject"] == {"column": "user_id", "value": "42"}


def test_erase_by_tag_deletes_masked_carries_by_the_hashed_key(sample):
    plan = erase(tag="pii", db=sample)
    got = actions(plan)
    assert got[("bigquery", "acme-eu.staging.orders_enriched")] == "delete"
    assert got[("s3://acme-us-exports", "marketing/audience.csv")] == "delete"  # email copied on
    # user_id only joins into orders_enriched, so user_features gets the subject through GROUP BY.
    assert got[("bigquery", "acme-eu.analytics_prod.user_features")] == "recompute"
    assert got[("mlflow://acme-eu", "models/churn_model")] == "retrain"
    enriched = next(s for s in plan.payload["steps"] if s["name"] == "acme-eu.staging.orders_enriched")
    assert enriched["masked"] and enriched["columns"] == ["email_hash"]
    # The hashed key is a named placeholder the operator binds to SHA256 of the subject's email; the
    # parameters leave it out, so running the statement unbound fails instead of matching nothing.
    assert enriched["sql"].endswith("WHERE `email_hash` = @email_hash") and enriched["params"] == {}
    assert enriched["compute"] == [{
        "param": "email_hash", "column": "email_hash",
        "from": {"namespace": EU, "name": "shop.public.user_master", "column": "email"},
        "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION", "masking": True,
                             "description": "SHA256(email)"}]}]
    assert (US, "shop.public.orders") not in got


def test_erase_of_one_dataset_also_deletes_where_its_identifier_was_copied_from(sample):
    plan = erase("user_id", "user_features", db=sample)
    got = actions(plan)
    # A re-run of build_user_features would re-create the deleted rows from these.
    assert got[("bigquery", "acme-eu.staging.orders_enriched")] == "delete"
    assert got[("s3://acme-eu-raw", "events/clickstream")] == "delete"
    assert got[(EU, "shop.public.orders")] == "delete"
    assert (EU, "shop.public.user_master") not in got  # only joined, never copied


def test_access_lists_selects_and_reviews_only(sample):
    plan = access("user_id", db=sample, value="42", dialect="duckdb")
    got = actions(plan)
    assert set(got.values()) == {"select", "review"}
    assert got[("bigquery", "acme-eu.analytics_prod.eu_order_amounts")] == "review"
    assert ("bigquery", "acme-eu.analytics_prod.daily_revenue_by_country") not in got
    master = next(s for s in plan.payload["steps"] if s["name"] == "shop.public.user_master")
    assert master["sql"] == 'SELECT * FROM "shop"."public"."user_master" WHERE "user_id" = ?'


def test_erase_errors(sample):
    with pytest.raises(InputError, match="--column"):
        erase(db=sample)
    with pytest.raises(NotFoundError) as err:
        erase("user_idd", db=sample)
    assert "user_id" in err.value.hint
    with pytest.raises(InputError, match="dialect"):
        erase("user_id", db=sample, dialect="nosuchsql")
    with pytest.raises(NotFoundError, match="no column"):
        erase("nope", "user_master", db=sample)


HOSTILE_TABLE = 'main.we"ird;DROP TABLE x--'
HOSTILE_COLUMN = 'us"er id;--'


def test_sql_quotes_hostile_identifiers_and_binds_the_value(tmp_path):
    db = str(tmp_path / "h.duckdb")
    schema = {"schema": {"_producer": "t", "_schemaURL": "t",
                         "fields": [{"name": HOSTILE_COLUMN, "type": "VARCHAR"}, {"name": "n", "type": "INT"}]}}
    ingest([write_ndjson(tmp_path / "e.ndjson", [
        run_event("r1", outputs=[("duckdb://local", HOSTILE_TABLE, schema)])])], db)
    value = "1' OR '1'='1; DROP TABLE users; --"
    plan = erase(HOSTILE_COLUMN, db=db, value=value, dialect="duckdb")
    step = plan.payload["steps"][0]
    assert value not in step["sql"] and step["params"] == [value]
    # The statement parses back to exactly these identifiers...
    parsed = sqlglot.parse_one(step["sql"], dialect="duckdb")
    assert parsed.this.name == 'we"ird;DROP TABLE x--' and parsed.this.db == "main"
    assert [c.name for c in parsed.find_all(sqlglot.exp.Column)] == [HOSTILE_COLUMN]
    # ...and runs against a real table of that name, deleting only the subject's row.
    con = duckdb.connect()
    con.execute('CREATE TABLE "we""ird;DROP TABLE x--" ("us""er id;--" VARCHAR, n INT)')
    con.execute('INSERT INTO "we""ird;DROP TABLE x--" VALUES (?, 1), (?, 2)', [value, "other"])
    con.execute(step["sql"], step["params"])
    assert con.execute('SELECT n FROM "we""ird;DROP TABLE x--"').fetchall() == [(2,)]
    con.close()


def test_pii_lists_tagged_columns_and_direct_propagation(sample):
    result = pii(sample)
    tagged = {(c["name"], c["column"]) for c in result.payload["columns"]}
    assert tagged == {("shop.public.user_master", "user_id"), ("shop.public.user_master", "email")}
    reached = {(c["name"], c["column"]): c for c in result.payload["propagated"]}
    assert reached[("acme-eu.staging.orders_enriched", "email_hash")]["masked"] is True
    audience = reached[("marketing/audience.csv", "email")]
    assert audience["masked"] is False and audience["depth"] == 2
    assert audience["origin"]["column"] == "email"
    # INDIRECT influence (joins on user_id) is not propagation of the value.
    assert ("acme-eu.analytics_prod.eu_order_amounts", "amount") not in reached
    with_policy = pii(sample, str(POLICY))
    assert ("acme-eu.analytics_prod.user_features", "user_id") in {
        (c["name"], c["column"]) for c in with_policy.payload["columns"]}


def test_residency_and_flow_rules_on_the_sample(sample):
    result = check(sample, str(POLICY))
    payload = result.payload
    assert payload["ok"] is False and payload["rules"] == 2 and payload["datasets"] == 13
    residency = [v for v in payload["violations"] if v["rule"] == "eu-stays-in-eu"]
    assert len(residency) == 1  # the export, once; the S3 copy of it is affected, not a violation
    (v,) = residency
    assert (v["source"]["name"], v["source"]["region"]) == ("shop.public.user_master", "eu")
    assert (v["target"]["name"], v["target"]["region"]) == ("ANALYTICS.MARKETING.EU_USER_EXPORT", "us")
    assert [j["name"] for j in v["jobs"]] == ["marketing.export_eu_users"]
    assert [p["name"] for p in v["path"]] == ["shop.public.user_master", "ANALYTICS.MARKETING.EU_USER_EXPORT"]
    assert [a["name"] for a in v["affected"]] == ["marketing/audience.csv"]
    flows = [v for v in payload["violations"] if v["rule"] == "pii-masked-before-analytics"]
    # Raw user_id lands in analytics_prod.user_features from both of its inputs; email only
    # reaches orders_enriched masked, and daily_revenue/eu_order_amounts carry no PII.
    assert sorted((f["source"]["name"], f["source"]["column"], f["target"]["name"], f["target"]["column"])
                  for f in flows) == [
        ("acme-eu.staging.orders_enriched", "user_id", "acme-eu.analytics_prod.user_features", "user_id"),
        ("events/clickstream", "user_id", "acme-eu.analytics_prod.user_features", "user_id")]
    assert all(f["path"][-1]["column"] == "user_id" for f in flows)
    assert len(result.findings) == 3 and result.rules == ["eu-stays-in-eu", "pii-masked-before-analytics"]


def chain(tmp_path, hops, extra=()) -> str:
    """A store where each (job, input, output) hop moves data; datasets given as namespace/name."""
    events = [run_event(f"r{i}", job=job, inputs=[tuple(src.split("|"))], outputs=[tuple(dst.split("|"))])
              for i, (job, src, dst) in enumerate([*hops, *extra])]
    db = str(tmp_path / "c.duckdb")
    ingest([write_ndjson(tmp_path / "c.ndjson", events)], db)
    return db


REGIONS = """
regions:
  eu: ["s3://eu-*"]
  uk: ["s3://uk-*"]
  us: ["s3://us-*"]
residency:
  - name: eu-data
    from: eu
    allowed: {allowed}
"""


def test_an_unmapped_intermediate_is_one_violation_at_the_first_crossing(tmp_path):
    db = chain(tmp_path, [("copy", "s3://eu-raw|a", "file:///tmp|b"), ("ship", "file:///tmp|b", "s3://us-out|c")])
    result = check(db, parse_policy(REGIONS.format(allowed="[eu]")))
    (v,) = result.payload["violations"]
    assert (v["source"]["name"], v["target"]["name"], v["target"]["region"]) == ("a", "b", "unknown")
    assert [a["name"] for a in v["affected"]] == ["c"]
    # Listing unknown as allowed moves the crossing on, with the whole path from the origin.
    (v,) = check(db, parse_policy(REGIONS.format(allowed="[eu, unknown]"))).payload["violations"]
    assert (v["source"]["name"], v["target"]["name"]) == ("b", "c")
    assert [p["name"] for p in v["path"]] == ["a", "b", "c"]


def test_inherited_region_and_cycles(tmp_path):
    db = chain(tmp_path, [("to_uk", "s3://eu-raw|a", "s3://uk-x|u"), ("to_us", "s3://uk-x|u", "s3://us-y|x"),
                          ("back", "s3://uk-x|u", "s3://eu-raw|a"), ("uk_only", "s3://uk-x|v", "s3://us-y|y")])
    (v,) = check(db, parse_policy(REGIONS.format(allowed="[eu, uk]"))).payload["violations"]
    # u holds EU data (inherited) and sends it to the US; v is UK-only data, no violation.
    assert (v["source"]["name"], v["source"]["region"], v["target"]["name"]) == ("u", "uk", "x")
    assert [p["name"] for p in v["path"]] == ["a", "u", "x"]
    assert [j["name"] for j in v["jobs"]] == ["to_us"]


def test_clean_store_passes(tmp_path):
    db = chain(tmp_path, [("copy", "s3://eu-raw|a", "s3://eu-x|b")])
    result = check(db, parse_policy(REGIONS.format(allowed="[eu]")))
    assert result.payload == {"ok": True, "rules": 1, "datasets": 2, "violations": []}


def test_cli_exit_codes_and_ci_formats(cli, sample):
    result = cli("--db", sample, "--policy", POLICY, "residency-check", "-f", "json")
    assert result.exit_code == 1 and json.loads(result.stdout)["ok"] is False
    assert cli("--db", sample, "residency-check", "--policy", POLICY, "--no-fail").exit_code == 0
    assert cli("--db", sample, "check", "--policy", POLICY, "-f", "csv").exit_code == 1
    bad = cli("--db", sample, "residency-check", "--policy", SAMPLE / "ecommerce.ndjson")
    assert bad.exit_code == 2 and "ecommerce.ndjson" in bad.stderr and "Traceback" not in bad.stderr
    plan = cli("--db", sample, "erase", "--column", "user_id", "--value", "42", "-f", "json")
    assert plan.exit_code == 0 and len(json.loads(plan.stdout)["steps"]) == 11
    assert cli("--db", sample, "erase", "--column", "nope").exit_code == 2
    report = cli("--db", sample, "policy", "check", POLICY, "-f", "json")
    assert report.exit_code == 0, report.stderr
    counts = {r["region"]: r["datasets"] for r in json.loads(report.stdout)["regions"]}
    assert counts == {"eu": 9, "us": 4, "unknown": 0}


def test_hubspot_erase_email_covers_every_contact_email_model(corpus, tmp_path):
    folder = corpus / "dbt"
    db = str(tmp_path / "h.duckdb")
    ingest([str(folder / "fivetran_hubspot.v12.dbt1.11.manifest.json")], db,
           catalog=str(folder / "fivetran_hubspot.v12.dbt1.11.catalog.json"))
    steps = {s["name"].rsplit(".", 1)[-1]: s for s in erase("email", db=db).payload["steps"]}
    catalog = json.loads((folder / "fivetran_hubspot.v12.dbt1.11.catalog.json").read_text())
    with_email = {key.rsplit(".", 1)[-1] for key, node in catalog["nodes"].items()
                  if any(c.lower() == "email" for c in node["columns"])}
    # Every model with an email column, and where contact emails come from and go to.
    contact = {"contact_data", "stg_hubspot__contact_tmp", "stg_hubspot__contact",
               "int_hubspot__contact_merge_adjust", "hubspot__contacts"}
    for name in with_email | contact:
        assert steps[name]["action"] == "delete", name
    assert steps["stg_hubspot__contact_tmp"]["columns"] == ["property_email"]
    assert "contact_emails" in steps["hubspot__tickets"]["recompute_columns"]  # string_agg of emails


def test_ci_formats_end_to_end_point_at_the_rule_in_the_policy(cli, sample, tmp_path, monkeypatch):
    import re
    import xml.etree.ElementTree as ET

    from test_ci_formats import WORKFLOW_COMMAND, sarif_validator

    monkeypatch.chdir(SAMPLE)
    rule_line = next(i for i, line in enumerate(POLICY.read_text().splitlines(), 1) if "eu-stays-in-eu" in line)
    summary = tmp_path / "summary.md"
    github = cli("--db", sample, "residency-check", "--policy", "lineagectl.yaml", "-f", "github",
                 env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert github.exit_code == 1
    lines = github.stdout.splitlines()
    assert len(lines) == 3 and all(WORKFLOW_COMMAND.match(line) for line in lines)
    assert lines[0].startswith(f"::error file=lineagectl.yaml,line={rule_line},title=eu-stays-in-eu::")
    assert "EU_USER_EXPORT" in summary.read_text()
    junit = ET.fromstring(cli("--db", sample, "check", "--policy", "lineagectl.yaml", "-f", "junit").stdout)
    suite = junit.find("testsuite") if junit.tag == "testsuites" else junit
    assert (suite.get("tests"), suite.get("failures")) == ("3", "3")
    sarif = json.loads(cli("--db", sample, "check", "--policy", "lineagectl.yaml", "-f", "sarif").stdout)
    assert list(sarif_validator().iter_errors(sarif)) == []
    first = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert first == {"artifactLocation": {"uri": "lineagectl.yaml"}, "region": {"startLine": rule_line}}
    plan = cli("--db", sample, "erase", "--column", "user_id", "-f", "markdown").stdout
    assert re.search(r"^\| 1 \| delete \|", plan, re.M) and plan.count("\n| ") == 13  # header, rule, 11 steps


def test_dbt_meta_and_tags_mark_pii_and_seed_erasure(corpus, tmp_path):
    data = json.loads((corpus / "dbt" / "jaffle_shop.v12.dbt1.12.manifest.json").read_text())
    data["nodes"]["model.jaffle_shop.stg_customers"]["columns"]["customer_id"]["meta"] = {"pii": True}
    customers = data["nodes"]["model.jaffle_shop.customers"]["columns"]
    customers["customer_name"]["tags"] = ["pii"]
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(data))
    db = str(tmp_path / "j.duckdb")
    ingest([str(path)], db,
           catalog=str(corpus / "dbt" / "jaffle_shop.v12.dbt1.12.catalog.json"))
    found = {(c["name"].rsplit(".", 1)[-1], c["column"]): c["sources"] for c in pii(db).payload["columns"]}
    assert found == {("stg_customers", "customer_id"): ["dbt pii=true"],
                     ("customers", "customer_name"): ["dbt pii=true"]}
    steps = {s["name"].rsplit(".", 1)[-1]: s["action"] for s in erase(tag="pii", db=db).payload["steps"]}
    assert steps["stg_customers"] == "delete" and steps["customers"] == "delete"
    # The identifiers were copied from the raw seed table: left there, a re-run re-creates them.
    assert steps["raw_customers"] == "delete"
    # orders.customer_id comes from raw_orders, not from the tagged column: not reached.
    assert "orders" not in steps


def test_pii_ndjson_and_csv_carry_the_propagated_columns_too(cli, tmp_path):
    """Where personal data flows is half of the answer: a CSV of the tagged columns alone would hide
    every column their values reach."""
    from lineagectl import api

    db = str(tmp_path / "s.duckdb")
    api.ingest([str(SAMPLE / "ecommerce.ndjson")], db)
    answer = json.loads(cli("pii", "--db", db, "--policy", SAMPLE / "lineagectl.yaml", "-f", "json").stdout)
    assert answer["propagated"] and all(item["depth"] == 0 for item in answer["columns"])
    lines = cli("pii", "--db", db, "--policy", SAMPLE / "lineagectl.yaml", "-f", "ndjson").stdout.splitlines()
    assert [json.loads(line) for line in lines] == answer["columns"] + answer["propagated"]
    rows = list(csv.DictReader(io.StringIO(
        cli("pii", "--db", db, "--policy", SAMPLE / "lineagectl.yaml", "-f", "csv").stdout)))
    reached = [row for row in rows if row["depth"] != "0"]
    assert [(r["name"], r["column"], r["masked"], r["origin.column"]) for r in reached] == [
        (p["name"], p["column"], str(p["masked"]).lower(), p["origin"]["column"]) for p in answer["propagated"]]


def test_pii_without_a_policy_says_so_on_stderr(cli, tmp_path, monkeypatch):
    """A count of PII columns without a policy must not read as "no personal data": a note says
    only tagged columns counted; stdout stays data (the JSON is the same as ever)."""
    from lineagectl import api

    db = str(tmp_path / "s.duckdb")
    api.ingest([str(SAMPLE / "ecommerce.ndjson")], db)
    monkeypatch.chdir(tmp_path)  # no lineagectl.yaml here or above
    monkeypatch.delenv("LINEAGECTL_POLICY", raising=False)
    bare = cli("pii", "--db", db, "-f", "json")
    assert bare.exit_code == 0, bare.stderr
    assert "no policy file" in bare.stderr and "--policy" in bare.stderr
    assert set(json.loads(bare.stdout)) == {"columns", "propagated"}
    quiet = cli("pii", "--db", db, "-q", "-f", "json")
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == bare.stdout  # -q: no note
    with_policy = cli("pii", "--db", db, "--policy", SAMPLE / "lineagectl.yaml", "-f", "json")
    assert with_policy.exit_code == 0 and "no policy file" not in with_policy.stderr
    assert api.pii(db).context["policy"] is None
    assert api.pii(db, str(SAMPLE / "lineagectl.yaml")).context["policy"] == str(SAMPLE / "lineagectl.yaml")


@pytest.mark.parametrize("command", ["erase", "access"])
def test_a_plan_seeded_from_pii_without_a_policy_gives_pii_s_note(cli, tmp_path, monkeypatch, command):
    """``erase --tag pii`` reads PII as ``pii`` does: without a policy only tagged columns count, and the
    note ``pii`` prints says so, word for word; with a policy, or seeded from a column, no note."""
    from lineagectl import api

    db = str(tmp_path / "s.duckdb")
    api.ingest([str(SAMPLE / "ecommerce.ndjson")], db)
    monkeypatch.chdir(tmp_path)  # no lineagectl.yaml here or above
    monkeypatch.delenv("LINEAGECTL_POLICY", raising=False)
    note = [line for line in cli("pii", "--db", db, "-f", "json").stderr.splitlines() if "no policy file" in line]
    assert len(note) == 1
    bare = cli(command, "--tag", "PII", "--db", db, "-f", "json")
    assert bare.exit_code == 0, bare.stderr
    assert [line for line in bare.stderr.splitlines() if "no policy file" in line] == note
    assert json.loads(bare.stdout)["steps"]  # stdout stays the plan
    with_policy = cli(command, "--tag", "pii", "--db", db, "--policy", SAMPLE / "lineagectl.yaml", "-f", "json")
    assert with_policy.exit_code == 0 and "no policy file" not in with_policy.stderr
    by_column = cli(command, "--column", "user_id", "--db", db, "-f", "json")
    assert by_column.exit_code == 0 and "no policy file" not in by_column.stderr


def test_plan_titles_count_one_step_in_the_singular(cli, tmp_path):
    # "1 steps (1 delete)" read as a typo in a ticket; every other title counts with counted().
    schema = {"schema": {"_producer": "t", "_schemaURL": "t", "fields": [{"name": "email", "type": "string"}]}}
    path = write_ndjson(tmp_path / "one.ndjson",
                        [run_event("r1", outputs=[("postgres://db:5432", "crm.public.people", schema)])])
    db = str(tmp_path / "one.duckdb")
    assert cli("--db", db, "-q", "ingest", path).exit_code == 0
    for command, action in (("erase", "delete"), ("access", "select")):
        title = cli("--db", db, command, "--column", "email", "--value", "a@b.c").stdout.splitlines()[0]
        assert title.endswith(f"= a@b.c: 1 step (1 {action})"), title


def test_a_column_missing_only_from_the_namespace_says_where_it_is(sample, cli):
    # "no dataset has a column 'email'; did you mean: email" read as a bug: the column is there,
    # --namespace left it out. Say so, and where it is.
    done = cli("--db", sample, "erase", "--column", "email", "--namespace", "kafka://nowhere")
    assert done.exit_code == 2
    assert "no dataset in namespace 'kafka://nowhere' has a column 'email'" in done.stderr
    assert "postgres://db.eu.acme.internal:5432" in done.stderr and "check --namespace" in done.stderr
    with pytest.raises(NotFoundError, match="no dataset has a column 'emial'"):
        erase("emial", db=sample)


def test_a_table_in_a_namespace_naming_no_engine_is_not_called_files(corpus, tmp_path):
    # Marquez's seed names its Postgres namespace "food_delivery": the plan told the operator to
    # delete the subject's records "in its files". It says what is missing (a dialect) instead.
    db = str(tmp_path / "seed.duckdb")
    ingest([str(corpus / "openlineage" / "marquez-seed" / "metadata.ndjson")], db)
    step = erase("customer_id", db=db).payload["steps"][0]
    assert step["name"] == "public.order_status" and step["sql"] is None
    assert "files" not in step["reason"] and "pass --dialect" in step["reason"]
    assert "namespace 'food_delivery'" in step["reason"]
    with_dialect = erase("customer_id", db=db, dialect="postgres").payload["steps"][0]
    assert with_dialect["sql"] == 'DELETE FROM "public"."order_status" WHERE "customer_id" = %s'
