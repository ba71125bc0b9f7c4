"""Tables and trees for a terminal: fitted to its width, names never folded, states in colour.

A view wider than the terminal is fitted, never folded mid-name:

- **name** columns (dataset, job and run names) keep one line each; a name too long for its
  column loses its middle (``acme-eu.analytics_pr…daily_revenue_by_country``), keeping its start
  and its last ``.``/``/`` segment;
- **text** columns (reasons, SQL, paths, descriptions) wrap between words within a bounded
  width (``TEXT_MAX``), a word too long for the column losing its middle the same way;
- other columns keep their natural width, and columns the view names as low-value
  (``View.drop``) are left out first, the table saying which.

The lines are written directly (rich draws only titles and notes), so a long listing is fast.
Times are relative (``3 h ago``) in the table drawn on a terminal; every other output keeps
ISO 8601. Text from a store is always ``rich.text.Text`` (never markup) after ``safe_text``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from rich.cells import cell_len

from lineagectl.cli.render.views import View

# Columns holding names: one line, ellipsised in the middle.
NAME_COLUMNS = frozenset({"name", "job", "input", "from_name", "to_name", "source", "target", "run_id", "rule",
                          "table", "file", "check", "region", "read_as", "job_namespace", "namespace"})
# Columns of running text: wrapped between words within TEXT_MAX cells.
TEXT_COLUMNS = frozenset({"reason", "sql", "description", "error", "errors", "path", "why", "cause", "summary",
                          "detail", "value", "globs", "datasets", "label", "jobs", "owners", "columns", "tags",
                          "aliases", "targets", "sources", "assertions", "warning", "transformation"})
# Columns of ISO 8601 times, shown relative to now on a terminal.
TIME_COLUMNS = frozenset({"last_seen", "first_seen", "started_at", "ended_at", "time", "created_at", "pruned_at",
                          "dropped_at"})
NAME_MIN = 12
TEXT_MIN = 16
TEXT_MAX = 60
GAP = 3  # columns are three spaces apart, as in the plain table

STATE_STYLES = {"FAIL": "red", "FAILED": "red", "ABORT": "red", "COMPLETE": "green", "RUNNING": "yellow",
                "START": "yellow"}
CELL_STYLES: dict[str, dict[str, str]] = {
    "state": STATE_STYLES, "last_state": STATE_STYLES,
    "masked": {"yes": "green"},
    "broken": {"yes": "bold red"},
    "dropped": {"yes": "dim"},
}
TONES = {"bad": "bold red", "good": "bold green"}


def middle(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells: whole if it fits, else its start, ``…`` and its end,
    the end being its last ``.``/``/`` segment when that leaves a third of the room for the start."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    room = width - 1
    cut = max(text.rfind("."), text.rfind("/"))
    tail = text[cut:] if cut > 0 else ""
    if not tail or cell_len(tail) > room - max(room // 3, 1):
        tail = _last_cells(text, room // 2)
    return _first_cells(text, room - cell_len(tail)) + "…" + tail


def end(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, cut at the end with ``…``."""
    if cell_len(text) <= width:
        return text
    return _first_cells(text, width - 1) + "…" if width > 0 else ""


def _first_cells(text: str, cells: int) -> str:
    taken, used = [], 0
    for char in text:
        used += cell_len(char)
        if used > cells:
            break
        taken.append(char)
    return "".join(taken)


def _last_cells(text: str, cells: int) -> str:
    return _first_cells(text[::-1], cells)[::-1]


def _role(column: str) -> str:
    if column in NAME_COLUMNS or column.endswith(("_name", "_namespace")):
        return "name"
    return "text" if column in TEXT_COLUMNS else "fixed"


