"""dbt-style node selection over datasets: ``--select``/``--exclude`` of ``ls``, ``impact``, ``graph``…

Grammar (as dbt's ``--select``): terms separated by spaces are a union, atoms
joined by commas an intersection. An atom is ``[@][N+]CORE[+[N]]``; ``+x`` adds
every ancestor, ``2+x`` ancestors up to two hops, ``x+``/``x+1`` descendants,
``@x`` descendants and their ancestors. CORE is:

* a name, resolved as on the command line (exact, else a suffix at ``.``/``/``,
  through aliases and dbt unique ids), or a glob over names and their suffixes;
  and, in a store with dbt metadata, what dbt's default method selects (``path:``
  for a value with ``/``, ``file:`` for ``.sql``/``.py``/``.csv``, else ``fqn:``);
* ``tag:``, ``namespace:``, ``owner:``, ``type:`` (lineagectl's own: case-insensitive globs
  over what any producer said; dbt tests are not tags);
* one of dbt's methods (``graph/dbt_nodes.py``), as dbt means them. Tests, unit tests and
  exposures are dbt nodes but not datasets: they enter a selection through ``+``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from lineagectl.errors import InputError
from lineagectl.graph import dbt_nodes
from lineagectl.graph.dbt_nodes import DbtNodes, glob
from lineagectl.graph.names import match_datasets
from lineagectl.graph.walk import walk_datasets

_ATOM = re.compile(r"^(?P<at>@)?(?:(?P<up>\d*)(?P<plus_up>\+))?(?P<core>[^@+]+)"
                   r"(?P<plus_down>\+(?P<down>\d*))?$")
_METHOD = re.compile(r"[A-Za-z_][\w.]*")  # dbt's method part: a name, and config's dotted keys
OWN_METHODS = ("tag", "namespace", "owner", "type")
METHODS = OWN_METHODS + dbt_nodes.METHODS
_GLOB_CHARS = "*?["
# A glob over names: the whole name, a suffix of it after a "." or "/", or "namespace/name".
_NAME_GLOB = """SELECT dataset_id FROM datasets
                WHERE regexp_full_match(name, $name) OR regexp_full_match(namespace || '/' || name, $full)"""
_TEST_TAG = "dbt_test"  # lineagectl's record of a dbt test on the dataset it checks: not a dbt tag


@dataclass(frozen=True)
class Atom:
    """One selector atom: a core and the graph operators around it."""

    core: str
    up: int | bool | None  # False: no ancestors; None: all; n: up to n hops
    down: int | bool | None
    at: bool


@dataclass
class Found:
    """What a core names: datasets, and the datasets read by matching dbt nodes that are not
    datasets (tests, exposures; ``readers`` of them), which ``+`` starts from."""

    datasets: set[int]
    parents: set[int]
    readers: list[str] = field(default_factory=list)  # resource types of the matching non-datasets


def requested(select: str | None, exclude: str | None) -> bool:
    """Whether a selection was asked for (``select`` or ``exclude`` given). An empty or blank one is
    a usage error, never "no selection": ``--select "$SEL"`` with SEL unset must not choose everything."""
    for option, text in (("--select", select), ("--exclude", exclude)):
        if text is not None and not text.strip():
            raise InputError(f"{option} {text!r}: the selector is empty",
                             hint="give an expression, e.g. --select +orders or --select tag:pii; "
                                  "or leave the option out")
    return select is not None or exclude is not None


def split_method(core: str) -> tuple[str, list[str], str] | None:
    """``METHOD[.ARG…]:VALUE`` as (method, args, value); None for a name (``s3://b/k`` included)."""
    method, colon, value = core.partition(":")
    if not colon or value.startswith("//") or not _METHOD.fullmatch(method):
        return None
    name, *args = method.split(".")
    return name, args, value


def parse_atom(text: str) -> Atom:
    """Parse ``[@][N+]CORE[+[N]]``; ``InputError`` names what is wrong."""
    match = _ATOM.match(text)
    if not match:
        raise InputError(f"cannot read selector {text!r}",
                         hint="forms: name, +name, 2+name, name+, name+1, @name, tag:pii, path:models/staging")

    def hops(plus: str | None, count: str | None) -> int | bool | None:
        if not plus:
            return False
        return int(count) if count else None

    atom = Atom(core=match.group("core"), up=hops(match.group("plus_up"), match.group("up")),
                down=hops(match.group("plus_down"), match.group("down")), at=bool(match.group("at")))
    if atom.at and (atom.up is not False or atom.down is not False):
        raise InputError(f"selector {text!r}: @ cannot be combined with +")
    method = split_method(atom.core)
    if method and method[0] in dbt_nodes.UNSUPPORTED:
        raise InputError(f"selector {text!r}: dbt's method {method[0]!r} needs what a lineage store does not keep",
                         hint=f"methods: {', '.join(METHODS)}")
    if method and method[0] not in METHODS:
        raise InputError(f"selector {text!r}: unknown method {method[0]!r}", hint=f"methods: {', '.join(METHODS)}")
    if method and method[1] and method[0] != "config":
        raise InputError(f"selector {text!r}: only config takes a key (config.KEY:value)")
    if method and not method[2].strip():
        # "tag:" (SEL="tag:$TAG" with TAG unset) was looked up as a tag named "" and "matched no dataset".
        raise InputError(f"selector {text!r}: {atom.core.partition(':')[0]}: needs a value",
                         hint=f"e.g. {method[0]}:pii or {method[0]}:* (a glob)")
    return atom


class Catalog:
    """What selection needs to know about every dataset, loaded once per query."""

    def __init__(self, con: Any) -> None:
        self.con = con
        rows = con.execute("SELECT dataset_id, namespace, name, dataset_type FROM datasets").fetchall()
        self.datasets = {r[0]: r[1:] for r in rows}
        self.tags: dict[int, set[str]] = {}
        for entity, key, value in con.execute(
                "SELECT entity_id, key, value FROM tags WHERE entity_kind = 'dataset' AND key <> $test",
                {"test": _TEST_TAG}).fetchall():
            self.tags.setdefault(entity, set()).update(
                {key.lower()} | ({value.lower()} if value and value.lower() not in ("true", "false") else set()))
        self.owners: dict[int, set[str]] = {}
        for entity, owner in con.execute(
                "SELECT entity_id, owner FROM owners WHERE entity_kind = 'dataset'").fetchall():
            self.owners.setdefault(entity, set()).add(owner)

    @cached_property
    def dbt(self) -> DbtNodes:
        """The dbt nodes of the store (read when a selector first needs them)."""
        return DbtNodes.load(self.con)

    def core(self, core: str) -> Found:
        """What one selector core names (before graph operators)."""
        method = split_method(core)
        if method is None:
            return self._name(core)
        name, args, value = method
        if name in OWN_METHODS:
            return self._own(name, value, core)
        self._require_dbt(core)
        datasets, parents, readers = self.dbt.select(dbt_nodes.method_test(name, args, value, core, self.dbt))
        return Found(datasets, parents, readers)

    def _own(self, method: str, value: str, core: str) -> Found:
        match = glob(value, core, case_sensitive=False).match  # lineagectl's methods: case-insensitive
        if method == "tag":
            readers = [uid for uid, r in self.dbt.readers.items() if any(match(t) for t in r.get("tags") or [])]
            return Found({i for i, tags in self.tags.items() if any(match(t) for t in tags)},
                         set().union(*(self.dbt.parents[uid] for uid in readers)),
                         [self.dbt.readers[uid]["resource_type"] for uid in readers])
        if method == "namespace":
            return Found({i for i, (ns, _, _) in self.datasets.items() if match(ns)}, set())
        if method == "owner":
            return Found({i for i, owners in self.owners.items() if any(match(o) for o in owners)}, set())
        return Found({i for i, (_, _, kind) in self.datasets.items() if match(kind)}, set())

    def _name(self, core: str) -> Found:
        """A name as the command line resolves it (names.match_datasets: exact, else suffix, through
        aliases and dbt unique ids) or a glob over names and their suffixes at ``.``/``/``; with
        what dbt's default method selects for the same text."""
        if any(c in core for c in _GLOB_CHARS):
            pattern = glob(core, core)  # names are case-sensitive, as in dbt
            datasets = {r[0] for r in self.con.execute(_NAME_GLOB, {"name": pattern.sql_name_regex(),
                                                                   "full": pattern.sql_regex()}).fetchall()}
        else:
            datasets = {e.id for e in match_datasets(self.con, core)}
        if not self.dbt.datasets:
            return Found(datasets, set())
        default = "path" if "/" in core else "file" if core.lower().endswith((".sql", ".py", ".csv")) else "fqn"
        own, parents, readers = self.dbt.select(dbt_nodes.method_test(default, [], core, core, self.dbt))
        return Found(datasets | own, parents, readers)

    def _require_dbt(self, core: str) -> None:
        """dbt's methods read the dbtNode facets: say so when the store has none, or lacks some."""
        if not self.dbt.described:
            raise InputError(f"selector {core!r} selects dbt nodes, and this store has no dbt manifest",
                             hint="ingest one: lineagectl ingest target/manifest.json")
        missing = self.dbt.described - set(self.dbt.datasets)
        if missing:
            raise InputError(
                f"selector {core!r}: {len(missing)} of the store's dbt datasets were ingested before "
                "lineagectl kept what dbt's methods read",
                hint="re-ingest the manifest to use path:/config:/fqn:… selectors: "
                     "lineagectl ingest --force target/manifest.json")

    def closure(self, ids: set[int], direction: str, depth: int | None) -> set[int]:
        return set(walk_datasets(self.con, ids, direction, depth).datasets) if ids else set()

    def atom(self, atom: Atom) -> set[int]:
        found = self.core(atom.core)
        base, parents = found.datasets, found.parents
        chosen = set(base)
        if atom.at:  # tests and exposures have no descendants: their @ is their ancestors
            down = self.closure(base, "downstream", None)
            chosen |= down | self.closure(base | down, "upstream", None) | parents
            chosen |= self.closure(parents, "upstream", None)
        if atom.up is not False:
            chosen |= self.closure(base, "upstream", atom.up)
            if atom.up is None or atom.up >= 1:  # a test's or exposure's parents are one hop up
                chosen |= parents
                if atom.up is None or atom.up > 1:
                    chosen |= self.closure(parents, "upstream", None if atom.up is None else atom.up - 1)
        if atom.down is not False:
            chosen |= self.closure(base, "downstream", atom.down)
        if not chosen and found.readers:
            kinds = ", ".join(f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in sorted(Counter(found.readers).items()))
            if atom.up is not False or atom.at:
                raise InputError(f"selector {atom.core!r} matches only dbt nodes that are not datasets ({kinds}), "
                                 "and they read no dataset")
            raise InputError(f"selector {atom.core!r} matches only dbt nodes that are not datasets ({kinds})",
                             hint=f"the datasets they read: 1+{atom.core}; and all upstream: +{atom.core}")
        if not chosen:
            raise InputError(f"selector {atom.core!r} matches no dataset",
                             hint="list names with `lineagectl ls datasets`")
        return chosen

    def expression(self, expression: str) -> set[int]:
        requested(expression, None)
        chosen: set[int] = set()
        for term in expression.split():
            parts = [self.atom(parse_atom(p)) for p in term.split(",") if p]
            if not parts:  # `,` alone: an intersection of nothing, not "nothing selected"
                raise InputError(f"selector {term!r} names nothing between its commas",
                                 hint="an intersection is a,b: e.g. tag:nightly,+orders")
            chosen |= set.intersection(*parts)
        return chosen
