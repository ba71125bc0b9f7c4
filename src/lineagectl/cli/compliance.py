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
from lineagectl.cli.boundary import stderr
from lineagectl.cli.environment import policy_path, settings, store
from lineagectl.cli.helpformat import Command, SubGroup
from lineagectl.cli.helpformat import examples as examples_epilog
from lineagectl.results import Result

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
    metavar="NAME", help="Only the column in this dataset (default: every dataset).", show_default=False)]


@command("pii", panel="Compliance", examples=(
    "# PII columns (tags, dbt meta, the policy's globs) and where they flow",
    "lineagectl pii",
    "lineagectl --policy sample_events/lineagectl.yaml pii -f csv"))
def pii(policy: PolicyOption = None, db: DbOption = None,
        fmt: Annotated[PlanFormats, typer.Option(
            "--format", "-f", metavar="FORMAT", case_sensitive=False,
            help="table, json, ndjson, csv, markdown or name (namespace/name.column per line).")] = "table",
        output: OutputOption = None) -> None:
    """Personal-data columns and where they flow.

    PII columns (tags, dbt meta/tags, policy globs) and every column they reach via DIRECT
    lineage, masked or not.
    """
    result = api.pii(store(db), policy_path(policy))
    emit(result, fmt, output, allowed=PLAN_FORMATS)
    note_pii_without_policy(result)


def note_pii_without_policy(result: Result) -> None:
    """Say on stderr that no policy was read when ``result`` counted PII (``pii``, ``erase``/``access
    --tag pii``): "0 columns", or a short plan, must not read as "no personal data". ``-q`` silences
    it, as it does every note."""
    counted_pii = result.kind == "pii" or result.context.get("pii_rules")
    if counted_pii and result.context.get("policy") is None and not settings.quiet:
        stderr("Note: no policy file: only columns tagged as PII in the events and dbt manifests count "
               "(pass --policy PATH, or write lineagectl.yaml with pii: globs; see README: Policy file)")


@command("erase", panel="Compliance", examples=(
    "# Every column named user_id, anywhere",
    "lineagectl erase --column user_id --value 42",
    "lineagectl erase user_features --column user_id",
    "# Seeded from every PII column, as a ticket",
    "lineagectl erase --tag pii -f markdown > ticket.md"))
def erase(name: PlanName = None, column: SubjectColumn = None, value: SubjectValue = None,
          dialect: DialectOption = None, tag: TagOption = None, namespace: NamespaceOption = None,
          policy: PolicyOption = None, db: DbOption = None, fmt: PlanFormat = "table",
          output: OutputOption = None) -> None:
    """GDPR erasure plan for a data subject.

    What to delete, recompute, review and retrain, upstream first, with a parameterised
    statement per table.
    """
    result = api.erase(column, store(db), name=name, value=value, dialect=dialect, tag=tag, namespace=namespace,
                       policy=policy_path(policy))
    emit(result, fmt, output, allowed=PLAN_FORMATS)
    note_pii_without_policy(result)


@command("access", panel="Compliance", examples=(
    "lineagectl access --column user_id --value 42",
    "lineagectl access --column email --value ada@example.com -f markdown"))
def access(name: PlanName = None, column: SubjectColumn = None, value: SubjectValue = None,
           dialect: DialectOption = None, tag: TagOption = None, namespace: NamespaceOption = None,
           policy: PolicyOption = None, db: DbOption = None, fmt: PlanFormat = "table",
           output: OutputOption = None) -> None:
    """GDPR subject-access plan: where their data is.

    Every dataset holding the subject's records, with a SELECT for each.
    """
    result = api.access(column, store(db), name=name, value=value, dialect=dialect, tag=tag, namespace=namespace,
                        policy=policy_path(policy))
    emit(result, fmt, output, allowed=PLAN_FORMATS)
    note_pii_without_policy(result)


NoFailOption = Annotated[bool, typer.Option(
    "--no-fail", help="Exit 0 even when there are violations (for rolling out a rule).")]


@command("residency-check", "check", panel="Compliance", examples=(
    "# Exit 1 on violations (the sample has one)",
    "lineagectl residency-check",
    "# Annotations and a job summary in GitHub Actions; exit 1",
    "lineagectl residency-check -f github",
    "# Report only, while a rule is rolled out",
    "lineagectl residency-check --no-fail -f sarif -o lineage.sarif"))
def residency_check(policy: PolicyOption = None, no_fail: NoFailOption = False, db: DbOption = None,
                    fmt: CheckFormat = "table", output: OutputOption = None) -> None:
    """Check residency and flow rules (exit 1 if broken).

    Runs every residency and flow rule of the policy (alias: check).
    """
    finish(api.residency_check(store(db), policy_path(policy)), fmt, output, CHECK_FORMATS, no_fail=no_fail)


policy_app = typer.Typer(help="Work with the policy file (lineagectl.yaml).", no_args_is_help=True,
                         cls=SubGroup, epilog=examples_epilog("lineagectl policy check"))
app.add_typer(policy_app, name="policy", rich_help_panel="Compliance")


@policy_app.command("check", cls=Command, epilog=examples_epilog(
    "# The nearest lineagectl.yaml, its regions mapped over the store",
    "lineagectl policy check",
    "lineagectl policy check sample_events/lineagectl.yaml -f json"))
def policy_check(
    path: Annotated[str | None, typer.Argument(
        metavar="FILE", help="Policy file (default: --policy, $LINEAGECTL_POLICY, the nearest lineagectl.yaml).",
        show_default=False)] = None,
    db: DbOption = None,
    fmt: FormatOption = "table",
    output: OutputOption = None) -> None:
    """Validate a policy file; map its regions.

    Shows how many datasets of the store each region maps, and which match no region.
    """
    from lineagectl.cli.boundary import handled

    handled(lambda: emit(api.policy_check(path or policy_path(), store(db)), fmt, output),
            debug=lambda: settings.debug)()
