"""dbt's selector methods over stores of real dbt manifests (the corpus), each answer checked
against the set dbt's semantics give, derived here from the manifest JSON itself.

lineagectl selects datasets: a dbt selection's datasets are the relations of the models, seeds,
snapshots and sources it selects (``ml`` exposures are datasets too); tests and exposures enter
through ``+``, as their parents.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import PurePosixPath

import duckdb
import pytest

from conftest import ROOT, SAMPLE, require_corpus
from lineagectl.api import impact, ingest, select
from lineagectl.errors import InputError

DATASET_TYPES = ("model", "seed", "snapshot", "source")


class Project:
    """A corpus manifest and a store it was ingested into."""

    def __init__(self, name: str, db: str) -> None:
        path = require_corpus() / "dbt" / name
        self.data = json.loads(path.read_text())
        self.nodes = {**self.data["nodes"], **self.data["sources"], **self.data.get("exposures", {}),
                      **self.data.get("unit_tests", {})}
        self.db = db
        ingest([str(path)], db)

    def relation(self, uid: str) -> str:
        node = self.nodes[uid]
        if node["resource_type"] == "exposure":
            return node["name"]  # an ml exposure: a MODEL dataset of its name
        table = node.get("identifier") if node["resource_type"] == "source" else node.get("alias")
        return ".".join(p for p in (node.get("database"), node.get("schema"), table or node["name"]) if p)

    def where(self, predicate) -> set[str]:
        """The datasets of the dataset nodes passing ``predicate``."""
        return {self.relation(u) for u, n in self.nodes.items()
                if n["resource_type"] in DATASET_TYPES and predicate(n)}

    def parents(self, predicate) -> set[str]:
        """The datasets the nodes passing ``predicate`` read (dbt's ``1+``)."""
        return {self.relation(p) for n in self.nodes.values() if predicate(n)
                for p in n["depends_on"]["nodes"] if p in self.nodes}

    def ancestors(self, predicate) -> set[str]:
        """Every dataset upstream of the nodes passing ``predicate`` (dbt's ``+``, the nodes excluded)."""
        todo = [p for n in self.nodes.values() if predicate(n) for p in n["depends_on"]["nodes"]]
        seen: set[str] = set()
        while todo:
            uid = todo.pop()
            if uid in seen or uid not in self.nodes:
                continue
            seen.add(uid)
            todo += self.nodes[uid].get("depends_on", {}).get("nodes", [])
        return {self.relation(u) for u in seen}

    def selected(self, expression: str, **options) -> set[str]:
        return {d["name"] for d in select(expression, self.db, **options).payload}


@pytest.fixture(scope="module")
def jaffle(tmp_path_factory):
    return Project("jaffle_shop.v12.dbt1.12.manifest.json", str(tmp_path_factory.mktemp("j") / "j.duckdb"))


@pytest.fixture(scope="module")
def hubspot(tmp_path_factory):
    return Project("fivetran_hubspot.v12.dbt1.11.manifest.json", str(tmp_path_factory.mktemp("h") / "h.duckdb"))


@pytest.fixture(scope="module")
def netsuite(tmp_path_factory):
    return Project("fivetran_netsuite.v12.dbt1.11.11.manifest.json", str(tmp_path_factory.mktemp("n") / "n.duckdb"))


@pytest.fixture(scope="module")
def colibri(tmp_path_factory):
    return Project("colibri_jaffle.v12.dbt1.10.duckdb.manifest.json", str(tmp_path_factory.mktemp("c") / "c.duckdb"))


def test_tests_stay_out_of_tag(jaffle):
    # Nine `unique` tests check jaffle_shop; no node is tagged `unique`: dbt selects no dataset.
    assert jaffle.parents(lambda n: (n.get("test_metadata") or {}).get("name") == "unique")
    assert not jaffle.where(lambda n: "unique" in n["tags"])
    with pytest.raises(InputError, match="'tag:unique' matches no dataset"):
        select("tag:unique", jaffle.db)
    with pytest.raises(InputError, match="matches no dataset"):
        select("tag:dbt_test", jaffle.db)


def is_test(name):
    return lambda n: n["resource_type"] == "test" and (n.get("test_metadata") or {}).get("name") == name


def test_tests_are_reached_through_their_parents(jaffle):
    assert jaffle.selected("1+test_name:unique") == jaffle.parents(is_test("unique"))
    # relationships tests read two models each: both are their parents
    assert jaffle.selected("1+test_name:relationships") == jaffle.parents(is_test("relationships"))
    assert jaffle.selected("+test_name:relationships") == (
        jaffle.parents(is_test("relationships")) | jaffle.ancestors(is_test("relationships")))
    assert jaffle.selected("1+test_type:unit") == jaffle.parents(lambda n: n["resource_type"] == "unit_test")
    assert jaffle.selected("1+test_type:generic") == jaffle.parents(
        lambda n: n["resource_type"] == "test" and n.get("test_metadata"))
    with pytest.raises(InputError, match=r"not datasets \(9 tests\)") as caught:
        select("test_name:unique", jaffle.db)
    assert "1+test_name:unique" in caught.value.hint
    with pytest.raises(InputError, match="not a dbt test type"):
        select("1+test_type:schemas", jaffle.db)


def test_config_compares_the_rendered_value_as_dbt(jaffle, netsuite):
    assert jaffle.selected("config.materialized:view") == jaffle.where(
        lambda n: n["config"].get("materialized") == "view") != set()
    with pytest.raises(InputError, match="matches no dataset"):  # exact, as dbt compares
        select("config.materialized:VIEW", jaffle.db)
    everything = jaffle.where(lambda n: n["config"].get("enabled") is True)
    assert jaffle.selected("config.enabled:true") == jaffle.selected("config.enabled:True") == everything
    # severity alone compares case-insensitively; only tests have one
    assert jaffle.selected("1+config.severity:error") == jaffle.parents(
        lambda n: str(n["config"].get("severity", "")).upper() == "ERROR") != set()
    # a list matches by any element; keys descend into nested config
    assert netsuite.selected("config.cluster_by:transaction_id") == netsuite.where(
        lambda n: "transaction_id" in (n["config"].get("cluster_by") or [])) != set()
    assert netsuite.selected("config.partition_by.granularity:month") == netsuite.where(
        lambda n: (n["config"].get("partition_by") or {}).get("granularity") == "month") != set()
    with pytest.raises(InputError, match="no dbt node has a config key 'materialised'") as caught:
        select("config.materialised:table", jaffle.db)
    assert "materialized" in caught.value.hint


def under(directory):
    return lambda n: n["original_file_path"].startswith(directory + "/")


def test_path_as_dbt_globs_the_project(jaffle, hubspot):
    assert jaffle.selected("path:models/staging") == jaffle.selected("path:models/staging/") == jaffle.where(
        under("models/staging"))
    assert jaffle.selected("models/staging") == jaffle.where(under("models/staging"))  # the default method
    assert jaffle.selected("path:models/marts/orders.sql") == jaffle.where(
        lambda n: n["original_file_path"] == "models/marts/orders.sql")
    # a YAML file: the sources it defines and the models it documents (their patch)
    assert jaffle.selected("path:models/staging/*.yml") == jaffle.where(
        lambda n: any(PurePosixPath(p).parent == PurePosixPath("models/staging") and p.endswith(".yml")
                      for p in (n["original_file_path"], (n.get("patch_path") or "").split("://")[-1])))
    # `*` stays within a directory, `**` crosses them
    assert not hubspot.where(lambda n: PurePosixPath(n["original_file_path"]).parent == PurePosixPath("models"))
    with pytest.raises(InputError, match="matches no dataset"):
        select("path:models/*.sql", hubspot.db)
    assert hubspot.selected("path:models/**/stg_hubspot__contact*.sql") == hubspot.where(
        lambda n: PurePosixPath(n["original_file_path"]).name.startswith("stg_hubspot__contact")
        and n["original_file_path"].endswith(".sql"))
    assert hubspot.selected("path:models/marketing") == hubspot.where(under("models/marketing")) != set()
    assert hubspot.selected("file:stg_hubspot__contact") == hubspot.where(
        lambda n: n["original_file_path"].endswith("/stg_hubspot__contact.sql"))


def test_source_resource_type_package(jaffle, netsuite, hubspot):
    assert jaffle.selected("source:ecom") == jaffle.where(lambda n: n.get("source_name") == "ecom") != set()
    assert jaffle.selected("source:ecom.raw_o*") == jaffle.where(
        lambda n: n.get("source_name") == "ecom" and n["name"].startswith("raw_o"))
    assert jaffle.selected("source:jaffle_shop.*.raw_items") == jaffle.where(
        lambda n: n["resource_type"] == "source" and n["name"] == "raw_items")
    assert netsuite.selected("source:netsuite2") == netsuite.where(lambda n: n.get("source_name") == "netsuite2")
    with pytest.raises(InputError, match="a source is source_name"):
        select("source:a.b.c.d", jaffle.db)
    for kind in ("seed", "model", "source"):
        assert hubspot.selected(f"resource_type:{kind}") == hubspot.where(lambda n, k=kind: n["resource_type"] == k)
    with pytest.raises(InputError, match="not a dbt resource type") as caught:
        select("resource_type:models", jaffle.db)
    assert "model" in caught.value.hint
    # jaffle_shop has 6 semantic models; the store keeps none: say so, not "matches no dataset"
    with pytest.raises(InputError, match="does not keep dbt semantic_model nodes"):
        select("resource_type:semantic_model", jaffle.db)
    assert hubspot.selected("package:hubspot") == hubspot.where(lambda n: n["package_name"] == "hubspot")
    assert hubspot.selected("package:hubspot_*") == hubspot.where(lambda n: n["package_name"].startswith("hubspot_"))


def fqn_under(*parts):
    return lambda n: n["resource_type"] != "source" and n["fqn"][1:1 + len(parts)] == list(parts)


def test_fqn_and_bare_names(jaffle, hubspot, colibri):
    assert jaffle.selected("fqn:marts.*") == jaffle.where(fqn_under("marts")) != set()
    assert jaffle.selected("staging") == jaffle.where(fqn_under("staging"))  # a directory, as dbt reads it
    assert jaffle.selected("fqn:jaffle_shop.staging.stg_orders") == jaffle.where(lambda n: n["name"] == "stg_orders")
    assert hubspot.selected("marketing.email_events") == hubspot.where(fqn_under("marketing", "email_events"))
    assert hubspot.selected("fqn:hubspot") == hubspot.where(
        lambda n: n["resource_type"] != "source" and n["package_name"] == "hubspot")  # sources have no fqn
    # a bare name is also what the command line resolves: a unique id, a full relation name
    assert jaffle.selected("model.jaffle_shop.orders") == jaffle.selected("orders") == jaffle.where(
        lambda n: n["unique_id"] == "model.jaffle_shop.orders")
    relation = jaffle.relation("model.jaffle_shop.orders")
    assert jaffle.selected(relation) == {relation}
    # a bare glob covers the last part of names (dbt's fqn glob would need *stg_*)
    assert jaffle.selected("stg_*") == jaffle.where(lambda n: n.get("alias", "").startswith("stg_")) != set()
    # a node name whose relation is another (alias STG_CUSTOMERS -> stg_customer_alias), as impact takes it
    aliased = colibri.relation("model.jaffle_shop.STG_CUSTOMERS")
    assert aliased.endswith("stg_customer_alias") and colibri.selected("STG_CUSTOMERS") == {aliased}
    assert {d["name"] for d in impact("STG_CUSTOMERS", colibri.db).payload["datasets"]}
    # versioned models: by name, name.vN or name_vN
    versions = colibri.where(lambda n: n["name"] == "versioned_model")
    assert colibri.selected("versioned_model") == versions and len(versions) == 2
    assert colibri.selected("versioned_model_v1") == colibri.selected("fqn:versioned_model.v1") == colibri.where(
        lambda n: n["name"] == "versioned_model" and str(n.get("version")) == "1")


def test_exposures_and_their_upstream(colibri):
    dashboard = lambda n: n["unique_id"] == "exposure.jaffle_shop.weekly_jaffle_metrics"  # noqa: E731
    assert colibri.selected("+exposure:weekly_jaffle_metrics") == colibri.ancestors(dashboard)
    assert colibri.selected("@exposure:weekly_jaffle_metrics") == colibri.ancestors(dashboard)
    assert colibri.selected("1+exposure:weekly_*") == colibri.parents(dashboard) != set()
    with pytest.raises(InputError, match=r"not datasets \(1 exposure\)"):
        select("exposure:weekly_jaffle_metrics", colibri.db)
    # an ml exposure is a MODEL dataset: selected itself, and its upstream through lineage
    assert colibri.selected("exposure:jaffle_recommender") == {"jaffle_recommender"}
    recommender = lambda n: n["unique_id"] == "exposure.jaffle_shop.jaffle_recommender"  # noqa: E731
    assert colibri.selected("+exposure:jaffle_recommender") == colibri.ancestors(recommender) | {"jaffle_recommender"}
    assert colibri.selected("resource_type:exposure") == {"jaffle_recommender"}


def test_every_command_taking_a_selector_reads_dbt_methods(jaffle):
    downstream = {d["name"] for d in impact("stg_orders", jaffle.db).payload["datasets"]}
    kept = {d["name"] for d in impact("stg_orders", jaffle.db, select="config.materialized:table").payload["datasets"]}
    assert kept == downstream & jaffle.where(lambda n: n["config"].get("materialized") == "table") != set()
    # a dataset goes when any node of it is excluded (raw_orders: a seed, and a source in models/staging)
    assert jaffle.selected("package:jaffle_shop", exclude="path:models/staging") == jaffle.where(
        lambda n: True) - jaffle.where(under("models/staging"))


def test_a_store_ingested_before_says_to_re_ingest(tmp_path, monkeypatch):
    from lineagectl.sources.dbt import manifest

    path = require_corpus() / "dbt" / "jaffle_shop.v12.dbt1.12.manifest.json"
    db = str(tmp_path / "old.duckdb")
    dataset = manifest._Manifest.dataset

    def as_before(self, uid, node):  # the datasets an older lineagectl wrote: no dbtNode facet
        found = dataset(self, uid, node)
        del found["facets"]["dbtNode"]
        return found

    with monkeypatch.context() as patch:
        patch.setattr(manifest._Manifest, "dataset", as_before)
        ingest([str(path)], db)
    with duckdb.connect(db, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM dataset_facets WHERE facet_key = 'dbtNode'").fetchone() == (0,)
    with pytest.raises(InputError, match="ingested before") as caught:
        select("path:models/staging", db)
    assert "re-ingest the manifest" in caught.value.hint
    assert {d["name"] for d in select("stg_orders", db).payload}  # names still resolve
    ingest([str(path)], db)
    assert {d["name"] for d in select("path:models/staging", db).payload}
    sample = str(tmp_path / "sample.duckdb")
    ingest([str(SAMPLE)], sample)
    with pytest.raises(InputError, match="this store has no dbt manifest"):
        select("config.materialized:table", sample)


def test_the_cli_names_the_methods_and_keys(jaffle):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}  # this checkout's lineagectl, from any folder

    def run(*args):
        return subprocess.run([sys.executable, "-m", "lineagectl", "--db", jaffle.db, *args],
                              capture_output=True, text=True, env=env)

    for selector, says in (("bogus:x", "unknown method 'bogus'"), ("state:modified", "dbt's method 'state'"),
                           ("config.materialised:table", "no dbt node has a config key")):
        result = run("ls", "-s", selector)
        assert result.returncode == 2 and says in result.stderr and "Traceback" not in result.stderr
    assert "resource_type" in run("ls", "-s", "bogus:x").stderr  # the methods are listed
    listed = json.loads(run("ls", "-s", "config.materialized:view", "-f", "json").stdout)
    assert {d["name"] for d in listed} == jaffle.where(lambda n: n["config"].get("materialized") == "view")


def test_the_help_topic_names_every_method():
    from lineagectl.cli.help_topics import TOPICS
    from lineagectl.graph.selectors import METHODS

    assert [m for m in METHODS if f"{m}:" not in TOPICS["selectors"] and f"{m}." not in TOPICS["selectors"]] == []


def test_a_tests_tags_and_kind_select_its_parents_not_the_model(tmp_path):
    state = Project("dbt_core_state_fixture.v12.manifest.json", str(tmp_path / "s.duckdb"))
    tagged = lambda n: "data_test_tag" in n.get("tags", []) and n["resource_type"] == "test"  # noqa: E731
    assert state.selected("1+tag:data_test_tag") == state.parents(tagged) != set()
    with pytest.raises(InputError, match=r"not datasets \(1 test\)"):
        select("tag:data_test_tag", state.db)  # the model is not tagged: its test is
    assert state.selected("1+test_type:singular") == state.parents(
        lambda n: n["resource_type"] == "test" and not n.get("test_metadata"))
    exposure = lambda n: n["resource_type"] == "exposure"  # noqa: E731
    assert state.selected("+exposure:simple_exposure") == state.ancestors(exposure)
    assert state.relation("source.test.my_source.my_table") in state.ancestors(exposure)  # a source read directly
    with pytest.raises(InputError, match="matches no dataset"):
        select("resource_type:analysis", state.db)  # dbt nodes lineagectl keeps no dataset of


def test_version_method_as_dbt_means_it(colibri):
    """dbt's version: (selector_methods.VersionSelectorMethod): latest is version == latest_version,
    old below it, prerelease above it, none an unversioned model; only models."""
    def versioned(kind):
        def test(n):
            if n["resource_type"] != "model":
                return False
            if kind == "none":
                return n.get("version") is None
            if n.get("version") is None:
                return False
            mine, latest = float(n["version"]), float(n["latest_version"])
            return {"latest": mine == latest, "old": mine < latest}[kind]
        return test

    latest = colibri.where(versioned("latest"))
    assert colibri.selected("version:latest") == latest and len(latest) == 1
    assert colibri.selected("version:old") == colibri.where(versioned("old")) != latest
    assert colibri.selected("version:none") == colibri.where(versioned("none")) != set()
    assert colibri.selected("versioned_model,version:latest") == latest
    with pytest.raises(InputError, match="matches no dataset"):  # v2 is the latest: nothing above it
        select("version:prerelease", colibri.db)
    with pytest.raises(InputError, match="not a dbt version kind"):
        select("version:newest", colibri.db)


def test_a_versioned_model_named_without_its_version_is_its_latest_version(colibri):
    """As dbt's ref('versioned_model') builds on latest_version, show/impact take the bare name
    for that version's dataset; name.v1 / name_v1 still name the older one."""
    from lineagectl.api import show

    latest = colibri.relation("model.jaffle_shop.versioned_model.v2")
    assert colibri.nodes["model.jaffle_shop.versioned_model.v2"]["latest_version"] == 2
    assert show("versioned_model", colibri.db).payload["name"] == latest
    assert impact("versioned_model", colibri.db).payload["root"]["name"] == latest
    assert show("versioned_model_v1", colibri.db).payload["name"] == colibri.relation(
        "model.jaffle_shop.versioned_model.v1")
