"""Score lineagectl's SQL lineage on every case of ``../shared/corpus/sql-goldens/``.

Three suites, one scoring rule:

- ``hive``: OpenLineage's Hive hook goldens (``openlineage-hive-cll/*.json``), one COMPLETE
  event per statement; expected tables are its inputs and outputs, expected columns its
  ``columnLineage`` fields.
- ``sqllineage``: reata/sqllineage's column cases (``sqllineage/cases.json``); expected
  columns are the (source column, target column) pairs, expected tables the tables those
  pairs name (sqllineage's cases state no table-level answer of their own).
- ``datahub``: DataHub's parser goldens (``datahub/goldens/*.json`` with inputs from
  ``datahub/cases.json``); expected tables are ``in_tables``/``out_tables``, expected columns
  ``column_lineage`` (cases whose golden has none are not scored at column level).

The rule, the same for every suite: a case is **table-exact** when the set of target tables
and the set of source tables both equal the golden's, and **column-exact** when the set of
``(source table, source column, target column)`` DIRECT edges equals the golden's. A
**statement** (one SQL text of one test) is column-exact when one of its cases is: sqllineage's
tests that assert on several SQL strings were extracted as one SQL with a case per assertion
(150 cases, 111 statements); in the other suites a statement is a case. Names are
compared lower case, tables by their last part (``db.schema.orders`` is ``orders``: the suites
disagree on default databases, not on tables). A case whose SQL raises scores nothing.
The Hive goldens also type their edges; for them two more figures are printed: typed field
edges (output, column, source column, type, subtype, masking) matched out of the golden's
total, and ``columnLineage.dataset`` entries (source column, INDIRECT subtype) matched out of
the golden's total.

Run: ``python bench/sql_goldens.py [--corpus DIR] [--failures] [--peer sqllineage]``; exits 0,
or 2 when the corpus is absent (nothing scored). ``score(corpus)`` returns the figures for tests.
``--peer sqllineage`` / ``--peer openlineage-sql`` score those parsers by the same rule (install
them apart: ``python -m venv /tmp/peer && /tmp/peer/bin/pip install sqllineage openlineage-sql``,
then run this file with that Python and ``PYTHONPATH=src``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Case:
    """One golden: its SQL and inputs, and what it expects (None where it states nothing)."""

    suite: str
    name: str
    sql: str
    dialect: str | None
    schema: dict | None
    tables: tuple[set, set] | None  # (targets, sources)
    columns: set | None  # {(source table, source column, target column)}
    typed: set | None = None  # Hive: {(target, target column, source table, source column, type, subtype, masking)}
    dataset: set | None = None  # Hive: {(source table, source column, subtype)} of columnLineage.dataset


@dataclass
class Outcome:
    """How lineagectl did on one case."""

    case: Case
    table_exact: bool | None = None
    column_exact: bool | None = None
    typed: tuple[int, int] | None = None  # (golden typed field edges matched, golden's total)
    dataset: tuple[int, int] | None = None  # (golden dataset-level entries matched, golden's total)
    why: list[str] = field(default_factory=list)


def _short(table: str | None) -> str:
    return (table or "").replace('"', "").replace("`", "").lower().rsplit(".", 1)[-1]


def _nest(tables: dict[str, dict]) -> dict | None:
    """``{"db.table": {col: type}}`` as sqlglot's nested schema (all keys of one depth, else None)."""
    if not tables or len({len(t.split(".")) for t in tables}) != 1:
        return None
    schema: dict = {}
    for name, columns in tables.items():
        *path, last = name.split(".")
        node = schema
        for part in path:
            node = node.setdefault(part, {})
        node[last] = columns
    return schema


