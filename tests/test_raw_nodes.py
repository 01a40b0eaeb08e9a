"""Node construction while leakcheck parses (leakcheck.raw_nodes): the same trees, faster.

While a parse is under way libcst's node classes take lean ``__init__``s and skip
validation; these tests hold that the trees are the ones libcst's own constructors build,
field for field, that every signature is kept, and that libcst is put back afterwards.
"""

from __future__ import annotations

import dataclasses
import inspect
import threading
from pathlib import Path

import libcst as cst
import pytest
from libcst._nodes.base import CSTNode

from leakcheck.lean_init import lean_init
from leakcheck.raw_nodes import node_classes, parser_output

PACKAGE = Path(__file__).resolve().parents[1] / "leakcheck"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# realistic training code with most of the grammar: decorators, async, match, walrus,
# f-strings, star-args, comprehensions, try/except*, type parameters, global/nonlocal
TRAINING_CODE = '''\
from __future__ import annotations
import re, json as j
from trl import GRPOTrainer

@dataclass(frozen=True)
class Rollout[T]:
    completion: str = ""
    def answer(self, *, strip=True) -> str:
        return self.completion.split("</think>")[-1] if strip else self.completion

async def reward(prompts, completions: list[str], **kwargs) -> list[float]:
    global CALLS
    scores = []
    async with client.session() as s, other() as (a, b):
        for i, c in enumerate(completions):
            if (m := re.search(r"<answer>(.*?)</answer>", c, re.S)) is not None:
                scores.append(await s.grade(f"{prompts[i]!r:>10} {m.group(1)}", *a, **b))
            elif c: scores += [0.0]
            else:
                continue
    match kwargs:
        case {"judge": str(name), **rest} if name:
            pass
        case [1, *others] | (2 | 3):
            del others
        case Rollout(completion=x) as r:
            raise ValueError(x) from None
    try:
        lam = lambda x, /, y=1, *z, k, **w: x @ y ** -k
    except* (TypeError, KeyError) as eg:
        nonlocal_ = {k: v for k, v in j.loads("{}").items() if k not in {1, 2}}
    finally:
        ...
    return [s for s in scores if s >= 0 and not s != 1 or s is None]

type Pair = tuple[int, int]
trainer = GRPOTrainer(reward_funcs=[reward], x=1 if True else 2, y=a[1:2, ::3])
'''


def _corpus() -> list[bytes]:
    files = sorted(PACKAGE.rglob("*.py")) + sorted(FIXTURES.rglob("*.py"))
    return [TRAINING_CODE.encode()] + [f.read_bytes() for f in files]


def _fields(node: cst.CSTNode) -> list[tuple[str, object]]:
    """Every field of every node, in order, with the node classes (deep_equals compares
    fields but not whether two nodes share an object, nor slots' presence)."""
    out: list[tuple[str, object]] = []
    stack: list[object] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, cst.CSTNode):
            out.append(("class", type(item).__name__))
            for f in dataclasses.fields(item):
                value = getattr(item, f.name)
                if isinstance(value, (cst.CSTNode, list, tuple)):
                    stack.append(value)
                else:
                    out.append((f.name, value))
        elif isinstance(item, (list, tuple)):
            out.append(("seq", len(item)))
            stack.extend(reversed(item))
        else:
            out.append(("value", item))
    return out


def test_parse_under_lean_inits_gives_libcsts_own_trees() -> None:
    """libcst's parse of this package, the fixtures and realistic training code, with and
    without the lean ``__init__``s: every node has the same class and the same fields."""
    for data in _corpus():
        try:
            expected = cst.parse_module(data)
        except cst.ParserSyntaxError:
            continue  # (a fixture that is meant not to parse)
        with parser_output():
            got = cst.parse_module(data)
        assert got.deep_equals(expected)
        assert got.bytes == data
        assert _fields(got) == _fields(expected)


def test_lean_inits_keep_every_signature() -> None:
    """Each lean ``__init__`` takes the parameters dataclasses' took, with the same kinds
    and defaults (a default factory shows as dataclasses' own marker), so any call that
    works against libcst works the same way during a parse."""
    classes = node_classes()
    assert len(classes) > 150  # every concrete node class, not a handful
    for cls in classes:
        lean = lean_init(cls, hook_skipped=CSTNode)
        assert lean is not None, cls  # libcst's classes are all the plain case
        ours = inspect.signature(lean).parameters
        theirs = inspect.signature(cls.__dict__["__init__"]).parameters
        assert list(ours) == list(theirs), cls
        for name, p in theirs.items():
            assert ours[name].kind == p.kind, (cls, name)
            if p.default is inspect.Parameter.empty:
                assert ours[name].default is inspect.Parameter.empty, (cls, name)
            elif repr(p.default) == "<factory>":
                assert ours[name].default is dataclasses.MISSING, (cls, name)
            else:
                assert ours[name].default is p.default, (cls, name)


def test_nodes_built_during_a_parse_match_libcsts_constructors() -> None:
    """Positional and keyword arguments, defaults and default factories (a fresh object
    each time, as dataclasses make them) give the fields libcst's constructors give."""
    def build() -> list[cst.CSTNode]:
        return [cst.Name("x"), cst.Call(cst.Name("f"), args=[cst.Arg(cst.Integer("1"))]),
                cst.Call(func=cst.Name("g")), cst.SimpleWhitespace(value=" "),
                cst.Attribute(cst.Name("a"), cst.Name("b"))]

    expected = build()
    with parser_output():
        got = build()
        again = build()
    for a, b in zip(got, expected, strict=True):
        assert type(a) is type(b)
        assert a.deep_equals(b)
        assert _fields(a) == _fields(b)
    assert got[2].whitespace_after_func is not again[2].whitespace_after_func


def test_a_class_that_is_not_the_plain_case_keeps_its_own_init() -> None:
    """A field outside ``__init__`` (or a ``__post_init__`` of its own): no lean version."""
    @dataclasses.dataclass(frozen=True)
    class Hidden(cst.Name):
        extra: int = dataclasses.field(default=0, init=False)

    @dataclasses.dataclass(frozen=True)
    class Hooked(cst.Name):
        def __post_init__(self) -> None:
            pass

    assert lean_init(Hidden) is None
    assert lean_init(Hooked) is None


def test_libcst_is_put_back_after_parsing_and_nested_entries_wait_for_the_outermost() -> None:
    originals = {cls: cls.__dict__["__init__"] for cls in node_classes()}
    with parser_output():
        with parser_output():
            assert cst.Name.__dict__["__init__"] is not originals[cst.Name]
            cst.SimpleWhitespace("not whitespace")  # not validated: no error
        assert cst.Name.__dict__["__init__"] is not originals[cst.Name]
    assert {cls: cls.__dict__["__init__"] for cls in originals} == originals
    with pytest.raises(cst.CSTValidationError):
        cst.SimpleWhitespace("not whitespace")


def test_parsing_on_two_threads_at_once_builds_the_same_trees() -> None:
    """Threads parsing side by side, each entering and leaving per file, get libcst's
    trees, and libcst's own constructors are back once the last of them is done."""
    originals = {cls: cls.__dict__["__init__"] for cls in node_classes()}
    data = _corpus()[:40]
    expected = [cst.parse_module(d).code for d in data]
    results: dict[int, list[str]] = {}

    def parse_all(k: int) -> None:
        out = []
        for d in data:
            with parser_output():
                out.append(cst.parse_module(d).code)
        results[k] = out

    threads = [threading.Thread(target=parse_all, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[k] == expected for k in range(3))
    assert {cls: cls.__dict__["__init__"] for cls in originals} == originals
