"""The policy file: strict validation with file, key path and what was expected; discovery; globs."""

from __future__ import annotations

import pytest

from lineagectl.common.policy import Glob, PolicyError, find_policy, load_policy, parse_policy

from conftest import SAMPLE

VALID = (SAMPLE / "lineagectl.yaml").read_text()


def test_the_sample_policy_is_valid_and_maps_regions():
    policy = parse_policy(VALID)
    assert list(policy.regions) == ["eu", "us"]
    assert policy.region_of("bigquery", "acme-eu.staging.orders_enriched") == "eu"
    assert policy.region_of("s3://acme-us-exports", "marketing/audience.csv") == "us"
    assert policy.region_of("kafka://broker", "topic") == "unknown"
    assert policy.is_pii_column("ns", "crm.customers", "EMAIL")  # columns are case-insensitive
    assert (policy.detailed_days, policy.summary_days) == (90, 365)
    (flow,) = policy.flows
    assert flow.source.tag == "pii" and flow.require == "masking"
    assert flow.target.matches_dataset("bigquery", "acme-eu.analytics_prod.user_features")
    assert not flow.target.matches_dataset("bigquery", "acme-eu.staging.orders_enriched")


def test_first_matching_region_wins():
    policy = parse_policy('regions:\n  special: ["s3://data/vip*"]\n  eu: ["s3://data"]\n')
    assert policy.region_of("s3://data", "vip/x") == "special"
    assert policy.region_of("s3://data", "other") == "eu"


@pytest.mark.parametrize("text, where, expected", [
    ("regionz: {}", "regionz", "unknown key"),
    ("regions: [eu]", "regions", "a mapping"),
    ("regions:\n  eu: s3://x", "regions.eu", "a non-empty list"),
    ("regions:\n  eu: ['s3://[x']", "regions.eu[0]", "a valid glob"),
    ("regions:\n  eu: ['']", "regions.eu[0]", "a non-empty string"),
    ("regions:\n  unknown: ['x']", "regions.unknown", "other than"),
    ("regions:\n  eu: ['x']\nresidency:\n  - {name: r, from: mars, allowed: [eu]}", "residency[0].from",
     "a region defined under regions"),
    ("regions:\n  eu: ['x']\nresidency:\n  - {name: r, from: eu, allowed: eu}", "residency[0].allowed",
     "a non-empty list"),
    ("regions:\n  eu: ['x']\nresidency:\n  - {name: r, from: eu}", "residency[0].allowed", "present"),
    ("regions:\n  eu: ['x']\nresidency:\n  - {name: r, from: eu, allowed: [eu], extra: 1}",
     "residency[0].extra", "unknown key"),
    ("regions:\n  eu: ['x']\nresidency:\n  - {name: r, from: eu, allowed: [eu]}\n"
     "  - {name: r, from: eu, allowed: [eu]}", "residency[1].name", "not used before"),
    ("flows:\n  - {name: f, from: {tag: pii}, to: {name: 'a.*'}, require: encryption}", "flows[0].require",
     "one of: masking"),
    ("flows:\n  - {name: f, from: {}, to: {name: 'a.*'}, require: masking}", "flows[0].from", "at least one"),
    ("flows:\n  - {name: f, from: {tag: pii}, to: {column: x}, require: masking}", "flows[0].to.column",
     "unknown key"),
    ("pii:\n  columns: '*.email'", "pii.columns", "a non-empty list"),
    ("retention:\n  detailed_days: -5", "retention.detailed_days", "1 or more"),
    ("retention:\n  detailed_days: 400\n  summary_days: 365", "retention.detailed_days", "at most"),
    ("quality:\n  max_null_fraction: 15", "quality.max_null_fraction", "from 0 to 1"),
    ("[1, 2]", "", "a mapping"),
])
def test_bad_policies_name_the_file_the_key_path_and_what_was_expected(text, where, expected):
    with pytest.raises(PolicyError) as err:
        parse_policy(text, "ci/lineagectl.yaml")
    message = err.value.message
    assert message.startswith("ci/lineagectl.yaml: ")
    assert f": {where}" in message or (where == "" and "expected a mapping" in message), message
    assert expected in message, message


def test_yaml_syntax_errors_give_line_and_column():
    with pytest.raises(PolicyError, match=r"^p\.yaml:3:\d+: not valid YAML"):
        parse_policy("regions:\n  eu: ['x']\n   us: ['y']\n", "p.yaml")


def test_discovery_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LINEAGECTL_POLICY", raising=False)
    assert find_policy() is None and load_policy().regions == {}
    with pytest.raises(PolicyError, match="no policy file"):
        load_policy(required=True)
    (tmp_path / "lineagectl.yaml").write_text("regions:\n  eu: ['x']\n")
    assert find_policy() == "lineagectl.yaml"
    monkeypatch.setenv("LINEAGECTL_POLICY", str(tmp_path / "other.yaml"))
    with pytest.raises(PolicyError, match="other.yaml: policy file not found"):
        load_policy()
    assert find_policy("given.yaml") == "given.yaml"


@pytest.mark.parametrize("pattern, text, expected", [
    ("*.user_id", "shop.public.t.USER_ID", True),
    ("s3://acme-eu-*", "s3://acme-eu-raw", True),
    ("a[!b]c", "abc", False),
    ("a.b", "aXb", False),
    ("x?z", "xyz", True),
])
def test_globs_agree_in_python_and_in_duckdb(pattern, text, expected):
    import duckdb

    glob = Glob(pattern)
    assert glob.match(text) is expected
    assert duckdb.execute("SELECT regexp_full_match(?, ?)", [text, glob.sql_regex()]).fetchall()[0][0] is expected


@pytest.mark.parametrize("pattern, name, expected", [
    ("analytics_prod.*", "acme-eu.analytics_prod.orders", True),
    ("analytics_prod.*", "xanalytics_prod.orders", False),
    ("a/b", "s3/a/b", True),
    ("*rpt*", "db.mart.sales_rpt", True),
    ("orders", "orders_v2", False),
])
def test_name_globs_match_suffixes_alike_in_python_and_in_duckdb(pattern, name, expected):
    import duckdb

    glob = Glob(pattern)
    assert glob.match_name(name) is expected
    assert duckdb.execute("SELECT regexp_full_match(?, ?)", [name, glob.sql_name_regex()]).fetchall()[0][0] is expected
