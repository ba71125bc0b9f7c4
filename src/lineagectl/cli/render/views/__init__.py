"""Views: what a user reads of a ``Result``, one function per ``Result.kind``.

The library answers with data (``lineagectl.results.Result``: a kind, the JSON
payload, and graph/tree/findings data). Every word around it is made here: the
title, the table's columns and rows (also the rows of csv, ndjson and
markdown), sections for answers that are several tables (``show``), and the
labelled tree of ``impact``/``trace``. The renderers (``lineagectl.cli.render``)
draw a ``View`` and never look at a command.

One module per command group: ``catalog`` (stats, ls, select, show),
``lineage`` (impact, trace, provenance, graph), ``sql`` (sql), ``compliance`` (pii, erase,
access, residency-check, policy-check) and ``operations`` (ingest, prune,
prune-history, changes, quality).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lineagectl.results import Result, transformation_text


@dataclass
class View:
    """A result as the tabular formats draw it."""

    title: str | None = None
    columns: list[str] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)
    # More tables after the first, each with its own title (``show``: columns, versions, …).
    sections: list[View] = field(default_factory=list)
    # A tree for the table format instead of tables: [{"id", "parent" (None for the root), "label"}], parents first.
    tree: list[dict] | None = None
    # One line for stderr where a command reports instead of answering (``ingest``).
    summary: str | None = None
    # Columns a narrow terminal may leave out, the least useful first (``render.terminal.fit``).
    drop: tuple[str, ...] = ()
    # How the title reads on a terminal: "bad" (violations, at risk) in red, "good" in green.
    tone: str | None = None


class Owners(tuple):
    """A cell of owners' names. Every format shows them as a list ("a, b"), except that ``markdown``
    writes a name that is exactly a GitHub handle (``@user``, ``@org/team``) as a mention, so a
    pull-request comment notifies the owners it names; any other name stays escaped text."""

    __slots__ = ()


ViewFunction = Callable[[Result], View]
VIEWS: dict[str, ViewFunction] = {}


def view(*kinds: str) -> Callable[[ViewFunction], ViewFunction]:
    """Register the view of the results of ``kinds``."""

    def register(fn: ViewFunction) -> ViewFunction:
        for kind in kinds:
            VIEWS[kind] = fn
        return fn

    return register


def view_of(result: Result) -> View:
    """The view of ``result``, by its kind."""
    make = VIEWS.get(result.kind)
    if make is None:
        raise LookupError(f"no view for results of kind {result.kind!r}")  # a bug: every kind has one
    return make(result)


def path_text(transformations: list[dict]) -> str:
    """A column path's transformations: ``DIRECT/IDENTITY > DIRECT/TRANSFORMATION masked``."""
    return " > ".join(transformation_text(t) for t in transformations)


def entity(ref: dict) -> str:
    """``namespace name``, as every view names a dataset or job."""
    return f"{ref['namespace']} {ref['name']}"


from . import catalog, compliance, diff, lineage, operations, sql  # noqa: E402, F401 - each registers its views
