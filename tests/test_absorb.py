"""Linking starts by moving every module's graph into the project graph (``_absorb``); the
result must be networkx's own ``update`` of them: the same nodes in the same order, the same
edges and attributes, nodes that two modules share merged."""

from __future__ import annotations

import copy
import random

import networkx as nx

from leakcheck.project.link import _absorb


def _module_graph(rng: random.Random, module: int, shared: list[tuple]) -> nx.DiGraph:
    g = nx.DiGraph()
    own = [(f"m{module}.py", i) for i in range(30)]
    pool = own + rng.sample(shared, 4)
    for n in pool:
        g.add_node(n, **({"message": f"{n}"} if rng.random() < 0.5 else {}))
    for _ in range(60):
        u, v = rng.sample(pool, 2)
        g.add_edge(u, v, **({"through": (module, u)} if rng.random() < 0.3 else {}))
    return g


def test_absorbing_module_graphs_is_networkx_update() -> None:
    rng = random.Random(3)
    shared = [("sym", ("self", f"C{i}"), (".x",)) for i in range(8)]
    parts = [_module_graph(rng, m, shared) for m in range(12)]
    expected = nx.DiGraph()
    for part in parts:
        expected.update(copy.deepcopy(part))
    got = nx.DiGraph()
    for part in parts:
        _absorb(got, part)
    assert list(got.nodes(data=True)) == list(expected.nodes(data=True))
    assert sorted(got.edges(data=True), key=repr) == sorted(expected.edges(data=True), key=repr)
    for n in got:  # adjacency in both directions agrees, edge data shared between them
        for m, data in got._succ[n].items():
            assert got._pred[m][n] is data
    assert any(len(expected._pred[s]) > 1 for s in shared if s in expected)
