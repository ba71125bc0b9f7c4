"""The README's examples work: every `$ lineagectl …` line of its console blocks runs on
the sample store, and the output it shows is what lineagectl prints.

A user copies these lines first; a renamed option or a stale figure there is a bug.
"""

from __future__ import annotations

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


# --- what an example claims: parsed from the README, never copied into this file --------------

JSON_PAIR = re.compile(r'"(\w+)": ("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null)')
# "173 events", "+13 datasets", "1 file(s)": a count and what it counts (not "0.55s", not "2026-11-19").
COUNT = re.compile(r"(?<![\w.:+-])([+-]?\d+) ([A-Za-z][\w()]*)")
# Dataset-like names: words joined by . or / ("shop.public.user_master", "events/clickstream").
NAME = re.compile(r"(?<![\w./:-])[A-Za-z_][\w-]*(?:[./][\w-]+)+")
DURATION = re.compile(r"\b\d+(?:\.\d+)?s\b")


def comment(command: str) -> str:
    return command.split(" # ", 1)[1] if " # " in command else ""


def subcommand(command: str) -> str:
    """The command word of an example (`residency-check`), after global options and their values."""
    args, skip = argv(command), False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("--db", "--policy", "--wait"):
            skip = True
        elif not arg.startswith("-"):
            return arg
    raise AssertionError(f"no command in {command}")


def expected_exit_codes() -> dict[str, int]:
    """The exit code each runnable example claims: ``exit N`` in its comment, else that of an earlier
    example of the same command (another format of the same check), else 0; "report only" is 0."""
    claimed, expected = {}, {}
    for command in RUNNABLE:
        said = re.search(r"\bexit (\d+)\b", comment(command))
        if said:
            claimed[subcommand(command)] = expected[command] = int(said[1])
        elif "report only" in comment(command):
            expected[command] = 0
        else:
            expected[command] = claimed.get(subcommand(command), 0)
    return expected


EXIT = expected_exit_codes()


def claims(shown: list[str]) -> dict:
    """What the output under an example says: JSON figures, counts with their nouns, names."""
    text = "\n".join(shown)
    return {"pairs": set(JSON_PAIR.findall(text)), "counts": COUNT.findall(text), "names": set(NAME.findall(text)),
            "lines": [] if text.lstrip().startswith(("{", "[")) else
            [DURATION.sub("…s", line.strip()) for line in shown if line.strip()]}


def assert_shows(result, command: str, shown: list[str]) -> None:
    """The real output contains every figure, count and name the README shows under ``command``."""
    output = result.stdout + result.stderr
    said = claims(shown)
    assert said["pairs"] or said["counts"] or said["names"], f"nothing to check under {command}: {shown}"
    missing = said["pairs"] - set(JSON_PAIR.findall(output))
    assert not missing, f"{command}: README shows {sorted(missing)}\n{output}"
    counts = iter(COUNT.findall(output))
    assert all(count in counts for count in said["counts"]), (  # in the order shown
        f"{command}: README shows {said['counts']}\nreal: {COUNT.findall(output)}")
    assert not said["names"] - set(NAME.findall(output)), f"{command}: {said['names']}\n{output}"
    real_lines = [DURATION.sub("…s", line.strip()) for line in output.splitlines()]
    assert all(line in real_lines for line in said["lines"]), f"{command}: {said['lines']}\n{output}"


def test_the_readme_has_examples_of_most_commands():
    assert len(RUNNABLE) >= 40
    assert len(EXAMPLES) - len(RUNNABLE) <= 4  # the dbt and zcat lines
    # The answers shown are checked below: ingest (3 lines) and stats at least.
    assert len([c for c, shown in EXAMPLES if c in RUNNABLE and any(s.strip() for s in shown)]) >= 4
    assert set(EXIT.values()) == {0, 1}  # a check with violations and a failing gate


def test_claims_are_read_from_the_shown_output():
    # The parser itself, on lines in the README's style.
    said = claims(['1 file(s): 17 events read, 0 rejected; +3 datasets in 0.55s',
                   '{"datasets": 13, "name": "shop.public.user_master", ...}'])
    assert said["counts"] == [("1", "file(s)"), ("17", "events"), ("0", "rejected"), ("+3", "datasets")]
    assert said["pairs"] == {("datasets", "13"), ("name", '"shop.public.user_master"')}
    assert said["names"] == {"shop.public.user_master"}
    assert said["lines"] == ["1 file(s): 17 events read, 0 rejected; +3 datasets in …s",
                             '{"datasets": 13, "name": "shop.public.user_master", ...}']


# The ingest lines are checked in their order on a fresh store below.
@pytest.mark.parametrize("command", [c for c in RUNNABLE if not c.startswith("lineagectl ingest")])
def test_every_readme_example_runs_on_the_sample(cli, workdir, command):
    result = cli(*argv(command))
    # The exit code the README states (1 is a finding: violations, a failing gate), else 0.
    assert result.exit_code == EXIT[command], f"{command}\n{result.stderr}"
    assert not result.stderr.startswith("Error"), f"{command}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    shown = dict(EXAMPLES)[command]
    if any(line.strip() for line in shown):
        assert_shows(result, command, shown)
    elif "-o " in command:
        assert (workdir / argv(command)[argv(command).index("-o") + 1]).stat().st_size > 0
    elif "--dry-run" not in command and "prune" not in command:
        assert result.stdout.strip(), f"{command} printed nothing"


def test_ingest_examples_print_what_the_readme_shows(cli, tmp_path, monkeypatch):
    (tmp_path / "sample_events").symlink_to(SAMPLE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LINEAGECTL_DB", raising=False)
    ingests = [(c, shown) for c, shown in EXAMPLES if c.startswith("lineagectl ingest sample_events")]
    assert len(ingests) == 3
    for command, shown in ingests:  # in the README's order: the first fills the store
        result = cli(*argv(command))
        assert result.exit_code == EXIT[command], result.stderr
        assert_shows(result, command, shown)


def test_the_library_example_runs_and_answers_as_the_cli_does(tmp_path):
    """The README's ``As a library`` block, run as a user would (from a checkout), prints the
    same answers as the commands above it."""
    import json
    import subprocess
    import sys

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## As a library"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    (tmp_path / "sample_events").symlink_to(SAMPLE)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "173 0 0"  # 173 new events, none rejected, ExitStatus.OK
    assert lines[1] == "13"
    impacted = json.loads(lines[2].replace("'", '"'))
    assert "acme-eu.analytics_prod.daily_revenue_by_country" in impacted and len(impacted) == 7
    assert "'column': 'amount'" in lines[3] or "'column': 'revenue'" in lines[3]
    ok, violations, status = lines[4].split()
    assert ok == "False" and int(violations) > 0 and status == "1"
