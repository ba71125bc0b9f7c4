"""The ``html`` renderer: ``graph -f html``'s offline explorer page, which the library writes whole."""

from __future__ import annotations

from typing import TextIO

from lineagectl import api
from lineagectl.cli.render import _utf8, renderer
from lineagectl.errors import InputError
from lineagectl.results import Result


@renderer("html")
def _html(result: Result, stream: TextIO, color: bool) -> None:
    if result.kind != "graph-page":
        raise InputError("only graph draws an HTML page (lineagectl graph NAME -f html)")
    with _utf8(stream) as out:
        out.write(api.graph_html(result))
