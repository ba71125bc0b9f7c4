"""Every example a ``--help`` shows works: each ``$ lineagectl …`` line of every command's help
(read from the real help output) runs on the sample, as the Quick start leaves a checkout,
and exits as its comment says (``Exit 1 …``), else 0. Help can never show a broken example."""

from __future__ import annotations

import re

import pytest

from example_runner import after_quick_start, copy_of, expected_exit, run, shim
from test_help_format import COMMANDS
from test_readme import quick_start as readme_quick_start
from test_readme import steps_after_install


def help_examples(cli_args: list[str]) -> list[tuple[str, str]]:
    """(example line, the comment above it) for every example in the help of ``cli_args``."""
    from typer.testing import CliRunner

    from lineagectl.cli import app

    text = CliRunner().invoke(app, [*cli_args, "--help"], env={"COLUMNS": "80"}).stdout
    assert "\nExamples:\n" in text, f"lineagectl {' '.join(cli_args)} --help shows no examples"
    found, comment = [], ""
    for line in text.split("\nExamples:\n", 1)[1].splitlines():
        line = line.strip()
        if line.startswith("# "):
            comment = line
        elif line.startswith("$ "):
            found.append((line[2:], comment))
            comment = ""
    return found


HELPS = [[], *[name.split() for name in sorted(COMMANDS)]]
# import-marquez's examples need a running Marquez: tests/test_import_marquez.py runs them against
# its stand-in of Marquez's API (the same lines, the URL pointed at it).
NEEDS_MARQUEZ = "lineagectl import-marquez "
EXAMPLES = sorted({example for args in HELPS for example in help_examples(args)
                   if not example[0].startswith(NEEDS_MARQUEZ)})


@pytest.mark.parametrize("args", HELPS, ids=lambda args: " ".join(args) or "lineagectl")
def test_every_help_ends_with_two_to_four_examples(args):
    shown = help_examples(args)
    groups = {"policy"}  # a group's help points at its one command
    assert (1 if " ".join(args) in groups else 2) <= len(shown) <= 4, shown
    assert all(re.search(r"(^|\| )lineagectl ", line) for line, _ in shown), shown


@pytest.fixture(scope="module")
def quick_start(tmp_path_factory):
    """A checkout as the README's Quick start leaves it (its steps read from the README)."""
    return after_quick_start(tmp_path_factory.mktemp("quickstart"), steps_after_install(readme_quick_start()[0]))


@pytest.mark.parametrize("example, comment", EXAMPLES)
def test_every_help_example_runs(quick_start, tmp_path, example, comment):
    folder = copy_of(quick_start, tmp_path / "checkout")
    ran = run(example, folder, shim(folder))
    assert ran.exit_code == expected_exit(f"# {comment}"), f"{example}\n{ran.stderr}"
    assert "Error" not in ran.stderr and "Traceback" not in ran.stderr, ran.stderr
    if ">" not in example and "-o " not in example:
        assert ran.stdout.strip() or ran.stderr.strip(), f"{example} printed nothing"


def test_the_examples_runner_sees_failures(quick_start, tmp_path):
    folder = copy_of(quick_start, tmp_path / "checkout")
    assert run("lineagectl impact no_such_dataset", folder, shim(folder)).exit_code == 2
    assert run("echo x | lineagectl impact no_such_dataset", folder, shim(folder)).exit_code == 2
    assert expected_exit("# Exit 1 on violations") == 1 and expected_exit("# what it shows") == 0
