"""Column changes of the modified models, classified, with their downstream impact in NEW.

For each table both manifests have and dbt calls modified, every column is
compared (docs/diff.md has the rules):

- ``added``: non-breaking;
- ``removed``: breaking when something downstream reads it or the old model's
  contract was enforced, else partial (a consumer outside dbt may read it);
- ``renamed`` (a removed and an added column with the same lineage): as removed;
- ``retyped`` (types known from a catalog or contract on both sides): as removed;
- ``expression``: its lineage (input columns, transformation type/subtype,
  masking) differs: partial, or breaking when masking was removed from a PII column;
- ``description``: non-breaking.

Readers are found by column lineage in NEW; a removed column is gone from NEW's
lineage, so its readers are also those of OLD that NEW keeps with the same body.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lineagectl.common.policy import Policy
from lineagectl.diff.facts import NodeFacts, ProjectFacts
from lineagectl.graph.pii import policy_marks

CHANGES = ("added", "removed", "renamed", "retyped", "expression", "description")
CLASSES = ("breaking", "partial", "non-breaking")


@dataclass
class ColumnChange:
    unique_id: str
    column: str
    change: str
    klass: str
    why: str
    readers: list[tuple[str, str]] = field(default_factory=list)
    old_column: str | None = None  # its name in OLD (None: added)
    contracted: bool = False
    masking_removed: bool = False

    def reclassified(self, read: bool) -> str:
        """The class this change has when something (also outside dbt: ``runtime``) reads it or not."""
        return classify(self.change, read or bool(self.readers), self.contracted, self.masking_removed)


def column_changes(old: ProjectFacts, new: ProjectFacts, modified: dict[str, list[str]],
                   unchanged_bodies: set[str], contracted: set[str], policy: Policy | None,
                   same_warehouse: bool = True) -> list[ColumnChange]:
    """The column changes of each node of ``modified`` that both projects describe.

    ``unchanged_bodies``: nodes whose SQL NEW keeps (their OLD reads still hold);
    ``contracted``: nodes whose contract OLD enforced; ``same_warehouse``: False when the two
    manifests come from different adapters, whose type names are not comparable (no ``retyped``)."""
    found: list[ColumnChange] = []
    for uid in sorted(modified):
        before, after = old.nodes.get(uid), new.nodes.get(uid)
        if before is None or after is None:
            continue
        renamed = _renames(before, after)
        for key in sorted(set(before.columns) | set(after.columns)):
            if key in renamed.values():
                continue  # reported with the column it was
            pii = _is_pii(before, after, key, policy) or _reads_pii(old, before, key, policy)
            change = _compare(before, after, key, same_warehouse, pii)
            if change is None:
                continue
            kind, why, masking_removed = change
            name = (after.columns.get(key) or before.columns[key])[0]
            if key in renamed:
                name = after.columns[renamed[key]][0]
                kind, why = "renamed", f"{before.columns[key][0]} -> {name}"
            readers = new.downstream(uid, key)
            if kind in ("removed", "renamed"):
                known = set(readers)
                readers += [r for r in old.downstream(uid, key) if r[0] in unchanged_bodies and r not in known]
            klass = classify(kind, bool(readers), uid in contracted, masking_removed)
            old_name = before.columns[key][0] if key in before.columns else None
            found.append(ColumnChange(uid, name, kind, klass, why, readers, old_name, uid in contracted,
                                      masking_removed))
    return found


def _renames(before: NodeFacts, after: NodeFacts) -> dict[str, str]:
    """Columns the SQL renamed: a removed column and an added one with the same, known lineage
    (``a as b`` where ``a`` was), when that pairing is unique."""
    removed = [k for k in before.columns if k not in after.columns and before.lineage.get(k)]
    added = [k for k in after.columns if k not in before.columns and after.lineage.get(k)]
    pairs = {}
    for key in removed:
        same = [a for a in added if after.lineage[a] == before.lineage[key]]
        if len(same) == 1 and sum(before.lineage.get(k) == before.lineage[key] for k in removed) == 1:
            pairs[key] = same[0]
    return pairs


def _compare(before: NodeFacts, after: NodeFacts, key: str, typed: bool, pii: bool) -> tuple[str, str, bool] | None:
    if key not in before.columns:
        return "added", "new column", False
    if key not in after.columns:
        return "removed", "column dropped", False
    old_type, new_type = before.columns[key][1], after.columns[key][1]
    if typed and old_type and new_type and old_type.lower() != new_type.lower():
        return "retyped", f"{old_type} -> {new_type}", False
    old_inputs, new_inputs = before.lineage.get(key), after.lineage.get(key)
    if old_inputs is not None and new_inputs is not None and old_inputs != new_inputs:
        masked_before = any(i[4] for i in old_inputs)
        masked_after = any(i[4] for i in new_inputs)
        removed = masked_before and not masked_after
        why = "masking removed" if removed else _expression_why(old_inputs, new_inputs)
        return "expression", why, removed and pii
    if before.descriptions.get(key) != after.descriptions.get(key):
        return "description", "description changed", False
    return None


def _expression_why(old: frozenset, new: frozenset) -> str:
    old_sources = {(i[0], i[1]) for i in old}
    new_sources = {(i[0], i[1]) for i in new}
    if old_sources != new_sources:
        return "inputs changed"
    return "transformation changed"


def classify(kind: str, read: bool, contracted: bool, masking_removed: bool) -> str:
    """The class of a change of ``kind``: ``read`` downstream, of a model whose contract OLD enforced,
    removing masking from personal data (docs/diff.md's table)."""
    if kind in ("removed", "renamed", "retyped"):
        return "breaking" if read or contracted else "partial"
    if kind == "expression":
        return "breaking" if masking_removed else "partial"
    return "non-breaking"


def _is_pii(before: NodeFacts, after: NodeFacts, key: str, policy: Policy | None) -> bool:
    """A column personal data in either manifest (or in the ``--db`` store)."""
    return _marked(before, key, policy) or _marked(after, key, policy)


def _marked(node: NodeFacts, key: str, policy: Policy | None) -> bool:
    """Tagged PII (``graph.pii.is_pii_tag``, the one rule, as ``facts`` read the tags) or named by the
    policy's ``pii.columns`` (``graph.pii.policy_marks``). Globs match case-insensitively, so the
    lower-case key will do for a column the node does not list."""
    if key in node.pii:
        return True
    if policy is None or not policy.pii_columns:
        return False
    return bool(policy_marks(policy, node.namespace, node.name, node.columns.get(key, (key, None))[0]))


def _reads_pii(project: ProjectFacts, node: NodeFacts, key: str, policy: Policy | None) -> bool:
    """A column whose OLD lineage reads a PII column directly: the path carries personal data."""
    for source, column, *_ in node.lineage.get(key) or ():
        facts = project.nodes.get(source)
        if facts is not None and _marked(facts, column, policy):
            return True
    return False
