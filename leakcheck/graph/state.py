"""Flow state of one scope: variable -> abstract value, plus implicit-flow taint."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import compress
from operator import is_not

from leakcheck.graph.values import MERGE_LIMIT, NO_NODES, Nodes, Value, join

# what a merge point does with a joined value (``FunctionBuilder.merger``): the name it is
# bound to (``EXIT`` for the exit taint) and the value
Squash = Callable[[str, Value], Value]
EXIT = "<exit>"
PC = "<condition>"  # (FunctionBuilder.under)


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


def merge(states: list[State | None], squash: Squash | None = None) -> State | None:
    """Join of the states reaching a program point; None when no path reaches it.
    ``squash`` is given each value the join made of two or more different ones."""
    live = [s for s in states if s is not None]
    if not live:
        return None
    if len(live) == 1:
        return live[0].copy()
    env = dict(live[0].env)
    joined: set[str] = set()
    for s in live[1:]:
        other = s.env
        names: Iterable[str] = other
        if list(other) == list(env):
            # the usual join: branches copied from one state bind the same names, and only
            # values that are not the same object can join into something new; which those
            # are is found at C speed (a function of 5,000 variables and 5,000 `if`s joined
            # every variable at every `if`: 3 s of a 5 s build)
            names = list(compress(other, map(is_not, env.values(), other.values())))
        for name in names:
            value = other[name]
            if name not in env:
                env[name] = value
                continue
            before = env[name]
            env[name] = join(before, value)
            if env[name] is not before:
                joined.add(name)
    exit_taint = NO_NODES
    for s in live:
        exit_taint = exit_taint | s.exit_taint
    if squash is not None:
        for name in sorted(joined):  # (sorted: node creation order is observable)
            env[name] = squash(name, env[name])
        if len(exit_taint) > MERGE_LIMIT:
            exit_taint = squash(EXIT, Value(shape=exit_taint)).shape
    return State(env, exit_taint)
