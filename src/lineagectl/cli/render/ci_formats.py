"""CI renderers (``github``, ``junit``, ``sarif``) for check results, and ``markdown`` for any result.

The CI formats read ``Result.rules`` (the rules checked; a rule without a
finding passed) and ``Result.findings`` (one dict per violation: ``rule``,
``level``, ``source``, ``target``, ``path``, ``jobs``, ``affected``,
``require``), and say each finding in one message composed here
(``finding_message``). Each is escaped for the program that reads it: GitHub
workflow commands with the Actions toolkit's percent-encoding, JUnit through
ElementTree, SARIF as exact JSON. ``markdown`` renders the tables of any
result's view, e.g. an ``erase`` plan to paste into a ticket.

Names come from lineage events and are untrusted. Every text format here drops
control characters (escape sequences, NUL, and what XML 1.0 forbids); JSON
keeps the exact text, escaped by the encoder.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from typing import TextIO

from lineagectl.cli.render import renderer
from lineagectl.cli.render.escape import clean
from lineagectl.cli.render.machine import qualified
from lineagectl.cli.render.views import Owners, View, view_of
from lineagectl.cli.render.views.compliance import located
from lineagectl.errors import InputError
from lineagectl.results import Result, counted, json_text

_NEWLINES = re.compile(r"\r\n|[\r\n]")
# Cell ends, code, emphasis (* always; _ and ~ where they touch no letter or digit: user_id
# stays as written), links and images ([ ] !), HTML and entities (< > &), and @mentions,
# which would notify whoever the name spells.
_MARKDOWN_SPECIAL = re.compile(r"([\\|`*\[\]<>&!@#]|(?<![^\W_])[_~]|[_~](?![^\W_]))")
# GitHub turns bare URLs and www. names into links: an escaped "/" or "." keeps them text.
_AUTOLINK = re.compile(r"(?i)(://|\bwww\.)")
# A GitHub user (alphanumerics and single inner hyphens, at most 39) or team (@org/slug), and nothing else.
_GITHUB_HANDLE = re.compile(r"@[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}(?:/[A-Za-z0-9](?:[A-Za-z0-9_-]{0,98}[A-Za-z0-9])?)?")
_SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


# --- shared: the check's rules and findings as text ---------------------------------------------

def _check(result: Result) -> tuple[list[str], list[dict]]:
    """The rules checked (in order, including any rule only a finding names) and the findings."""
    if result.rules is None and result.findings is None:
        raise InputError("this command checks no rules; the github, junit and sarif formats are for "
                         "check commands such as residency-check")
    findings = list(result.findings or [])
    rules = list(dict.fromkeys([*(result.rules or []), *(f["rule"] for f in findings)]))
    return rules, findings


def _short(ref: dict) -> str:
    """``name`` or ``name.column``."""
    return f"{ref['name']}.{ref['column']}" if ref.get("column") else ref["name"]


def _jobs(finding: dict) -> str:
    return ", ".join(f"{job['namespace']} {job['name']}" for job in finding.get("jobs") or [])


def _path(finding: dict) -> str:
    return " -> ".join(f"{step['namespace']} {_short(step)}" for step in finding.get("path") or [])


def finding_message(finding: dict) -> str:
    """One line saying what a finding found: the edge, the jobs on it, what it lacked, what lies beyond.

    ``eu-ns a (eu) -> us-ns b (us) via airflow://acme export; affected downstream: 1``
    """
    message = f"{located(finding['source'])} -> {located(finding['target'])} via {_jobs(finding) or 'no recorded job'}"
    if finding.get("require"):
        message += f" without {finding['require']}"
    if finding.get("affected"):
        message += f"; affected downstream: {len(finding['affected'])}"
    return message


# --- github -------------------------------------------------------------------------------------

def escape_data(text: str) -> str:
    """Escape a workflow command's message as ``@actions/core`` does (``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command property value as ``@actions/core`` does (``escapeProperty``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


@renderer("github")
def _github(result: Result, stream: TextIO, color: bool) -> None:
    rules, findings = _check(result)
    for finding in findings:
        command = "warning" if finding.get("level") == "warning" else "error"
        where = finding.get("location")
        place = (f"file={escape_property(clean(where['file']))},line={int(where['line'])},"
                 if where else "")
        stream.write(f"::{command} {place}title={escape_property(clean(finding['rule']))}"
                     f"::{escape_data(clean(finding_message(finding)))}\n")
    if not findings:
        stream.write(f"::notice title=lineagectl::{counted(len(rules), 'rule')} passed\n")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        _append_step_summary(summary, result, rules, findings)


