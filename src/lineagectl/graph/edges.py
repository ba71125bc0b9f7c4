"""The typed edges every walk returns, and the keys that name columns.

A walk records edges in the order it walked them: ``src`` is the side it came
from, ``dst`` the side it reached, whichever the direction (so an upstream walk
from ``mart.report`` has ``mart.report`` as ``src``).
"""

from __future__ import annotations

from typing import NamedTuple

ColumnKey = tuple[int, str]
"""A column as (dataset id, lower-cased column name): columns match case-insensitively."""


def column_key(dataset_id: int, column: str) -> ColumnKey:
    """The key of a column, whatever its spelling."""
    return (dataset_id, column.lower())


class DatasetEdge(NamedTuple):
    """One dataset-level hop: ``src`` and ``dst`` datasets joined by the job ``job``."""

    src: int
    job: int
    dst: int


class ColumnEdge(NamedTuple):
    """One column-level hop with its OpenLineage transformation."""

    src: int
    src_column: str
    job: int | None
    dst: int
    dst_column: str
    type: str
    subtype: str | None
    masking: bool

    @property
    def src_key(self) -> ColumnKey:
        """The key of the column walked from."""
        return column_key(self.src, self.src_column)

    @property
    def dst_key(self) -> ColumnKey:
        """The key of the column reached."""
        return column_key(self.dst, self.dst_column)

    def transformation(self) -> dict:
        """The edge's transformation as the contract's JSON shows it."""
        return {"type": self.type, "subtype": self.subtype, "masking": bool(self.masking)}

    def sort_key(self) -> tuple:
        """A total order over edges (None sorts as empty), for deterministic answers."""
        return tuple("" if v is None else v for v in self)

    def walk_order(self) -> tuple:
        """The order in which a walk tries edges: DIRECT before INDIRECT, then ``sort_key``, so
        that where a column is reached both ways at once its path shows the copy, not the filter."""
        return (self.type != "DIRECT", self.sort_key())
