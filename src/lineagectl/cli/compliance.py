"""Compliance commands: pii, erase, access, residency-check / check, policy check.

Like every command: options → one library call → render → exit code. Check
commands exit 1 when they find violations (``--no-fail`` keeps 0 while a rule is
rolled out) and offer the CI formats github, junit and sarif.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

import typer

from lineagectl import api
from lineagectl.cli import (
    DbOption,
    FormatOption,
    NamespaceOption,
    OutputOption,
    PolicyOption,
    app,
    command,
    emit,
    finish,
)
from lineagectl.cli.environment import policy_path, settings, store

PlanFormats = Literal["table", "json", "ndjson", "csv", "markdown", "name"]
CheckFormats = Literal["table", "json", "ndjson", "csv", "github", "junit", "sarif", "markdown"]
PLAN_FORMATS: tuple[str, ...] = get_args(PlanFormats)
CHECK_FORMATS: tuple[str, ...] = get_args(CheckFormats)
PlanFormat = Annotated[PlanFormats, typer.Option(
    "--format", "-f", metavar="FORMAT", case_sensitive=False,
    help="table, json, ndjson, csv, markdown (a plan to paste) or name (one namespace/name per line).")]
CheckFormat = Annotated[CheckFormats, typer.Option(
    "--format", "-f", metavar="FORMAT", case_sensitive=False,
    help="table, json, ndjson, csv, github, junit, sarif or markdown.")]
SubjectColumn = Annotated[str | None, typer.Option(
    "--column", metavar="COL",
    help="The identifier column (case-insensitive): in NAME, or every column of that name anywhere.")]
SubjectValue = Annotated[str | None, typer.Option(
    "--value", metavar="V", help="The subject's value; bound as a parameter, never put into SQL text.")]
DialectOption = Annotated[str | None, typer.Option(
    "--dialect", metavar="D", help="SQL dialect for every statement (default: from each dataset's namespace).")]
TagOption = Annotated[str | None, typer.Option(
    "--tag", metavar="TAG", help="Seed from every column with this field-level tag (pii: every PII column).")]
PlanName = Annotated[str | None, typer.Argument(
    help="Only the column in this dataset (default: every dataset).", show_default=False)]


@command("pii")
def pii(policy: PolicyOption = None, db: DbOption = None,
        fmt: Annotated[PlanFormats, typer.Option(
            "--format", "-f", metavar="FORMAT", case_sensitive=False,
            help="table, json, ndjson, csv, markdown or name (namespace/name.column per line).")] = "table",
        output: OutputOption = None) -> None:
    """Personal-data columns (tags, dbt meta/tags, policy globs) and every column they reach via DIRECT lineage."""
    emit(api.pii(store(db), policy_path(policy)), fmt, output, allowed=PLAN_FORMATS)


@command("erase")
def erase(name: PlanName = None, column: SubjectColumn = None, value: SubjectValue = None,
          dialect: DialectOption = None, tag: TagOption = None, namespace: NamespaceOption = None,
          policy: PolicyOption = None, db: DbOption = None, fmt: PlanFormat = "table",
          output: OutputOption = None) -> None:
    """GDPR erasure plan: what to delete, recompute, review and retrain for a subject, upstream first."""
    emit(api.erase(column, store(db), name=name, value=value, dialect=dialect, tag=tag, namespace=namespace,
                   policy=policy_path(policy)), fmt, output, allowed=PLAN_FORMATS)


@command("access")
def access(name: PlanName = None, column: SubjectColumn = None, value: SubjectValue = None,
           dialect: DialectOption = None, tag: TagOption = None, namespace: NamespaceOption = None,
           policy: PolicyOption = None, db: DbOption = None, fmt: PlanFormat = "table",
           output: OutputOption = None) -> None:
    """GDPR subject-access plan: every dataset holding the subject's records, with a SELECT for each."""
    emit(api.access(column, store(db), name=name, value=value, dialect=dialect, tag=tag, namespace=namespace,
                    policy=policy_path(policy)), fmt, output, allowed=PLAN_FORMATS)


NoFailOption = Annotated[bool, typer.Option(
    "--no-fail", help="Exit 0 even when there are violations (for rolling out a rule).")]


@command("residency-check", "check")
def residency_check(policy: PolicyOption = None, no_fail: NoFailOption = False, db: DbOption = None,
                    fmt: CheckFormat = "table", output: OutputOption = None) -> None:
    """Check the policy's residency and flow rules: exit 1 on violations (alias: check)."""
    finish(api.residency_check(store(db), policy_path(policy)), fmt, output, CHECK_FORMATS, no_fail=no_fail)


policy_app = typer.Typer(help="Work with the policy file (lineagectl.yaml).", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


@policy_app.command("check")
def policy_check(
    path: Annotated[str | None, typer.Argument(
        help="Policy file (default: --policy, $LINEAGECTL_POLICY, ./lineagectl.yaml).", show_default=False)] = None,
    db: DbOption = None,
    fmt: FormatOption = "table",
    output: OutputOption = None) -> None:
    """Validate a policy file and show how its regions map the datasets in the store."""
    from lineagectl.cli.boundary import handled

    handled(lambda: emit(api.policy_check(path or policy_path(), store(db)), fmt, output),
            debug=lambda: settings.debug)()