def _append_step_summary(path: str, result: Result, rules: list[str], findings: list[dict]) -> None:
    """Append a markdown report to the job summary file GitHub Actions names in ``GITHUB_STEP_SUMMARY``."""
    failed = {f["rule"] for f in findings}
    errors = sum(f.get("level") != "warning" for f in findings)
    if not findings:
        status = f"✅ Passed: all {counted(len(rules), 'rule')}."
    else:
        mark, verdict = ("❌", "Failed") if errors else ("⚠️", "Passed with warnings")
        status = (f"{mark} {verdict}: {len(failed)} of {counted(len(rules), 'rule')} found "
                  f"{counted(len(findings), 'violation')}.")
    lines = ["", f"## {markdown_cell(view_of(result).title or 'lineagectl check')}", "", status]
    if findings:
        lines += ["", "| rule | source | target | jobs |", "| --- | --- | --- | --- |"]
        for f in findings:
            rule = f["rule"] + (" (warning)" if f.get("level") == "warning" else "")
            cells = (rule, located(f["source"]), located(f["target"]), _jobs(f))
            lines.append("| " + " | ".join(markdown_cell(c) for c in cells) + " |")
    try:
        with open(path, "a", encoding="utf-8") as summary:
            summary.write("\n".join(lines) + "\n")
    except OSError as exc:
        raise InputError(f"cannot append the job summary to {path!r} (from GITHUB_STEP_SUMMARY): "
                         f"{exc.strerror or exc}",
                         hint="unset GITHUB_STEP_SUMMARY outside GitHub Actions") from exc


# --- junit --------------------------------------------------------------------------------------

def _one_line(value: object) -> str:
    """``clean`` text on one line: JUnit viewers show attributes as text, where a newline
    inside a name would start a line of its own."""
    return _NEWLINES.sub(" ", clean(value))


def _failure_text(finding: dict) -> str:
    lines = [f"rule: {finding['rule']}", f"level: {finding.get('level', 'error')}",
             f"source: {located(finding['source'])}", f"target: {located(finding['target'])}"]
    if finding.get("path"):
        lines.append(f"path: {_path(finding)}")
    if finding.get("jobs"):
        lines.append(f"jobs: {_jobs(finding)}")
    # One line per field: a newline inside a name must not start a line (CI logs print bodies).
    return "\n".join(_NEWLINES.sub(" ", line) for line in lines)