def _hive(corpus: Path) -> list[Case]:
    cases = []
    for path in sorted((corpus / "sql-goldens" / "openlineage-hive-cll").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        event = data if isinstance(data, dict) else data[0]
        columns, typed, dataset = set(), set(), set()
        for output in event["outputs"]:
            lineage = (output.get("facets") or {}).get("columnLineage") or {}
            for column, spec in lineage.get("fields", {}).items():
                for item in spec["inputFields"]:
                    if any(t["type"] == "DIRECT" for t in item["transformations"]):
                        columns.add((_short(item["name"]), item["field"].lower(), column.lower()))
                    typed |= {(_short(output["name"]), column.lower(), _short(item["name"]), item["field"].lower(),
                               t["type"], t.get("subtype"), bool(t.get("masking"))) for t in item["transformations"]}
            dataset |= {(_short(item["name"]), item["field"].lower(), t.get("subtype"))
                        for item in lineage.get("dataset") or [] for t in item["transformations"]}
        tables = {item["name"]: {f["name"]: f.get("type") or "string" for f in item["facets"]["schema"]["fields"]}
                  for item in event["inputs"] + event["outputs"]}
        cases.append(Case("hive", path.stem, event["job"]["facets"]["sql"]["query"], "hive", _nest(tables),
                          ({_short(o["name"]) for o in event["outputs"]}, {_short(i["name"]) for i in event["inputs"]}),
                          columns, typed, dataset))
    return cases


def _sqllineage(corpus: Path) -> list[Case]:
    data = json.loads((corpus / "sql-goldens" / "sqllineage" / "cases.json").read_text(encoding="utf-8"))
    metadata = _nest({name: dict.fromkeys(columns, "VARCHAR") for name, columns in data["schemas"].items()})
    cases = []
    for case in data["cases"]:
        dialect = case.get("dialect")
        if isinstance(dialect, dict):  # parametrized: the first dialect the test runs with
            dialect = ((case.get("parametrize") or {}).get("dialect") or [None])[0]
        dialect = None if dialect in (None, "ansi", "non-validating") else dialect
        pairs = [(e["source"], e["target"]) for e in case["expected"]]
        columns = {(_short(s.get("table")), (s.get("column") or "").lower(), (t.get("column") or "").lower())
                   for s, t in pairs}
        tables = ({_short(t.get("table")) for _, t in pairs if t.get("table")},
                  {_short(s.get("table")) for s, _ in pairs if s.get("table")})
        schema = _provided(case) or metadata if case.get("uses_metadata") else None
        cases.append(Case("sqllineage", case["test"], case["sql"], dialect, schema, tables, columns))
    return cases


def _provided(case: dict) -> dict | None:
    """A case's own metadata, when its test is parametrized with ``generate_metadata_providers({…})``
    (a literal ``{table: [columns]}``) instead of the shared schemas."""
    import ast

    provider = str((case.get("parametrize") or {}).get("'provider'") or "")
    match = re.fullmatch(r"generate_metadata_providers\((\{.*\})\)", provider.strip(), re.S)
    if not match:
        return None
    tables = ast.literal_eval(match.group(1))
    return _nest({name: dict.fromkeys(columns, "VARCHAR") for name, columns in tables.items()})


def _urn(urn: str) -> str:
    match = re.match(r"urn:li:dataset:\(urn:li:dataPlatform:[^,]+,([^,]+),", urn)
    return match.group(1) if match else urn


def _datahub(corpus: Path) -> list[Case]:
    from lineagectl.common.dialects import ALIASES

    base = corpus / "sql-goldens" / "datahub"
    cases = []
    for case in json.loads((base / "cases.json").read_text(encoding="utf-8"))["cases"]:
        golden_path = base / case["golden"] if case.get("golden") else None
        if golden_path is None or not golden_path.is_file():
            continue  # skipped upstream, no golden
        golden = json.loads(golden_path.read_text(encoding="utf-8"))
        lineage = golden.get("column_lineage") or []
        columns = {(_short(_urn(u["table"])), u["column"].lower(), item["downstream"]["column"].lower())
                   for item in lineage for u in item.get("upstreams") or []} if lineage else None
        if lineage and not columns:  # downstream columns from no table (literals): still a lineage
            columns = set()
        # One golden names a table with its database twice (my_db.my_schema.my_db.my_schema.t): three parts.
        schema = _nest({".".join(_urn(urn).lower().split(".")[-3:]): dict.fromkeys(cols, "VARCHAR")
                        for urn, cols in (case.get("schemas") or {}).items()})
        dialect = ALIASES.get(case.get("dialect") or "", case.get("dialect"))
        cases.append(Case("datahub", case["test"], case["sql"], dialect, schema,
                          ({_short(_urn(u)) for u in golden.get("out_tables") or []},
                           {_short(_urn(u)) for u in golden.get("in_tables") or []}), columns))
    return cases


def cases(corpus: Path) -> list[Case]:
    """Every case of the three suites."""
    return _hive(corpus) + _sqllineage(corpus) + _datahub(corpus)


def _answer(sql: str, dialect: str | None, schema: dict | None) -> tuple[set, set, set, list[str]]:
    """(targets, sources, DIRECT column edges, errors) lineagectl gives for ``sql``, all statements together."""
    try:
        from lineagectl.api import sql_lineage
    except ImportError:  # before the API existed: column lineage only, no table-level answer
        from lineagectl.sources.sql_lineage import SqlLineageError, column_lineage

        try:
            edges = column_lineage(sql, dialect, schema)
        except SqlLineageError as exc:
            return set(), set(), set(), [str(exc)]
        return (set(), {_short(e.source.table) for e in edges},
                {(_short(e.source.table), e.source.column.lower(), e.column.lower())
                 for e in edges if e.column and e.type == "DIRECT"}, [])
    answer = sql_lineage(sql, dialect=dialect, schema=schema).payload
    errors = [str(e) for statement in answer["statements"] for e in statement["errors"]]
    if "script" not in answer:  # before scripts were composed: every statement's answer together
        answer["script"] = {"targets": [t for s in answer["statements"] for t in s["targets"]],
                            "sources": [t for s in answer["statements"] for t in s["sources"]],
                            "columns": [c for s in answer["statements"] for c in s["columns"]]}
    # The script as a whole: the tables it writes and then reads are its inside, read through.
    script = answer["script"]
    return ({_short(t) for t in script["targets"]}, {_short(s) for s in script["sources"]},
            {(_short(c["source"]), c["source_column"].lower(), c["column"].lower())
             for c in script["columns"] if c["type"] == "DIRECT"}, errors)


def _typed_answer(sql: str, dialect: str | None, schema: dict | None) -> tuple[set, set]:
    """lineagectl's typed field edges and dataset-level entries, shaped as ``Case.typed``/``Case.dataset``."""
    from lineagectl.api import sql_lineage

    typed, dataset = set(), set()
    for statement in sql_lineage(sql, dialect=dialect, schema=schema).payload["statements"]:
        typed |= {(_short(c["target"]), c["column"].lower(), _short(c["source"]), c["source_column"].lower(),
                   c["type"], c["subtype"], bool(c["masking"])) for c in statement["columns"]}
        dataset |= {(_short(d["source"]), d["source_column"].lower(), d["subtype"]) for d in statement["dataset"]}
    return typed, dataset


def _flat(schema: dict | None, path: tuple = ()) -> dict[str, list[str]]:
    """A nested schema as ``{"db.table": [columns]}`` (sqllineage's metadata form)."""
    tables: dict[str, list[str]] = {}
    for key, value in (schema or {}).items():
        if isinstance(value, dict) and value and all(not isinstance(v, dict) for v in value.values()):
            tables[".".join((*path, key))] = list(value)
        elif isinstance(value, dict):
            tables.update(_flat(value, (*path, key)))
    return tables


def _sqllineage_answer(sql: str, dialect: str | None, schema: dict | None) -> tuple[set, set, set, list[str]]:
    """The same answer from reata/sqllineage (a peer; ``pip install sqllineage`` in another venv)."""
    import warnings

    from sqllineage.core.metadata.dummy import DummyMetaDataProvider
    from sqllineage.runner import LineageRunner

    warnings.simplefilter("ignore")  # sqllineage warns about every statement it does not analyse
    runner = LineageRunner(sql, dialect=dialect or "ansi",
                           metadata_provider=DummyMetaDataProvider(_flat(schema)), silent_mode=True)
    targets = {_short(str(t)) for t in runner.target_tables}
    sources = {_short(str(t)) for t in runner.source_tables}
    columns = set()
    for path in runner.get_column_lineage(exclude_path_ending_in_subquery=True):
        first, last = path[0], path[-1]
        table = getattr(first.parent, "raw_name", None) or str(first.parent or "")
        columns.add((_short(str(table)), first.raw_name.lower(), last.raw_name.lower()))
    return targets, sources, columns, []


_OPENLINEAGE_DIALECTS = {"tsql": "mssql", "postgres": "postgres", "spark": "hive", "databricks": "databricks"}


def _openlineage_sql_answer(sql: str, dialect: str | None, schema: dict | None) -> tuple[set, set, set, list[str]]:
    """The same answer from openlineage-sql (OpenLineage's Rust parser; takes no schema)."""
    import openlineage_sql

    meta = openlineage_sql.parse([sql], dialect=_OPENLINEAGE_DIALECTS.get(dialect or "", dialect or "generic"))
    columns = {(_short(item.origin.name if item.origin else ""), item.name.lower(), column.descendant.name.lower())
               for column in meta.column_lineage for item in column.lineage}
    return ({_short(t.name) for t in meta.out_tables}, {_short(t.name) for t in meta.in_tables}, columns,
            [str(e) for e in getattr(meta, "errors", [])])


PEERS = {"lineagectl": _answer, "sqllineage": _sqllineage_answer, "openlineage-sql": _openlineage_sql_answer}


def _diff(expected: set, ours: set) -> str:
    parts = []
    if expected - ours:
        parts.append(f"missing {sorted(expected - ours)[:3]}")
    if ours - expected:
        parts.append(f"extra {sorted(ours - expected)[:3]}")
    return ", ".join(parts)


def run(corpus: Path, peer: str = "lineagectl") -> list[Outcome]:
    """Every case scored, with lineagectl's answers or a peer's (``PEERS``)."""
    import logging

    logging.getLogger("sqlglot").setLevel(logging.CRITICAL)
    outcomes = []
    for case in cases(corpus):
        outcome = Outcome(case)
        try:
            targets, sources, columns, errors = PEERS[peer](case.sql, case.dialect, case.schema)
        except Exception as exc:  # a crash scores nothing, and is listed
            targets, sources, columns, errors = set(), set(), set(), [f"{type(exc).__name__}: {exc}"]
        outcome.why += [f"error: {e}"[:160] for e in errors]
        if case.tables is not None:
            outcome.table_exact = (targets, sources) == case.tables
            if not outcome.table_exact:
                for label, expected, ours in (("targets", case.tables[0], targets),
                                              ("sources", case.tables[1], sources)):
                    if expected != ours:
                        outcome.why.append(f"{label}: {_diff(expected, ours)}")
        if case.columns is not None:
            outcome.column_exact = columns == case.columns
            if not outcome.column_exact:
                outcome.why.append(f"columns: {_diff(case.columns, columns)}")
        if peer == "lineagectl" and case.typed is not None and case.dataset is not None:
            try:
                typed, dataset = _typed_answer(case.sql, case.dialect, case.schema)
            except Exception:  # scored as nothing matched, as above
                typed, dataset = set(), set()
            outcome.typed = (len(case.typed & typed), len(case.typed))
            outcome.dataset = (len(case.dataset & dataset), len(case.dataset))
            for label, expected, ours in (("typed", case.typed, typed), ("dataset", case.dataset, dataset)):
                if expected - ours:
                    outcome.why.append(f"{label}: missing {sorted(expected - ours, key=str)[:3]}")
        outcomes.append(outcome)
    return outcomes


def _statements(outcomes: list[Outcome]) -> dict[str, tuple[int, int]]:
    """``{suite: (statements exact, statements scored)}`` at column level, a statement being one SQL
    text of one test: exact when every column of it answers exactly. sqllineage's 150 cases are 111
    statements: a test that asserts on several SQL strings was extracted as its last SQL with one case
    per assertion, so a statement is exact when the answer equals the expectation of one of its cases
    (the one that belongs to its SQL; the others belong to SQL the extraction lost)."""
    groups: dict[tuple[str, str, str], bool] = {}
    for outcome in outcomes:
        if outcome.column_exact is not None:
            key = (outcome.case.suite, outcome.case.name, outcome.case.sql)
            groups[key] = groups.get(key, False) or outcome.column_exact
    found: dict[str, tuple[int, int]] = {}
    for (suite, _, _), exact in groups.items():
        done, total = found.get(suite, (0, 0))
        found[suite] = (done + exact, total + 1)
    return found


def _figures(outcomes: list[Outcome]) -> dict[str, dict[str, tuple[int, int]]]:
    """``{suite: {"table": (exact, scored), "column": (exact, scored), "statement": (exact, scored)}}``
    (``_statements``), and for the suites whose goldens type their edges (Hive) ``"typed"`` and
    ``"dataset"``: (golden entries matched, golden's total)."""
    figures: dict[str, dict[str, tuple[int, int]]] = {}
    for outcome in outcomes:
        suite = figures.setdefault(outcome.case.suite, {"table": (0, 0), "column": (0, 0)})
        for level, exact in (("table", outcome.table_exact), ("column", outcome.column_exact)):
            if exact is not None:
                done, total = suite[level]
                suite[level] = (done + exact, total + 1)
        for level, pair in (("typed", outcome.typed), ("dataset", outcome.dataset)):
            if pair is not None:
                done, total = suite.get(level, (0, 0))
                suite[level] = (done + pair[0], total + pair[1])
    for suite, pair in _statements(outcomes).items():
        figures[suite]["statement"] = pair
    return figures


def score(corpus: Path) -> dict[str, dict[str, tuple[int, int]]]:
    """The figures of ``_figures`` for lineagectl on every case of ``corpus``."""
    return _figures(run(corpus))


def report(outcomes: list[Outcome], failures: bool) -> str:
    """The score table (markdown), and with ``failures`` every case not exact and why."""
    figures = _figures(outcomes)
    lines = ["| suite | cases | table-level exact | column-level exact | statements column-exact |",
             "|---|---:|---:|---:|---:|"]
    for suite, levels in figures.items():
        count = sum(1 for o in outcomes if o.case.suite == suite)
        statement = levels.get("statement", (0, 0))
        lines.append(f"| {suite} | {count} | {levels['table'][0]}/{levels['table'][1]} | "
                     f"{levels['column'][0]}/{levels['column'][1]} | {statement[0]}/{statement[1]} |")
    typed = [(suite, levels) for suite, levels in figures.items() if "typed" in levels]
    if typed:
        lines += ["", "| suite | typed field edges matched | dataset-level INDIRECT entries matched |",
                  "|---|---:|---:|"]
        lines += [f"| {suite} | {levels['typed'][0]}/{levels['typed'][1]} | "
                  f"{levels['dataset'][0]}/{levels['dataset'][1]} |" for suite, levels in typed]
    if failures:
        lines += ["", "| suite | case | table | column | why |", "|---|---|---|---|---|"]
        for o in outcomes:
            short = any(pair is not None and pair[0] < pair[1] for pair in (o.typed, o.dataset))
            if o.table_exact is False or o.column_exact is False or short:
                mark = {True: "ok", False: "**no**", None: "–"}
                why = "; ".join(o.why).replace("|", "\\|").replace("\n", " ")
                lines.append(f"| {o.case.suite} | {o.case.name} | {mark[o.table_exact]} | "
                             f"{mark[o.column_exact]} | {why[:300]} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--failures", action="store_true", help="list every case that is not exact, and why")
    parser.add_argument("--peer", choices=sorted(PEERS), default="lineagectl",
                        help="whose answers to score (sqllineage: installed beside, e.g. in another venv)")
    parser.add_argument("--pure-python", action="store_true",
                        help="import sqlglot from its .py files even where sqlglotc (sqlglot[c]) is installed")
    args = parser.parse_args(argv)
    if args.pure_python:
        from sqlglot_build import use_pure_python

        use_pure_python()
    from sqlglot_build import describe

    print(describe(), file=sys.stderr)
    if not (args.corpus / "sql-goldens").is_dir():
        print(f"no SQL goldens under {args.corpus}: nothing scored", file=sys.stderr)
        return 2
    print(report(run(args.corpus, args.peer), args.failures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
