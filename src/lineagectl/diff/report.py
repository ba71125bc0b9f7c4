"""``diff``: what a dbt change (OLD manifest -> NEW manifest) changes, and whom it reaches.

One call reads both manifests (with their catalogs, if given), finds the nodes
dbt's ``state:modified`` rules call changed (``state``), the column changes of
those (``columns``), and for each breaking or partial change the columns,
owners and exposures it reaches through NEW's column lineage; with a policy, the
violations NEW introduces or resolves and the columns that become (or stop being) personal
data (``governance``). The answer is a ``Result``
of kind ``diff``; a breaking change or a new violation is a finding (exit 1).
"""

from __future__ import annotations

from collections.abc import Callable

from lineagectl.common.policy import Policy, load_policy
from lineagectl.diff.columns import CLASSES, ColumnChange, column_changes
from lineagectl.diff.facts import ProjectFacts, project_facts
from lineagectl.diff.governance import governance_delta, needs_stores, no_delta
from lineagectl.diff.runtime import RuntimeLineage, StoreImpact
from lineagectl.diff.state import read_manifest, state_changes, table_nodes
from lineagectl.errors import ExitStatus, InputError
from lineagectl.results import Result
from lineagectl.store import StoreLike, open_store

RULES = {"breaking": "breaking-change", "partial": "partial-change"}
# What makes a diff fail (exit 1), by ``fail_on``: the classes of column change, and new violations.
FAIL_ON = {"breaking": ({"breaking"}, True), "partial": ({"breaking", "partial"}, True),
           "violation": (set(), True), "never": (set(), False)}


