"""``lineagectl diff``: the impact of a dbt change before it ships (two manifests, no store).

Like every command: options -> one library call (``api.diff``) -> render -> exit
code: 1 when a change is breaking, 2 on a file that is not a dbt manifest.
"""

from __future__ import annotations

import os
from typing import Annotated, Literal, get_args

import typer

from lineagectl import api
from lineagectl.cli import OutputOption, PolicyOption, command, finish
from lineagectl.cli.environment import policy_path
from lineagectl.errors import InputError

DiffFormats = Literal["table", "json", "ndjson", "csv", "markdown", "github", "junit", "sarif"]
_SAMPLE = "examples/dbt_diff"


@command("diff", panel="Query", examples=(
    "# A pull request's manifest against production's: exit 1 (it breaks a column customers reads)",
    f"lineagectl diff {_SAMPLE}/base/manifest.json {_SAMPLE}/pr/manifest.json",
    "# dbt's convention: --state names the folder of production's manifest; a PR comment (exit 1)",
    f"lineagectl diff --state {_SAMPLE}/base {_SAMPLE}/pr/manifest.json -f markdown",
    "# Everything as JSON, for a script (exit 1)",
    f"lineagectl diff {_SAMPLE}/base/manifest.json {_SAMPLE}/pr/manifest.json -f json"))
def diff(manifests: Annotated[list[str], typer.Argument(
            metavar="[OLD] NEW", help="The old (production's) and new dbt manifest.json; only NEW with --state.",
            show_default=False)],
         state: Annotated[str | None, typer.Option(
            "--state", metavar="DIR", help="Folder of the old manifest.json (and catalog.json), as dbt's --state.")
         ] = None,
         old_catalog: Annotated[str | None, typer.Option(
            "--old-catalog", metavar="FILE", help="catalog.json of the old manifest (column types).")] = None,
         new_catalog: Annotated[str | None, typer.Option(
            "--new-catalog", metavar="FILE", help="catalog.json of the new manifest (column types).")] = None,
         policy: PolicyOption = None,
         fmt: Annotated[DiffFormats, typer.Option(
            "--format", "-f", metavar="FORMAT", case_sensitive=False,
            help="table, json, ndjson, csv, markdown (a pull-request comment), or github, junit, sarif.")
         ] = "table",
         output: OutputOption = None) -> None:
    """What a dbt change breaks, before it ships (exit 1 if breaking).

    Compares two manifests by dbt's state:modified rules, classifies each column
    change of the modified models (breaking, partial, non-breaking) and lists the
    columns, owners and exposures it reaches downstream.
    """
    if state is not None:
        if len(manifests) != 1:
            raise InputError("with --state, give only the new manifest")
        old, new = os.path.join(state, "manifest.json"), manifests[0]
        catalog = os.path.join(state, "catalog.json")
        if old_catalog is None and os.path.isfile(catalog):
            old_catalog = catalog
    elif len(manifests) != 2:
        raise InputError("give the old and the new manifest (or --state DIR and the new one)")
    else:
        old, new = manifests
    finish(api.diff(old, new, old_catalog, new_catalog, policy_path(policy)), fmt, output, get_args(DiffFormats))
