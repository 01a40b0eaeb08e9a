"""Access paths of abstract values (``graph.values.component``): what a callee's token for a
path stands for at a call site is what reading that path step by step gives (``read``),
whatever shortcut computes it."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from leakcheck.graph import facts
from leakcheck.graph.values import (
    DEEP,
    MAX_DEPTH,
    Value,
    attr_key,
    component,
    deep,
    item_key,
    join,
    join_all,
    read,
)

STEPS = ("[]", DEEP, attr_key("text"), attr_key("reasoning_content"), item_key("answer"),
         item_key(0), item_key(1))
BASES = (("param", "rewards.accuracy_reward", "completions"), ("ret", "rewards.py", 4, 8),
         ("self", "judges.Judge"), ("global", "rewards"))


def _node(rng: random.Random) -> tuple:
    return ("rewards.py", "", rng.randint(1, 40), rng.randint(0, 9), 1, 1, "step")


def _value(rng: random.Random, depth: int = 0) -> Value:
    shape = frozenset(_node(rng) for _ in range(rng.randint(0, 2)))
    elem = _value(rng, depth + 1) if depth < 3 and rng.random() < 0.4 else None
    fields = tuple(sorted({k: _value(rng, depth + 1) for k in rng.sample(STEPS[2:], rng.randint(
        0, 2 if depth < 3 else 0))}.items()))
    syms = frozenset((rng.choice(BASES), tuple(rng.sample(STEPS[2:], rng.randint(0, 2))))
                     for _ in range(rng.randint(0, 2) if rng.random() < 0.5 else 0))
    return Value(shape=shape, elem=elem, fields=fields, syms=syms)


def _by_reads(v: Value, path: tuple[str, ...]) -> frozenset:
    cur = v
    for step in path:
        if cur.elem is None and not cur.fields and not cur.syms:
            return cur.shape
        if step == DEEP:
            return deep(cur)
        cur = read(cur, None if step == "[]" else step)
    return cur.shape


@pytest.mark.parametrize("seed", range(20))
def test_a_path_of_a_value_is_what_reading_it_step_by_step_gives(seed: int) -> None:
    rng = random.Random(seed)
    checked = 0
    for _ in range(200):
        v = _value(rng)
        for _ in range(5):
            path = tuple(rng.choice(STEPS) for _ in range(rng.randint(0, 3)))
            assert component(v, path) == _by_reads(v, path), (v, path)
            checked += bool(path) and bool(v.syms or v.fields or v.elem)
    assert checked > 100  # the cases that take the step-by-step path were met


def test_a_missing_key_of_a_parameter_is_its_token_for_that_key() -> None:
    base = BASES[0]
    v = Value(syms=frozenset({(base, ())}), shape=frozenset({("sym", base, ())}))
    assert component(v, (attr_key("text"),)) == {("sym", base, ()),
                                                 ("sym", base, (attr_key("text"),))}


_INFOS = (None, facts.Const(1), facts.Const("x"), facts.FunctionRef("rewards.accuracy"),
          facts.FunctionRef("rewards.format"), facts.FunctionRefs(("rewards.a", "rewards.b")))


def _with_facts(rng: random.Random, v: Value, depth: int = 0) -> Value:
    """``v`` with random facts and grader marks, sometimes nested past MAX_DEPTH."""
    elem = v.elem
    if elem is None and depth < MAX_DEPTH + 2 and rng.random() < 0.2:
        elem = _value(rng, 3)
    if elem is not None:
        elem = _with_facts(rng, elem, depth + 1)
    return replace(v, elem=elem, info=rng.choice(_INFOS), from_grader=rng.random() < 0.3)


@pytest.mark.parametrize("seed", range(40))
def test_joining_many_values_at_once_is_joining_them_one_by_one(seed: int) -> None:
    rng = random.Random(seed)
    values = [_with_facts(rng, _value(rng)) for _ in range(rng.randint(1, 40))]
    folded = values[0]
    for v in values[1:]:
        folded = join(folded, v)
    assert join_all(values) == folded
