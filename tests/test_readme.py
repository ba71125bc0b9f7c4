"""The README's examples work: every `$ lineagectl …` line of its console blocks runs on
the sample store, and the output it shows is what lineagectl prints.

A user copies these lines first; a renamed option or a stale figure there is a bug.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil

import pytest

from conftest import ROOT, SAMPLE

CONSOLE = re.compile(r"^```console\n(.*?)^```", re.S | re.M)
# Examples that need what the sample does not have: a dbt project, a gzip archive.
NEEDS_OTHER_FILES = ("target/", "airflow-*", "model.jaffle_shop")


def readme_examples() -> list[tuple[str, list[str]]]:
    """(command line, output lines shown under it) for every `$ lineagectl` line of the README."""
    examples = []
    for block in CONSOLE.findall((ROOT / "README.md").read_text(encoding="utf-8")):
        lines = block.splitlines()
        for i, line in enumerate(lines):
            if not line.startswith("$ "):
                continue
            shown = []
            for following in lines[i + 1:]:
                if following.startswith("$ "):
                    break
                shown.append(following)
            examples.append((line[2:], shown))
    return examples


EXAMPLES = readme_examples()
RUNNABLE = [command for command, _ in EXAMPLES
            if command.startswith("lineagectl ") and not any(part in command for part in NEEDS_OTHER_FILES)]


def argv(command: str) -> list[str]:
    """The arguments of an example, without `lineagectl`, its comment, a pipe or a redirection."""
    command = command.split(" | ")[0].split(" > ")[0]
    return shlex.split(command, comments=True)[1:]


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    from typer.testing import CliRunner

    from lineagectl.cli import app

    store = tmp_path_factory.mktemp("readme") / "sample.duckdb"
    result = CliRunner().invoke(app, ["--db", str(store), "-q", "ingest", str(SAMPLE)])
    assert result.exit_code == 0, result.stderr
    return store


@pytest.fixture
def workdir(tmp_path, monkeypatch, sample_store):
    """A working directory as after the Quick start: the sample, its policy, a store."""
    (tmp_path / "sample_events").symlink_to(SAMPLE)
    shutil.copy(SAMPLE / "lineagectl.yaml", tmp_path / "lineagectl.yaml")
    shutil.copy(sample_store, tmp_path / "lineage.duckdb")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LINEAGECTL_DB", raising=False)
    monkeypatch.delenv("LINEAGECTL_POLICY", raising=False)
    return tmp_path


def test_the_readme_has_examples_of_most_commands():
    assert len(RUNNABLE) >= 40
    assert len(EXAMPLES) - len(RUNNABLE) <= 4  # the dbt and zcat lines


# The ingest lines are checked with their shown output below.
@pytest.mark.parametrize("command", [c for c in RUNNABLE if not c.startswith("lineagectl ingest")])
def test_every_readme_example_runs_on_the_sample(cli, workdir, command):
    result = cli(*argv(command))
    # 1 is a finding (violations, a quality gate), never a usage error (2) or a crash.
    assert result.exit_code in (0, 1), f"{command}\n{result.stderr}"
    assert not result.stderr.startswith("Error"), f"{command}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    if "-o " in command:
        assert (workdir / argv(command)[argv(command).index("-o") + 1]).stat().st_size > 0
    elif "--dry-run" not in command and "prune" not in command:
        assert result.stdout.strip(), f"{command} printed nothing"


def _without_time(line: str) -> str:
    return re.sub(r" in [\d.]+s$", " in …s", line.strip())


def test_ingest_examples_print_what_the_readme_shows(cli, tmp_path, monkeypatch):
    (tmp_path / "sample_events").symlink_to(SAMPLE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LINEAGECTL_DB", raising=False)
    ingests = [(c, shown) for c, shown in EXAMPLES if c.startswith("lineagectl ingest sample_events")]
    assert len(ingests) == 3
    for command, shown in ingests:
        result = cli(*argv(command))
        assert result.exit_code == 0, result.stderr
        assert [_without_time(line) for line in result.stderr.splitlines()] == [_without_time(s) for s in shown]


def test_stats_example_shows_the_samples_figures(cli, workdir):
    ((command, shown),) = [(c, s) for c, s in EXAMPLES if c.startswith("lineagectl stats")]
    figures = dict((key, int(value)) for key, value in re.findall(r'"(\w+)": (\d+)', " ".join(shown)))
    assert len(figures) >= 5
    actual = json.loads(cli(*argv(command)).stdout)
    assert {key: actual[key] for key in figures} == figures
