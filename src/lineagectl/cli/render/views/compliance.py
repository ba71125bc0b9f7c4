"""Views of the compliance answers: ``pii``, the ``erase``/``access`` plans, ``residency-check`` and
``policy check``. (The CI formats of a check compose their own messages: ``render.ci_formats``.)"""

from __future__ import annotations

from lineagectl.cli.render.views import View, entity, path_text, view
from lineagectl.results import Result, counted

PII_COLUMNS = ["depth", "namespace", "name", "column", "masked", "why", "path"]


@view("pii")
def pii(result: Result) -> View:
    """The personal-data columns (why each is one), then every column their values reach (from where, how)."""
    tagged, propagated = result.payload["columns"], result.payload["propagated"]
    records = [{"depth": 0, "namespace": r["namespace"], "name": r["name"], "column": r["column"],
                "masked": False, "why": ", ".join(r["sources"]), "path": ""} for r in tagged]
    records += [{"depth": r["depth"], "namespace": r["namespace"], "name": r["name"], "column": r["column"],
                 "masked": r["masked"], "why": f"from {r['origin']['name']}.{r['origin']['column']}",
                 "path": path_text(r["transformations"])} for r in propagated]
    unmasked = sum(not r["masked"] for r in propagated)
    return View(title=f"{counted(len(tagged), 'personal-data column')}; {len(propagated)} more reached through "
                      f"DIRECT lineage ({unmasked} unmasked)",
                columns=PII_COLUMNS, records=records, drop=("path", "depth", "namespace", "why"))


PLAN_COLUMNS = ["order", "action", "namespace", "name", "columns", "masked", "owners", "reason", "sql"]
# The order in which a plan's title counts its steps by action.
ACTIONS = ("delete", "recompute", "review", "retrain", "select")


@view("erase", "access")
def plan(result: Result) -> View:
    """The plan's steps in order; the title says whose and how many of each action."""
    subject, steps = result.payload["subject"], result.payload["steps"]
    counts = {action: sum(1 for s in steps if s["action"] == action) for action in ACTIONS}
    summary = ", ".join(f"{n} {action}" for action, n in counts.items() if n)
    what = f"tag {subject['tag']}" if "tag" in subject else f"column {subject['column']}"
    value = f" = {subject['value']}" if subject["value"] is not None else ""
    name = "erasure" if result.kind == "erase" else "access"
    return View(title=f"{name} plan for {what}{value}: {counted(len(steps), 'step')} ({summary or 'none'})",
                columns=PLAN_COLUMNS, records=[{k: s[k] for k in PLAN_COLUMNS} for s in steps],
                drop=("owners", "masked", "namespace", "sql"))


def located(ref: dict) -> str:
    """``namespace name[.column] (region)``: a dataset or column of a check, with its region if known."""
    region = f" ({ref['region']})" if ref.get("region") is not None else ""
    return entity(ref) + (f".{ref['column']}" if ref.get("column") else "") + region


CHECK_COLUMNS = ["rule", "source", "target", "jobs", "path", "affected"]


@view("residency-check")
def residency_check(result: Result) -> View:
    """One row per violation: the crossing (or unmasked) edge, the jobs moving the data, the path to it."""
    payload = result.payload
    violations = payload["violations"]
    records = [{"rule": v["rule"], "source": located(v["source"]), "target": located(v["target"]),
                "jobs": [entity(j) for j in v["jobs"]],
                "path": " > ".join(p["name"] + (f".{p['column']}" if p.get("column") else "") for p in v["path"]),
                "affected": len(v.get("affected", []))} for v in violations]
    verdict = "ok" if not violations else counted(len(violations), "violation")
    return View(title=f"{counted(payload['rules'], 'rule')} over {counted(payload['datasets'], 'dataset')}: "
                      f"{verdict}",
                columns=CHECK_COLUMNS, records=records, drop=("affected", "path", "jobs"),
                tone="bad" if violations else "good")


UNKNOWN_REGION = "unknown"  # the region of datasets no rule maps; never a region of the policy


@view("policy-check")
def policy_check(result: Result) -> View:
    """The regions with their globs and datasets; then, with a store, the datasets no region maps."""
    payload = result.payload
    mapped = result.context.get("mapped", False)
    regions = sum(1 for r in payload["regions"] if r["region"] != UNKNOWN_REGION)
    title = (f"{payload['policy']}: valid: {counted(regions, 'region')}, "
             f"{counted(len(payload['residency']), 'residency rule')}, {counted(len(payload['flows']), 'flow rule')}"
             + ("" if mapped else "; no store to map"))
    unmapped = View(title="datasets that match no region (unknown)", columns=["namespace", "name"],
                    records=[{"namespace": d["namespace"], "name": d["name"]} for d in payload["unmapped"]])
    return View(title=title, columns=["region", "globs", "datasets"], records=payload["regions"],
                sections=[unmapped] if mapped else [])
