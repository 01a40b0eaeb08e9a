"""Reachability over the linked project graph: which sources reach each sink, and a witness.

Sanitizers never add edges, so every path found is a path no sanitizer cut. One finding per
sink location; the rule is the highest-priority kind reaching it; the witness starts at the
most upstream source of that kind and, where it crosses a call, runs through the callee's
body (an edge into a call's result records the summary root it stands for).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from leakcheck.graph.values import NodeId, component, node_span
from leakcheck.ruleset.model import RuleSet
from leakcheck.types import Finding, RuleInfo, Span, Step

if TYPE_CHECKING:  # annotations only: the warm path imports number_duplicates from here
    import networkx as nx

    from leakcheck.graph.context import SinkRecord

MAX_EXPANSION_DEPTH = 8
PARALLEL_SINKS = 256  # fewer reached sinks than this are solved here: forking costs more
UNKNOWN_SPAN = Span("?", 1, 1, 1, 1)


@dataclass(frozen=True, slots=True)
class _Reach:
    parents: dict[NodeId, NodeId]  # node -> the next node towards the target
    order: list[NodeId]  # BFS order from the target


def _reach(graph: nx.DiGraph, targets: Iterable[NodeId], stop: NodeId | None = None,
           preds: dict[NodeId, Sequence[NodeId]] | None = None,
           keep: set[NodeId] | None = None,
           until: Callable[[NodeId], bool] | None = None,
           nearest: dict[NodeId, int] | None = None) -> _Reach:
    """``preds``: memo of each node's sorted predecessors, shared by searches over one graph
    (performance only: sorting by repr dominated the solver). ``keep``: search only these
    nodes (every node some source reaches). A node no source reaches has no such node
    upstream either, so leaving them out changes neither which tainted nodes are found,
    nor in what order, nor through which node: only the dead ends go. ``until``: stop as
    soon as a node it accepts is found (what was found so far, and how, is as in the whole
    search). ``nearest``, with ``until``: each node's distance to the nearest node ``until``
    accepts; the search then only walks the shortest paths to those. The whole search would
    find the same first node through the same parents: a node's first finder is on such a
    path whenever the node is, and shortest-path nodes keep their order."""
    parents: dict[NodeId, NodeId] = {}
    if preds is None:
        preds = {}
    graph_pred = graph._pred  # networkx's own dict: the view costs more than the search
    order = sorted(targets, key=repr)
    seen = set(order)
    if until is not None and any(until(n) for n in order):
        return _Reach(parents, order)
    i = 0
    while i < len(order):  # ``order`` is the queue: BFS order is the visiting order
        node = order[i]
        i += 1
        if node == stop:
            break
        ordered = preds.get(node)
        if ordered is None:
            if node not in graph_pred:
                ordered = ()
            elif keep is None:
                ordered = sorted(_predecessors(graph, node), key=repr)
            else:
                ordered = sorted((p for p in _predecessors(graph, node) if p in keep), key=repr)
            preds[node] = ordered
        if nearest is not None:
            want = nearest[node] - 1
            ordered = [p for p in ordered if nearest.get(p) == want]
        for pred in ordered:
            if pred not in seen:
                seen.add(pred)
                parents[pred] = node
                order.append(pred)
                if until is not None and until(pred):
                    return _Reach(parents, order)
    return _Reach(parents, order)


def _predecessors(graph: nx.DiGraph, node: NodeId) -> set[NodeId]:
    """A node's predecessors with the linker's hub nodes read through: a hub stands for
    direct edges from each of its own predecessors (see ``Linker._hubs``)."""
    pred = graph._pred
    out: set[NodeId] = set()
    for p in pred[node]:
        if p[0] == "hub":
            out.update(pred[p])
        else:
            out.add(p)
    return out


def _solve_child(solver: Solver, todo: list, send: Any) -> None:
    """In a forked child: the findings of ``todo``, pickled back to the parent."""
    try:
        send.send_bytes(pickle.dumps([solver._one(r, kinds) for r, kinds in todo],
                                     protocol=pickle.HIGHEST_PROTOCOL))
    finally:
        os._exit(0)


def _is_merge(node: NodeId) -> bool:
    tag = node[-1]
    return type(tag) is str and tag.startswith("merge:")


def _without_loops(nodes: list[NodeId]) -> list[NodeId]:
    """A witness as a simple path: expanding the calls on a path can come back to a node
    already on it (a recursion through shared state); the loop between the two visits is cut,
    and the node's later successor follows its first visit (the same node, so the same
    edge)."""
    out: list[NodeId] = []
    at: dict[NodeId, int] = {}
    for node in nodes:
        seen = at.get(node)
        if seen is not None:
            for dropped in out[seen + 1:]:
                del at[dropped]
            del out[seen + 1:]
            continue
        at[node] = len(out)
        out.append(node)
    return out


def _through(graph: nx.DiGraph, node: NodeId, nxt: NodeId) -> tuple | None:
    """The summary root an edge ``node -> nxt`` stands for, when it crosses a call: that of
    the first of ``nxt``'s incoming edges to come from ``node``, directly or through a hub
    (edges are kept in the order the linker added them, as if the hub were direct edges)."""
    pred = graph._pred
    for p, attrs in pred.get(nxt, {}).items():
        if p == node:
            return attrs.get("through")
        if p[0] == "hub" and node in pred[p]:
            through = attrs.get("through")
            return through if through is not None else (node, *attrs["via"])
    return None


class Solver:
    def __init__(self, graph: nx.DiGraph, rules: RuleSet, bases: dict[tuple, tuple],
                 functions: dict, library_sites: frozenset | set = frozenset()) -> None:
        self.graph = graph
        self.library_sites = library_sites
        self.rules = rules
        self.bases = bases
        self.functions = functions
        self.by_kind = {r.kind: r for r in rules.rules}
        self._preds: dict[NodeId, Sequence[NodeId]] = {}  # the graph is fixed while solving
        self._keep: set[NodeId] | None = None  # the tainted nodes, once solve() knows them
        self._source_kind: dict[NodeId, str] = {}  # source node -> kind, set by solve()
        # kind -> node -> distance from the nearest source of that kind, set by solve()
        self._nearest: dict[str, dict[NodeId, int]] = {}

    # -- node descriptions ---------------------------------------------------------
    def describe(self, node: NodeId) -> Step:
        data = self.graph.nodes[node] if node in self.graph else {}
        if "message" in data:
            return Step(node_span(node), data["message"], data["step"])
        if node[0] == "sym":
            base, path = node[1], node[2]
            span, what = self.bases.get(base, (UNKNOWN_SPAN, "`?`"))
            if base[0] == "global" and path:  # where this global was first written
                span, what = self.bases.get((base, path[0]), (span, what))
            part = _path_text(path)
            if base[0] == "param":
                return Step(span, f"enters {what}{part}", "call")
            if base[0] == "ret" and base in self.library_sites:
                return Step(span, f"flows through {what}", "call")
            if base[0] == "ret":
                return Step(span, f"returned by {what}{part}", "return")
            attr = path[0][1:] if path and path[0].startswith(".") else "?"
            if base[0] == "self":
                return Step(span, f"held in `self.{attr}` of `{base[1].rsplit('.', 1)[-1]}`",
                            "flow")
            if base[0] == "global":
                return Step(span, f"held in module global `{attr}` of {what}", "flow")
        return Step(UNKNOWN_SPAN, "flows on", "flow")

    # -- witness -------------------------------------------------------------------
    def _expand(self, through: tuple, depth: int) -> list[NodeId]:
        """The nodes inside a callee from a summary root to its return (``through`` =
        (root, callee, path))."""
        root, callee, path = through
        data = self.functions.get(callee)
        if data is None or depth > MAX_EXPANSION_DEPTH:
            return [root]
        ends = component(data.ret, path)
        reach = _reach(self.graph, ends, stop=root, preds=self._preds, keep=self._keep)
        if root not in reach.parents and root not in ends:
            return [root]
        chain = [root]
        node = reach.parents.get(root)
        while node is not None:
            chain.append(node)
            node = reach.parents.get(node)
        return self._with_expansions(chain, depth + 1)

    def _with_expansions(self, chain: list[NodeId], depth: int) -> list[NodeId]:
        out: list[NodeId] = []
        for i, node in enumerate(chain):
            if i + 1 < len(chain):
                nxt = chain[i + 1]
                through = _through(self.graph, node, nxt)
                if through is not None and depth <= MAX_EXPANSION_DEPTH:
                    inner = self._expand(through, depth)
                    out.append(node)
                    out.extend(n for n in inner if n != node)
                    continue
            out.append(node)
        return out

    def steps(self, reach: _Reach, source: NodeId) -> tuple[Step, ...]:
        chain = [source]
        node = reach.parents.get(source)
        while node is not None:
            chain.append(node)
            node = reach.parents.get(node)
        steps: list[Step] = []
        for n in _without_loops(self._with_expansions(chain, 0)):
            if _is_merge(n):  # a join point's own node (graph/values.squash): not a step
                continue
            step = self.describe(n)
            if not steps or (steps[-1].span, steps[-1].message) != (step.span, step.message):
                steps.append(step)
        return tuple(steps)

    # -- findings ------------------------------------------------------------------
    def _distances(self, start: Iterable[NodeId]) -> dict[NodeId, int]:
        """Every node some source in ``start`` reaches, with its distance from the nearest
        one as the backward searches count it (a hub is read through: not a step, and not
        a node of its own). One forward search from all of them at once."""
        succ = self.graph._succ
        dist = dict.fromkeys(start, 0)
        frontier = list(dist)
        d = 0
        while frontier:
            d += 1
            found = []
            for node in frontier:
                for nxt in succ[node]:
                    for n in (succ[nxt] if nxt[0] == "hub" else (nxt,)):
                        if n not in dist:
                            dist[n] = d
                            found.append(n)
            frontier = found
        return dist

    def solve(self, sinks: Iterable[SinkRecord], jobs: int = 1) -> list[Finding]:
        """A finding per sink some source reaches, in sink order. With ``jobs`` > 1 and many
        such sinks, a forked child takes every other one (each finding depends only on the
        finished graph, so the result is the same)."""
        graph = self.graph
        source_kind = {n: kind for n, kind in graph.nodes(data="source_kind")
                       if kind in self.by_kind}
        # which kinds reach each node: one forward search per kind, instead of learning it
        # from a whole backward search per sink; together they are every tainted node
        reached = self._nearest = {
            kind: self._distances(n for n, k in source_kind.items() if k == kind)
            for kind in sorted(set(source_kind.values()))}
        tainted = self._keep = set().union(*reached.values())
        todo = []
        for record in sorted(sinks, key=lambda r: r.node):
            if record.node not in tainted:
                continue  # no source reaches it: skip the backward search
            kinds = tuple(k for k, nodes in reached.items() if record.node in nodes)
            if kinds:
                todo.append((record, kinds))
        self._source_kind = source_kind
        if jobs > 1 and len(todo) >= PARALLEL_SINKS:
            import multiprocessing  # (not at module level: the warm path imports this module)

            if "fork" in multiprocessing.get_all_start_methods():
                return self._forked(todo, multiprocessing.get_context("fork"))
        return [self._one(record, kinds) for record, kinds in todo]

    def _one(self, record: SinkRecord, kinds: tuple[str, ...]) -> Finding:
        graph, tainted, source_kind = self.graph, self._keep, self._source_kind
        rule = max((self.by_kind[k] for k in kinds), key=lambda r: (r.priority, r.id))
        # the witness starts at the nearest source of the rule's kind unless that one only
        # names what another source made (``_upstream_source``): the search stops at it when
        # it does not, and is done whole when it does
        reach = _reach(graph, [record.node], preds=self._preds, keep=tainted,
                       until=lambda n, kind=rule.kind: source_kind.get(n) == kind,
                       nearest=self._nearest[rule.kind])
        first = reach.order[-1]
        if source_kind.get(first) != rule.kind or _relabels(graph, first):
            reach = _reach(graph, [record.node], preds=self._preds, keep=tainted)
        source = _upstream_source(graph, reach, [
            n for n in reach.order if source_kind.get(n) == rule.kind])
        return self._finding(record, reach, source, rule, kinds)

    def _forked(self, todo: list[tuple[SinkRecord, tuple[str, ...]]], ctx: Any) -> list[Finding]:
        """Every other sink in a forked child, which shares the finished graph; the rest
        here. A child that fails leaves its share to this process."""
        receive, send = ctx.Pipe(duplex=False)
        theirs = todo[1::2]
        child = ctx.Process(target=_solve_child, args=(self, theirs, send), daemon=True)
        child.start()
        send.close()
        mine = [self._one(record, kinds) for record, kinds in todo[0::2]]
        try:
            found = pickle.loads(receive.recv_bytes())
        except (EOFError, OSError, pickle.UnpicklingError):
            found = [self._one(record, kinds) for record, kinds in theirs]
        finally:
            receive.close()
            child.join(timeout=5)
            if child.is_alive():
                child.kill()
        out: list[Finding] = [None] * len(todo)  # type: ignore[list-item]
        out[0::2] = mine
        out[1::2] = found
        return out

    def _finding(self, record: SinkRecord, reach: _Reach, source: NodeId, rule: RuleInfo,
                 kinds: tuple[str, ...]) -> Finding:
        data = self.graph.nodes[source]
        label = data.get("label", "?")
        args = (("sink", record.description), ("source", f"`{label}`"))
        return Finding(
            rule_id=rule.id, rule_name=rule.name, level=rule.level, kind=rule.kind, kinds=kinds,
            message=rule.message.format(**dict(args)), message_template=rule.message,
            message_args=args, sink=record.span, sink_description=record.description,
            source=node_span(source), source_description=data["message"],
            path=self.steps(reach, source),
            fingerprint=_fingerprint(rule.id, record, label),
        )


def _path_text(path: tuple[str, ...]) -> str:
    shown = [p for p in path if p != "**"]
    if not shown:
        return ""
    out = []
    for p in shown:
        if p == "[]":
            out.append("[…]")
        elif p.startswith("."):
            out.append(p)
        elif p.startswith("'"):
            out.append(f"[{p[1:]!r}]")
        elif p.startswith("#"):
            out.append(f"[{p[1:]}]")
    return f" (as `{''.join(out)}`)" if out else ""


def _upstream_source(graph: nx.DiGraph, reach: _Reach, sources: list[NodeId]) -> NodeId:
    """The witness starts where the reasoning enters: the nearest source that does not
    merely name a value another source already made (``b.thinking`` rather than the
    variable ``thinking`` it was assigned to, the text ``s.split("</think>")[0]`` cut from
    ``msg.reasoning_content``), so the trace is whole. A source that makes a new value — a
    decode, a parser, a call — is its own start, even when another source flowed into its
    input (decoding a completion whose prompt held a decoded special token)."""
    candidates = set(sources)
    downstream: set[NodeId] = set()
    walked: set[NodeId] = set()  # chains merge: the rest of a walked chain adds nothing
    for src in sources:
        node = reach.parents.get(src)
        while node is not None and node not in walked:
            walked.add(node)
            if node in candidates and _relabels(graph, node):
                downstream.add(node)
            node = reach.parents.get(node)
    return next(n for n in sources if n not in downstream)


def _relabels(graph: nx.DiGraph, node: NodeId) -> bool:
    tag = node[-1]
    if tag.startswith("src:param:"):
        return "entry" not in graph.nodes[node]
    return tag.startswith(("src:name:", "src:field", "src:cut"))


_POSITION_IN_SCOPE = re.compile(r"@\d+:\d+")


def _fingerprint(rule_id: str, record: SinkRecord, source_label: str) -> str:
    """Stable under edits elsewhere in the file: no line numbers, only what the leak is
    (rule, file, enclosing function, sink text, source text). A lambda's scope name carries
    its position (``<lambda@12:5>``); that is dropped, so lines inserted above keep it."""
    scope = _POSITION_IN_SCOPE.sub("", record.scope)
    text = "\0".join((rule_id, record.span.path, scope, record.code, source_label))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def number_duplicates(findings: list[Finding]) -> list[Finding]:
    """Identical leaks in one scope get ``:0``, ``:1``… in source order."""
    seen: dict[str, int] = {}
    out = []
    for f in findings:
        n = seen.get(f.fingerprint, 0)
        seen[f.fingerprint] = n + 1
        out.append(replace(f, fingerprint=f"{f.fingerprint}:{n}"))
    return out
