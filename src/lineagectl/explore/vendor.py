"""The vendored JavaScript libraries (``assets/``): their text, and the manifest that pins them.

``assets/manifest.json`` names each file's package, version, licence, source and
sha256 (``scripts/refresh_vendor.py`` writes it; a test recomputes the hashes).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

# The order the page loads them in: cytoscape first, its dagre layout extension after it.
SCRIPTS = ("cytoscape.min.js", "cytoscape-dagre.min.js")


def _read(folder: str, name: str) -> str:
    return resources.files("lineagectl.explore").joinpath(folder, name).read_text(encoding="utf-8")


def manifest() -> list[dict]:
    """The manifest's entries: ``{"file", "package", "version", "license", "source", "sha256"}``."""
    files: list[dict] = json.loads(_read("assets", "manifest.json"))["files"]
    return files


@cache
def scripts() -> tuple[str, ...]:
    """The text of the vendored scripts, in load order."""
    return tuple(_read("assets", name) for name in SCRIPTS)


@cache
def own_file(name: str) -> str:
    """A file of the page's own (``web/``): its template, stylesheet or script."""
    return _read("web", name)
