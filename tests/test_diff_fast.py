"""``diff``'s fast path: without rules or PII to look for, no manifest is ingested, and the answer is
the full path's (bench/diff.py measures the time)."""

from __future__ import annotations

import json

import pytest

from lineagectl.common.policy import load_policy
from lineagectl.diff.facts import project_facts
from lineagectl.diff.governance import needs_stores
from lineagectl.diff.report import diff
from test_diff import PII_SOURCE, _manifest, netsuite


@pytest.mark.parametrize("old, new", [("v11.dbt1.7.18", "v12.dbt1.9.0")])
def test_the_fast_path_answers_as_the_full_path_on_a_netsuite_pair(old, new):
    args = (netsuite(old), netsuite(new), netsuite(old, "catalog"), netsuite(new, "catalog"))
    assert not needs_stores(load_policy(None), project_facts(args[0], args[2]), project_facts(args[1], args[3]))
    fast, full = diff(*args), diff(*args, full=True)
    assert fast.payload["columns"]  # a real change, with column changes to compare
    assert json.dumps(fast.payload, sort_keys=True) == json.dumps(full.payload, sort_keys=True)
    assert (fast.findings, fast.exit_status, fast.rules) == (full.findings, full.exit_status, full.rules)


def test_rules_or_a_pii_tag_take_the_full_path(tmp_path):
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(_manifest()))
    tagged = tmp_path / "tagged.json"
    tagged.write_text(json.dumps(_manifest(source=PII_SOURCE)))
    facts = project_facts(str(plain))
    assert not needs_stores(load_policy(None), facts, facts)
    assert needs_stores(load_policy(None), facts, project_facts(str(tagged)))  # a dbt meta: {pii: true}
    for rules in ("pii:\n  columns: ['*.nothing']\n",
                  "regions:\n  eu: ['postgres://wh']\nresidency:\n  - {name: eu-stays, from: eu, allowed: [eu]}\n",
                  "flows:\n  - {name: masked, from: {tag: pii}, to: {name: 'x.*'}, require: masking}\n"):
        policy = tmp_path / "lineagectl.yaml"
        policy.write_text(rules)
        assert needs_stores(load_policy(str(policy)), facts, facts), rules
