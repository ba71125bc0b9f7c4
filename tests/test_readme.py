"""The README's newcomer path works: after the Quick start's first command, every example of its
console blocks runs as written, in order, from the checkout, and prints what the README shows.

A user copies these lines first; a renamed option, a stale figure, a store or policy the
examples cannot find, or an answer that depends on today's date is a bug.
"""

from __future__ import annotations

import re

import pytest

from conftest import ROOT, SAMPLE
from example_runner import after_quick_start, copy_of, expected_exit, run, shim

README = (ROOT / "README.md").read_text(encoding="utf-8")
CONSOLE = re.compile(r"^```console\n(.*?)^```", re.S | re.M)
# Examples about the user's own files, which the sample does not have: a dbt project, SQL scripts.
NEEDS_OTHER_FILES = ("target/", "model.jaffle_shop", "etl/")


def quick_start() -> list[str]:
    """The Quick start's commands (one line each), in order."""
    section = README[README.index("## Quick start"):README.index("\n## ", README.index("## Quick start") + 1)]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def steps_after_install(command: str) -> list[str]:
    """What the first Quick start command does once lineagectl is installed (and its venv active)."""
    install = ("python3 -m venv", ". .venv/bin/activate", "pip install")
    return [step.strip() for step in command.split(" && ") if not step.strip().startswith(install)]


def console_blocks() -> list[list[tuple[str, list[str]]]]:
    """Every console block: its (command line, output lines shown under it), in order."""
    blocks = []
    for block in CONSOLE.findall(README):
        lines = block.splitlines()
        examples = []
        for i, line in enumerate(lines):
            if not line.startswith("$ "):
                continue
            shown = []
            for following in lines[i + 1:]:
                if following.startswith("$ "):
                    break
                shown.append(following)
            examples.append((line[2:], shown))
        blocks.append(examples)
    return blocks


BLOCKS = console_blocks()
EXAMPLES = [example for block in BLOCKS for example in block]
RUNNABLE_BLOCKS = [block for block in BLOCKS if not any(part in c for c, _ in block for part in NEEDS_OTHER_FILES)]


# --- what an example claims: parsed from the README, never copied into this file --------------

JSON_PAIR = re.compile(r'"(\w+)": ("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null)')
# "173 events", "+13 datasets", "1 file(s)": a count and what it counts (not "0.55s", not "2026-11-19").
COUNT = re.compile(r"(?<![\w.:+-])([+-]?\d+) ([A-Za-z][\w()]*)")
# Dataset-like names: words joined by . or / ("shop.public.user_master", "events/clickstream").
NAME = re.compile(r"(?<![\w./:-])[A-Za-z_][\w-]*(?:[./][\w-]+)+")
DURATION = re.compile(r"\b\d+(?:\.\d+)?s\b")
ELIDED = "…"


def tokens(line: str) -> list[str]:
    """A line's words, durations made alike, so tables match however they are padded."""
    return DURATION.sub("…s", line).split()


def claims(shown: list[str]) -> dict:
    """What the output under an example says: JSON figures, counts with their nouns, names, and
    (outside JSON) its lines, each a run of words in order, ``…`` standing for what is left out."""
    text = "\n".join(shown)
    return {"pairs": set(JSON_PAIR.findall(text)), "counts": COUNT.findall(text), "names": set(NAME.findall(text)),
            "lines": [] if text.lstrip().startswith(("{", "[")) else
            [[t for t in tokens(line) if t != ELIDED] for line in shown if line.strip() and line.strip() != ELIDED]}


def same(shown: str, real: str) -> bool:
    """A shown word is the real one; ``…/lineage.duckdb`` stands for a path ending so."""
    if len(shown) > 1 and shown.startswith(ELIDED):
        return real.endswith(shown[1:])
    return shown == real


def in_order(wanted: list[str], words: list[str]) -> bool:
    remaining = iter(words)
    return all(any(same(word, candidate) for candidate in remaining) for word in wanted)


