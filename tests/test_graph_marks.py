"""graph -f dot / mermaid say what the explorer page and the compliance commands say: the root, PII
as ``lineagectl pii`` finds it, regions, residency/flow violations as red edges named after their
rule, failed last runs; ``--datasets-only`` hides jobs in every format; -f html takes
``--select``/``--exclude``; a large picture warns how to narrow it. The output is parsed back."""

from __future__ import annotations

import html
import json
import re

from conftest import SAMPLE, run_event, write_ndjson
from lineagectl import api

POLICY = str(SAMPLE / "lineagectl.yaml")
ROOT = ("postgres://db.eu.acme.internal:5432", "shop.public.user_master")


def _dot_unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), text)


def parse_dot(text: str) -> dict:
    """Nodes (id → attributes, plus the region cluster they sit in) and edges (source, target, attributes)."""
    nodes: dict[str, dict] = {}
    edges: list[tuple[str, str, dict]] = []
    region, in_cluster = None, False
    attribute = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^,\]\s]+)')

    def attributes(listed: str | None) -> dict:
        return {k: _dot_unescape(v[1:-1]) if v.startswith('"') else v for k, v in attribute.findall(listed or "")}

    for line in text.splitlines():
        line = line.strip()
        if line.startswith("subgraph cluster_"):
            in_cluster = True
        elif in_cluster and line.startswith("label="):
            region = attributes(line.rstrip(";"))["label"].removeprefix("region ")
        elif line == "}" and in_cluster:
            in_cluster, region = False, None
        elif found := re.fullmatch(r"(n\d+) -> (n\d+)(?: \[(.*)\])?;", line):
            edges.append((found.group(1), found.group(2), attributes(found.group(3))))
        elif found := re.fullmatch(r"(n\d+) \[(.*)\];", line):
            nodes[found.group(1)] = {**attributes(found.group(2)), "region": region}
    return {"nodes": nodes, "edges": edges}


def _mermaid_unescape(text: str) -> str:
    return re.sub(r"#(\w+);", lambda m: chr(int(m.group(1))) if m.group(1).isdigit()
                  else html.unescape(f"&{m.group(1)};"), text)


def parse_mermaid(text: str) -> dict:
    """Nodes (id → label, region, classes), edges in order (source, target, label) and the red edges' indexes."""
    nodes: dict[str, dict] = {}
    edges: list[tuple[str, str, str]] = []
    red: set[int] = set()
    region = None
    for line in text.splitlines()[1:]:
        line = line.strip()
        if found := re.fullmatch(r'subgraph r\d+\["(.*)"\]', line):
            region = _mermaid_unescape(found.group(1)).removeprefix("region ")
        elif line == "end":
            region = None
        elif found := re.fullmatch(r'(n\d+) -->(?:\|"(.*)"\|)? (n\d+)', line):
            edges.append((found.group(1), found.group(3), _mermaid_unescape(found.group(2) or "")))
        elif found := re.fullmatch(r"linkStyle ([\d,]+) stroke:#c00.*", line):
            red |= {int(i) for i in found.group(1).split(",")}
        elif found := re.fullmatch(r"class ([\w,]+) (\w+)", line):
            for node in found.group(1).split(","):
                nodes[node]["classes"].add(found.group(2))
        elif found := re.fullmatch(r'(n\d+)[\[(]+"(.*)"[\])]+', line):
            nodes[found.group(1)] = {"label": _mermaid_unescape(found.group(2)), "region": region, "classes": set()}
        else:
            assert line.startswith("classDef "), line  # every line of the output is understood
    return {"nodes": nodes, "edges": edges, "red": red}


def drawn(cli, db: str, *args: str) -> tuple[dict, dict, dict]:
    """The graph as JSON, and its dot and mermaid pictures parsed back; node ``n<i>`` is JSON node i."""
    outputs = []
    for fmt in ("json", "dot", "mermaid"):
        result = cli("--db", db, "--policy", POLICY, "graph", *args, "-f", fmt)
        assert result.exit_code == 0, result.stderr
        outputs.append(result.stdout)
    return json.loads(outputs[0]), parse_dot(outputs[1]), parse_mermaid(outputs[2])


