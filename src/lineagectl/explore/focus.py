"""Which nodes a focus page draws: NAME ± depth, capped, the excess collapsed into "+N more" nodes.

The neighbourhood is datasets and the jobs between them (``walk_datasets`` both
ways). Nodes are ordered by distance from the root (a job one step, the dataset
it writes two), then kind and name; the first ``max_nodes`` are shown. Every
other node hangs, in a breadth-first tree, under the node it was first reached
from: a shown node whose tree children are hidden gets one "+N more" node per
side (upstream, downstream) that holds them. A hidden node's children come after
it in the order, so they are hidden too: expanding a "+N more" node shows its
members, and theirs appear as "+N more" nodes of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

UP, DOWN = "up", "down"


@dataclass
class Shape:
    """Node keys (``d<id>`` datasets, ``j<id>`` jobs) in drawing order, the edges between them in the
    direction data flows, which are shown, and the "+N more" groups (id → parent, side, members)."""

    order: list[str] = field(default_factory=list)
    edges: set[tuple[str, str]] = field(default_factory=set)
    shown: set[str] = field(default_factory=set)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    distance: dict[str, int] = field(default_factory=dict)


def dataset_key(dataset_id: int) -> str:
    return f"d{dataset_id}"


def job_key(job_id: int) -> str:
    return f"j{job_id}"


def focus_shape(root: int, walks: dict[str, Any], max_nodes: int, label: Callable[[str], tuple],
                datasets_only: bool = False) -> Shape:
    """The shape of a focus page around dataset ``root`` from its ``walks`` (``"upstream"``/``"downstream"``
    ``Walk``s); ``label(key)`` sorts nodes at the same distance (kind, namespace, name). With
    ``datasets_only`` the jobs are left out: an edge runs from dataset to dataset."""
    shape = Shape()
    top = dataset_key(root)
    shape.distance[top] = 0
    links: dict[str, set[tuple[str, str]]] = {}  # node -> {(a node one step nearer the root, side)}
    for direction, walk in walks.items():
        side = DOWN if direction == "downstream" else UP
        # A job with nothing on the far side (a reader that writes nothing, a writer that reads
        # nothing) ends its path: drawn with the jobs, nothing to link without them.
        ends = [] if datasets_only else [(src, job, None) for src, job in sorted(walk.ends)]
        for src, job, dst in [*walk.rows, *ends]:
            near, middle = dataset_key(src), job_key(job)
            distances = {middle: 2 * walk.jobs[job] - 1}
            path = [near, middle]
            if dst is not None:
                far = dataset_key(dst)
                distances[far] = 2 * walk.datasets.get(dst, 0)
                # Distances stay counted in steps of a job (odd) and a dataset (even) without the jobs too.
                path = [near, far] if datasets_only else [near, middle, far]
            hops = list(pairwise(path))
            shape.edges.update(hops if side == DOWN else ((b, a) for a, b in hops))
            for previous, node in hops:
                if node != top and distances[node] < shape.distance.get(node, distances[node] + 1):
                    shape.distance[node] = distances[node]
                links.setdefault(node, set()).add((previous, side))
    shape.order = sorted(shape.distance, key=lambda key: (shape.distance[key], label(key), key))
    rank = {key: index for index, key in enumerate(shape.order)}
    step = 2 if datasets_only else 1
    shape.shown = set(shape.order[:max_nodes])
    for node in shape.order[max_nodes:]:
        # The parent: the first-ordered neighbour one step nearer the root.
        nearer = [(rank[p], p, s) for p, s in links.get(node, ()) if shape.distance[p] == shape.distance[node] - step]
        _, parent, side = min(nearer)
        group = shape.groups.setdefault(f"m{parent}{side}", {"parent": parent, "side": side, "members": []})
        group["members"].append(node)
    return shape
