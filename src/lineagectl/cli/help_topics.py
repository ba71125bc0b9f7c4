"""``lineagectl help TOPIC``: the reference that applies to every command, as gh's help topics."""

from __future__ import annotations

from typing import Annotated

import typer

from lineagectl.cli import command
from lineagectl.cli.globals import GLOBAL_OPTIONS
from lineagectl.errors import InputError

TOPICS = {
    "exit-codes": """Exit codes (the same for every command):
  0    ok
  1    findings: a check found violations, a quality gate failed, an ingest rejected lines
  2    usage, configuration or input error: unknown dataset, bad policy, missing store,
       a check over an empty store, an unreadable file
  3    the store is locked by another process (see --wait)
  70   internal error: a bug in lineagectl (--debug shows the traceback)
  130  interrupted (Ctrl-C)""",
    "environment": """Settings, each from the first place that has it:
  store    --db PATH, $LINEAGECTL_DB, db: in the nearest lineagectl.yaml (searched from the
           working directory upwards; relative to that file), ./lineage.duckdb
  policy   --policy PATH, $LINEAGECTL_POLICY, the nearest lineagectl.yaml
  waiting  --wait SECONDS, $LINEAGECTL_WAIT, 0 (exit 3 at once when the store is locked)
  memory   $LINEAGECTL_MEMORY_LIMIT (DuckDB's limit, default 400MB; larger work spills to disk)
  token    serve, export --to: --token-file FILE, $LINEAGECTL_TOKEN, none (serve: no auth, loopback only)
           import-marquez: --token-file FILE, else none ($LINEAGECTL_TOKEN is not sent to Marquez)
  colour   --color auto|always|never, NO_COLOR (off), FORCE_COLOR (on), TERM=dumb (off)
Global options go before or after the command: {options}.
`lineagectl doctor` shows what is in use and where it came from.""",
    "formats": """--format/-f (and -o FILE to write it to a file):
  table     for reading: a terminal gets tables fitted to its width (names never folded,
            times relative), a pipe aligned plain text
  json      the whole answer (CONTRACT.md's shapes), UTF-8
  ndjson    the items of the answer's main list, one JSON object per line
  csv       the same items, one row each (nested keys dotted, lists joined by ;)
  markdown  tables for tickets and job summaries
  name      one namespace/name (a run: its id) per line, for scripts; offered by
            ls, impact, trace, pii, erase and access
  github, junit, sarif   residency-check findings for CI
  dot, mermaid           graph pictures
  html                   graph's offline explorer page (one file; docs/explorer.md)
docs/formats.md lists each command's main list.""",
    "selectors": """dbt's selector syntax, for ls --select/--exclude, impact/trace/graph -s/--exclude:
  orders              a name as the command line takes it (exact, unique suffix, alias,
                      dbt unique_id) and what dbt selects for it (fqn: the node name)
  stg_*               a glob over names and their last parts (case-sensitive)
  orders+  +orders    it and everything downstream / upstream;  2+orders  two hops up
  @orders             it, its descendants and their ancestors
  a b                 union;   a,b   intersection;   --exclude EXPR   taken out
  ''                  an empty or blank selector is refused (exit 2), never "all"
lineagectl's methods (case-insensitive globs over what any producer said):
  tag:pii  owner:team:*  namespace:s3://*  type:model
                      (tags of a dataset or of its columns; dbt tests are not tags)
dbt's methods, as dbt means them, over what a dbt manifest's ingest kept:
  fqn:staging.*  path:models/staging  file:orders.sql  package:hubspot
  source:ecom  source:ecom.raw_*  resource_type:seed  group:finance  access:public
  config.materialized:view  config.meta.owner:me  (exact; a list by any element;
                      true/false for booleans)
  test_name:unique  test_type:generic|singular|unit|data  unit_test:NAME  exposure:NAME
  version:latest|prerelease|old|none   a model's version against its latest_version;
                      model.v2 or model_v2 one version, model all of them
Tests, unit tests and exposures are dbt nodes but not datasets: + reaches their
parents (1+test_name:unique: the datasets unique tests check; +exposure:weekly: the
dashboard's upstream); an ml exposure is a dataset itself. Without + they match nothing.
A store ingested before these methods existed: re-ingest the manifest to use them.""",
}


@command("help", panel="Operations", examples=(
    "lineagectl help exit-codes",
    "lineagectl help selectors"))
def help_topic(topic: Annotated[str | None, typer.Argument(
        metavar="TOPIC", help=f"One of: {', '.join(TOPICS)}.", show_default=False)] = None) -> None:
    """Reference: exit codes, environment, formats, …

    Topics that apply to every command: exit-codes, environment, formats, selectors.
    """
    if topic is None:
        print("Help topics (lineagectl help TOPIC):\n" + "\n".join(f"  {name}" for name in TOPICS)
              + "\nCommands: lineagectl --help, lineagectl COMMAND --help")
        return
    text = TOPICS.get(topic.lower())
    if text is None:
        raise InputError(f"no help topic {topic!r}; choose one of: {', '.join(TOPICS)}")
    print(text.format(options=", ".join(GLOBAL_OPTIONS)))
