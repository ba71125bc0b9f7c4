"""The policy file: strict validation with file, key path and what was expected; discovery; how its globs
are applied (the globs themselves: test_globs.py)."""

from __future__ import annotations

import duckdb
import pytest

from conftest import SAMPLE
from lineagectl.cli.environment import db_path, policy_path, settings
from lineagectl.common.policy import PolicyError, load_policy, parse_policy
from lineagectl.compliance.residency import region_map

VALID = (SAMPLE / "lineagectl.yaml").read_text()


def regions_of(policy, *datasets: tuple[str, str]) -> list[str]:
    """The regions ``region_map`` (the one production matcher, in SQL) gives ``(namespace, name)`` datasets."""
    con = duckdb.connect()
    con.execute("CREATE TABLE datasets (dataset_id INTEGER, namespace VARCHAR, name VARCHAR)")
    con.executemany("INSERT INTO datasets VALUES (?, ?, ?)", [(i, ns, n) for i, (ns, n) in enumerate(datasets)])
    found = region_map(con, policy)
    return [found[i] for i in range(len(datasets))]


def matches(regex: str, text: str) -> bool:
    return duckdb.execute("SELECT regexp_full_match(?, ?)", [text, regex]).fetchall()[0][0]


def test_the_sample_policy_is_valid_and_maps_regions():
    policy = parse_policy(VALID)
    assert list(policy.regions) == ["eu", "us"]
    assert regions_of(policy, ("bigquery", "acme-eu.staging.orders_enriched"),
                      ("s3://acme-us-exports", "marketing/audience.csv"), ("kafka://broker", "topic"),
                      ("S3://ACME-EU-RAW", "x")) == ["eu", "us", "unknown", "eu"]
    assert [g.pattern for g in policy.pii_columns] == ["*.user_id", "*.email"]
    assert any(g.match("crm.customers.EMAIL") for g in policy.pii_columns)  # columns are case-insensitive
    assert (policy.detailed_days, policy.summary_days) == (90, 365)
    (flow,) = policy.flows
    assert flow.source.tag == "pii" and flow.require == "masking"
    assert flow.target.namespace is not None and matches(flow.target.namespace.sql_regex(), "bigquery")
    assert flow.target.name is not None
    assert matches(flow.target.name.sql_name_regex(), "acme-eu.analytics_prod.user_features")
    assert not matches(flow.target.name.sql_name_regex(), "acme-eu.staging.orders_enriched")


def test_first_matching_region_wins():
    policy = parse_policy('regions:\n  special: ["s3://data/vip*"]\n  eu: ["s3://data", "[]]x"]\n')
    assert regions_of(policy, ("s3://data", "vip/x"), ("s3://data", "other"), ("]X", "y"), ("x", "y")) == [
        "special", "eu", "eu", "unknown"]


def test_column_null_limits_are_the_first_matching_glob_else_the_default():
    policy = parse_policy("quality:\n  max_null_fraction: 0.1\n  columns:\n"
                          "    'events/*.user_id': {max_null_fraction: 0.3}\n"
                          "    '*.user_id': {max_null_fraction: 0.2}\n")
    assert policy.max_null_fraction("kafka://k", "events/clickstream", "USER_ID") == 0.3
    assert policy.max_null_fraction("events", "clickstream", "user_id") == 0.3  # as namespace/name.column
    assert policy.max_null_fraction("kafka://k", "orders", "user_id") == 0.2
    assert policy.max_null_fraction("kafka://k", "orders", "user_ids") == 0.1
    assert parse_policy("").max_null_fraction("n", "t", "c") is None