def names(data: dict) -> dict[str, tuple[str, str]]:
    return {f"n{i}": (n["namespace"], n["name"]) for i, n in enumerate(data["nodes"])}


def test_the_residency_violation_is_a_red_edge_named_after_its_rule(cli, sample_db):
    data, dot, mermaid = drawn(cli, sample_db, "user_master", "--depth", "3")
    named = names(data)
    expected = set()
    for v in api.residency_check(sample_db, POLICY).payload["violations"]:
        source, target = (v["source"]["namespace"], v["source"]["name"]), (v["target"]["namespace"], v["target"]["name"])
        for job in v["jobs"] if {source, target} <= set(named.values()) else ():
            expected |= {(source, (job["namespace"], job["name"]), v["rule"]),
                         ((job["namespace"], job["name"]), target, v["rule"])}
    assert ("eu-stays-in-eu" in {rule for *_, rule in expected}
            and "pii-masked-before-analytics" in {rule for *_, rule in expected})
    in_dot = {(named[a], named[b], attrs["label"]) for a, b, attrs in dot["edges"] if attrs.get("color") == "red"}
    in_mermaid = {(named[a], named[b], label) for i, (a, b, label) in enumerate(mermaid["edges"]) if i in mermaid["red"]}
    assert in_dot == in_mermaid == expected
    assert all("color" not in attrs and "label" not in attrs for a, b, attrs in dot["edges"]
               if (named[a], named[b], attrs.get("label")) not in expected)  # the other edges are plain


def test_regions_root_and_pii_marks_agree_with_the_commands(cli, sample_db):
    data, dot, mermaid = drawn(cli, sample_db, "user_master", "--depth", "3")
    named = names(data)
    regions = {}
    for v in api.residency_check(sample_db, POLICY).payload["violations"]:
        for end in (v["source"], v["target"]):
            regions[(end["namespace"], end["name"])] = end["region"]
    assert regions[ROOT] == "eu" and "us" in regions.values()
    for node_id, name in named.items():
        if name in regions:
            assert dot["nodes"][node_id]["region"] == mermaid["nodes"][node_id]["region"] == regions[name]
    jobs = {f"n{i}" for i, n in enumerate(data["nodes"]) if n["kind"] == "job"}
    assert all(dot["nodes"][j]["region"] is None and mermaid["nodes"][j]["region"] is None for j in jobs)
    rooted = [named[n] for n, attrs in dot["nodes"].items() if "(root)" in attrs["label"]]
    assert rooted == [named[n] for n, node in mermaid["nodes"].items() if "root" in node["classes"]] == [ROOT]
    assert dot["nodes"][next(n for n in named if named[n] == ROOT)]["penwidth"] == "3"
    said = json.loads(cli("--db", sample_db, "--policy", POLICY, "pii", "-f", "json").stdout)
    holding = {(c["namespace"], c["name"]) for c in said["columns"] + said["propagated"]} & set(named.values())
    assert len(holding) >= 4  # tagged, globbed and propagated columns alike
    in_dot = {named[n] for n, attrs in dot["nodes"].items() if attrs.get("color") == "red" and "(PII)" in attrs["label"]}
    in_mermaid = {named[n] for n, node in mermaid["nodes"].items() if "pii" in node["classes"]}
    assert in_dot == in_mermaid == holding


