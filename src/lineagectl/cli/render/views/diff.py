"""The view of ``diff``: the column changes (breaking first), then the modified, added and removed nodes."""

from __future__ import annotations

from lineagectl.cli.render.views import View, entity, view
from lineagectl.results import Result, counted

CHANGE_COLUMNS = ["class", "model", "column", "change", "detail", "downstream", "owners", "exposures"]
NODE_COLUMNS = ["unique_id", "dataset", "reasons"]
_ORDER = {"breaking": 0, "partial": 1, "non-breaking": 2}


@view("diff")
def diff(result: Result) -> View:
    """One row per column change; sections for the modified (with dbt's reasons), added and removed nodes."""
    payload = result.payload
    changes = sorted(payload["columns"], key=lambda c: (_ORDER[c["class"]], c["name"], c["column"]))
    records = [{"class": c["class"], "model": c["name"], "column": c["column"], "change": c["change"],
                "detail": c["detail"],
                "downstream": ", ".join(f"{d['name']}.{d['column']}" for d in c["downstream"]),
                "owners": ", ".join(c["owners"]), "exposures": ", ".join(e["name"] for e in c["exposures"])}
               for c in changes]
    sections = []
    for key, title in (("modified", "modified (dbt state:modified)"), ("added", "added"), ("removed", "removed")):
        if payload[key]:
            sections.append(View(title=f"{counted(len(payload[key]), 'node')} {title}", columns=NODE_COLUMNS,
                                 records=[{"unique_id": n["unique_id"],
                                           "dataset": entity(n) if n["namespace"] else n["name"],
                                           "reasons": ", ".join(n.get("reasons", []))} for n in payload[key]]))
    summary = payload["summary"]
    title = (f"{counted(summary['breaking'], 'breaking change')}, {summary['partial']} partial, "
             f"{summary['non-breaking']} non-breaking")
    return View(title=title, columns=CHANGE_COLUMNS, records=records, sections=sections,
                drop=("exposures", "owners", "detail"), tone="bad" if summary["breaking"] else "good")
