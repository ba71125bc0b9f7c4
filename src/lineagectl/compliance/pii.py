"""Personal data: which columns are PII, and where their values flow.

A column is personal data when a field-level ``tags`` facet marks it
(``pii`` = true/yes/1, or ``classification`` = PII; dbt ``meta: {pii: true}`` and
``tags: [pii]`` arrive as such tags), or when a ``pii.columns`` glob of the policy
matches it. ``lineagectl pii`` lists them, and every column their values reach
downstream through DIRECT column lineage, saying whether each path is masked.
"""

from __future__ import annotations

from lineagectl.graph.walk import column_path, reach, walk_column_set
from lineagectl.common.policy import Policy, load_policy
from lineagectl.results import Result, counted
from lineagectl.store import open_store

# Field-level tags that mark personal data; dbt-sourced tags say so in their source.
_PII_TAGS = """
    SELECT t.entity_id, t.field, min(CASE WHEN t.source = 'dbt' THEN 'dbt' ELSE 'tag' END
                                     || ' ' || t.key || '=' || coalesce(t.value, 'true'))
    FROM tags t JOIN datasets d ON d.dataset_id = t.entity_id
    WHERE t.entity_kind = 'dataset' AND t.field IS NOT NULL
      AND (lower(t.key) = 'pii' AND lower(coalesce(t.value, 'true')) IN ('true', 'yes', '1')
           OR lower(t.key) = 'classification' AND lower(t.value) = 'pii')
    GROUP BY ALL"""
_TAGGED = """
    SELECT t.entity_id, t.field, min('tag ' || t.key || coalesce('=' || t.value, ''))
    FROM tags t JOIN datasets d ON d.dataset_id = t.entity_id
    WHERE t.entity_kind = 'dataset' AND t.field IS NOT NULL
      AND (lower(t.key) = lower($tag) OR lower(t.value) = lower($tag))
    GROUP BY ALL"""
# The column pre-filter lets DuckDB skip most rows before building the long strings.
_GLOBBED = """
    SELECT c.dataset_id, c.column_name
    FROM (SELECT * FROM columns WHERE regexp_full_match(column_name, $last)) c JOIN datasets d USING (dataset_id)
    WHERE regexp_full_match(d.name || '.' || c.column_name, $regex)
       OR regexp_full_match(d.namespace || '/' || d.name || '.' || c.column_name, $regex)"""

ColumnKey = tuple[int, str]


def pii_columns(con, policy: Policy) -> dict[ColumnKey, list[str]]:
    """Personal-data columns, as (dataset id, lower-cased column) → why (tags, dbt, policy globs)."""
    found: dict[ColumnKey, list[str]] = {}
    for dataset_id, column, why in con.execute(_PII_TAGS).fetchall():
        found.setdefault((dataset_id, column.lower()), []).append(why)
    for glob in policy.pii_columns:
        params = {"regex": glob.sql_regex(), "last": glob.sql_last_part_regex()}
        for dataset_id, column in con.execute(_GLOBBED, params).fetchall():
            found.setdefault((dataset_id, column.lower()), []).append(f"policy {glob.pattern}")
    return found


def tagged_columns(con, tag: str, policy: Policy) -> dict[ColumnKey, list[str]]:
    """Columns carrying field-level tag ``tag`` (as key or value); ``pii`` means every PII column."""
    if tag.lower() == "pii":
        return pii_columns(con, policy)
    found: dict[ColumnKey, list[str]] = {}
    for dataset_id, column, why in con.execute(_TAGGED, {"tag": tag}).fetchall():
        found.setdefault((dataset_id, column.lower()), []).append(why)
    return found


def column_names(con, keys) -> dict[ColumnKey, str]:
    """The stored spelling of (dataset id, lower-cased column) keys."""
    ids = sorted({k[0] for k in keys})
    rows = con.execute("SELECT dataset_id, column_name FROM columns WHERE dataset_id IN "
                       "(SELECT unnest($ids::BIGINT[]))", {"ids": ids}).fetchall() if ids else []
    spelled = {(d, c.lower()): c for d, c in rows}
    return {k: spelled.get(k, k[1]) for k in keys}


def datasets_by_id(con, ids) -> dict[int, tuple[str, str, str]]:
    """namespace, name and type of datasets by id."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    rows = con.execute("SELECT dataset_id, namespace, name, dataset_type FROM datasets WHERE dataset_id IN "
                       "(SELECT unnest($ids::BIGINT[]))", {"ids": ids}).fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def edge_text(edge: tuple) -> str:
    """``DIRECT/IDENTITY``-style text of one column edge, with ``masked`` when it masks."""
    kind, subtype, masking = edge[5], edge[6], edge[7]
    return kind + (f"/{subtype}" if subtype else "") + (" masked" if masking else "")


def pii(db: str | None = None, policy: str | Policy | None = None) -> Result:
    """Personal-data columns and every column their values reach through DIRECT column lineage."""
    rules = policy if isinstance(policy, Policy) else load_policy(policy)
    with open_store(db) as con:
        seeds = pii_columns(con, rules)
        walk = walk_column_set(con, [(d, c) for d, c in seeds], "downstream", direct_only=True)
        reached = {(d, c.lower()) for d, c in walk.columns} - set(seeds)
        names = column_names(con, set(seeds) | reached)
        datasets = datasets_by_id(con, [k[0] for k in names])
    any_path = reach(seeds, walk.edges)
    unmasked = reach(seeds, walk.edges, keep=lambda e: not e[7])

    def where(key: ColumnKey) -> dict:
        namespace, name, _ = datasets.get(key[0], ("?", "?", None))
        return {"namespace": namespace, "name": name, "column": names[key]}

    tagged = sorted(({**where(k), "sources": sorted(v)} for k, v in seeds.items() if k[0] in datasets),
                    key=lambda r: (r["namespace"], r["name"], r["column"].lower()))
    propagated = []
    for key in reached:
        if key[0] not in datasets:
            continue
        path = column_path(unmasked if key in unmasked else any_path, key)
        origin = (path[0][0], path[0][1].lower())
        propagated.append({**where(key), "depth": len(path), "masked": key not in unmasked,
                           "origin": where(origin),
                           "transformations": [{"type": e[5], "subtype": e[6], "masking": bool(e[7])}
                                               for e in path]})
    propagated.sort(key=lambda r: (r["depth"], r["namespace"], r["name"], r["column"].lower()))
    payload = {"columns": tagged, "propagated": propagated}
    records = [{"depth": 0, "namespace": r["namespace"], "name": r["name"], "column": r["column"],
                "masked": False, "why": ", ".join(r["sources"]), "path": ""} for r in tagged]
    records += [{"depth": r["depth"], "namespace": r["namespace"], "name": r["name"], "column": r["column"],
                 "masked": r["masked"], "why": f"from {r['origin']['name']}.{r['origin']['column']}",
                 "path": " > ".join(edge_text((0, "", 0, 0, "", t["type"], t["subtype"], t["masking"]))
                                    for t in r["transformations"])} for r in propagated]
    return Result(payload=payload, records=records,
                  columns=["depth", "namespace", "name", "column", "masked", "why", "path"],
                  title=f"{counted(len(tagged), 'personal-data column')}; {len(propagated)} more reached through "
                        f"DIRECT lineage ({sum(not r['masked'] for r in propagated)} unmasked)")
