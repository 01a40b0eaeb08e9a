"""The solver's two shortcuts over the linked graph keep its answers: hub nodes read as the
direct edges they replace, and a backward search limited to tainted nodes finds the same
tainted nodes, in the same order, through the same parents."""

from __future__ import annotations

import random

import networkx as nx
import pytest

from leakcheck.ruleset import load_ruleset
from leakcheck.solve import Solver, _predecessors, _reach, _through, _without_loops


def _random_graph(seed: int, n: int = 60, edges: int = 150) -> nx.DiGraph:
    rng = random.Random(seed)
    g = nx.DiGraph()
    g.add_nodes_from(("n", i) for i in range(n))
    for _ in range(edges):
        a, b = rng.randrange(n), rng.randrange(n)
        if a != b:
            g.add_edge(("n", a), ("n", b))
    return g


@pytest.mark.parametrize("seed", range(25))
def test_searching_only_tainted_nodes_changes_nothing_tainted(seed: int) -> None:
    g = _random_graph(seed)
    rng = random.Random(seed)
    sources = rng.sample(sorted(g.nodes), 4)
    tainted = set(sources).union(*(nx.descendants(g, s) for s in sources))
    for target in sorted(tainted, key=repr):
        full = _reach(g, [target])
        pruned = _reach(g, [target], keep=tainted)
        assert pruned.order == [n for n in full.order if n in tainted]
        assert pruned.parents == {n: p for n, p in full.parents.items() if n in tainted}
        stop = rng.choice(pruned.order)
        assert _reach(g, [target], stop=stop, keep=tainted).parents == {
            n: p for n, p in _reach(g, [target], stop=stop).parents.items() if n in tainted}


def _with_hubs(g: nx.DiGraph, seed: int, hubs: int = 6) -> nx.DiGraph:
    """Some edges through linker-style hub nodes (a hub stands for an edge from each of its
    predecessors to each of its successors; hubs never feed hubs)."""
    rng = random.Random(seed)
    nodes = sorted(g.nodes)
    for h in range(hubs):
        for a in rng.sample(nodes, 3):
            g.add_edge(a, ("hub", h))
        for b in rng.sample(nodes, 2):
            g.add_edge(("hub", h), b)
    return g


def _read_through(g: nx.DiGraph) -> nx.DiGraph:
    """The graph the backward searches see: hubs replaced by their direct edges."""
    out = nx.DiGraph()
    out.add_nodes_from(n for n in g if n[0] != "hub")
    for n in out:
        out.add_edges_from((p, n) for p in _predecessors(g, n))
    return out


@pytest.mark.parametrize("seed", range(8))
def test_the_tainted_nodes_are_everything_downstream_of_a_source_at_its_distance(
        seed: int) -> None:
    g = _with_hubs(_random_graph(seed), seed)
    direct = _read_through(g)
    sources = random.Random(seed).sample(sorted(direct.nodes), 3)
    solver = Solver(g, load_ruleset(()), {}, {})
    dist = solver._distances(sources)
    assert set(dist) == set(sources).union(*(nx.descendants(direct, s) for s in sources))
    lengths = nx.multi_source_dijkstra_path_length(direct, set(sources))
    assert dist == lengths


@pytest.mark.parametrize("seed", range(25))
def test_walking_only_the_shortest_paths_finds_the_nearest_source_the_same_way(
        seed: int) -> None:
    """The solver's first search stops at the nearest source; given each node's distance to
    the nearest source it walks only the shortest paths to one, and must find the same
    source through the same chain of parents as the whole search."""
    g = _with_hubs(_random_graph(seed), seed)
    rng = random.Random(seed)
    sources = set(rng.sample(sorted(n for n in g if n[0] != "hub"), 4))
    solver = Solver(g, load_ruleset(()), {}, {})
    dist = solver._distances(sources)
    tainted = set(dist)
    searched = 0
    for target in sorted(tainted, key=repr):
        whole = _reach(g, [target], keep=tainted, until=sources.__contains__)
        short = _reach(g, [target], keep=tainted, until=sources.__contains__, nearest=dist)
        found = whole.order[-1]
        assert short.order[-1] == found
        node = found
        while node is not None:  # the witness chain, back to the target
            assert short.parents.get(node) == whole.parents.get(node)
            node = short.parents.get(node)
        searched += len(whole.order) - len(short.order)
    assert searched > 0, "no search was shortened: the test shows nothing"


def test_a_hub_reads_as_the_direct_edges_it_replaces() -> None:
    roots = [("src", i) for i in range(5)]
    tokens = [("sym", ("ret", "f", i), ()) for i in range(3)]
    direct = nx.DiGraph()
    hubbed = nx.DiGraph()
    arg = ("arg", 0)
    for t in tokens:
        direct.add_edge(arg, t, through=("param-root", "callee", ()))
        hubbed.add_edge(arg, t, through=("param-root", "callee", ()))
        for r in roots:
            direct.add_edge(r, t, through=(r, "callee", ()))
    for r in roots:
        hubbed.add_edge(r, ("hub", 0))
    for t in tokens:
        hubbed.add_edge(("hub", 0), t, via=("callee", ()))
    for t in tokens:
        assert _predecessors(hubbed, t) == set(direct.pred[t])
        for p in direct.pred[t]:
            assert _through(hubbed, p, t) == direct.edges[p, t]["through"]
    assert _through(hubbed, ("src", 9), tokens[0]) is None
    assert _reach(hubbed, [tokens[0]]).parents == _reach(direct, [tokens[0]]).parents


def test_a_witness_is_a_simple_path() -> None:
    """Expanding the calls on a witness can come back to a node already on it (recursion
    through shared state): the loop is cut and the path goes on from the node's first visit,
    so each node appears once and every step still follows the one before it."""
    assert _without_loops(["s", "a", "b", "c", "a", "d", "t"]) == ["s", "a", "d", "t"]
    assert _without_loops(["s", "a", "b", "a", "c", "b", "t"]) == ["s", "a", "c", "b", "t"]
    assert _without_loops(["s", "a", "s", "t"]) == ["s", "t"]
    assert _without_loops(["s", "t"]) == ["s", "t"]


def test_no_witness_of_the_fixture_projects_repeats_a_step() -> None:
    from pathlib import Path

    from leakcheck.api import Options, check_paths

    projects = Path(__file__).resolve().parent / "fixtures" / "projects"
    intra = Path(__file__).resolve().parent / "fixtures" / "intra"
    for tree in [*sorted(p for p in projects.iterdir() if p.is_dir()), intra]:
        for finding in check_paths(Options(paths=(str(tree),))).findings:
            steps = [(s.span, s.message) for s in finding.path]
            assert len(set(steps)) == len(steps), (tree.name, finding.sink, steps)


def test_a_forked_share_of_the_sinks_gives_the_same_findings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With --jobs 2 and many reached sinks, a forked child solves every other sink on the
    finished graph; the findings, in order, are those of one process."""
    from pathlib import Path

    import leakcheck.solve as solve_module
    from leakcheck.api import Options, check_paths

    tree = Path(__file__).resolve().parent / "fixtures" / "intra"
    alone = check_paths(Options(paths=(str(tree),), jobs=1)).findings
    forked: list[int] = []
    real = solve_module.Solver._forked

    def counting(self, todo, ctx):
        forked.append(len(todo))
        return real(self, todo, ctx)

    monkeypatch.setattr(solve_module, "PARALLEL_SINKS", 2)
    monkeypatch.setattr(solve_module.Solver, "_forked", counting)
    shared = check_paths(Options(paths=(str(tree),), jobs=2)).findings
    assert forked and forked[0] > 2
    assert shared == alone
