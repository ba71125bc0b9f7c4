"""The explorer page in headless Chromium (driven over the DevTools protocol: tests/browser.py).

The page reaches ``data-ready`` with the counts the library computes, a click
lights a node's upstream and downstream, search finds names and columns, a
"+N more" node opens, nothing is requested from a network, and a hostile store
draws inertly. Chromium missing: skipped locally, a failure in CI (``$CI`` set).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from browser import CI_MISSING, Browser, chromium_path
from conftest import ROOT, SAMPLE, run_event, write_ndjson
from lineagectl import api

POLICY = str(SAMPLE / "lineagectl.yaml")
ROOT_NAME = ("postgres://db.eu.acme.internal:5432", "shop.public.user_master")


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    if executable is None:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(CI_MISSING, pytrace=False)
        pytest.skip(CI_MISSING)
    opened = Browser(executable)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory) -> str:
    db = str(tmp_path_factory.mktemp("sample") / "sample.duckdb")
    api.ingest([str(SAMPLE / "ecommerce.ndjson")], db)
    return db


def html_page(db: str, out, *args: str):
    """The page as a user makes it: the CLI in a subprocess."""
    done = subprocess.run([sys.executable, "-m", "lineagectl", "--db", db, "--policy", POLICY, "graph", *args,
                           "-f", "html", "-o", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return out


def node_id(payload: dict, namespace: str, name: str) -> str:
    return next(n["id"] for n in payload["nodes"] if (n["namespace"], n["name"]) == (namespace, name))


def only_local(urls: list[str]) -> bool:
    return all(u.startswith(("file:", "data:", "blob:")) for u in urls)


def test_the_sample_page_draws_what_graph_draws_and_lights_a_clicked_path(browser, sample_db, tmp_path):
    page = browser.page()
    page.goto(html_page(sample_db, tmp_path / "sample.html", "user_master"))
    body = page.wait_ready()
    # The counts from the dot/mermaid graph of the same neighbourhood (datasets, jobs, their edges).
    pictured = api.graph("user_master", sample_db, policy=POLICY).payload
    assert (int(body["nodes"]), int(body["edges"])) == (len(pictured["nodes"]), len(pictured["edges"]))
    checked = api.residency_check(sample_db, POLICY).payload["violations"]
    assert int(body["violations"]) >= 2 * sum(1 for v in checked if v["rule"] == "eu-stays-in-eu")
    payload = api.graph_page("user_master", sample_db, policy=POLICY).payload
    root = node_id(payload, *ROOT_NAME)
    # A real click where the root is drawn.
    at = page.evaluate(f"lineageExplorer.position({json.dumps(root)})")
    page.click(at["x"], at["y"])
    page.wait_for("document.body.getAttribute('data-selected')")
    lit = set(page.body()["highlighted"].split())
    downstream = {node_id(payload, d["namespace"], d["name"])
                  for d in api.impact("user_master", sample_db, depth=2).payload["datasets"]}
    assert {root} | downstream <= lit
    panel = page.evaluate("document.getElementById('details').textContent")
    assert "lineagectl impact shop.public.user_master --namespace postgres://db.eu.acme.internal:5432" in panel
    assert "team:crm" in panel and "eu-stays-in-eu" in panel
    assert page.exceptions() == [] and only_local(page.requested_urls())


def test_search_finds_names_and_columns(browser, sample_db, tmp_path):
    page = browser.page()
    page.goto(html_page(sample_db, tmp_path / "search.html", "user_master", "--depth", "5"))
    page.wait_ready()
    page.type_into("#search", "email")
    page.wait_for("document.body.getAttribute('data-search')")
    found = set(page.body()["search"].split())
    payload = api.graph_page("user_master", sample_db, policy=POLICY, depth=5).payload
    with_email = set()
    for node in payload["nodes"]:
        if node["kind"] == "job":
            continue
        shown = api.show(node["name"], sample_db, namespace=node["namespace"]).payload
        if "email" in node["name"].lower() or any("email" in c["column"].lower() for c in shown["columns"]):
            with_email.add(node["id"])
    assert found == with_email and found
    assert page.evaluate("document.querySelectorAll('#results button').length") == len(found)


def test_a_more_node_opens_on_click(browser, sample_db, tmp_path):
    page = browser.page()
    page.goto(html_page(sample_db, tmp_path / "capped.html", "user_master", "--depth", "5", "--max-nodes", "4"))
    before = page.wait_ready()
    payload = api.graph_page("user_master", sample_db, policy=POLICY, depth=5, max_nodes=4).payload
    groups = [g for g in payload["groups"] if not any(n["id"] == g["parent"] and n.get("hidden")
                                                       for n in payload["nodes"])]
    assert int(before["nodes"]) == 4 + len(groups)
    group = groups[0]
    at = page.evaluate(f"lineageExplorer.position({json.dumps(group['id'])})")
    page.click(at["x"], at["y"])
    page.wait_for(f"document.body.getAttribute('data-expanded') === {json.dumps(group['id'])} && "
                  "document.body.getAttribute('data-ready') === '1'")
    after = page.body()
    members_groups = [g for g in payload["groups"] if g["parent"] in group["members"]]
    assert int(after["nodes"]) == int(before["nodes"]) - 1 + len(group["members"]) + len(members_groups)


HOSTILE_NAMES = ["</script><script>window.pwned = 1</script>", "<img src=x onerror=\"window.pwned = 2\">",
                 "<!-- <script>window.pwned = 3</script>", "it's \"quoted\" & \u2028 broken",
                 "\u202egnp.exe", "https://example.invalid/tracker.png", "<link rel=stylesheet href=//127.0.0.1:9/x.css>"]


def _hostile_store(tmp_path) -> str:
    names = HOSTILE_NAMES
    events = [run_event(f"0190e5c1-0000-7000-8000-00000000000{i}", job=f"job<b>{i}</b>\"'",
                        inputs=[("https://127.0.0.1:9/", names[i])], outputs=[("https://127.0.0.1:9/", names[i + 1])],
                        time=f"2026-11-20T0{i}:00:00Z")
              for i in range(len(names) - 1)]
    db = str(tmp_path / "hostile.duckdb")
    api.ingest([write_ndjson(tmp_path / "hostile.ndjson", events)], db)
    return db


def test_a_hostile_store_renders_inertly_and_requests_nothing(browser, tmp_path):
    db = _hostile_store(tmp_path)
    for args in (["</script><script>window.pwned = 1</script>", "--depth", "9"], ["--all"]):
        page = browser.page()
        page.goto(html_page(db, tmp_path / "hostile.html", *args))
        body = page.wait_ready()
        assert page.evaluate("typeof window.pwned") == "undefined"
        assert page.evaluate("document.querySelectorAll('img, link, iframe, object, embed').length") == 0
        assert "cspViolations" not in body, body  # nothing even tried to run or load
        assert page.exceptions() == []
        assert only_local(page.requested_urls()), page.requested_urls()
        assert int(body["nodes"]) == 2 * len(HOSTILE_NAMES) - 1  # a chain: every dataset, a job between each two
        # The names are data: searched and shown as text, bidi controls made visible.
        page.type_into("#search", "<img")
        page.wait_for("document.body.getAttribute('data-search')")
        shown = page.evaluate("document.getElementById('results').textContent")
        assert '<img src=x onerror="window.pwned = 2">' in shown
        page.evaluate("document.getElementById('search').value = ''")
        page.type_into("#search", "gnp")
        page.wait_for("(document.getElementById('results').textContent || '').indexOf('gnp') >= 0")
        assert "\\u202egnp.exe" in page.evaluate("document.getElementById('results').textContent")


def test_column_opens_with_its_path_lit_even_inside_more_nodes(browser, sample_db, tmp_path):
    page = browser.page()
    page.goto(html_page(sample_db, tmp_path / "column.html", "user_master", "--column", "email", "--max-nodes", "2"))
    body = page.wait_ready()
    payload = api.graph_page("user_master", sample_db, policy=POLICY, column="email", max_nodes=2).payload
    assert body["column"] == "email"
    assert set(body["highlighted"].split()) == set(payload["column"]["nodes"])  # all drawn, hidden ones opened
    assert body["expanded"]
    dimmed = page.evaluate("lineageExplorer.dimmed()")
    assert set(dimmed).isdisjoint(payload["column"]["nodes"]) and dimmed


def test_a_dataset_opens_into_its_columns_and_a_column_lights_its_lineage(browser, sample_db, tmp_path):
    page = browser.page()
    page.goto(html_page(sample_db, tmp_path / "columns.html", "user_master", "--depth", "9"))
    page.wait_ready()
    payload = api.graph_page("user_master", sample_db, policy=POLICY, depth=9).payload
    root = payload["root"]
    before = int(page.body()["nodes"])
    # The panel opens on the root; its button draws the columns inside it.
    page.evaluate("document.querySelector('#details button.columns').click()")
    body = page.wait_ready()
    columns = next(n for n in payload["nodes"] if n["id"] == root)["columns"]
    assert body["columnsOpen"] == root and int(body["nodes"]) == before + len(columns)
    email = f"c{columns.index('email')}:{root}"
    at = page.evaluate(f"lineageExplorer.position({json.dumps(email)})")
    page.click(at["x"], at["y"])
    page.wait_for(f"document.body.getAttribute('data-selected') === {json.dumps(email)}")
    lit = {i for i in page.body()["highlighted"].split() if i.startswith("d")}
    names = {n["id"]: (n["namespace"], n["name"]) for n in payload["nodes"]}
    expected = {ROOT_NAME}
    for answer in (api.impact("user_master", sample_db, column="email"), api.trace("user_master", sample_db, column="email")):
        expected |= {(c["namespace"], c["name"]) for c in answer.payload["columns"]}
    assert {names[i] for i in lit} == expected
    assert page.exceptions() == []


def test_failed_runs_dropped_datasets_and_models_are_drawn_apart(browser, tmp_path):
    lifecycle = {"lifecycleStateChange": {"_producer": "https://example.test/producer",
                                          "_schemaURL": "https://example.test/schema", "lifecycleStateChange": "DROP"}}
    events = [run_event("30000000-0000-0000-0000-000000000001", job="load", time="2026-11-20T01:00:00Z",
                        inputs=[("pg", "src")], outputs=[("pg", "a")]),
              run_event("30000000-0000-0000-0000-000000000002", job="fails", event_type="FAIL",
                        time="2026-11-20T02:00:00Z", inputs=[("pg", "a")], outputs=[("pg", "b")]),
              run_event("30000000-0000-0000-0000-000000000003", job="drop_a", time="2026-11-21T09:30:00Z",
                        outputs=[("pg", "a", lifecycle)])]
    db = str(tmp_path / "states.duckdb")
    api.ingest([write_ndjson(tmp_path / "states.ndjson", events)], db)
    payload = api.graph_page("a", db).payload
    by_name = {n["name"]: n for n in payload["nodes"]}
    assert by_name["a"]["dropped"] == "2026-11-21T09:30:00Z" and by_name["fails"]["state"] == "FAIL"
    assert by_name["b"]["state"] == "FAIL" and by_name["load"]["state"] == "COMPLETE"
    page = browser.page()
    page.goto(html_page(db, tmp_path / "states.html", "a"))
    page.wait_ready()
    classes = {name: set(page.evaluate(f"lineageExplorer.classes({json.dumps(n['id'])})")) for name, n in by_name.items()}
    assert {"dropped", "root"} <= classes["a"] and "failed" in classes["b"] and "failed" in classes["fails"]
    assert "job" in classes["load"] and not classes["src"] & {"failed", "dropped", "root"}


def test_the_overview_fits_the_store_and_names_nodes_once_zoomed_in(browser, sample_db, tmp_path):
    page = browser.page()
    page.goto(html_page(sample_db, tmp_path / "all.html", "--all"))
    body = page.wait_ready()
    payload = api.graph_page(None, sample_db, whole=True, policy=POLICY).payload
    assert (int(body["nodes"]), int(body["edges"])) == (len(payload["nodes"]), len(payload["edges"]))
    box = page.evaluate("JSON.stringify(document.getElementById('graph').getBoundingClientRect())")
    box = json.loads(box)
    for node in payload["nodes"]:  # every node drawn inside the graph's box
        at = page.evaluate(f"lineageExplorer.position({json.dumps(node['id'])})")
        assert box["left"] <= at["x"] <= box["right"] and box["top"] <= at["y"] <= box["bottom"], node["name"]
    root = node_id(payload, *ROOT_NAME)
    if page.evaluate("lineageExplorer.zoom()") < 0.45:
        assert page.evaluate(f"lineageExplorer.label({json.dumps(root)})") == ""
    page.evaluate("lineageExplorer.zoom(1)")
    assert page.evaluate(f"lineageExplorer.label({json.dumps(root)})").startswith("shop.public.user_master")