def test_column_pictures_mark_pii_and_masked_columns_as_pii_says(cli, sample_db):
    data, dot, mermaid = drawn(cli, sample_db, "user_master", "--column", "email", "--direction", "downstream")
    said = json.loads(cli("--db", sample_db, "--policy", POLICY, "pii", "-f", "json").stdout)
    columns = {(c["namespace"], c["name"], c["column"].lower()) for c in said["columns"] + said["propagated"]}
    pictured = {f"n{i}": (n["namespace"], n["name"], n["column"].lower()) for i, n in enumerate(data["nodes"])}
    assert {pictured[n] for n, node in mermaid["nodes"].items() if "pii" in node["classes"]} == (
        set(pictured.values()) & columns)
    masked = [pictured[n] for n, attrs in dot["nodes"].items() if "(masked)" in attrs["label"]]
    assert masked == [(c["namespace"], c["name"], c["column"]) for c in said["propagated"] if c["masked"]] == [
        ("bigquery", "acme-eu.staging.orders_enriched", "email_hash")]
    red = [(pictured[a], pictured[b], label) for i, (a, b, label) in enumerate(mermaid["edges"]) if i in mermaid["red"]]
    assert red == [(ROOT + ("email",), ("snowflake://acme-us", "ANALYTICS.MARKETING.EU_USER_EXPORT", "email"),
                    "eu-stays-in-eu: DIRECT/IDENTITY")]


def test_a_failed_last_run_is_drawn_red(cli, db, tmp_path):
    events = [run_event("r1", job="load", time="2026-11-20T02:00:00Z", inputs=[("ns", "src")], outputs=[("ns", "dst")]),
              run_event("r2", job="load", event_type="FAIL", time="2026-11-21T02:00:00Z",
                        inputs=[("ns", "src")], outputs=[("ns", "dst")]),
              run_event("r3", job="copy", time="2026-11-21T03:00:00Z", inputs=[("ns", "dst")], outputs=[("ns", "out")])]
    api.ingest([write_ndjson(tmp_path / "e.ndjson", events)], db)
    data, dot, mermaid = drawn(cli, db, "dst")
    named = {f"n{i}": n["name"] for i, n in enumerate(data["nodes"])}
    failed_dot = {named[n] for n, attrs in dot["nodes"].items() if attrs.get("fillcolor") and "(failed)" in attrs["label"]}
    failed_mermaid = {named[n] for n, node in mermaid["nodes"].items() if "failed" in node["classes"]}
    assert failed_dot == failed_mermaid == {"load", "dst"}  # the job and what its failed run wrote last


def test_datasets_only_hides_the_jobs_in_every_format(cli, sample_db):
    full = api.graph("user_master", sample_db, depth=3, policy=POLICY).payload
    data, dot, mermaid = drawn(cli, sample_db, "user_master", "--depth", "3", "--datasets-only")
    assert {n["kind"] for n in data["nodes"]} == {"dataset", "model"}
    by_id = {n["id"]: (n["namespace"], n["name"]) for n in full["nodes"]}
    through = {(by_id[a["source"]], by_id[b["target"]]) for a in full["edges"] for b in full["edges"]
               if a["target"] == b["source"] and a["target"].startswith("j")}
    named = names(data)
    assert {(named[a], named[b]) for a, b, _ in dot["edges"]} == {(named[a], named[b]) for a, b, _ in mermaid["edges"]} == through
    assert [(named[a], named[b], label) for i, (a, b, label) in enumerate(mermaid["edges"]) if i in mermaid["red"]] == [
        (("bigquery", "acme-eu.staging.orders_enriched"), ("bigquery", "acme-eu.analytics_prod.user_features"),
         "pii-masked-before-analytics"),
        (ROOT, ("snowflake://acme-us", "ANALYTICS.MARKETING.EU_USER_EXPORT"), "eu-stays-in-eu")]
    for whole in (False, True):
        page = api.graph_page(None if whole else "user_master", sample_db, whole=whole, depth=3, policy=POLICY,
                              datasets_only=True).payload
        page_names = {n["id"]: (n["namespace"], n["name"]) for n in page["nodes"]}
        assert all(n["kind"] != "job" for n in page["nodes"]) and page["edges"]
        edges = {(page_names[e["source"]], page_names[e["target"]]) for e in page["edges"]}
        assert through <= edges if whole else edges == through
        assert [e["rules"] for e in page["edges"] if page_names[e["source"]] == ROOT and
                page_names[e["target"]][0] == "snowflake://acme-us"] == [["eu-stays-in-eu"]]


