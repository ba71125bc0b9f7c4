"""The renderer registry: one function per output format, shared by every command.

A renderer takes a ``Result`` and a text stream. Commands never branch on the
format; they call ``render(result, fmt, stream)``. ``json`` writes the payload;
the tabular formats (table, csv, ndjson, markdown) draw the result's ``View``,
which ``views`` makes for its ``kind``. Output is made safe here, once:
control characters cannot reach a terminal, CSV cells cannot start a
spreadsheet formula, JSON is exact.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from lineagectl.cli.render.escape import one_line
from lineagectl.cli.render.views import View, view_of
from lineagectl.errors import InputError
from lineagectl.results import Result, json_text

Renderer = Callable[[Result, TextIO, bool], None]
RENDERERS: dict[str, Renderer] = {}

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A spreadsheet that splits a cell at ";" or a tab (European locales, pasted text) would start
# a new cell there: a formula character after one is neutralised too.
_FORMULA_AFTER_SEPARATOR = re.compile(r"([;\t]\s*)(?=[=+\-@])")


def renderer(name: str) -> Callable[[Renderer], Renderer]:
    """Register a renderer for ``--format name``."""

    def register(fn: Renderer) -> Renderer:
        RENDERERS[name] = fn
        return fn

    return register


def render(result: Result, fmt: str, stream: TextIO, color: bool = False,
           allowed: tuple[str, ...] | None = None) -> None:
    """Write ``result`` to ``stream`` in format ``fmt``."""
    choices = allowed or tuple(RENDERERS)
    if fmt not in choices or fmt not in RENDERERS:
        raise InputError(f"unknown format {fmt!r}; choose one of: {', '.join(choices)}")
    RENDERERS[fmt](result, stream, color)


@contextmanager
def _utf8(stream: TextIO) -> Iterator[TextIO]:
    """``stream`` writing UTF-8: machine formats are exchanged in UTF-8 whatever the terminal's
    encoding (RFC 8259), so a cp1252 or ascii console cannot corrupt or break them."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    buffer = getattr(stream, "buffer", None)
    if buffer is None or codecs.lookup(encoding).name == "utf-8":
        yield stream
        return
    stream.flush()
    wrapper = io.TextIOWrapper(buffer, encoding="utf-8", newline="", write_through=True)
    try:
        yield wrapper
    finally:
        wrapper.flush()
        wrapper.detach()


@renderer("json")
def _json(result: Result, stream: TextIO, color: bool) -> None:
    with _utf8(stream) as out:
        out.write(json_text(result.payload, indent=True) + "\n")


@renderer("ndjson")
def _ndjson(result: Result, stream: TextIO, color: bool) -> None:
    from lineagectl.cli.render.machine import main_items

    with _utf8(stream) as out:
        for item in main_items(result):
            out.write(json_text(item, indent=False) + "\n")


@renderer("name")
def _names(result: Result, stream: TextIO, color: bool) -> None:
    # One name per line for scripts; a name holding a newline or control character cannot split
    # or forge a line (``escape.one_line``).
    from lineagectl.cli.render.machine import names

    with _utf8(stream) as out:
        for name in names(result):
            out.write(one_line(name) + "\n")


