"""The CI jobs of docs/diff.md are real files (examples/ci/), and their ``lineagectl diff`` lines work.

Each file is loaded as YAML and its shape checked (on pull/merge requests, the sticky comment found
by the hidden marker the diff step writes); then the step's lines that run ``lineagectl diff`` run
in bash, as the CI runner would, in a folder where production's downloaded artifacts and the
pull request's ``target/`` are the example manifests (examples/diff/prod and pr).
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import yaml

from conftest import ROOT
from example_runner import shell_env, shim

CI = ROOT / "examples" / "ci"
EXAMPLE = ROOT / "examples" / "diff"
MARKER = "<!-- lineagectl-diff -->"
DIFF_LINE = re.compile(r"(^|[;{]\s*)lineagectl diff ")


def _checkout(tmp_path: Path, state: str) -> Path:
    """A working folder as the job leaves it before the diff: production's artifacts at ``state``,
    ``target/`` the pull request's ``dbt parse`` (the example pair)."""
    (tmp_path / state).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / state).symlink_to(EXAMPLE / "prod")
    (tmp_path / "target").symlink_to(EXAMPLE / "pr")
    shim(tmp_path)
    return tmp_path


def _bash(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """``script`` as a CI runner runs a step: bash, stopping at the first failing command."""
    return subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**shell_env(cwd / "bin"), **env})


def _diff_lines(script: str) -> list[str]:
    return [line for line in script.splitlines() if DIFF_LINE.search(line)]


def test_the_github_workflow_keeps_one_sticky_comment_and_its_diff_lines_run(tmp_path):
    workflow = yaml.safe_load((CI / "github-dbt-diff.yml").read_text())
    assert workflow.get("on", workflow.get(True)) == "pull_request"  # YAML 1.1 reads a bare on: as true
    assert workflow["permissions"]["pull-requests"] == "write"
    steps = {step.get("name", step.get("run", step.get("uses"))): step for step in workflow["jobs"]["diff"]["steps"]}
    diff, sticky = steps["diff"]["run"], steps["sticky comment"]
    assert sticky["if"] == "always()"  # the comment is updated when the diff step fails the job too
    assert f'startswith("{MARKER}")' in sticky["run"] and "-F body=@comment.md" in sticky["run"]
    lines = _diff_lines(diff)
    assert [re.search(r"-f (\w+)", line)[1] for line in lines] == ["markdown", "github"]
    assert all("--state prod-artifacts target" in line for line in lines)
    assert "gh run download" in steps["production's manifest"]["run"] and "--dir prod-artifacts" in \
        steps["production's manifest"]["run"]

    folder = _checkout(tmp_path, "prod-artifacts")
    comment = _bash(lines[0], folder)
    assert comment.returncode == 0, comment.stderr  # --fail-on never: the comment is always written
    text = (folder / "comment.md").read_text()
    assert text.startswith(MARKER + "\n## 2 breaking changes, 0 partial, 1 non-breaking")
    annotations = _bash(lines[1], folder)
    assert annotations.returncode == 1  # breaking: the job fails
    assert annotations.stdout.startswith("::error file=models/stg_users.sql,line=1,title=breaking-change::")
    # the whole step, as the runner runs it: the comment written, then the job failed
    (folder / "comment.md").unlink()
    step = _bash(diff, folder)
    assert step.returncode == 1 and (folder / "comment.md").read_text() == text


def test_the_gitlab_job_keeps_one_sticky_note_and_its_diff_lines_run(tmp_path):
    job = yaml.safe_load((CI / "gitlab-dbt-diff.yml").read_text())["lineage-impact"]
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert job["variables"]["MARKER"] == MARKER
    script = job["script"]
    note = next(line for line in script if "/notes" in line)
    assert 'startswith($marker)' in note and '--arg marker "$MARKER"' in note and "PUT" in note
    lines = [line for entry in script for line in _diff_lines(entry)]
    assert [re.search(r"-f (\w+)", line)[1] for line in lines] == ["markdown", "junit"]
    # the note is posted before the line that fails the job, and the report is kept when it does
    assert script.index(note) < len(script) - 1 and DIFF_LINE.search(script[-1])
    assert job["artifacts"] == {"when": "always", "reports": {"junit": "lineage-impact.xml"}}

    folder = _checkout(tmp_path, "prod-artifacts/target")
    comment = _bash(lines[0], folder, MARKER=job["variables"]["MARKER"])
    assert comment.returncode == 0, comment.stderr
    assert (folder / "comment.md").read_text().startswith(MARKER + "\n## 2 breaking changes")
    report = _bash(lines[1], folder)
    assert report.returncode == 1, report.stderr
    suite = ElementTree.parse(folder / "lineage-impact.xml").getroot()
    failures = [case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None]
    assert len(failures) == 2 and all("stg_users" in name for name in failures)


def test_the_docs_point_at_the_tested_files():
    docs, readme = (ROOT / "docs" / "diff.md").read_text(), (ROOT / "README.md").read_text()
    for name in ("github-dbt-diff.yml", "gitlab-dbt-diff.yml"):
        assert f"examples/ci/{name}" in docs and f"examples/ci/{name}" in readme