def fit(columns: list[str], rows: list[list[str]], drop: Iterable[str], width: int) -> tuple[list[str], dict[str, int]]:
    """The columns to show and each one's width so the table takes at most ``width`` cells where it
    can: text columns capped at ``TEXT_MAX``; when that is too wide, low-value columns (``drop``,
    first goes first) are left out until the names fit whole, then other columns but names from the
    right until the narrowest layout fits; the room left goes to names first, then to text."""
    natural = {c: cell_len(c) for c in columns}
    for row in rows:
        for column, cell in zip(columns, row, strict=True):
            size = cell_len(cell)
            if size > natural[column]:
                natural[column] = size
    roles = {c: _role(c) for c in columns}
    cap = {c: min(natural[c], TEXT_MAX) if roles[c] == "text" else natural[c] for c in columns}
    least = {c: min(cap[c], max(cell_len(c), NAME_MIN if roles[c] == "name" else TEXT_MIN))
             if roles[c] != "fixed" else cap[c] for c in columns}
    shown = list(columns)

    def total(widths: dict[str, int]) -> int:
        return sum(widths[c] for c in shown) + GAP * (len(shown) - 1)

    if total(cap) <= width:
        return shown, {c: cap[c] for c in shown}
    # The view's low-value columns go while the names (but namespaces) cannot show whole; then,
    # while even the narrowest layout is too wide, other columns but names from the right.
    prefer = {c: cap[c] if roles[c] == "name" and not c.endswith("namespace") else least[c] for c in columns}
    for column in drop:
        if total(prefer) <= width or len(shown) <= 1:
            break
        if column in shown:
            shown.remove(column)
    for column in [c for c in reversed(columns) if roles[c] != "name"]:
        if total(least) <= width or len(shown) <= 1:
            break
        if column in shown:
            shown.remove(column)
    widths = {c: least[c] for c in shown}
    spare = width - total(widths)
    def rank(column: str) -> str:
        return "namespace" if roles[column] == "name" and column.endswith("namespace") else roles[column]

    for role in ("name", "namespace", "text"):  # names first, each by how much more it would take
        wanting = {c: cap[c] - widths[c] for c in shown if rank(c) == role and cap[c] > widths[c]}
        need = sum(wanting.values())
        if spare <= 0 or not need:
            continue
        given = wanting if need <= spare else {c: spare * want // need for c, want in wanting.items()}
        for column, grow in given.items():
            widths[column] += grow
            spare -= grow
    return shown, widths


def cell_lines(column: str, text: str, width: int) -> list[str]:
    """A cell's lines in its column: a name on one line, ellipsised in the middle; running text
    wrapped between words (a word too long for the column ellipsised the same way); anything
    else on one line, cut at the end if it must be."""
    role = _role(column)
    if role == "name":
        return [middle(text, width)]
    if role != "text":
        return [end(text, width)]
    if cell_len(text) <= width:
        return [text]
    lines: list[str] = []
    line, used = "", 0
    for word in (middle(w, width) for w in text.split(" ")):
        size = cell_len(word)
        if line and used + 1 + size > width:
            lines.append(line)
            line, used = "", 0
        line, used = (f"{line} {word}", used + 1 + size) if line else (word, size)
    lines.append(line)
    return lines


def relative(value: Any, now: datetime | None = None) -> Any:
    """An ISO 8601 time as ``3 h ago`` (``in 2 d`` ahead); anything else unchanged."""
    if not isinstance(value, str) or len(value) < 19 or value[4:5] != "-" or value[10:11] not in ("T", " "):
        return value
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = ((now or datetime.now(UTC)) - when).total_seconds()
    ago = abs(seconds)
    if ago < 60:
        return "just now"
    hours, days = ago / 3600, ago / 86400
    if hours < 1:
        amount = f"{int(ago // 60)} min"
    elif hours < 48:
        amount = f"{int(hours)} h"
    elif days < 60:
        amount = f"{int(days)} d"
    elif days < 730:
        amount = f"{int(days // 30)} mo"
    else:
        amount = f"{int(days // 365)} y"
    return f"{amount} ago" if seconds >= 0 else f"in {amount}"


def style_of(column: str, text: str) -> str:
    """The colour of a cell: run states, masking, broken rules."""
    return CELL_STYLES.get(column, {}).get(text, "")


# SGR codes of the styles above: the table is written line by line (rich's Table took 35 s for
# 50,000 rows on a terminal, these lines take about a second).
SGR = {"red": "31", "green": "32", "yellow": "33", "bold red": "1;31", "bold green": "1;32", "dim": "2",
       "bold": "1"}


def _styled(text: str, style: str, color: bool) -> str:
    return f"\x1b[{SGR[style]}m{text}\x1b[0m" if color and style else text


def draw(part: View, console: Any, safe_text: Any, color: bool) -> None:
    """Draw one table of a view on ``console`` fitted to its width: a bold header, a rule, rows
    whose cells wrap or ellipsise (``cell_lines``), columns three spaces apart, no trailing spaces."""
    from rich.text import Text

    times = [c in TIME_COLUMNS for c in part.columns]
    # A field/value summary (``show``) holds times in its value column, named by its field.
    rows = [[safe_text(relative(record.get(c)) if is_time or (c == "value" and record.get("field") in TIME_COLUMNS)
                       else record.get(c))
             for c, is_time in zip(part.columns, times, strict=True)] for record in part.records]
    shown, widths = fit(part.columns, rows, part.drop, console.width)
    index = [part.columns.index(c) for c in shown]
    write = console.file.write

    def line(cells: list[tuple[str, str]]) -> str:
        padded = [_styled(text, style, color) + " " * (widths[c] - cell_len(text))
                  for c, (text, style) in zip(shown, cells, strict=True)]
        return "   ".join(padded).rstrip() + "\n"

    write(line([(end(c, widths[c]), "bold") for c in shown]))
    write("\u2500" * (sum(widths[c] for c in shown) + GAP * (len(shown) - 1)) + "\n")
    for row in rows:
        parts = [cell_lines(c, row[i], widths[c]) for c, i in zip(shown, index, strict=True)]
        styles = [style_of(c, row[i]) for c, i in zip(shown, index, strict=True)]
        for depth in range(max(len(p) for p in parts)):
            write(line([(p[depth] if depth < len(p) else "", style) for p, style in zip(parts, styles, strict=True)]))
    hidden = [c for c in part.columns if c not in shown]
    if hidden:
        console.print(Text(f"(not shown at {console.width} columns: {', '.join(hidden)}; "
                           "a wider terminal or -f json shows every field)", style="dim"))


def fit_tree_line(head: str, label: str, keep: int | None, width: int) -> str:
    """A tree line in ``width`` cells: the guides (``head``), then the label's name part (its first
    ``keep`` characters) whole or ellipsised in the middle, then as much of the rest as fits."""
    line = head + label
    if cell_len(line) <= width:
        return line
    keep = len(label) if keep is None else keep
    name, rest = label[:keep], label[keep:]
    room = max(width - cell_len(head), NAME_MIN)
    if cell_len(name) >= room:
        return head + middle(name, room)
    return head + name + end(rest, room - cell_len(name))
