"""Reachability over a module's graph: which sources reach each sink, and a witness path.

Sanitizers never add edges, so every path found is a path no sanitizer cut. One finding per
sink location; the rule is the highest-priority kind reaching it; the witness is the shortest
path from a source of that kind (ties broken by node key, so output is deterministic).
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass

import networkx as nx

from leakcheck.graph.context import ModuleContext, SinkRecord
from leakcheck.graph.values import NodeId
from leakcheck.ruleset.model import RuleSet
from leakcheck.types import Finding, Span, Step


@dataclass(frozen=True, slots=True)
class _Reach:
    parents: dict[NodeId, NodeId]  # node -> the next node towards the sink
    order: list[NodeId]  # BFS order from the sink


def _reach(graph: nx.DiGraph, sink: NodeId) -> _Reach:
    parents: dict[NodeId, NodeId] = {}
    seen = {sink}
    order = [sink]
    queue = deque([sink])
    while queue:
        node = queue.popleft()
        for pred in sorted(graph.predecessors(node)):
            if pred not in seen:
                seen.add(pred)
                parents[pred] = node
                order.append(pred)
                queue.append(pred)
    return _Reach(parents, order)


def _upstream_source(graph: nx.DiGraph, reach: _Reach, sources: list[NodeId]) -> NodeId:
    """The witness starts where the reasoning enters: the nearest source that no other
    source's path runs into (``b.thinking`` rather than the variable ``thinking`` it was
    joined into), so the trace is whole."""
    candidates = set(sources)
    downstream: set[NodeId] = set()
    for src in sources:
        node = reach.parents.get(src)
        while node is not None:
            if node in candidates:
                downstream.add(node)
            node = reach.parents.get(node)
    return next(n for n in sources if n not in downstream)


def _steps(graph: nx.DiGraph, reach: _Reach, source: NodeId) -> tuple[Step, ...]:
    steps: list[Step] = []
    node: NodeId | None = source
    while node is not None:
        data = graph.nodes[node]
        step = Step(data["span"], data["message"], data["step"])
        if not steps or (steps[-1].span, steps[-1].message) != (step.span, step.message):
            steps.append(step)
        node = reach.parents.get(node)
    return tuple(steps)


def solve_module(ctx: ModuleContext, rules: RuleSet) -> list[Finding]:
    graph = ctx.graph
    priority = {r.kind: r for r in rules.rules}
    findings: list[Finding] = []
    for sink_node in sorted(ctx.sinks):
        record = ctx.sinks[sink_node]
        reach = _reach(graph, sink_node)
        sources = [n for n in reach.order if "source_kind" in graph.nodes[n]
                   and graph.nodes[n]["source_kind"] in priority]
        if not sources:
            continue
        kinds = sorted({graph.nodes[n]["source_kind"] for n in sources})
        rule = max((priority[k] for k in kinds), key=lambda r: (r.priority, r.id))
        source = _upstream_source(graph, reach, [n for n in sources
                                                 if graph.nodes[n]["source_kind"] == rule.kind])
        findings.append(_finding(graph, record, reach, source, rule, tuple(kinds)))
    return findings


def _finding(graph: nx.DiGraph, record: SinkRecord, reach: _Reach, source: NodeId,
             rule, kinds: tuple[str, ...]) -> Finding:
    data = graph.nodes[source]
    source_span: Span = data["span"]
    source_label = f"`{data.get('label', '?')}`"
    args = (("sink", record.description), ("source", source_label))
    message = rule.message.format(**dict(args))
    return Finding(
        rule_id=rule.id, rule_name=rule.name, level=rule.level, kind=rule.kind, kinds=kinds,
        message=message, message_template=rule.message, message_args=args,
        sink=record.span, sink_description=record.description,
        source=source_span, source_description=data["message"],
        path=_steps(graph, reach, source),
        fingerprint=_fingerprint(rule.id, record, data.get("label", "")),
    )


def _fingerprint(rule_id: str, record: SinkRecord, source_label: str) -> str:
    """Stable under edits elsewhere in the file: no line numbers, only what the leak is."""
    text = "\0".join((rule_id, record.span.path, record.scope, record.code, source_label))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def number_duplicates(findings: list[Finding]) -> list[Finding]:
    """Identical leaks in one scope get ``:1``, ``:2``… in source order."""
    from dataclasses import replace

    seen: dict[str, int] = {}
    out = []
    for f in findings:
        n = seen.get(f.fingerprint, 0)
        seen[f.fingerprint] = n + 1
        out.append(replace(f, fingerprint=f"{f.fingerprint}:{n}"))
    return out
