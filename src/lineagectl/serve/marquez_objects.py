"""Marquez's catalog objects over the store: namespaces, datasets, jobs (with their latest runs), search."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lineagectl.serve.reads import Library, Query


def answer(library: Library, segments: tuple[str, ...], query: Query) -> dict | None:
    """``GET /api/v1/namespaces…`` and ``/api/v1/search``; None for other paths."""
    return None
