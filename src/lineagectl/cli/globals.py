"""Global options anywhere: ``lineagectl impact orders --db x.duckdb -q`` as ruff and gh take them.

Click reads a group's options only before the subcommand. The group class here
moves every global option it finds after the subcommand (with its value) to
the front before click parses, so each global option has one definition — the
group callback's — and works in every position for every command. Options after
``--`` stay where they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from typer.core import TyperGroup

# Global option -> does it take a value. One table, read by the group below and the help topic.
GLOBAL_OPTIONS = {"--db": True, "--policy": True, "--wait": True, "--color": True,
                  "-q": False, "--quiet": False, "--debug": False, "-V": False, "--version": False}


def hoist(args: list[str], commands: set[str], own: Callable[[str], set[str]] = lambda _: set()) -> list[str]:
    """``args`` with the global options that follow the subcommand moved before it; ``own(command)``
    names the options a command declares itself, which stay with it (``trace --version V``)."""
    before: list[str] = []
    i = 0
    while i < len(args):  # up to the subcommand: global options and their values
        token = args[i]
        if token in commands:
            break
        before.append(token)
        if GLOBAL_OPTIONS.get(token) and i + 1 < len(args):
            before.append(args[i + 1])
            i += 1
        i += 1
    else:
        return args
    moved: list[str] = []
    rest: list[str] = []
    tail = args[i:]
    kept = own(tail[0])
    j = 0
    while j < len(tail):
        token = tail[j]
        if token == "--":
            rest.extend(tail[j:])
            break
        name = token.split("=", 1)[0] if token.startswith("--") else token
        if j and name in GLOBAL_OPTIONS and name not in kept:
            moved.append(token)
            if GLOBAL_OPTIONS[name] and "=" not in token and j + 1 < len(tail):
                moved.append(tail[j + 1])
                j += 1
        else:
            rest.append(token)
        j += 1
    return before + moved + rest


class GlobalOptionsGroup(TyperGroup):
    """The app's group: global options are accepted after the subcommand too."""

    def parse_args(self, ctx: Any, args: list[str]) -> Any:
        return super().parse_args(ctx, hoist(list(args), set(self.commands), self._declared))

    def _declared(self, name: str) -> set[str]:
        """The option names command ``name`` declares (its own ``--db``, ``-q``, ``trace --version``)."""
        command = self.commands.get(name)
        return {opt for param in getattr(command, "params", []) for opt in getattr(param, "opts", [])}
