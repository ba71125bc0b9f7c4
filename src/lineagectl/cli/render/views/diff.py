"""The view of ``diff``: the column changes (breaking first), the modified, added and removed nodes, and
the policy violations the change introduces or resolves."""

from __future__ import annotations

from lineagectl.cli.render.views import Owners, View, entity, view
from lineagectl.cli.render.views.compliance import located
from lineagectl.results import Result, counted

CHANGE_COLUMNS = ["class", "model", "column", "change", "detail", "downstream", "owners", "exposures"]
NODE_COLUMNS = ["unique_id", "dataset", "reasons"]
VIOLATION_COLUMNS = ["rule", "source", "target"]
PII_COLUMNS = ["column", "via"]
_ORDER = {"breaking": 0, "partial": 1, "non-breaking": 2}


@view("diff")
def diff(result: Result) -> View:
    """One row per column change; sections for the modified (with dbt's reasons), added and removed nodes."""
    payload = result.payload
    changes = sorted(payload["columns"], key=lambda c: (_ORDER[c["class"]], c["name"], c["column"]))
    records = [{"class": c["class"], "model": c["name"], "column": c["column"], "change": c["change"],
                "detail": c["detail"],
                "downstream": ", ".join(map(_reader, c["downstream"])),
                "owners": Owners(c["owners"]), "exposures": ", ".join(e["name"] for e in c["exposures"])}
               for c in changes]
    sections = []
    for key, title in (("modified", "modified (dbt state:modified)"), ("added", "added"), ("removed", "removed")):
        if payload[key]:
            sections.append(View(title=f"{counted(len(payload[key]), 'node')} {title}", columns=NODE_COLUMNS,
                                 records=[{"unique_id": n["unique_id"],
                                           "dataset": entity(n) if n["namespace"] else n["name"],
                                           "reasons": ", ".join(n.get("reasons", []))} for n in payload[key]]))
    for key, title in (("new", "violations this change introduces"), ("resolved", "violations it resolves")):
        found = payload["violations"][key]
        if found:
            sections.append(View(title=f"{counted(len(found), 'violation')} {title.split(' ', 1)[1]}",
                                 columns=VIOLATION_COLUMNS,
                                 records=[{"rule": v["rule"], "source": located(v["source"]),
                                           "target": located(v["target"])} for v in found]))
    for key, title in (("new", "newly personal data"), ("gone", "no longer personal data")):
        found = payload.get("pii", {}).get(key) or []
        if found:
            sections.append(View(title=f"{counted(len(found), 'column')} {title}", columns=PII_COLUMNS,
                                 records=[{"column": located(p), "via": _via(p["via"])} for p in found]))
    summary = payload["summary"]
    title = (f"{counted(summary['breaking'], 'breaking change')}, {summary['partial']} partial, "
             f"{summary['non-breaking']} non-breaking")
    if payload.get("pii", {}).get("new"):
        title += f"; {counted(len(payload['pii']['new']), 'new PII column')}"
    if payload["violations"]["new"]:
        title += f"; {counted(len(payload['violations']['new']), 'new violation')}"
    failing = summary["breaking"] or payload["violations"]["new"]
    return View(title=title, columns=CHANGE_COLUMNS, records=records, sections=sections,
                drop=("exposures", "owners", "detail"), tone="bad" if failing else "good")


def _reader(item: dict) -> str:
    """A downstream reader: ``name.column``; one the store's runtime lineage found says so, and a
    table or job read without column lineage is its name alone."""
    text = f"{item['name']}.{item['column']}" if item["column"] is not None else item["name"]
    return f"{text} (store)" if item.get("via") == "store" else text


def _via(via: dict) -> str:
    """Why a column is personal data: its tags or policy globs, or the PII column it reads."""
    if "sources" in via:
        return ", ".join(via["sources"])
    return f"{'masked ' if via['masked'] else ''}from {located(via['origin'])}"
