"""The read endpoints of ``lineagectl serve``: a request's path and query → the JSON bytes it answers.

Two families. ``/api/v1/…`` answers in Marquez's shapes (``marquez.py``,
``marquez_columns.py``, ``marquez_objects.py``) so Marquez's users and tools feel at home;
``/lineagectl/v1/{impact,trace,erase,residency-check}`` answer exactly what the
command's ``-f json`` prints (the same ``results.json_text`` bytes), with query
parameters named as the command's options (``?name=orders&column=id&depth=2``;
flags as ``direct-only=true``). ``serve`` sits below ``api`` and cannot import
it: the library calls arrive as a ``Library`` that ``api.serve`` fills.

Failures are the library's error classes, which the handler turns into statuses
(``app.read_failure``): bad parameters ``InputError`` (400) with the reason the
command gives, unknown names ``NotFoundError`` (404). Path segments are
percent-decoded one by one, so names holding ``/``, ``:`` or ``.`` arrive whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from lineagectl.errors import InputError, NotFoundError
from lineagectl.results import json_text
from lineagectl.serve import marquez, marquez_objects

API = ("api", "v1")
OWN = ("lineagectl", "v1")


@dataclass(frozen=True)
class Library:
    """The library calls behind the read endpoints, each taking the store ``db`` as ``api``'s do;
    ``policy`` is the server's policy file (PII, residency rules), never a request's."""

    db: Any
    policy: Any
    graph: Callable[..., Any]
    impact: Callable[..., Any]
    trace: Callable[..., Any]
    erase: Callable[..., Any]
    residency_check: Callable[..., Any]
    catalog: Any  # queries.objects: namespaces, datasets, jobs, search
    field_lineage: Callable[..., dict]  # queries.field_lineage.field_lineage


class Query:
    """A request's query parameters, read as the command's options are: each at most once, none unknown."""

    def __init__(self, text: str, endpoint: str) -> None:
        self.values = parse_qs(text, keep_blank_values=True)
        self.endpoint = endpoint

    def allow(self, *names: str) -> None:
        """``InputError`` for a parameter ``names`` does not list (a typo must not be ignored)."""
        unknown = sorted(set(self.values) - set(names))
        if unknown:
            known = ", ".join(names) or "none"
            raise InputError(f"{self.endpoint}: unknown parameter {unknown[0]!r} (parameters: {known})")

    def text(self, name: str) -> str | None:
        """The parameter's value, None when absent; ``InputError`` when it is given twice."""
        values = self.values.get(name)
        if not values:
            return None
        if len(values) > 1:
            raise InputError(f"{self.endpoint}: {name} is given {len(values)} times")
        return values[0]

    def required(self, name: str, what: str) -> str:
        """The parameter's value; ``InputError`` naming ``what`` it is when absent or empty."""
        value = self.text(name)
        if not value:
            raise InputError(f"{self.endpoint}: missing {name}= ({what})")
        return value

    def integer(self, name: str, default: int | None = None, option: str | None = None) -> int | None:
        """The parameter as an integer (``default`` when absent); the error names ``option``."""
        value = self.text(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise InputError(f"{option or name}: {value!r} is not a valid integer") from None

    def flag(self, name: str, option: str | None = None) -> bool:
        """A flag: absent is false; present with no value, ``true``, ``1`` or ``yes`` is true."""
        value = self.text(name)
        if value is None:
            return False
        word = value.strip().lower()
        if word in ("", "true", "1", "yes"):
            return True
        if word in ("false", "0", "no"):
            return False
        raise InputError(f"{option or name}: {value!r} is not a valid boolean (true or false)")

    def choice(self, name: str, choices: tuple[str, ...], option: str | None = None) -> str | None:
        """The parameter, lower-cased, if it is one of ``choices`` (any case); None when absent."""
        value = self.text(name)
        if value is None:
            return None
        if value.lower() not in choices:
            allowed = ", ".join(repr(c) for c in choices)
            raise InputError(f"{option or name}: {value!r} is not one of {allowed}")
        return value.lower()


def answer(library: Library, target: str) -> bytes:
    """The JSON body answering ``GET target``; ``LineageError`` subclasses for what cannot be answered."""
    parts = urlsplit(target)
    # Decoded per segment: a percent-encoded '/' inside a name is not a separator.
    segments = tuple(unquote(s) for s in parts.path.split("/")[1:])
    endpoint = "/" + "/".join(parts.path.split("/")[1:])
    query = Query(parts.query, endpoint)
    if segments[:2] == OWN and len(segments) == 3 and segments[2] in OWN_ANSWERS:
        result = OWN_ANSWERS[segments[2]](library, query)
        return (json_text(result.payload) + "\n").encode()
    if segments[:2] == API:
        found = marquez.answer(library, segments[2:], query) if len(segments) > 2 else None
        if found is None:
            found = marquez_objects.answer(library, segments[2:], query)
        if found is not None:
            return json_text(found, indent=False).encode()
    raise NotFoundError(f"no such endpoint: GET {endpoint}")


# --- lineagectl's own answers: the commands' options as parameters ----------------------------

_LINEAGE_OPTIONS = ("name", "column", "depth", "direct-only", "include-jobs", "namespace", "kind", "as-of",
                    "select", "exclude")


def _lineage_options(query: Query) -> dict[str, Any]:
    return {"column": query.text("column"), "depth": query.integer("depth", option="--depth"),
            "direct_only": query.flag("direct-only", "--direct-only"),
            "include_jobs": query.flag("include-jobs", "--include-jobs"),
            "namespace": query.text("namespace"),
            "kind": query.choice("kind", ("dataset", "model"), "--kind"),
            "as_of": query.text("as-of"), "select": query.text("select"), "exclude": query.text("exclude")}


def _impact(library: Library, query: Query) -> Any:
    """``lineagectl impact NAME [options] -f json``."""
    query.allow(*_LINEAGE_OPTIONS)
    name = query.required("name", "the dataset, as impact's NAME")
    return library.impact(name, library.db, **_lineage_options(query))


def _trace(library: Library, query: Query) -> Any:
    """``lineagectl trace NAME [options] -f json``; with ``run``/``version``, the provenance answer."""
    query.allow(*_LINEAGE_OPTIONS, "run", "version")
    run, version = query.text("run"), query.text("version")
    if run is not None or version is not None:
        return library.trace(query.text("name"), library.db, run_id=run, version=version,
                             namespace=query.text("namespace"), depth=query.integer("depth", option="--depth"))
    name = query.text("name")
    if not name:
        raise InputError("trace needs a NAME (or --run RUN_ID)")
    return library.trace(name, library.db, **_lineage_options(query))


def _erase(library: Library, query: Query) -> Any:
    """``lineagectl erase [NAME] --column … -f json``, with the server's policy."""
    query.allow("name", "column", "value", "dialect", "tag", "namespace")
    return library.erase(query.text("column"), library.db, name=query.text("name"), value=query.text("value"),
                         dialect=query.text("dialect"), tag=query.text("tag"), namespace=query.text("namespace"),
                         policy=library.policy)


def _residency_check(library: Library, query: Query) -> Any:
    """``lineagectl residency-check -f json`` against the server's policy (the answer, whatever it finds)."""
    query.allow()
    return library.residency_check(library.db, library.policy)


OWN_ANSWERS: dict[str, Callable[[Library, Query], Any]] = {
    "impact": _impact, "trace": _trace, "erase": _erase, "residency-check": _residency_check}
