"""``lineagectl diff``: dbt's state:modified rules, column changes and their class, downstream impact.

Real pull requests: the NetSuite package's consecutive releases in the shared corpus. Precise
cases: small manifests written here, each changing one thing.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, require_corpus
from lineagectl import api
from lineagectl.diff.state import read_manifest, state_changes
from lineagectl.errors import ExitStatus, InputError

RELEASES = ["v4.dbt1.0.4", "v7.dbt1.3.0", "v8.dbt1.4.5", "v10.dbt1.6.1", "v11.dbt1.7.18", "v12.dbt1.9.0",
            "v12.dbt1.11.11"]
PAIRS = list(itertools.pairwise(RELEASES))
EXAMPLE = ROOT / "examples" / "diff"


def netsuite(release: str, kind: str = "manifest") -> str:
    return str(require_corpus() / "dbt" / f"fivetran_netsuite.{release}.{kind}.json")


# --- dbt's rules, computed independently from the raw manifests ---------------------------------

def _independent_modified(old: dict, new: dict) -> set[str]:
    """state:modified as its definition reads: body, unrendered config (less what dbt excludes),
    relation, contract, and a changed macro reached through depends_on.macros."""
    def tables(m):
        return {k: v for k, v in {**m["nodes"], **m.get("sources", {})}.items()
                if v.get("resource_type") in ("model", "seed", "snapshot", "source")}

    def macros_changed(uid, seen=()):
        for macro in new_tables.get(uid, new.get("macros", {}).get(uid, {})).get("depends_on", {}).get("macros", []):
            if macro in seen:
                continue
            if (old.get("macros", {}).get(macro) or {}).get("macro_sql") != \
                    (new.get("macros", {}).get(macro) or {}).get("macro_sql"):
                return True
            if macros_changed(macro, (*seen, macro)):
                return True
        return False

    old_tables, new_tables = tables(old), tables(new)
    modified = set()
    skip = {"database", "schema", "alias", "tags", "group"}
    for uid in set(old_tables) & set(new_tables):
        a, b = old_tables[uid], new_tables[uid]
        config = ({k: v for k, v in (a.get("unrendered_config") or {}).items() if k not in skip}
                  != {k: v for k, v in (b.get("unrendered_config") or {}).items() if k not in skip})
        relation = any((a.get("unrendered_config") or {}).get(k) != (b.get("unrendered_config") or {}).get(k)
                       for k in ("database", "schema", "alias")) if a["resource_type"] != "source" else \
            any(a.get(k) != b.get(k) for k in ("database", "schema", "identifier", "freshness", "loaded_at_field",
                                                "quoting", "external"))
        body = (a.get("checksum") != b.get("checksum") if a["resource_type"] == "seed"  # a seed's body: its file
                else a.get("raw_code", a.get("raw_sql")) != b.get("raw_code", b.get("raw_sql")))
        if body or config or relation or a.get("fqn") != b.get("fqn") or macros_changed(uid):
            modified.add(uid)
    return modified


@pytest.mark.parametrize("old, new", PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_modified_nodes_of_each_netsuite_release_are_dbts(old, new):
    before, after = read_manifest(netsuite(old)), read_manifest(netsuite(new))
    changes = state_changes(before, after)
    assert changes.modified  # every release changed something
    # persisted descriptions and contracts are the rules the independent reading leaves out
    plain = {uid for uid, why in changes.modified.items() if set(why) - {"persisted_descriptions", "contract"}}
    assert plain == _independent_modified(before, after)
    # a model's file checksum changes exactly when its body does, where the checksum is of the body
    # (dbt 1.4 wrote some that are not: those are left out)
    checked = 0
    for uid in set(before["nodes"]) & set(after["nodes"]):
        a, b = before["nodes"][uid], after["nodes"][uid]
        if a.get("resource_type") == "model" and _of_body(a) and _of_body(b):
            checked += 1
            assert (a["checksum"] != b["checksum"]) == ("body" in changes.modified.get(uid, [])), uid
    assert checked >= 10


def _of_body(node: dict) -> bool:
    code = node.get("raw_code", node.get("raw_sql")) or ""
    return node["checksum"]["checksum"] == hashlib.sha256(code.encode()).hexdigest()


def test_a_real_release_that_drops_columns_read_downstream_is_breaking():
    # 0.8 -> 0.10 of the package dropped the exchange-rate columns the income statement converts with.
    result = api.diff(netsuite("v8.dbt1.4.5"), netsuite("v10.dbt1.6.1"),
                      netsuite("v8.dbt1.4.5", "catalog"), netsuite("v10.dbt1.6.1", "catalog"))
    assert result.exit_status == ExitStatus.FINDINGS
    removed = {c["column"]: c for c in result.payload["columns"]
               if c["unique_id"] == "model.netsuite.int_netsuite2__consolidated_exchange_rates"}
    assert removed["average_rate"]["change"] == "removed" and removed["average_rate"]["class"] == "breaking"
    readers = {(d["name"].rsplit(".", 1)[1], d["column"]) for d in removed["average_rate"]["downstream"]}
    assert ("netsuite2__income_statement", "converted_amount") in readers
    for change in result.payload["columns"]:  # every breaking change is read downstream (no contracts here)
        assert change["class"] != "breaking" or change["downstream"], change
    assert {f["rule"] for f in result.findings} == {"breaking-change", "partial-change"}


def test_a_real_retype_is_found_with_catalogs_and_only_within_one_warehouse():
    with_types = api.diff(netsuite("v10.dbt1.6.1"), netsuite("v11.dbt1.7.18"),
                          netsuite("v10.dbt1.6.1", "catalog"), netsuite("v11.dbt1.7.18", "catalog"))
    ending = [c for c in with_types.payload["columns"]
              if c["unique_id"].endswith(".stg_netsuite2__accounting_periods") and c["column"] == "ending_at"]
    assert ending and ending[0]["change"] == "retyped" and ending[0]["class"] == "breaking"
    assert ending[0]["detail"] == "timestamp without time zone -> date"
    # v11 ran on Postgres, v12 (dbt 1.9) on BigQuery: type names of two warehouses are not compared
    across = api.diff(netsuite("v11.dbt1.7.18"), netsuite("v12.dbt1.9.0"),
                      netsuite("v11.dbt1.7.18", "catalog"), netsuite("v12.dbt1.9.0", "catalog"))
    assert not [c for c in across.payload["columns"] if c["change"] == "retyped"]


# --- crafted manifests: one change each -------------------------------------------------------

def _model(name, sql, parents, columns, **extra):
    uid = f"model.shop.{name}"
    node = {"unique_id": uid, "resource_type": "model", "name": name, "package_name": "shop", "fqn": ["shop", name],
            "original_file_path": f"models/{name}.sql", "database": "wh", "schema": "analytics", "alias": name,
            "raw_code": sql, "compiled_code": sql, "depends_on": {"nodes": parents, "macros": []},
            "config": {"materialized": "table"}, "unrendered_config": {"materialized": "table"},
            "contract": {"enforced": False, "checksum": None},
            "columns": {c: {"name": c, **spec} for c, spec in columns.items()}}
    for key, value in extra.items():
        node[key] = value if not isinstance(value, dict) or key not in node else {**node[key], **value}
    return node


def _manifest(stg_sql="select id, email, country from wh.raw.users", stg=None, reader=True, macros=None,
              source=None):
    src = {"unique_id": "source.shop.app.users", "resource_type": "source", "name": "users", "source_name": "app",
           "package_name": "shop", "fqn": ["shop", "app", "users"], "database": "wh", "schema": "raw",
           "identifier": "users", "freshness": None, "loaded_at_field": None, "quoting": {}, "external": None,
           "columns": {c: {"name": c} for c in ("id", "email", "country", "created_at")}, **(source or {})}
    nodes = {"model.shop.stg_users": _model("stg_users", stg_sql, [src["unique_id"]], {}, **(stg or {}))}
    if reader:
        nodes["model.shop.customers"] = _model("customers", "select id, email, country from wh.analytics.stg_users",
                                               ["model.shop.stg_users"], {}, meta={"owner": "@growth"})
    return {"metadata": {"adapter_type": "postgres", "project_name": "shop",
                         "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"},
            "nodes": nodes, "sources": {src["unique_id"]: src}, "macros": macros or {},
            "exposures": {"exposure.shop.board": {"unique_id": "exposure.shop.board", "resource_type": "exposure",
                                                  "name": "board", "type": "dashboard", "package_name": "shop",
                                                  "owner": {"email": "bi@example.com"},
                                                  "depends_on": {"nodes": ["model.shop.customers"]}}}}


def _diff(tmp_path, old, new, **options):
    paths = []
    for name, data in (("old", old), ("new", new)):
        (tmp_path / name).mkdir(exist_ok=True)
        path = tmp_path / name / "manifest.json"
        path.write_text(json.dumps(data))
        paths.append(str(path))
    return api.diff(*paths, **options)


def _changes(result):
    return {(c["column"], c["change"]): c for c in result.payload["columns"]}


def test_an_added_column_is_non_breaking_and_exits_0(tmp_path):
    result = _diff(tmp_path, _manifest(), _manifest("select id, email, country, created_at from wh.raw.users"))
    assert result.payload["modified"][0]["reasons"] == ["body"]
    assert _changes(result)[("created_at", "added")]["class"] == "non-breaking"
    assert result.exit_status == ExitStatus.OK and not result.findings


def test_a_removed_column_is_breaking_when_read_and_partial_when_not(tmp_path):
    dropped = "select id, email from wh.raw.users"
    read = _changes(_diff(tmp_path, _manifest(), _manifest(dropped)))[("country", "removed")]
    assert read["class"] == "breaking"
    assert read["downstream"] == [{"namespace": "postgres://wh", "name": "wh.analytics.customers",
                                   "column": "country"}]
    assert read["owners"] == ["@growth", "bi@example.com"] and read["exposures"][0]["name"] == "board"
    unread = _changes(_diff(tmp_path, _manifest(reader=False), _manifest(dropped, reader=False)))
    assert unread[("country", "removed")]["class"] == "partial"


def test_removing_a_column_of_an_enforced_contract_is_breaking_even_unread(tmp_path):
    contract = {"contract": {"enforced": True, "checksum": "a"}}
    result = _diff(tmp_path, _manifest(reader=False, stg=contract),
                   _manifest("select id, email from wh.raw.users", reader=False,
                             stg={"contract": {"enforced": True, "checksum": "b"}}))
    assert result.payload["modified"][0]["reasons"] == ["body", "contract"]
    assert _changes(result)[("country", "removed")]["class"] == "breaking"


def test_masking_removed_from_pii_is_breaking_and_elsewhere_partial(tmp_path):
    masked, plain = "select id, md5(email) as email, country from wh.raw.users", _manifest()
    pii_source = {"columns": {"email": {"name": "email", "meta": {"pii": True}}, "id": {"name": "id"},
                              "country": {"name": "country"}}}
    tagged = _changes(_diff(tmp_path, _manifest(masked, source=pii_source), _manifest(source=pii_source)))
    assert tagged[("email", "expression")]["class"] == "breaking"
    assert tagged[("email", "expression")]["detail"] == "masking removed"
    untagged = _changes(_diff(tmp_path, _manifest(masked), plain))
    assert untagged[("email", "expression")]["class"] == "partial"
    # the policy's pii.columns mark it too
    policy = tmp_path / "lineagectl.yaml"
    policy.write_text("pii:\n  columns: ['*.email']\n")
    by_policy = _changes(_diff(tmp_path, _manifest(masked), plain, policy=str(policy)))
    assert by_policy[("email", "expression")]["class"] == "breaking"


def test_a_changed_expression_is_partial_with_its_readers(tmp_path):
    result = _diff(tmp_path, _manifest(), _manifest("select id, email, upper(country) as country from wh.raw.users"))
    change = _changes(result)[("country", "expression")]
    assert change["class"] == "partial" and change["detail"] == "transformation changed"
    assert [d["column"] for d in change["downstream"]] == ["country"]
    assert result.exit_status == ExitStatus.OK and result.findings[0]["level"] == "warning"


def test_dbt_reasons_configs_macros_and_sources(tmp_path):
    def macro(sql, parents=()):
        return {"macro_sql": sql, "depends_on": {"macros": list(parents)}}

    old = _manifest(macros={"macro.shop.a": macro("{{ b() }}", ["macro.shop.b"]), "macro.shop.b": macro("1")},
                    stg={"depends_on": {"macros": ["macro.shop.a"]}})
    new = _manifest(macros={"macro.shop.a": macro("{{ b() }}", ["macro.shop.b"]), "macro.shop.b": macro("2")},
                    stg={"depends_on": {"macros": ["macro.shop.a"]},
                         "unrendered_config": {"materialized": "view", "tags": ["x"]}},
                    source={"freshness": {"warn_after": {"count": 1, "period": "day"}}})
    reasons = {m["unique_id"]: m["reasons"] for m in _diff(tmp_path, old, new).payload["modified"]}
    assert reasons == {"model.shop.stg_users": ["configs", "macros"], "source.shop.app.users": ["freshness"]}
    # tags alone are not a config change for dbt; whitespace in the body is a change
    tags_only = _manifest(stg={"unrendered_config": {"materialized": "table", "tags": ["y"]}})
    assert not state_changes(_manifest(), tags_only).modified
    spaced = _manifest("select id, email, country  from wh.raw.users")
    assert state_changes(_manifest(), spaced).modified == {"model.shop.stg_users": ["body"]}


def test_added_and_removed_nodes(tmp_path):
    result = _diff(tmp_path, _manifest(), _manifest(reader=False))
    assert [n["unique_id"] for n in result.payload["removed"]] == ["model.shop.customers"]
    assert not result.payload["added"]


def test_retyped_with_catalogs(tmp_path):
    def catalog(kind):
        return {"nodes": {"model.shop.stg_users": {"columns": {
            "id": {"name": "id", "type": kind, "index": 1}, "email": {"name": "email", "type": "text", "index": 2},
            "country": {"name": "country", "type": "text", "index": 3}}}}}

    for name, kind in (("old.json", "integer"), ("new.json", "bigint")):
        (tmp_path / name).write_text(json.dumps(catalog(kind)))
    result = _diff(tmp_path, _manifest(), _manifest("select cast(id as bigint) as id, email, country from wh.raw.users"),
                   old_catalog=str(tmp_path / "old.json"), new_catalog=str(tmp_path / "new.json"))
    retyped = _changes(result)[("id", "retyped")]
    assert retyped["class"] == "breaking" and retyped["detail"] == "integer -> bigint"


def test_a_file_that_is_not_a_manifest_is_an_input_error(tmp_path):
    (tmp_path / "x.json").write_text('{"results": []}')
    with pytest.raises(InputError, match="not a dbt manifest"):
        api.diff(str(tmp_path / "x.json"), str(EXAMPLE / "pr" / "manifest.json"))


def test_a_catalog_given_for_a_manifest_is_an_input_error(cli):
    # A catalog has "nodes" too (none a model): read as the old manifest it made every node
    # "added" and the check pass, exit 0 with 0 breaking changes, in the CI job meant to stop them.
    catalog = netsuite("v12.dbt1.9.0", "catalog")
    with pytest.raises(InputError, match="a dbt catalog file, not a manifest"):
        api.diff(catalog, netsuite("v12.dbt1.9.0"))
    done = cli("diff", catalog, netsuite("v12.dbt1.9.0"))
    assert done.exit_code == 2 and "--old-catalog" in done.stderr and done.stdout == ""


# --- the command --------------------------------------------------------------------------------

def _run(*args):
    """The command, in the empty folder every test starts in (no lineagectl.yaml of the checkout's)."""
    return subprocess.run([sys.executable, "-m", "lineagectl", "diff", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})


def test_the_command_exits_1_on_breaking_changes_and_prints_a_pr_comment():
    done = _run("--state", str(EXAMPLE / "prod"), str(EXAMPLE / "pr" / "manifest.json"), "-f", "markdown")
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("## 2 breaking changes, 0 partial, 1 non-breaking")
    assert "| breaking | warehouse.analytics.stg_users | email | expression | masking removed |" in done.stdout
    # an owner that is a GitHub handle is a mention; an e-mail address stays text, notifying nobody
    assert "| @growth-team, bi\\@example.com, BI team |" in done.stdout and "\\@growth-team" not in done.stdout


def test_the_command_exits_0_without_breaking_changes_and_2_on_bad_input(tmp_path):
    same = str(EXAMPLE / "pr" / "manifest.json")
    done = _run(same, same, "-f", "json")
    assert done.returncode == 0 and json.loads(done.stdout)["columns"] == []
    bad = _run(str(ROOT / "README.md"), same)
    assert bad.returncode == 2 and "README.md: cannot read dbt manifest" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert _run("--state", str(EXAMPLE / "prod"), same, same).returncode == 2
    github = _run(str(EXAMPLE / "prod" / "manifest.json"), same, "-f", "github")
    assert github.stdout.startswith("::error file=models/stg_users.sql,line=1,title=breaking-change::")


def test_the_example_pair_is_what_its_generator_writes(tmp_path):
    generated = subprocess.run([sys.executable, "-c", "import generate, json; print(json.dumps(generate.PR))"],
                               cwd=EXAMPLE, capture_output=True, text=True, check=True)
    assert json.loads(generated.stdout) == json.loads(Path(EXAMPLE / "pr" / "manifest.json").read_text())


# --- governance deltas --------------------------------------------------------------------------

FLOW_POLICY = """pii:
  columns: ["*.email"]
flows:
  - name: pii-masked-in-analytics
    from: {tag: pii}
    to: {name: "warehouse.analytics.*"}
    require: masking
"""


def test_a_change_routing_email_unmasked_into_a_protected_target_is_a_new_flow_violation(tmp_path):
    policy = tmp_path / "lineagectl.yaml"
    policy.write_text(FLOW_POLICY)
    done = _run("--policy", str(policy), str(EXAMPLE / "prod"), str(EXAMPLE / "pr"), "-f", "json")
    assert done.returncode == 1, done.stderr
    violations = json.loads(done.stdout)["violations"]
    assert [(v["rule"], v["source"]["name"], v["source"]["column"], v["target"]["name"], v["target"]["column"])
            for v in violations["new"]] == [("pii-masked-in-analytics", "warehouse.raw.users", "email",
                                             "warehouse.analytics.stg_users", "email")]
    assert violations["resolved"] == []
    github = _run("--policy", str(policy), str(EXAMPLE / "prod"), str(EXAMPLE / "pr"), "-f", "github")
    assert "title=pii-masked-in-analytics::" in github.stdout and "without masking" in github.stdout
    # the change undone: the violation is resolved, nothing breaks, exit 0
    back = _run("--policy", str(policy), str(EXAMPLE / "pr"), str(EXAMPLE / "prod"), "-f", "json")
    assert back.returncode == 0, back.stdout
    undone = json.loads(back.stdout)
    assert undone["violations"]["new"] == [] and len(undone["violations"]["resolved"]) == 1
    assert undone["summary"]["breaking"] == 0


def test_without_rules_there_is_no_governance_delta(tmp_path):
    result = _diff(tmp_path, _manifest(), _manifest("select id, email from wh.raw.users"))
    assert result.payload["violations"] == {"new": [], "resolved": []}


def test_a_pr_comment_of_a_large_change_stays_under_githubs_limit():
    from lineagectl.cli.render.ci_formats import GITHUB_COMMENT_LIMIT, markdown_text, markdown_within
    from lineagectl.cli.render.views import view_of

    result = api.diff(netsuite("v12.dbt1.9.0"), netsuite("v12.dbt1.11.11"))
    view = view_of(result)
    assert len(markdown_text(view)) > GITHUB_COMMENT_LIMIT  # 440-odd column changes in full
    comment = markdown_within(view)
    assert len(comment) <= GITHUB_COMMENT_LIMIT and comment.startswith("## 0 breaking changes, 3")
    assert "more rows (the whole answer: -f json)" in comment
    assert markdown_within(view_of(api.diff(str(EXAMPLE / "prod" / "manifest.json"),
                                            str(EXAMPLE / "pr" / "manifest.json")))).count("more rows") == 0


def test_a_column_the_sql_renames_is_one_change_breaking_its_readers(tmp_path):
    result = _diff(tmp_path, _manifest(), _manifest("select id, email, country as country_code from wh.raw.users"))
    changes = _changes(result)
    assert set(changes) == {("country_code", "renamed")}
    renamed = changes[("country_code", "renamed")]
    assert renamed["detail"] == "country -> country_code" and renamed["class"] == "breaking"
    assert [d["column"] for d in renamed["downstream"]] == ["country"]
    # a new column computed from another input is no rename
    other = _changes(_diff(tmp_path, _manifest(), _manifest("select id, email, created_at from wh.raw.users")))
    assert set(other) == {("country", "removed"), ("created_at", "added")}


def test_fail_on_says_what_exits_1(tmp_path):
    changed = str(EXAMPLE / "prod"), str(EXAMPLE / "pr")
    assert [_run(*changed, "--fail-on", what).returncode for what in ("breaking", "never")] == [1, 0]
    # reversed, the change is partial only: exit 1 only when partial changes fail too
    back = str(EXAMPLE / "pr"), str(EXAMPLE / "prod")
    assert [_run(*back, "--fail-on", what).returncode for what in ("breaking", "partial", "violation")] == [0, 1, 0]
    bad = _run(*changed, "--fail-on", "sometimes")
    assert bad.returncode == 2 and "sometimes" in bad.stderr
    with pytest.raises(InputError, match="fail_on"):
        api.diff(*(str(EXAMPLE / p / "manifest.json") for p in ("prod", "pr")), fail_on="sometimes")


# --- PII in new places --------------------------------------------------------------------------

PII_SOURCE = {"columns": {"email": {"name": "email", "meta": {"pii": True}}, "id": {"name": "id"},
                          "country": {"name": "country"}}}


def test_pii_that_reaches_new_columns_is_listed_and_gone_when_undone(tmp_path):
    # OLD's staging model leaves the tagged email out; NEW selects it, so it reaches stg_users and customers.
    old = _manifest("select id, country from wh.raw.users", source=PII_SOURCE)
    new = _manifest(source=PII_SOURCE)
    personal = _diff(tmp_path, old, new).payload["pii"]
    origin = {"namespace": "postgres://wh", "name": "wh.raw.users", "column": "email"}
    assert personal == {"gone": [], "new": [
        {"unique_id": "model.shop.stg_users", "namespace": "postgres://wh", "name": "wh.analytics.stg_users",
         "column": "email", "via": {"origin": origin, "masked": False}},
        {"unique_id": "model.shop.customers", "namespace": "postgres://wh", "name": "wh.analytics.customers",
         "column": "email", "via": {"origin": origin, "masked": False}}]}
    back = _diff(tmp_path, new, old).payload["pii"]
    assert back["new"] == [] and [p["name"] for p in back["gone"]] == ["wh.analytics.stg_users",
                                                                       "wh.analytics.customers"]
    # nothing PII changes when only another column does; the policy's globs mark personal data too
    assert _diff(tmp_path, new, _manifest("select id, email from wh.raw.users", source=PII_SOURCE)
                 ).payload["pii"] == {"new": [], "gone": []}
    policy = tmp_path / "lineagectl.yaml"
    policy.write_text("pii:\n  columns: ['*.created_at']\n")
    by_glob = _diff(tmp_path, _manifest(), _manifest("select id, email, country, created_at from wh.raw.users"),
                    policy=str(policy))
    assert [(p["name"], p["column"], p["via"]) for p in by_glob.payload["pii"]["new"]] == [
        ("wh.analytics.stg_users", "created_at", {"sources": ["policy *.created_at"]})]


def test_the_table_and_the_pr_comment_show_new_pii(tmp_path):
    for name, data in (("old", _manifest("select id, country from wh.raw.users", source=PII_SOURCE)),
                       ("new", _manifest(source=PII_SOURCE))):
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text(json.dumps(data))
    old, new = str(tmp_path / "old" / "manifest.json"), str(tmp_path / "new" / "manifest.json")
    table = _run(old, new, "-f", "table", "--color", "never")
    assert "2 new PII columns" in table.stdout and "2 columns newly personal data" in table.stdout
    assert "postgres://wh wh.analytics.customers.email" in table.stdout
    comment = _run(old, new, "-f", "markdown").stdout
    assert "### 2 columns newly personal data" in comment
    assert "| postgres:\\/\\/wh wh.analytics.stg_users.email | from postgres:\\/\\/wh wh.raw.users.email |" \
        in comment


def test_pii_of_a_real_release_is_new_only_where_a_new_node_holds_it(tmp_path):
    """NetSuite v10 -> v11 adds the employee source and its staging models, which carry ``email``; v8 -> v10
    moves every table to another warehouse and adds no email column (read from the raw manifests)."""
    policy = tmp_path / "lineagectl.yaml"
    policy.write_text("pii:\n  columns: ['*.email']\n")
    before, after = read_manifest(netsuite("v10.dbt1.6.1")), read_manifest(netsuite("v11.dbt1.7.18"))
    with_email = {uid for kind in ("nodes", "sources") for uid, node in after[kind].items()
                  if "email" in {c.lower() for c in node.get("columns") or {}}}
    personal = api.diff(netsuite("v10.dbt1.6.1"), netsuite("v11.dbt1.7.18"), policy=str(policy)).payload["pii"]
    new = {p["unique_id"] for p in personal["new"]}
    assert with_email - set(before["nodes"]) - set(before["sources"]) <= new
    assert not new & (set(before["nodes"]) | set(before["sources"])) and personal["gone"] == []
    assert api.diff(netsuite("v8.dbt1.4.5"), netsuite("v10.dbt1.6.1"), policy=str(policy)
                    ).payload["pii"] == {"new": [], "gone": []}
