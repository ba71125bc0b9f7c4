"""Running the examples users copy (README lines, ``--help`` examples) as they would.

A plain ``lineagectl …`` line runs in-process (fast, the same code); a line with a pipe,
a redirection or another program first runs in ``bash`` with a ``lineagectl`` on ``PATH``
that is this checkout's. Either way in a working directory left as the README's Quick
start leaves a checkout: the sample, the sample's policy copied beside it, and the store.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from conftest import ROOT, SAMPLE

SHELL_SYNTAX = re.compile(r"[|<>;&`$]|^\w+=")


@dataclass
class Ran:
    exit_code: int
    stdout: str
    stderr: str


def shim(folder: Path) -> Path:
    """A ``bin`` folder holding a ``lineagectl`` that runs this checkout with this interpreter."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "lineagectl"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m lineagectl "$@"\n', encoding="utf-8")
    script.chmod(0o755)
    return bin_dir


def shell_env(bin_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGECTL_") or k == "LINEAGECTL_CORPUS"}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return env


def needs_shell(command: str) -> bool:
    return not command.startswith("lineagectl ") or bool(SHELL_SYNTAX.search(command.split(" #")[0]))


def run(command: str, cwd: Path, bin_dir: Path) -> Ran:
    """Run one example line in ``cwd`` (its ``# comment`` is the shell's)."""
    if needs_shell(command):
        done = subprocess.run(["bash", "-c", command], cwd=cwd, env=shell_env(bin_dir), capture_output=True,
                              text=True, timeout=120)
        return Ran(done.returncode, done.stdout, done.stderr)
    from typer.testing import CliRunner

    from lineagectl.cli import app

    here = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, shlex.split(command, comments=True)[1:])
    finally:
        os.chdir(here)
    return Ran(result.exit_code, result.stdout, result.stderr)


def after_quick_start(folder: Path, steps: list[str]) -> Path:
    """``folder`` as the Quick start's ``steps`` (its command after the install) leave a checkout."""
    (folder / "sample_events").symlink_to(SAMPLE)
    (folder / "examples").symlink_to(ROOT / "examples")  # a checkout has them too (``diff``'s manifests)
    bin_dir = shim(folder)
    for step in steps:
        ran = run(step, folder, bin_dir)
        assert ran.exit_code == 0, f"Quick start: {step}\n{ran.stderr}"
    return folder


def copy_of(state: Path, into: Path) -> Path:
    """A copy of a prepared working directory (the sample stays a link)."""
    shutil.copytree(state, into, symlinks=True)
    return into


def expected_exit(command: str) -> int:
    """The exit status an example says it has: ``exit N`` in its comment, else 0."""
    comment = command.split("#", 1)[1] if "#" in command else ""
    said = re.search(r"\bexit (\d+)\b", comment, re.I)
    return int(said[1]) if said else 0
