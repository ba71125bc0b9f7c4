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


def focus_shape(root: int, walks: dict[str, Any], max_nodes: int, label: Callable[[str], tuple]) -> Shape:
    """The shape of a focus page around dataset ``root`` from its ``walks`` (``"upstream"``/``"downstream"``
    ``Walk``s); ``label(key)`` sorts nodes at the same distance (kind, namespace, name)."""
    shape = Shape()
    top = dataset_key(root)
    shape.distance[top] = 0
    links: dict[str, set[tuple[str, str]]] = {}  # node -> {(a node one step nearer the root, side)}
    for direction, walk in walks.items():
        side = DOWN if direction == "downstream" else UP
        for src, job, dst in walk.rows:
            near, middle, far = dataset_key(src), job_key(job), dataset_key(dst)
            shape.edges.update(((near, middle), (middle, far)) if side == DOWN else ((far, middle), (middle, near)))
            for node, distance in ((middle, 2 * walk.jobs[job] - 1), (far, 2 * walk.datasets.get(dst, 0))):
                if node != top and distance < shape.distance.get(node, distance + 1):
                    shape.distance[node] = distance
            links.setdefault(middle, set()).add((near, side))
            links.setdefault(far, set()).add((middle, side))
    shape.order = sorted(shape.distance, key=lambda key: (shape.distance[key], label(key), key))
    rank = {key: index for index, key in enumerate(shape.order)}
    shape.shown = set(shape.order[:max_nodes])
    for node in shape.order[max_nodes:]:
        # The parent: the first-ordered neighbour one step nearer the root.
        nearer = [(rank[p], p, s) for p, s in links.get(node, ()) if shape.distance[p] == shape.distance[node] - 1]
        _, parent, side = min(nearer)
        group = shape.groups.setdefault(f"m{parent}{side}", {"parent": parent, "side": side, "members": []})
        group["members"].append(node)
    return shape
