"""How ``--help`` reads, as gh's does: commands grouped under headings, usage lines that name
what to type (``NAME``, ``PATH...``), and each command's help ending with runnable examples.

Typer's plain (non-rich) help is kept on purpose: rich help would import rich on every
``--help``. The headings come from each command's ``rich_help_panel`` (typer's own
attribute), drawn here; the examples are the command's epilog, one ``$ lineagectl …`` line
each, optionally preceded by ``# what it shows``. tests/test_help_examples.py runs them all.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperCommand, TyperGroup

from lineagectl.cli.globals import GlobalOptionsGroup

# The headings of ``lineagectl --help``, in order; a command without one is listed last.
PANELS = ("Ingest", "Query", "Compliance", "Operations")
OTHER_PANEL = "Other"


def examples(*lines: str) -> str:
    """The epilog of a command: ``"# comment"`` and ``"lineagectl …"`` lines (``$ `` is added)."""
    return "\n".join(line if line.startswith("#") else f"$ {line}" for line in lines)


def _write_examples(formatter: Any, epilog: str | None) -> None:
    if not epilog:
        return
    with formatter.section("Examples"):
        for line in epilog.splitlines():  # written as given: examples are never rewrapped
            formatter.write(f"{'':>{formatter.current_indent}}{line}\n")


class Command(TyperCommand):
    """A command whose usage line shows metavars bare (``NAME``, ``[NAME]``, ``PATH...``) and
    whose epilog is its examples."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name != "argument":
                pieces.extend(param.get_usage_pieces(ctx))
                continue
            metavar = param.make_metavar(ctx)
            # typer 0.26 brackets an optional argument's metavar itself; 0.28 does not.
            optional = not param.required and not metavar.startswith("[")
            pieces.append(f"[{metavar}]" if optional else metavar)
        return pieces

    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        _write_examples(formatter, self.epilog)


class SubGroup(TyperGroup):
    """A group under the app (``policy``): its epilog is its examples too."""

    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        _write_examples(formatter, self.epilog)


class Group(GlobalOptionsGroup):
    """The app's group: commands listed under the headings of ``PANELS``, each summary whole."""

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        panels: dict[str, list[tuple[str, str]]] = {}
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            panel = getattr(command, "rich_help_panel", None) or OTHER_PANEL
            # Summaries are written to fit (tests/test_help_format.py): never cut them.
            panels.setdefault(panel, []).append((name, command.get_short_help_str(limit=1_000)))
        width = max((len(name) for rows in panels.values() for name, _ in rows), default=0)
        for panel in (*PANELS, *sorted(set(panels) - set(PANELS))):
            if panels.get(panel):
                with formatter.section(f"{panel} commands"):  # one column for every heading
                    formatter.write_dl([(name.ljust(width), text) for name, text in panels[panel]])

    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        _write_examples(formatter, self.epilog)
