"""Flow state of one scope: variable -> abstract value, plus implicit-flow taint."""

from __future__ import annotations

from dataclasses import dataclass, field

from leakcheck.graph.values import NO_NODES, Nodes, Value, join


@dataclass
class State:
    env: dict[str, Value] = field(default_factory=dict)
    # taint of conditions whose early exit (return/continue/break/raise) decided that
    # execution reached this point: it taints everything the block does afterwards
    exit_taint: Nodes = NO_NODES

    def copy(self) -> State:
        return State(dict(self.env), self.exit_taint)

    def same_as(self, other: State) -> bool:
        return self.exit_taint == other.exit_taint and self.env == other.env


def merge(states: list[State | None]) -> State | None:
    """Join of the states reaching a program point; None when no path reaches it."""
    live = [s for s in states if s is not None]
    if not live:
        return None
    if len(live) == 1:
        return live[0].copy()
    env: dict[str, Value] = {}
    for s in live:
        for name, value in s.env.items():
            env[name] = join(env[name], value) if name in env else value
    exit_taint = NO_NODES
    for s in live:
        exit_taint = exit_taint | s.exit_taint
    return State(env, exit_taint)