@pytest.mark.parametrize("text, where, expected", [
    ("regionz: {}", "regionz", "unknown key"),
    ("regions: [eu]", "regions", "a mapping"),
    ("regions:\n  eu: s3://x", "regions.eu", "a non-empty list"),
    ("regions:\n  eu: ['s3://[x']", "regions.eu[0]", "a valid glob (the '[' at character 6 is never closed"),
    ("regions:\n  eu: ['s3://x]']", "regions.eu[0]", "closes no '['"),
    ("pii:\n  columns: ['*.[z-a]']", "pii.columns[0]", "the range 'z-a' is empty"),
    ("quality:\n  columns:\n    '*.[]': {max_null_fraction: 0.1}", "quality.columns.*.[]", "a valid glob"),
    ("flows:\n  - {name: f, from: {column: '[!]'}, to: {name: 'a.*'}, require: masking}", "flows[0].from.column",
     "a valid glob"),
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
    # The global options of an earlier in-process CLI call must not decide this one.
    monkeypatch.setattr(settings, "db", None)
    monkeypatch.setattr(settings, "policy", None)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LINEAGECTL_POLICY", raising=False)
    monkeypatch.delenv("LINEAGECTL_DB", raising=False)
    assert policy_path() is None and load_policy(policy_path()).regions == {}
    with pytest.raises(PolicyError, match="no policy file"):
        load_policy(None, required=True)
    (tmp_path / "lineagectl.yaml").write_text("db: stores/lineage.duckdb\nregions:\n  eu: ['x']\n")
    assert policy_path() == str(tmp_path / "lineagectl.yaml")
    # The nearest lineagectl.yaml upwards, and its db: relative to its folder.
    (tmp_path / "project" / "models").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "project" / "models")
    assert policy_path() == str(tmp_path / "lineagectl.yaml")
    assert db_path() == str(tmp_path / "stores" / "lineage.duckdb")
    assert db_path("given.duckdb") == "given.duckdb"
    monkeypatch.setenv("LINEAGECTL_DB", "env.duckdb")
    assert db_path() == "env.duckdb"
    monkeypatch.setenv("LINEAGECTL_POLICY", str(tmp_path / "other.yaml"))
    with pytest.raises(PolicyError, match=r"other\.yaml: policy file not found"):
        load_policy(policy_path())
    assert policy_path("given.yaml") == "given.yaml"


def test_the_readme_policy_example_is_valid():
    import re

    from conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", readme[readme.index("## Policy file"):], re.S).group(1)
    policy = parse_policy(block, "README.md")
    assert policy.db == "lineage.duckdb" and set(policy.regions) >= {"eu", "us"} and policy.flows


@pytest.mark.parametrize("text, message", [
    ("a: " + "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("regions:\n  eu: [" + ", ".join(f'"bq{i}*"' for i in range(10_001)) + "]\n", "more than 10,000 globs"),
    ("# " + "x" * (1 << 20) + "\nregions: {}\n", "larger than 1 MiB"),
])
def test_a_policy_too_deep_or_too_large_is_a_clear_policy_error(text, message):
    with pytest.raises(PolicyError, match=message):
        parse_policy(text, "big.yaml")


@pytest.mark.parametrize("pattern", ["[!]x*", "[z-a]*", "[[:alpha:]]*", "[]", "a]"])
def test_globs_duckdb_could_not_run_are_refused_when_the_policy_is_read(pattern):
    with pytest.raises(PolicyError, match="a valid glob"):
        parse_policy(f'regions:\n  eu: ["{pattern}"]\n', "p.yaml")


@pytest.mark.parametrize("pattern, text", [("[^a]*", "abc"), ("[^a]*", "^x"), ("[!a]*", "bcd"), ("[a-c]x", "bx")])
def test_every_valid_glob_runs_in_duckdb_as_fnmatch_reads_it(pattern, text):
    import fnmatch

    policy = parse_policy(f'regions:\n  eu: ["{pattern}"]\n', "p.yaml")
    glob = policy.regions["eu"][0]
    con = duckdb.connect()
    in_sql = con.execute("SELECT regexp_full_match(?, ?)", [text, glob.sql_regex()]).fetchall()[0][0]
    assert in_sql == glob.match(text) == fnmatch.fnmatchcase(text, pattern)