@renderer("junit")
def _junit(result: Result, stream: TextIO, color: bool) -> None:
    import codecs
    import xml.etree.ElementTree as ET

    rules, findings = _check(result)
    failed = {f["rule"] for f in findings}
    counts = {"tests": str(len(rules) - len(failed) + len(findings)), "failures": str(len(findings)),
              "errors": "0", "skipped": "0"}
    root = ET.Element("testsuites", {"name": "lineagectl", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": "lineagectl", **counts})
    for rule in rules:
        classname = _one_line(f"lineagectl.{rule}")
        if rule not in failed:
            ET.SubElement(suite, "testcase", {"classname": classname, "name": _one_line(rule)})
            continue
        for finding in (f for f in findings if f["rule"] == rule):
            name = _one_line(f"{_short(finding['source'])} -> {_short(finding['target'])}")
            case = ET.SubElement(suite, "testcase", {"classname": classname, "name": name})
            failure = ET.SubElement(case, "failure", {"message": _one_line(finding_message(finding)),
                                                      "type": _one_line(rule)})
            # XML parsers turn CR and CRLF in text (not in attributes) into LF; write what they read.
            failure.text = _NEWLINES.sub("\n", clean(_failure_text(finding)))
    ET.indent(root)
    # Declare the encoding the stream really writes (UTF-8 for files and most consoles).
    encoding = codecs.lookup(getattr(stream, "encoding", None) or "utf-8").name.upper()
    stream.write(f'<?xml version="1.0" encoding="{encoding}"?>\n')
    stream.write(ET.tostring(root, encoding="unicode") + "\n")


# --- sarif --------------------------------------------------------------------------------------

def _logical(ref: dict) -> dict:
    return {"name": ref.get("column") or ref["name"], "fullyQualifiedName": qualified(ref),
            "kind": "member" if ref.get("column") else "resource"}


def _fingerprint(finding: dict) -> str:
    """A hash of rule, source and target only, so a violation keeps its identity across runs."""
    import hashlib

    key = [finding["rule"], *([ref["namespace"], ref["name"], ref.get("column") or ""]
                              for ref in (finding["source"], finding["target"]))]
    return hashlib.sha256(json_text(key, indent=False).encode()).hexdigest()


def _information_uri() -> str | None:
    """The project's home page from the installed package's metadata, if it declares one."""
    from importlib import metadata

    try:
        urls = metadata.metadata("lineagectl").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    return next((url.split(",", 1)[1].strip() for url in urls if "," in url), None)


def _physical(finding: dict) -> dict:
    where = finding.get("location")
    if not where:
        return {}
    return {"physicalLocation": {"artifactLocation": {"uri": where["file"]},
                                 "region": {"startLine": int(where["line"])}}}


@renderer("sarif")
def _sarif(result: Result, stream: TextIO, color: bool) -> None:
    from lineagectl import __version__

    rules, findings = _check(result)
    index = {rule: i for i, rule in enumerate(rules)}
    driver = {"name": "lineagectl", "version": __version__, "informationUri": _information_uri(),
              "rules": [{"id": rule, "shortDescription": {"text": f"lineagectl policy rule {rule}"}}
                        for rule in rules]}
    results = []
    for finding in findings:
        source, target = finding["source"], finding["target"]
        results.append({
            "ruleId": finding["rule"], "ruleIndex": index[finding["rule"]],
            "level": "warning" if finding.get("level") == "warning" else "error",
            "message": {"text": finding_message(finding)},
            # Datasets are not files: the target as a logical location, and the policy rule broken
            # as the physical one (GitHub code scanning rejects results without one).
            "locations": [{"logicalLocations": [_logical(target)]} | _physical(finding)],
            "relatedLocations": [{"id": 1, "logicalLocations": [_logical(source)],
                                  "message": {"text": "source"}}],
            "partialFingerprints": {"lineagectlFinding/v1": _fingerprint(finding)},
            "properties": {key: finding.get(key) or [] for key in ("path", "jobs")}
            | {"source": source, "target": target},
        })
    log = {"$schema": _SARIF_SCHEMA, "version": "2.1.0",
           "runs": [{"tool": {"driver": {k: v for k, v in driver.items() if v is not None}},
                     "results": results}]}
    stream.write(json_text(log, indent=True) + "\n")


# --- markdown -----------------------------------------------------------------------------------

def markdown_cell(value: object) -> str:
    """``value`` as one GitHub-flavoured markdown table cell (or heading) that renders as its text.

    Lists are joined by ", ", None is empty, newlines become spaces, control characters go,
    and characters that would end the cell or start markup (``| \\ ` * [ ] <``) are escaped.
    ``Owners`` are the exception: a name that is exactly a GitHub handle is written as a mention.
    """
    if value is None:
        return ""
    if isinstance(value, Owners):
        return ", ".join(name if _GITHUB_HANDLE.fullmatch(name) else markdown_cell(name) for name in value)
    if isinstance(value, bool):
        value = "yes" if value else "no"
    elif isinstance(value, (list, tuple)):
        value = ", ".join("" if v is None else str(v) for v in value)
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", _NEWLINES.sub(" ", clean(value)))
    return _AUTOLINK.sub(lambda m: ":\\/\\/" if m.group(1) == "://" else m.group(1)[:3] + "\\.", text)


def _markdown_table(part: View) -> list[str]:
    if not part.records or not part.columns:
        return ["(no results)"]
    lines = ["| " + " | ".join(markdown_cell(c) for c in part.columns) + " |",
             "|" + " --- |" * len(part.columns)]
    for record in part.records:
        lines.append("| " + " | ".join(markdown_cell(record.get(c)) for c in part.columns) + " |")
    return lines


def markdown_text(view: View) -> str:
    """A view as markdown: its title as a heading, its table, then each section's heading and table."""
    blocks = []
    if view.title:
        blocks.append([f"## {markdown_cell(view.title)}"])
    if view.records or not view.sections:
        blocks.append(_markdown_table(view))
    for section in view.sections:
        if section.title:
            blocks.append([f"### {markdown_cell(section.title)}"])
        blocks.append(_markdown_table(section))
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


# GitHub refuses a comment (a pull-request comment is what markdown is most often for) above this.
GITHUB_COMMENT_LIMIT = 65_536


def markdown_within(view: View, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    """``markdown_text(view)``; when that exceeds ``limit``, every table cut to its first rows (as
    many in each, halved until it fits), a last row saying how many were left out."""
    text = markdown_text(view)
    rows = max([len(view.records), *(len(s.records) for s in view.sections)])
    while len(text) > limit and rows > 0:
        rows //= 2
        text = markdown_text(replace(view, records=_cut(view, rows),
                                     sections=[replace(s, records=_cut(s, rows)) for s in view.sections]))
    return text


def _cut(part: View, rows: int) -> list[dict]:
    if len(part.records) <= rows or not part.columns:
        return part.records
    more = {part.columns[0]: f"… {len(part.records) - rows} more rows (the whole answer: -f json)"}
    return [*part.records[:rows], more]


@renderer("markdown")
def _markdown(result: Result, stream: TextIO, color: bool) -> None:
    stream.write(markdown_within(view_of(result)))
