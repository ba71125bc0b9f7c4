"""dbt-style node selection over datasets: ``--select``/``--exclude`` of ``ls``, ``impact``, ``graph``…

Grammar (as dbt's ``--select``): terms separated by spaces are a union, atoms
joined by commas an intersection. An atom is ``[@][N+]CORE[+[N]]`` where CORE
is a name (resolved as on the command line: exact, else a suffix at ``.``/``/``,
through aliases and dbt unique ids; or a glob with ``*``)
or ``METHOD:VALUE`` with methods ``tag``, ``namespace``, ``owner``, ``type``
(values may be globs). ``+x`` adds every ancestor, ``2+x`` ancestors up to two
hops, ``x+``/``x+1`` descendants, ``@x`` descendants and their ancestors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lineagectl.common.globs import Glob, GlobError
from lineagectl.errors import InputError
from lineagectl.graph.names import match_datasets
from lineagectl.graph.walk import walk_datasets

_ATOM = re.compile(r"^(?P<at>@)?(?:(?P<up>\d*)(?P<plus_up>\+))?(?P<core>[^@+]+)"
                   r"(?P<plus_down>\+(?P<down>\d*))?$")
METHODS = ("tag", "namespace", "owner", "type")


@dataclass(frozen=True)
class Atom:
    """One selector atom: a core and the graph operators around it."""

    core: str
    up: int | bool | None  # False: no ancestors; None: all; n: up to n hops
    down: int | bool | None
    at: bool


def parse_atom(text: str) -> Atom:
    """Parse ``[@][N+]CORE[+[N]]``; ``InputError`` names what is wrong."""
    match = _ATOM.match(text)
    if not match:
        raise InputError(f"cannot read selector {text!r}",
                         hint="forms: name, +name, 2+name, name+, name+1, @name, tag:pii, namespace:s3://*")

    def hops(plus: str | None, count: str | None) -> int | bool | None:
        if not plus:
            return False
        return int(count) if count else None

    atom = Atom(core=match.group("core"), up=hops(match.group("plus_up"), match.group("up")),
                down=hops(match.group("plus_down"), match.group("down")), at=bool(match.group("at")))
    if atom.at and (atom.up is not False or atom.down is not False):
        raise InputError(f"selector {text!r}: @ cannot be combined with +")
    method, colon, value = atom.core.partition(":")
    if colon and method.isalpha() and not value.startswith("//") and method not in METHODS:
        raise InputError(f"selector {text!r}: unknown method {method!r}", hint=f"methods: {', '.join(METHODS)}")
    return atom


def _glob(pattern: str, selector: str, case_sensitive: bool) -> Glob:
    try:
        return Glob(pattern, case_sensitive=case_sensitive)
    except GlobError as exc:
        raise InputError(f"selector {selector!r}: {exc}") from None


class Catalog:
    """What selection needs to know about every dataset, loaded once per query."""

    def __init__(self, con: Any) -> None:
        self.con = con
        rows = con.execute("SELECT dataset_id, namespace, name, dataset_type FROM datasets").fetchall()
        self.datasets = {r[0]: r[1:] for r in rows}
        self.tags: dict[int, set[str]] = {}
        for entity, key, value in con.execute(
                "SELECT entity_id, key, value FROM tags WHERE entity_kind = 'dataset'").fetchall():
            self.tags.setdefault(entity, set()).update(
                {key.lower()} | ({value.lower()} if value and value.lower() not in ("true", "false") else set()))
        self.owners: dict[int, set[str]] = {}
        for entity, owner in con.execute(
                "SELECT entity_id, owner FROM owners WHERE entity_kind = 'dataset'").fetchall():
            self.owners.setdefault(entity, set()).add(owner)

    def core(self, core: str) -> set[int]:
        """The datasets one selector core names (before graph operators)."""
        method, _, value = core.partition(":")
        if method in METHODS and value:
            glob = _glob(value, core, case_sensitive=False)  # method values match case-insensitively
            if method == "tag":
                return {i for i, tags in self.tags.items() if any(glob.match(t) for t in tags)}
            if method == "namespace":
                return {i for i, (ns, _, _) in self.datasets.items() if glob.match(ns)}
            if method == "owner":
                return {i for i, owners in self.owners.items() if any(glob.match(o) for o in owners)}
            return {i for i, (_, _, kind) in self.datasets.items() if glob.match(kind)}
        if any(c in core for c in "*?["):
            glob = _glob(core, core, case_sensitive=True)  # names are case-sensitive, as in dbt
            return {i for i, (ns, name, _) in self.datasets.items() if glob.match(name) or glob.match(f"{ns}/{name}")}
        # A plain name is resolved as on the command line (names.match_datasets): exact, then
        # suffix, through aliases and dbt unique ids; every dataset it names is selected.
        return {e.id for e in match_datasets(self.con, core)}

    def closure(self, ids: set[int], direction: str, depth: int | None) -> set[int]:
        return set(walk_datasets(self.con, ids, direction, depth).datasets)

    def atom(self, atom: Atom) -> set[int]:
        base = self.core(atom.core)
        if not base:
            raise InputError(f"selector {atom.core!r} matches no dataset",
                             hint="list names with `lineagectl ls datasets`")
        chosen = set(base)
        if atom.at:
            down = self.closure(base, "downstream", None)
            chosen |= down | self.closure(base | down, "upstream", None)
        if atom.up is not False:
            chosen |= self.closure(base, "upstream", atom.up)
        if atom.down is not False:
            chosen |= self.closure(base, "downstream", atom.down)
        return chosen

    def expression(self, expression: str) -> set[int]:
        chosen: set[int] = set()
        for term in expression.split():
            parts = [self.atom(parse_atom(p)) for p in term.split(",") if p]
            chosen |= set.intersection(*parts) if parts else set()
        return chosen