def assert_shows(output: str, command: str, shown: list[str]) -> None:
    """The real output contains every figure, count, name and line the README shows under ``command``."""
    said = claims(shown)
    assert any(said.values()), f"the README shows no answer under {command}"
    missing = said["pairs"] - set(JSON_PAIR.findall(output))
    assert not missing, f"{command}: README shows {sorted(missing)}\n{output}"
    counts = iter(COUNT.findall(output))
    assert all(count in counts for count in said["counts"]), (  # in the order shown
        f"{command}: README shows {said['counts']}\nreal: {COUNT.findall(output)}")
    assert not said["names"] - set(NAME.findall(output)), f"{command}: {said['names']}\n{output}"
    real = [tokens(line) for line in output.splitlines()]
    for wanted in said["lines"]:
        assert any(in_order(wanted, words) for words in real), f"{command}: README shows {wanted}\n{output}"


def test_the_quick_start_is_two_commands_install_and_run_then_install_and_test():
    first, second = quick_start()
    assert first.startswith("python3 -m venv .venv && ") and "pip install -q -e ." in first
    assert "lineagectl ingest sample_events/" in first and "lineagectl impact user_master" in first
    assert "'.[test]'" in second and second.endswith("python -m pytest -q")


def test_the_readme_has_examples_of_most_commands_each_with_its_answer():
    runnable = [example for block in RUNNABLE_BLOCKS for example in block]
    assert len(runnable) >= 45
    assert len(EXAMPLES) - len(runnable) <= 5  # the dbt project and SQL scripts
    for command, shown in runnable:
        assert any(line.strip() for line in shown) or " > " in command or "-o " in command, (
            f"the README shows no answer under {command}")
    assert {expected_exit(c) for c, _ in runnable} == {0, 1}  # a check with violations and a failing gate
    assert not [c for c, _ in runnable if re.search(r"--(since|as-of) \d+[dhm]\b", c)]  # no answer that ages


def test_claims_are_read_from_the_shown_output():
    # The parser itself, on lines in the README's style.
    said = claims(['1 file(s): 17 events read, 0 rejected; +3 datasets in 0.55s',
                   '{"datasets": 13, "name": "shop.public.user_master", ...}', "…"])
    assert said["counts"] == [("1", "file(s)"), ("17", "events"), ("0", "rejected"), ("+3", "datasets")]
    assert said["pairs"] == {("datasets", "13"), ("name", '"shop.public.user_master"')}
    assert said["names"] == {"shop.public.user_master"}
    assert said["lines"][0] == ["1", "file(s):", "17", "events", "read,", "0", "rejected;", "+3", "datasets", "in",
                                "…s"]
    assert in_order(["a", "c"], ["a", "b", "c"]) and not in_order(["c", "a"], ["a", "b", "c"])
    assert in_order(["…/x.duckdb"], ["/tmp/q/x.duckdb"]) and not in_order(["…/x.duckdb"], ["/tmp/q/y.duckdb"])
    with pytest.raises(AssertionError):
        assert_shows("bigquery   orders   DATASET", "x", ["bigquery  orders  MODEL"])
    assert_shows("bigquery   a.orders   DATASET   team:x", "x", ["bigquery a.orders … team:x"])


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """A folder as the Quick start's first command leaves the checkout (run for real, from the README)."""
    return after_quick_start(tmp_path_factory.mktemp("quickstart"), steps_after_install(quick_start()[0]))


@pytest.mark.parametrize("block", RUNNABLE_BLOCKS, ids=lambda block: block[0][0][:60])
def test_every_console_block_runs_in_order_after_the_quick_start(checkout, tmp_path, block):
    folder = copy_of(checkout, tmp_path / "checkout")
    for command, shown in block:
        ran = run(command, folder, shim(folder))
        # The exit code the README states ("exit 1" in its comment: violations, a failing gate), else 0.
        assert ran.exit_code == expected_exit(command), f"{command}\n{ran.stderr}"
        assert not ran.stderr.startswith("Error") and "Traceback" not in ran.stderr, f"{command}\n{ran.stderr}"
        if any(line.strip() for line in shown):
            assert_shows(ran.stdout + ran.stderr, command, shown)
        else:  # its answer went to a file
            target = command.split(" > ")[1].split()[0] if " > " in command else command.split("-o ")[1].split()[0]
            assert (folder / target).stat().st_size > 0, command


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