def _csv_cell(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"  # as JSON writes them
    if isinstance(value, str):
        # CSV is read by people too (cat, CI logs): one line per row, nothing a terminal acts on.
        value = _FORMULA_AFTER_SEPARATOR.sub(r"\1'", one_line(value))
        # neutralise spreadsheet formulas (CSV injection)
        return "'" + value if value.startswith(_FORMULA_START) else value
    if isinstance(value, (list, tuple)):
        return _csv_cell("; ".join(map(str, value)))
    return "" if value is None else value


@renderer("csv")
def _csv(result: Result, stream: TextIO, color: bool) -> None:
    from lineagectl.cli.render.machine import main_items, write_csv

    items = main_items(result)
    with _utf8(stream) as out:
        # No items say no keys: the header is then the table's, so an empty answer is still a CSV.
        write_csv(items, out, _csv_cell, header=None if items else view_of(result).columns)


def safe_text(value: object) -> str:
    """One line of text for a terminal: no control characters (and so no escape sequences), no
    invisible formatting, no line breaks (``escape.one_line``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        value = ", ".join(map(str, value))
    return one_line(value)


# Deeper nodes are drawn at this indentation with their depth said, so a long chain prints in
# lines proportional to its length (indenting every hop made a 20,000-hop chain quadratic).
MAX_TREE_INDENT = 24


def tree_lines(nodes: list[dict], width: int | None = None) -> Iterator[str]:
    """The lines of a tree given as ``{"id", "parent", "label"}`` nodes, parents first, drawn with
    ``├──``/``└──`` guides; nodes deeper than ``MAX_TREE_INDENT`` hang at that level, marked.
    With ``width`` (a terminal's), each line fits it: a node's ``name_length`` first characters
    (its name) whole or ellipsised in the middle, the rest of its label cut at the end."""
    fitted = _fitter(width)
    children: dict[object, list[dict]] = {}
    roots = []
    for node in nodes:
        if node["parent"] is None:
            roots.append(node)
        else:
            children.setdefault(node["parent"], []).append(node)
    for root in roots:
        yield fitted("", root)
        # (node, guide prefix of its line, is it the last child, its depth); iterative: chains are deep.
        stack = [(child, "", index == len(kids) - 1, 1)
                 for kids in [children.get(root["id"], [])] for index, child in enumerate(kids)][::-1]
        while stack:
            node, prefix, last, depth = stack.pop()
            mark = f"(depth {depth}) " if depth > MAX_TREE_INDENT else ""
            yield fitted(f"{prefix}{'└── ' if last else '├── '}{mark}", node)
            below = prefix if depth >= MAX_TREE_INDENT else prefix + ("    " if last else "│   ")
            kids = children.get(node["id"], [])
            # Past the indentation cap a node's children are drawn as its siblings would be.
            stack.extend((kid, below, i == len(kids) - 1 and (last or depth < MAX_TREE_INDENT), depth + 1)
                         for i, kid in reversed(list(enumerate(kids))))


def _fitter(width: int | None) -> Callable[[str, dict], str]:
    """How a tree line is made of its guides and node: as is, or fitted to ``width`` cells."""
    if width is None:
        return lambda head, node: head + safe_text(node["label"])
    from lineagectl.cli.render.terminal import fit_tree_line

    def fitted(head: str, node: dict) -> str:
        label = safe_text(node["label"])  # one character for one: escaping keeps the name's length
        return fit_tree_line(head, label, node.get("name_length"), width)

    return fitted


def _tree(view: View, console, color: bool) -> None:
    from rich.text import Text

    if view.title:
        console.print(Text(_title(view.title, console.width), style="bold" if color else ""))
    write = console.file.write
    for line in tree_lines(view.tree or [], width=console.width):
        write(line + "\n")


def _width(text: str) -> int:
    """Terminal cells ``text`` takes (wide East Asian characters take two)."""
    if text.isascii():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def plain_table(part: View, write: Callable[[str], object]) -> None:
    """A table laid out as the terminal one (columns three spaces apart, a rule under the
    header) at its natural width, without trailing padding: for pipes, files and CI logs.
    Written directly, it takes time in proportion to the cells (rich took 37 s for 30,000 rows)."""
    rows = [[safe_text(record.get(c)) for c in part.columns] for record in part.records]
    widths = [_width(c) for c in part.columns]
    for row in rows:
        for i, cell in enumerate(row):
            width = _width(cell)
            if width > widths[i]:
                widths[i] = width

    def line(cells: list[str]) -> str:
        return "   ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True)).rstrip() + "\n"

    write(line(list(part.columns)))
    write("\u2500" * (sum(widths) + 3 * (len(widths) - 1)) + "\n")
    for row in rows:
        write(line(row))


def _plain(view: View, stream: TextIO) -> None:
    write = stream.write
    if view.tree:
        if view.title:
            write(safe_text(view.title) + "\n")
        for text in tree_lines(view.tree):
            write(text + "\n")
        return
    for index, part in enumerate([view, *view.sections]):
        if index:
            write("\n")
        if part.title:
            write(safe_text(part.title) + "\n")
        if not part.records and not part.sections:
            # The title already says what is empty ("0 changes upstream of …"): say it once.
            write("(none)\n" if part.title else "(no results)\n")
        else:
            plain_table(part, write)


@renderer("table")
def _table(result: Result, stream: TextIO, color: bool) -> None:
    # A terminal gets tables fitted to its width (colours only with ``color``); ``color`` forced
    # on a pipe (--color always, FORCE_COLOR) draws them too. Pipes and files get plain text.
    interactive = color or _isatty(stream)
    if not interactive:
        _plain(view_of(result), stream)
        return
    from rich.console import Console
    from rich.text import Text

    from lineagectl.cli.render.terminal import TONES, draw

    console = Console(file=stream, color_system="auto" if color else None, highlight=False, soft_wrap=False,
                      force_terminal=True)
    view = view_of(result)
    if view.tree:
        _tree(view, console, color)
        return
    for index, part in enumerate([view, *view.sections]):
        if index:
            console.print()
        if part.title:
            console.print(Text(_title(part.title, console.width), style=TONES.get(part.tone or "", "bold")))
        if not part.records and not part.sections:
            console.print(Text("(none)" if part.title else "(no results)"))
        else:
            draw(part, console, safe_text, color)


def _title(title: str, width: int) -> str:
    """A title wrapped between words for a terminal, a name longer than a line ellipsised in the middle."""
    from lineagectl.cli.render.terminal import cell_lines

    return "\n".join(cell_lines("summary", safe_text(title), width))


def _isatty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


from . import ci_formats  # noqa: E402,F401,I001 - registers the github, junit, sarif and markdown renderers
from . import graphviz  # noqa: E402,F401 - registers the dot and mermaid renderers
from . import html  # noqa: E402,F401 - registers the html renderer (graph's explorer page)
