"""Positions for the whole-store page, computed here: drawing 5,000 nodes with preset positions takes
seconds in a browser, laying them out there (dagre) minutes.

A layered drawing, left to right in the direction data flows: cycles are
condensed (each strongly connected component is one unit), each unit's layer is
its longest path from a source (one pass in topological order), and nodes in a
layer are ordered by the barycentre of their neighbours in the layer before, in
a few sweeps each way. A layer taller than ``max_rows`` wraps into several
columns, so a store with thousands of sources is not one endless line.
Everything is linear in nodes and edges per sweep.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

X_GAP, Y_GAP, WRAP_GAP = 260.0, 56.0, 200.0
SWEEPS = 4


def _layers(nodes: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Longest-path layering of the condensation (nodes of one cycle share a layer)."""
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from((a, b) for a, b in edges if a != b)
    condensed = nx.condensation(graph)
    unit_layer: dict[int, int] = {}
    for unit in nx.topological_sort(condensed):
        unit_layer[unit] = max((unit_layer[p] + 1 for p in condensed.predecessors(unit)), default=0)
    mapping = condensed.graph["mapping"]
    return {node: unit_layer[mapping[node]] for node in nodes}


def _order(layers: dict[str, int], edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """The nodes of each layer, ordered by barycentre sweeps (down, then up, ``SWEEPS`` times)."""
    count = max(layers.values(), default=-1) + 1
    rows: list[list[str]] = [[] for _ in range(count)]
    for node in sorted(layers):
        rows[layers[node]].append(node)
    before: dict[str, list[str]] = {}
    after: dict[str, list[str]] = {}
    for a, b in edges:
        if layers[a] < layers[b]:
            before.setdefault(b, []).append(a)
            after.setdefault(a, []).append(b)
    position = {node: i for row in rows for i, node in enumerate(row)}

    def sweep(row: list[str], neighbours: dict[str, list[str]]) -> list[str]:
        def centre(node: str) -> float:
            near = neighbours.get(node)
            return sum(position[n] for n in near) / len(near) if near else position[node]

        ordered = sorted(row, key=lambda n: (centre(n), position[n]))
        for i, node in enumerate(ordered):
            position[node] = i
        return ordered

    for _ in range(SWEEPS):
        for index in range(1, count):
            rows[index] = sweep(rows[index], before)
        for index in range(count - 2, -1, -1):
            rows[index] = sweep(rows[index], after)
    return rows


def layered_positions(nodes: list[str], edges: list[tuple[str, str]]) -> dict[str, tuple[float, float]]:
    """``{node: (x, y)}`` for a left-to-right layered drawing of the directed graph."""
    if not nodes:
        return {}
    rows = _order(_layers(nodes, edges), edges)
    max_rows = max(40, int(math.sqrt(len(nodes)) * 2.5))
    positions: dict[str, tuple[float, float]] = {}
    x = 0.0
    for row in rows:
        columns = max(1, math.ceil(len(row) / max_rows))
        height = math.ceil(len(row) / columns)
        for i, node in enumerate(row):
            column, line = divmod(i, height)
            # Centred on y = 0, so short layers sit beside the middle of tall ones.
            positions[node] = (x + column * WRAP_GAP, (line - (height - 1) / 2) * Y_GAP)
        x += (columns - 1) * WRAP_GAP + X_GAP
    return positions