def diff(old: str, new: str, old_catalog: str | None = None, new_catalog: str | None = None,
         policy: str | Policy | None = None, fail_on: str = "breaking", db: StoreLike = None,
         full: bool = False) -> Result:
    """The changes from the dbt manifest ``old`` to ``new`` and their downstream impact in ``new``.

    ``policy`` (a file path or a parsed ``Policy``): its ``pii.columns`` mark personal data, and its
    residency and flow rules are checked on both manifests (``governance``); a violation only NEW
    has is a finding, as a breaking change is. ``fail_on`` (``breaking``, ``partial``, ``violation``,
    ``never``) says what fails (``exit_status`` 1): a breaking change or a new violation by default;
    a partial change too; only a new violation; nothing. ``db`` (a store path or ``Store``, opened
    read-only): each breaking or partial change also reaches the consumers outside dbt that the store's
    runtime lineage knows (``runtime``), and a removed, renamed or retyped column one of them reads is
    breaking. Both manifests are ingested into temporary stores for the governance deltas only when
    they can hold one (``governance.needs_stores``); ``full`` ingests them anyway (the same answer:
    tests compare the two).
    """
    if fail_on not in FAIL_ON:
        raise InputError(f"fail_on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
    rules = policy if isinstance(policy, Policy) else load_policy(policy)
    old_manifest, new_manifest = read_manifest(old), read_manifest(new)
    changes = state_changes(old_manifest, new_manifest)
    old_facts, new_facts = project_facts(old, old_catalog), project_facts(new, new_catalog)
    governed = needs_stores(rules, old_facts, new_facts)  # before a store's PII marks: the manifests' own
    old_nodes, new_nodes = table_nodes(old_manifest), table_nodes(new_manifest)
    unchanged = {uid for uid in new_nodes if uid in old_nodes and "body" not in changes.modified.get(uid, [])}
    contracted = {uid for uid, node in old_nodes.items()
                  if isinstance(node.get("contract"), dict) and node["contract"].get("enforced") is True}
    same_warehouse = _adapter(old_manifest) == _adapter(new_manifest)
    found, store = _changes(db, old_facts, new_facts, changes.modified,
                            lambda: column_changes(old_facts, new_facts, changes.modified, unchanged, contracted,
                                                   rules, same_warehouse), rules)

    def node(uid: str) -> dict:
        facts = new_facts.nodes.get(uid) or old_facts.nodes.get(uid)
        return {"unique_id": uid, "namespace": facts.namespace if facts else None,
                "name": facts.name if facts else uid}

    columns = [_column(change, node, new_facts, store.get(i)) for i, change in enumerate(found)]
    summary = {klass: sum(1 for c in columns if c["class"] == klass) for klass in CLASSES}
    violations, personal = governance_delta(old, new, old_catalog, new_catalog, rules, _ids(old_facts),
                                            _ids(new_facts)) if governed or full else no_delta()
    payload = {
        "old": old, "new": new,
        "added": [node(uid) for uid in changes.added],
        "removed": [node(uid) for uid in changes.removed],
        "modified": [{**node(uid), "reasons": reasons} for uid, reasons in changes.modified.items()],
        "columns": columns,
        "summary": summary,
        "violations": violations,
        "pii": personal,
    }
    findings = [_finding(c, found[i].readers, new_nodes.get(c["unique_id"]))
                for i, c in enumerate(columns) if c["class"] in RULES]
    requires = {r.name: r.require for r in rules.flows}
    findings += [_violation_finding(v, requires.get(v["rule"])) for v in violations["new"]]
    classes, on_violation = FAIL_ON[fail_on]
    failing = any(summary[c] for c in classes) or (on_violation and bool(violations["new"]))
    rules_checked = [*RULES.values(), *(r.name for r in rules.residency), *(r.name for r in rules.flows)]
    return Result("diff", payload, rules=rules_checked, findings=findings,
                  exit_status=ExitStatus.FINDINGS if failing else ExitStatus.OK, context={"fail_on": fail_on})


def _changes(db: StoreLike, old: ProjectFacts, new: ProjectFacts, modified: dict[str, list[str]],
             compare: Callable[[], list[ColumnChange]], policy: Policy,
             ) -> tuple[list[ColumnChange], dict[int, StoreImpact]]:
    """The column changes (``compare``), and with a store what its runtime lineage adds to each that may
    break something (not an added column or a description: nothing reads a column before it exists).
    The store's PII marks (runtime tags such as ``classification: PII``) count before the changes are
    classified; a removed, renamed or retyped column a store consumer reads is breaking."""
    if db is None:
        return compare(), {}
    with open_store(db) as con:
        runtime = RuntimeLineage(con, old, new)
        inputs = {i[0] for uid in modified if uid in old.nodes
                  for read in old.nodes[uid].lineage.values() for i in read}
        runtime.mark_pii(policy, sorted(set(modified) | inputs))
        found = compare()
        asked = [i for i, change in enumerate(found) if change.old_column is not None
                 and change.change != "description"]
        impacts = dict(zip(asked, runtime.consumers([(found[i].unique_id, str(found[i].old_column),
                                                      found[i].readers) for i in asked]), strict=True))
    for i, impact in impacts.items():
        found[i].klass = found[i].reclassified(any(d["column"] is not None for d in impact.downstream))
    return found, impacts


def _column(change: ColumnChange, node, new: ProjectFacts, store: StoreImpact | None) -> dict:
    downstream = [{**_ref(new, uid), "column": column} for uid, column in change.readers]
    reached = {uid for uid, _ in change.readers} | {change.unique_id}
    exposures = new.exposures_reading(reached)
    owners = list(dict.fromkeys(
        [o for uid, _ in change.readers if uid in new.nodes for o in new.nodes[uid].owners]
        + [o for e in exposures for o in e.owners]))
    found = {**node(change.unique_id), "column": change.column, "change": change.change, "class": change.klass,
             "detail": change.why, "downstream": downstream, "owners": owners,
             "exposures": [{"unique_id": e.unique_id, "name": e.name} for e in exposures]}
    if store is not None:
        found["downstream"] = downstream + store.downstream
        found["owners"] = list(dict.fromkeys(owners + store.owners))
        found["store_owners"] = store.owners
    return found


def _ids(project: ProjectFacts) -> dict[tuple[str, str], str]:
    return {(facts.namespace, facts.name): uid for uid, facts in project.nodes.items()}


def _adapter(manifest: dict) -> object:
    metadata = manifest.get("metadata")
    return metadata.get("adapter_type") if isinstance(metadata, dict) else None


def _ref(project: ProjectFacts, uid: str) -> dict:
    facts = project.nodes.get(uid)
    return {"namespace": facts.namespace, "name": facts.name} if facts else {"namespace": None, "name": uid}


def _finding(column: dict, readers: list[tuple[str, str]], node: dict | None) -> dict:
    """A breaking (error) or partial (warning) change as the CI formats read a finding: from the
    changed column to its first reader (the dbt node reading it as the "job"), at the model's file."""
    source = {"namespace": column["namespace"], "name": column["name"], "column": column["column"]}
    target = column["downstream"][0] if column["downstream"] else source
    finding = {"rule": RULES[column["class"]], "level": "error" if column["class"] == "breaking" else "warning",
            "source": source, "target": target, "path": [source, *column["downstream"][:1]],
            "jobs": [{"namespace": "dbt", "name": uid} for uid, _ in readers[:1]],
            "affected": column["downstream"][1:], "require": None,
            "change": column["change"], "detail": column["detail"]}
    path = node.get("original_file_path") if node else None
    if isinstance(path, str):
        finding["location"] = {"file": path, "line": 1}
    return finding


def _violation_finding(violation: dict, require: str | None) -> dict:
    """A violation NEW introduces, as ``residency-check`` reports it (``require``: a flow rule's)."""
    return {"rule": violation["rule"], "level": "error", "source": violation["source"],
            "target": violation["target"], "path": violation["path"], "jobs": violation["jobs"],
            "affected": violation.get("affected", []), "require": require}
