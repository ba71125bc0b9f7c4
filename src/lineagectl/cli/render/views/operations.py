"""Views of the operations: the ``ingest`` report, ``prune`` and its history, ``changes`` and ``quality``."""

from __future__ import annotations

from lineagectl.cli.render.views import View, entity, view
from lineagectl.results import Result, counted


@view("ingest")
def ingest(result: Result) -> View:
    """The report as one row, and the one-line summary ingest prints on stderr."""
    report = result.payload
    skipped = f" read, {report['files_skipped']} unchanged skipped" if report["files_skipped"] else ""
    summary = (f"{report['files']} file(s){skipped}: {report['events_read']} events read, "
               f"{report['events_new']} new, {report['events_duplicate']} duplicate, "
               f"{report['events_rejected']} rejected; +{report['datasets_added']} datasets, "
               f"+{report['jobs_added']} jobs, +{report['runs_added']} runs in {report['seconds']:.2f}s")
    # The counts in one row; the lists (the JSON's ``rejects``, ``warnings``, ``file_errors``) as tables after it.
    counts = [key for key, value in report.items() if not isinstance(value, list)]
    sections = [View(title="rejected", columns=["file", "line", "reason"], records=report.get("rejects", [])),
                View(title="warnings", columns=["warning"], records=[{"warning": w} for w in report["warnings"]]),
                View(title="files left out", columns=["error"], records=[{"error": e} for e in report["file_errors"]])]
    return View(columns=counts, records=[{k: report[k] for k in counts}], summary=summary,
                sections=[s for s in sections if s.records])


@view("prune")
def prune(result: Result) -> View:
    """Rows removed (or, dry, that would be) per table, under the cutoffs used."""
    report = result.payload
    verb = "would remove" if report["dry_run"] else "removed"
    return View(title=f"{verb} {sum(report['removed'].values())} rows: detail before {report['detailed_cutoff']}, "
                      f"summary before {report['summary_cutoff']}",
                columns=["table", "rows"],
                records=[{"table": table, "rows": rows} for table, rows in report["removed"].items()])


@view("prune-history")
def prune_history(result: Result) -> View:
    """Every earlier prune, one row per table."""
    return View(title="prune history", columns=["pruned_at", "detailed_cutoff", "summary_cutoff", "table", "rows"],
                records=result.payload)


CHANGE_COLUMNS = ["time", "kind", "distance", "entity", "namespace", "name", "summary"]


@view("changes")
def changes(result: Result) -> View:
    """The changes, newest first, each with its summary (the JSON's ``details`` are left out)."""
    payload = result.payload
    items = payload["changes"]
    title = (f"{counted(len(items), 'change')} upstream of {entity(payload['root'])} since {payload['since']} "
             f"({counted(payload['datasets'], 'dataset')}, {counted(payload['jobs'], 'job')} looked at)")
    return View(title=title, columns=CHANGE_COLUMNS, records=[{c: item[c] for c in CHANGE_COLUMNS} for item in items],
                drop=("distance", "entity", "namespace"))


def _cause(cause: dict) -> str:
    """``events/clickstream.user_id max_null_fraction 15.0% > 10%``, or the failed assertion."""
    measured = (f" {cause['value']:.1%} > {cause['limit']:.0%}" if cause["rule"] == "max_null_fraction"
                else f" {cause['value']}")
    return f"{cause['name']}.{cause['column']} {cause['rule']}{measured}"


METRIC_COLUMNS = ["namespace", "name", "time", "rows", "column", "null_fraction", "assertions", "broken"]


def _metric_rows(d: dict) -> list[dict]:
    """One row per measured column (or one for the dataset), with its assertions on the first."""
    checks = f"{d['assertions'] - len(d['failed_assertions'])} passed, {len(d['failed_assertions'])} failed" if (
        d["assertions"]) else ""
    rows = [{"column": c["column"],
             "null_fraction": None if c["null_fraction"] is None else round(c["null_fraction"], 4),
             "broken": any(b["column"] == c["column"] for b in d["broken"])} for c in d["columns"]]
    rows = rows or [{"column": None, "null_fraction": None, "broken": bool(d["broken"])}]
    return [{"namespace": d["namespace"], "name": d["name"], "time": d["time"], "rows": d["row_count"],
             "assertions": checks if i == 0 else "", **row} for i, row in enumerate(rows)]


@view("quality")
def quality(result: Result) -> View:
    """What is at risk and why (with --gate, the verdict first), then the latest metrics."""
    payload = result.payload
    at_risk, datasets = payload["at_risk"], payload["datasets"]
    records = [{"depth": a["depth"], "namespace": a["namespace"], "name": a["name"], "cause": _cause(a["cause"]),
                "path": " > ".join(p["name"] for p in a["path"])} for a in at_risk]
    metrics = View(title="latest metrics and assertions", columns=METRIC_COLUMNS,
                   records=[row for d in datasets for row in _metric_rows(d)],
                   drop=("namespace", "assertions", "time", "rows"))
    broken = sum(bool(d["broken"]) for d in datasets)
    title = f"{counted(len(at_risk), 'dataset')} at risk downstream of {broken} broken"
    gate = payload.get("gate")
    if gate is not None:
        title = f"gate {entity(gate)}: {'ok' if gate['ok'] else 'AT RISK'}; " + title
    return View(title=title, columns=["depth", "namespace", "name", "cause", "path"], records=records,
                sections=[metrics], drop=("path", "depth", "namespace"),
                tone="bad" if gate is not None and not gate["ok"] else None)
