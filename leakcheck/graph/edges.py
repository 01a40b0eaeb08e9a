"""Edges added on networkx's own dicts.

``DiGraph.add_edge`` resets the graph's cache and calls attribute factories on every edge;
the builder makes tens of thousands of edges per module and the linker half a million per
repository, where that cost a tenth of each. Nodes created here get empty attributes, as
networkx gives them. Whoever adds edges this way clears the graph's cache once when done
(``clear_cache``).
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx


def add_edges(graph: nx.DiGraph, sources: Iterable, target: object,
              through: tuple | None = None) -> int:
    """An edge from each of ``sources`` (but ``target`` itself) into ``target`` that is not
    there yet, each with its own attribute dict (``through`` when given); how many."""
    succ, pred, nodes = graph._succ, graph._pred, graph._node
    into = None
    added = 0
    for s in sources:
        if s == target:
            continue
        out = succ.get(s)
        if out is None:
            out = succ[s] = {}
            pred[s] = {}
            nodes[s] = {}
        elif target in out:
            continue
        if into is None:
            into = pred.get(target)
            if into is None:
                succ[target] = {}
                into = pred[target] = {}
                nodes[target] = {}
        out[target] = into[s] = {"through": through} if through is not None else {}
        added += 1
    return added


def clear_cache(graph: nx.DiGraph) -> None:
    """Drop what networkx 3.3+ caches on a graph (views, dispatch results)."""
    clear = getattr(nx, "_clear_cache", None)
    if clear is not None:
        clear(graph)