def test_html_keeps_the_selected_datasets_as_dot_does(cli, sample_db, tmp_path):
    for option in (["--exclude", "namespace:snowflake*"], ["--select", "namespace:bigquery"]):
        pictured = json.loads(cli("--db", sample_db, "graph", "user_master", "--depth", "3", *option, "-f", "json").stdout)
        out = tmp_path / "page.html"
        result = cli("--db", sample_db, "graph", "user_master", "--depth", "3", *option, "-f", "html", "-o", out)
        assert result.exit_code == 0, result.stderr
        found = re.search(r'<script type="application/json" id="lineage-data">(.*?)</script>',
                          out.read_text(encoding="utf-8"), re.S)
        page = json.loads(found.group(1))
        assert sorted((n["namespace"], n["name"]) for n in page["nodes"]) == sorted(
            (n["namespace"], n["name"]) for n in pictured["nodes"])
    everything = api.graph_page(None, sample_db, whole=True).payload
    only = api.graph_page(None, sample_db, whole=True, select="namespace:bigquery").payload
    kept = {n["namespace"] for n in only["nodes"] if n["kind"] != "job"}
    assert kept == {"bigquery"} and len(only["nodes"]) < len(everything["nodes"])


def test_a_large_picture_warns_how_to_narrow_it(cli, db, tmp_path):
    outputs = [("ns", f"part_{i:03}") for i in range(320)]
    api.ingest([write_ndjson(tmp_path / "e.ndjson", [run_event("r1", inputs=[("ns", "src")], outputs=outputs)])], db)
    for fmt in ("dot", "mermaid"):
        result = cli("--db", db, "graph", "src", "-f", fmt)
        assert result.exit_code == 0
        assert "Warning: 322 nodes" in result.stderr and "--depth" in result.stderr and "-f html" in result.stderr
        assert "Warning" not in result.stdout
    assert "Warning" not in cli("--db", db, "graph", "src", "-f", "json").stderr
    assert "Warning" not in cli("--db", db, "graph", "part_001", "-f", "dot").stderr  # 3 nodes


def test_hostile_region_and_rule_names_stay_escaped(cli, db, tmp_path):
    evil_region, evil_rule = 'e"u]|<b>\n#quot;', 'stay"]; click n0 "x|`'
    policy = tmp_path / "p.yaml"
    policy.write_text("regions:\n  " + json.dumps(evil_region) + ': ["ns*"]\n  us: ["us*"]\n'
                      "residency:\n  - name: " + json.dumps(evil_rule) + "\n    from: " + json.dumps(evil_region)
                      + "\n    allowed: [" + json.dumps(evil_region) + "]\n", encoding="utf-8")
    evil_name = 'x"];\n</script>|[`]\\'
    api.ingest([write_ndjson(tmp_path / "e.ndjson", [run_event("r1", inputs=[("ns", evil_name)],
                                                               outputs=[("us", "sink")])])], db)
    dot_text = cli("--db", db, "--policy", policy, "graph", "sink", "-f", "dot").stdout
    dot = parse_dot(dot_text)
    assert len(dot["nodes"]) == 3 and len(dot["edges"]) == 2  # every line understood: nothing broke out
    assert {attrs["region"] for attrs in dot["nodes"].values()} == {evil_region, "us", None}
    assert {attrs.get("label") for _, _, attrs in dot["edges"]} == {evil_rule}
    assert any(evil_name in attrs["label"] for attrs in dot["nodes"].values())
    mermaid = parse_mermaid(cli("--db", db, "--policy", policy, "graph", "sink", "-f", "mermaid").stdout)
    assert {node["region"] for node in mermaid["nodes"].values()} == {evil_region.replace("\n", " "), "us", None}
    assert {label for _, _, label in mermaid["edges"]} == {evil_rule} and mermaid["red"] == {0, 1}
    assert any(evil_name.replace("\n", " ") in node["label"] for node in mermaid["nodes"].values())
