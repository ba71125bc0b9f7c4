"""quality: latest metrics, broken rules, datasets at risk downstream, gates and their exit codes."""

from __future__ import annotations

import json

import pytest

from conftest import SAMPLE, run_event, write_ndjson
from lineagectl.api import ingest
from lineagectl.common.policy import parse_policy
from lineagectl.errors import ExitStatus
from lineagectl.operations.changes import changes
from lineagectl.operations.quality import quality

POLICY = SAMPLE / "lineagectl.yaml"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> str:
    db = str(tmp_path_factory.mktemp("quality") / "s.duckdb")
    ingest([str(SAMPLE / "ecommerce.ndjson")], db)
    return db


def test_a_null_rate_over_the_limit_puts_everything_downstream_at_risk(sample):
    result = quality(sample, str(POLICY))
    (clickstream,) = result.payload["datasets"]
    assert (clickstream["name"], clickstream["row_count"]) == ("events/clickstream", 176950)  # the latest, day 3
    nulls = {c["column"]: c["null_fraction"] for c in clickstream["columns"]}
    assert nulls["user_id"] == pytest.approx(26542 / 176950) and nulls["session_id"] == 0
    assert [(b["rule"], b["column"], b["limit"]) for b in clickstream["broken"]] == [
        ("max_null_fraction", "user_id", 0.1)]
    at_risk = [(a["name"], a["depth"], a["cause"]["column"]) for a in result.payload["at_risk"]]
    assert at_risk == [("acme-eu.analytics_prod.user_features", 1, "user_id"), ("models/churn_model", 2, "user_id")]
    model = result.payload["at_risk"][1]
    assert [p["name"] for p in model["path"]] == [
        "events/clickstream", "acme-eu.analytics_prod.user_features", "models/churn_model"]


def test_gates(sample, cli):
    assert quality(sample, str(POLICY), gate="churn_model").exit_status == ExitStatus.FINDINGS
    assert quality(sample, str(POLICY), gate="clickstream").exit_status == ExitStatus.FINDINGS  # breaks the rule itself
    assert quality(sample, str(POLICY), gate="daily_revenue_by_country").exit_status == ExitStatus.OK
    failing = cli("--db", sample, "--policy", POLICY, "quality", "--gate", "churn_model", "-f", "json")
    assert failing.exit_code == 1 and json.loads(failing.stdout)["gate"]["ok"] is False
    assert cli("--db", sample, "--policy", POLICY, "quality", "--gate", "daily_revenue_by_country").exit_code == 0
    assert cli("--db", sample, "quality", "--gate", "nope").exit_code == 2
    # `--gate "$MODEL"` with MODEL unset: no gate at all, exit 0 whatever broke; now a usage error
    empty = cli("--db", sample, "--policy", POLICY, "quality", "--gate", "")
    assert empty.exit_code == 2 and "empty" in empty.stderr


def test_column_overrides_and_no_policy(sample):
    lenient = parse_policy("quality:\n  max_null_fraction: 0.10\n"
                           "  columns:\n    '*.user_id': {max_null_fraction: 0.2}\n")
    assert quality(sample, lenient).payload["at_risk"] == []
    # Without rules, metrics are shown and nothing is at risk.
    plain = quality(sample, parse_policy("")).payload
    assert plain["at_risk"] == [] and plain["datasets"][0]["broken"] == []


def test_failed_assertions_break_too(tmp_path):
    assertions = {"dataQualityAssertions": {"_producer": "t", "_schemaURL": "t", "assertions": [
        {"assertion": "not_null", "success": False, "column": "id"},
        {"assertion": "unique", "success": True, "column": "id"}]}}
    events = [run_event("check", job="tests", inputs=[("pg", "raw.orders", assertions)], outputs=[]),
              run_event("load", job="load", inputs=[("pg", "raw.orders")], outputs=[("pg", "mart.orders")])]
    db = str(tmp_path / "a.duckdb")
    ingest([write_ndjson(tmp_path / "a.ndjson", events)], db)
    result = quality(db, parse_policy(""), gate="mart.orders")
    (raw,) = result.payload["datasets"]
    assert [a["assertion"] for a in raw["failed_assertions"]] == ["not_null"]
    assert [a["name"] for a in result.payload["at_risk"]] == ["mart.orders"] and result.exit_status == ExitStatus.FINDINGS


def test_changes_reports_the_broken_rule(sample):
    found = changes("user_features", sample, since="2026-11-19T00:00:00Z", policy=str(POLICY)).payload["changes"]
    assert found[0]["kind"] == "quality" and found[0]["name"] == "events/clickstream"
    assert found[0]["summary"] == "quality: null fraction of user_id is 15.0% (limit 10%)"
