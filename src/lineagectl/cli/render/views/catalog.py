"""Views of what the store holds: ``stats``, ``ls`` listings, ``ls --select`` and ``show``."""

from __future__ import annotations

from lineagectl.cli.render.views import View, entity, view
from lineagectl.results import Result, counted


@view("doctor")
def doctor(result: Result) -> View:
    """One row per check: the store, the policy, LINEAGECTL_* variables, versions."""
    return View(title="lineagectl doctor", columns=["check", "value", "source", "detail"], records=result.payload)


@view("stats")
def stats(result: Result) -> View:
    """One row per count."""
    return View(title="lineage store", columns=["metric", "value"],
                records=[{"metric": key, "value": value} for key, value in result.payload.items()])


LIST_COLUMNS = {
    "datasets": ["namespace", "name", "type", "columns", "version", "owners", "dropped", "last_seen"],
    "jobs": ["namespace", "name", "type", "runs", "last_state", "inputs", "outputs", "last_seen"],
    "runs": ["run_id", "job_namespace", "job", "state", "started_at", "ended_at", "seconds", "error"],
}


# What a narrow terminal leaves out first.
LIST_DROP = {
    "datasets": ("version", "dropped", "columns", "type", "owners", "namespace"),
    "jobs": ("inputs", "outputs", "type", "runs", "namespace"),
    "runs": ("job_namespace", "seconds", "ended_at", "error"),
}


@view("ls")
def listing(result: Result) -> View:
    """The listed datasets, jobs or runs as they are, titled by what was listed."""
    kind = result.context["list"]
    return View(title=kind, columns=LIST_COLUMNS[kind], records=result.payload, drop=LIST_DROP[kind])


SELECT_COLUMNS = ["namespace", "name", "type", "tags", "owners"]


@view("select")
def selection(result: Result) -> View:
    """The selected datasets (without the dbt-shaped ids of the JSON)."""
    records = [{c: item[c] for c in SELECT_COLUMNS} for item in result.payload]
    return View(title=f"{counted(len(records), 'dataset')} selected by {result.context['expression']!r}",
                columns=SELECT_COLUMNS, records=records, drop=("tags", "type", "owners", "namespace"))


_NEIGHBOURS = ["job_namespace", "job", "runs", "last_seen", "datasets"]
# (title, payload key, columns) of each table after the summary; tables without rows are left out.
_SECTIONS = {
    "dataset": [("columns", "columns", ["column", "type", "description", "in_schema"]),
                ("versions", "versions", ["version", "created_at", "run_id", "columns"]),
                ("tags", "tags", ["field", "key", "value", "source"]),
                ("written by (upstream jobs and their inputs)", "upstream", _NEIGHBOURS),
                ("read by (downstream jobs and their outputs)", "downstream", _NEIGHBOURS),
                ("last writing runs", "last_writes", ["run_id", "job", "state", "started_at", "ended_at"])],
    "job": [("child jobs (their runs name this job's run as parent)", "children",
             ["namespace", "name", "runs", "last_seen"]),
            ("inputs", "inputs", ["namespace", "name", "runs", "last_seen"]),
            ("outputs", "outputs", ["namespace", "name", "runs", "last_seen"]),
            ("last runs", "runs", ["run_id", "state", "started_at", "ended_at", "seconds", "error"])],
}
# The fields of the summary table, after namespace and name; empty ones are left out.
_FIELDS = {
    "dataset": ["type", "version", "owners", "aliases", "description", "lifecycle_state", "dropped_at",
                "first_seen", "last_seen"],
    "job": ["type", "processing_type", "integration", "parent", "owners", "description", "source_location",
            "sql_dialect", "first_seen", "last_seen"],
}


def _field_text(value: object) -> str:
    if isinstance(value, dict):
        return entity(value)
    if isinstance(value, list):
        return ", ".join(v if isinstance(v, str) else entity(v) for v in value)
    return "" if value is None else str(value)


@view("show")
def show(result: Result) -> View:
    """A field/value summary of the dataset or job, then a table per part (schema, versions, runs …)."""
    info = result.payload
    kind = info["kind"]
    head = [{"field": k, "value": _field_text(info.get(k))} for k in ["namespace", "name", *_FIELDS[kind]]
            if info.get(k) not in (None, [], "")]
    sections = [View(title=title, columns=columns, records=info[key])
                for title, key, columns in _SECTIONS[kind] if info[key]]
    if kind == "job" and info.get("sql"):
        # A job's SQL, line by line as written: squeezed into one summary cell it was a single
        # line of ⏎ marks, thousands of characters wide, that nobody could read.
        sections.insert(0, View(columns=["sql"],
                                records=[{"sql": line} for line in info["sql"].splitlines()]))
    return View(title=f"{kind} {info['namespace']} {info['name']}", columns=["field", "value"], records=head,
                sections=sections)
