"""``lineagectl diff``: the impact of a dbt change before it ships (two manifests; a store with ``--db``).

Like every command: options -> one library call (``api.diff``) -> render -> exit
code: 1 when a change is breaking, 2 on a file that is not a dbt manifest.
OLD and NEW may be manifest files or folders holding ``manifest.json`` (and
``catalog.json``), as dbt's ``target/`` and ``--state`` folders do.
"""

from __future__ import annotations

import os
from typing import Annotated, Literal, get_args

import typer

from lineagectl import api
from lineagectl.cli import OutputOption, PolicyOption, command, finish
from lineagectl.cli.environment import policy_path, settings, store
from lineagectl.errors import InputError

DiffFormats = Literal["table", "json", "ndjson", "csv", "markdown", "github", "junit", "sarif"]
FailOn = Literal["breaking", "partial", "violation", "never"]


@command("diff", panel="Query", examples=(
    "# A pull request against production: exit 1 (it breaks what others read)",
    "lineagectl diff examples/diff/prod examples/diff/pr",
    "# dbt's --state convention, as a pull-request comment (exit 1)",
    "lineagectl diff --state examples/diff/prod examples/diff/pr -f markdown",
    "# Every change as JSON (exit 1)",
    "lineagectl diff examples/diff/prod/manifest.json examples/diff/pr -f json",
    "# Also what reads the tables outside dbt, by a store's lineage (exit 1)",
    "lineagectl diff examples/diff/prod examples/diff/pr --db lineage.duckdb"))
def diff(manifests: Annotated[list[str], typer.Argument(
            metavar="[OLD] NEW", show_default=False,
            help="Old (production's) and new manifest.json, or folders holding them; only NEW with --state.")],
         state: Annotated[str | None, typer.Option(
            "--state", metavar="DIR", help="Folder of the old manifest.json (and catalog.json), as dbt's --state.")
         ] = None,
         old_catalog: Annotated[str | None, typer.Option(
            "--old-catalog", metavar="FILE", help="catalog.json of the old manifest (column types).")] = None,
         new_catalog: Annotated[str | None, typer.Option(
            "--new-catalog", metavar="FILE", help="catalog.json of the new manifest (column types).")] = None,
         policy: PolicyOption = None,
         db: Annotated[str | None, typer.Option(
            "--db", metavar="PATH", show_default=False,
            help="A lineagectl store (read-only): also the consumers outside dbt its runtime lineage knows "
                 "(dashboards, exports, ML models) and their owners.")] = None,
         fail_on: Annotated[FailOn, typer.Option(
            "--fail-on", metavar="WHAT", case_sensitive=False,
            help="Exit 1 on: breaking (a breaking change or new violation), partial (also a partial "
                 "change), violation (only a new violation), never.")] = "breaking",
         fmt: Annotated[DiffFormats, typer.Option(
            "--format", "-f", metavar="FORMAT", case_sensitive=False,
            help="table, json, ndjson, csv, markdown (a pull-request comment), or github, junit, sarif.")
         ] = "table",
         output: OutputOption = None) -> None:
    """What a dbt change breaks, before it ships.

    Exit 1 on a breaking change. Compares two manifests by dbt's state:modified
    rules, classes each column change of the modified models (breaking, partial,
    non-breaking) and lists the columns, owners and exposures it reaches downstream.
    """
    if state is not None:
        if len(manifests) != 1:
            raise InputError("with --state, give only the new manifest")
        manifests = [state, *manifests]
    elif len(manifests) != 2:
        raise InputError("give the old and the new manifest (or --state DIR and the new one)")
    old, old_catalog = _artifacts(manifests[0], old_catalog)
    new, new_catalog = _artifacts(manifests[1], new_catalog)
    # Only a store asked for (--db, here or before the command): $LINEAGECTL_DB and lineagectl.yaml's
    # db: name the store of every other command, and a diff in CI must not change with them.
    chosen = db or settings.db
    finish(api.diff(old, new, old_catalog, new_catalog, policy_path(policy), fail_on,
                    store(chosen) if chosen else None), fmt, output, get_args(DiffFormats))


def _artifacts(path: str, catalog: str | None) -> tuple[str, str | None]:
    """A manifest path, and its catalog: a folder's ``manifest.json`` and, unless given, its ``catalog.json``."""
    if not os.path.isdir(path):
        return path, catalog
    found = os.path.join(path, "catalog.json")
    return os.path.join(path, "manifest.json"), catalog or (found if os.path.isfile(found) else None)
