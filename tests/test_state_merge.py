"""SPEC §3 "how taint moves" at joins: the state after a branch, a loop or a handler binds
each name to the join of what every path reaching it bound there. ``merge`` finds the names
whose values differ between paths at C speed when the paths bind the same names (the usual
case); it must give what joining every name of every path gives."""

from __future__ import annotations

import random

from leakcheck.graph.state import State, merge
from leakcheck.graph.values import Value, join


def _reference(states: list[State]) -> tuple[dict[str, Value], set[str]]:
    """The definition: every name of every path, joined in order."""
    env: dict[str, Value] = {}
    joined: set[str] = set()
    for s in states:
        for name, value in s.env.items():
            if name not in env:
                env[name] = value
                continue
            before = env[name]
            env[name] = join(before, value)
            if env[name] is not before:
                joined.add(name)
    return env, joined


def _value(rng: random.Random) -> Value:
    nodes = frozenset(("n", rng.randrange(6)) for _ in range(rng.randrange(3)))
    if rng.random() < 0.3:
        return Value(shape=nodes, fields=(("'k", Value(shape=frozenset({("n", 9)}))),))
    return Value(shape=nodes)


def test_merge_joins_every_name_as_the_definition_does() -> None:
    rng = random.Random(11)
    shapes = {"same names": 0, "other names": 0}
    for _ in range(300):
        base = State({f"v{i}": _value(rng) for i in range(rng.randrange(1, 30))})
        states = []
        for _ in range(rng.randrange(2, 5)):
            s = base.copy()
            for name in rng.sample(sorted(s.env), rng.randrange(len(s.env) + 1)):
                roll = rng.random()
                if roll < 0.4:
                    s.env[name] = _value(rng)  # a new value, maybe equal to the old one
                elif roll < 0.5:
                    s.env[name] = Value(shape=s.env[name].shape, fields=s.env[name].fields)
            if rng.random() < 0.15:
                s.env[f"new{rng.randrange(3)}"] = _value(rng)  # a name one path binds
            if rng.random() < 0.1:
                s.env.pop(rng.choice(sorted(s.env)))
            states.append(s)
        env, joined = _reference(states)
        squashed: list[str] = []

        def squash(name: str, value: Value, seen: list[str] = squashed) -> Value:
            seen.append(name)
            return value

        got = merge(list(states), squash)
        assert got is not None
        assert list(got.env) == list(env)  # the same names in the same order
        assert all(got.env[n] == env[n] for n in env)
        assert squashed == sorted(joined)  # the values the join made new, and only those
        same = all(list(s.env) == list(states[0].env) for s in states)
        shapes["same names" if same else "other names"] += 1
    assert min(shapes.values()) > 20  # both ways of merging were exercised


def test_merge_keeps_a_value_every_path_shares_as_the_same_object() -> None:
    shared = Value(shape=frozenset({("n", 1)}))
    a = State({"x": shared, "y": Value()})
    b = a.copy()
    b.env["y"] = Value(shape=frozenset({("n", 2)}))
    got = merge([a, b])
    assert got is not None and got.env["x"] is shared
    assert got.env["y"].shape == frozenset({("n", 2)})
