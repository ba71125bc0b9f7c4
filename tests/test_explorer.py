"""The explorer page's data (``api.graph_page``) agrees with the commands that report the same facts,
caps and collapses large neighbourhoods, lays the whole store out left to right, and writes one
self-contained, inert HTML file. The page in a real browser: tests/test_explorer_browser.py."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from conftest import ROOT, SAMPLE
from lineagectl import api
from lineagectl.explore.page import script_json

POLICY = str(SAMPLE / "lineagectl.yaml")
ROOT_NAME = ("postgres://db.eu.acme.internal:5432", "shop.public.user_master")


def page_data(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="lineage-data">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def named(payload: dict) -> dict[str, tuple[str, str]]:
    return {n["id"]: (n["namespace"], n["name"]) for n in payload["nodes"]}


def test_a_focus_page_draws_the_neighbourhood_graph_draws(sample_db):
    page = api.graph_page("user_master", sample_db, policy=POLICY).payload
    pictured = api.graph("user_master", sample_db, policy=POLICY).payload
    names = named(page)
    assert sorted(names.values()) == sorted((n["namespace"], n["name"]) for n in pictured["nodes"])
    by_id = {n["id"]: (n["namespace"], n["name"]) for n in pictured["nodes"]}
    assert sorted((names[e["source"]], names[e["target"]]) for e in page["edges"]) == sorted(
        (by_id[e["source"]], by_id[e["target"]]) for e in pictured["edges"])
    assert [names[n["id"]] for n in page["nodes"] if n.get("root")] == [
        ("postgres://db.eu.acme.internal:5432", "shop.public.user_master")]
    assert page["groups"] == [] and not any(n.get("hidden") for n in page["nodes"])


def test_violation_edges_are_those_residency_check_reports(sample_db):
    page = api.graph_page("user_master", sample_db, policy=POLICY, depth=None).payload
    names = named(page)
    violations = api.residency_check(sample_db, POLICY).payload["violations"]
    expected = set()
    for v in violations:
        source, target = (v["source"]["namespace"], v["source"]["name"]), (v["target"]["namespace"], v["target"]["name"])
        for job in v["jobs"]:
            if {source, target} <= set(names.values()):
                expected |= {(source, (job["namespace"], job["name"]), v["rule"]),
                             ((job["namespace"], job["name"]), target, v["rule"])}
    drawn = {(names[e["source"]], names[e["target"]], rule) for e in page["edges"] for rule in e["rules"]}
    assert drawn == expected and any(rule == "eu-stays-in-eu" for *_, rule in drawn)


def test_pii_and_masked_marks_are_those_of_the_pii_command(sample_db):
    page = api.graph_page("user_master", sample_db, policy=POLICY, depth=None).payload
    report = api.pii(sample_db, POLICY).payload
    expected: dict[tuple, set] = {}
    masked: dict[tuple, set] = {}
    for item in report["columns"] + report["propagated"]:
        expected.setdefault((item["namespace"], item["name"]), set()).add(item["column"])
        if item.get("masked"):
            masked.setdefault((item["namespace"], item["name"]), set()).add(item["column"])
    for node in page["nodes"]:
        key = (node["namespace"], node["name"])
        if node["kind"] != "job":
            assert set(node.get("pii", [])) == expected.get(key, set()), key
            assert set(node.get("masked", [])) == masked.get(key, set()), key
    assert any(node.get("masked") for node in page["nodes"])


def test_regions_quality_and_owners_come_from_the_store_and_policy(sample_db):
    page = api.graph_page("user_master", sample_db, policy=POLICY, depth=None).payload
    nodes = {(n["namespace"], n["name"]): n for n in page["nodes"]}
    mapped = {(d["namespace"], d["name"]) for r in api.policy_check(POLICY, sample_db).payload["unmapped"] for d in [r]}
    for key, node in nodes.items():
        if node["kind"] != "job":
            assert node["region"] == ("unknown" if key in mapped else node["region"])
            assert node["owners"] == api.show(key[1], sample_db, namespace=key[0]).payload["owners"]
    at_risk = {(a["namespace"], a["name"]) for a in api.quality(sample_db, POLICY).payload["at_risk"]}
    assert {k for k, n in nodes.items() if n.get("at_risk")} == at_risk & set(nodes)
    assert nodes[("postgres://db.eu.acme.internal:5432", "shop.public.user_master")]["region"] == "eu"


def test_max_nodes_collapses_the_rest_into_groups_that_hold_every_hidden_node(sample_db):
    page = api.graph_page("user_master", sample_db, policy=POLICY, depth=None, max_nodes=4).payload
    shown = {n["id"] for n in page["nodes"] if not n.get("hidden")}
    hidden = {n["id"] for n in page["nodes"] if n.get("hidden")}
    assert len(shown) == 4 and page["root"] in shown and hidden
    members = [m for g in page["groups"] for m in g["members"]]
    assert sorted(members) == sorted(hidden)  # each hidden node in exactly one group
    ids = shown | hidden
    distance = {n["id"]: n["distance"] for n in page["nodes"]}
    for group in page["groups"]:
        assert group["parent"] in ids and group["side"] in ("up", "down")
        # A member hangs one step further from the root than its group's parent.
        assert all(distance[m] == distance[group["parent"]] + 1 for m in group["members"])
    assert all(distance[n] <= min(distance[h] for h in hidden) for n in shown)


def test_the_whole_store_is_laid_out_left_to_right(sample_db):
    page = api.graph_page(None, sample_db, whole=True, policy=POLICY).payload
    import duckdb

    con = duckdb.connect(sample_db, read_only=True)
    jobs_with_datasets = con.execute("SELECT count(DISTINCT job_id) FROM edges").fetchall()[0][0]
    con.close()
    kinds = [n["kind"] for n in page["nodes"]]
    # Every dataset; every job that reads or writes one (a job touching none is no lineage).
    assert kinds.count("job") == jobs_with_datasets
    assert len(kinds) - kinds.count("job") == api.stats(sample_db).payload["datasets"]
    at = {n["id"]: (n["x"], n["y"]) for n in page["nodes"]}
    assert len(set(at.values())) == len(at)
    assert all(at[e["source"]][0] < at[e["target"]][0] for e in page["edges"])  # the sample has no cycle


def test_bad_options_are_user_errors(sample_db, cli):
    assert cli("--db", sample_db, "graph", "--all").exit_code == 2  # --all needs -f html
    assert cli("--db", sample_db, "graph").exit_code == 2
    assert cli("--db", sample_db, "graph", "user_master", "--all", "-f", "html").exit_code == 2
    assert cli("--db", sample_db, "graph", "user_master", "-f", "html", "--max-nodes", "0").exit_code == 2
    assert cli("--db", sample_db, "impact", "user_master", "-f", "html").exit_code == 2
    assert cli("--db", sample_db, "graph", "user_master", "-f", "html", "-s", "bogus:x").exit_code == 2
    assert cli("--db", sample_db, "graph", "--all", "-f", "html", "--column", "email").exit_code == 2
    assert cli("--db", sample_db, "graph", "user_master", "-f", "html", "--direction", "sideways").exit_code == 2


def test_direction_keeps_one_side(sample_db):
    page = api.graph_page("user_master", sample_db, direction="downstream", depth=None).payload
    downstream = api.impact("user_master", sample_db, include_jobs=True).payload
    expected = {(d["namespace"], d["name"]) for d in downstream["datasets"]} | {ROOT_NAME}
    assert {(n["namespace"], n["name"]) for n in page["nodes"] if n["kind"] != "job"} == expected


HOSTILE = ["</script><script>window.pwned=1</script>", "<!--", "a\u2028b\u2029c", '"quoted" & \'single\'',
           "<img src=x onerror=window.pwned=2>", "\u202eevil\u202c", "</SCRIPT >"]


def test_data_json_cannot_leave_its_script_element():
    text = script_json({"names": HOSTILE})
    assert "<" not in text and ">" not in text and "\u2028" not in text and "\u2029" not in text
    assert json.loads(text) == {"names": HOSTILE}


def test_the_cli_writes_one_self_contained_file_with_a_strict_policy(sample_db, tmp_path):
    out = tmp_path / "lineage.html"
    done = subprocess.run([sys.executable, "-m", "lineagectl", "--db", sample_db, "--policy", POLICY, "graph",
                           "user_master", "-f", "html", "-o", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    html = out.read_text(encoding="utf-8")
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)"', html).group(1)
    assert csp.startswith("default-src 'none';") and "unsafe-eval" not in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=", html, re.I)  # nothing loaded from anywhere
    assert html.count("<script") == 4  # the data and three inlined scripts
    assert page_data(html)["root"]


def test_column_names_the_datasets_impact_and_trace_reach_by_that_column(sample_db):
    page = api.graph_page("user_master", sample_db, column="EMAIL", policy=POLICY).payload
    names = named(page)
    reached = {ROOT_NAME}
    for answer in (api.impact("user_master", sample_db, column="email", depth=2),
                   api.trace("user_master", sample_db, column="email", depth=2)):
        reached |= {(c["namespace"], c["name"]) for c in answer.payload["columns"]}
    assert {names[i] for i in page["column"]["nodes"] if i.startswith("d")} == reached
    assert page["column"]["name"] == "email"
    assert page["column"]["columns"][page["root"]] == ["email"]


def test_column_must_exist(sample_db, cli):
    result = cli("--db", sample_db, "graph", "user_master", "-f", "html", "--column", "no_such")
    assert result.exit_code != 0 and "no column" in result.stderr


def test_column_edges_are_the_stores_between_the_pages_datasets(sample_db):
    page = api.graph_page("user_master", sample_db, policy=POLICY, depth=None).payload
    columns = {n["id"]: n["columns"] for n in page["nodes"] if n["kind"] != "job"}
    names = named(page)
    drawn = {(names[s], columns[s][si].lower(), names[t], columns[t][ti].lower(), kind, masking)
             for s, si, t, ti, _job, kind, _sub, masking in page["column_edges"]}
    # The same edges as impact --column from each of the root's columns, one hop (transformations included).
    root_columns = columns[page["root"]]
    expected = set()
    for column in root_columns:
        answer = api.impact("user_master", sample_db, column=column, depth=1).payload
        for reached in answer["columns"]:
            for step in reached.get("transformations", [])[:1]:
                expected.add((ROOT_NAME, column.lower(), (reached["namespace"], reached["name"]),
                              reached["column"].lower(), step["type"], step["masking"]))
    assert expected and expected <= drawn
    assert any(masking for *_, masking in drawn)  # email -> email_hash is masked


def test_as_of_draws_the_lineage_graph_draws_then(sample_db):
    when = "2026-11-20T02:10:00Z"  # some jobs of the first night had run, not all
    page = api.graph_page("user_master", sample_db, policy=POLICY, as_of=when).payload
    pictured = api.graph("user_master", sample_db, policy=POLICY, as_of=when).payload
    now = api.graph("user_master", sample_db, policy=POLICY).payload
    assert sorted(named(page).values()) == sorted((n["namespace"], n["name"]) for n in pictured["nodes"])
    assert page["as_of"] == when and len(pictured["edges"]) != len(now["edges"])


def test_the_pages_script_never_parses_text_as_markup_or_code():
    # Store text reaches the page through textContent (and canvas labels) only: these would parse it.
    script = (ROOT / "src" / "lineagectl" / "explore" / "web" / "explorer.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                 "setAttribute('on", "srcdoc", ".href", ".src"):
        assert sink not in script, sink
    assert "textContent" in script
