"""leakcheck.lean_init: an ``__init__`` that stores fields through their slots behaves as the
one dataclasses generate — the same parameters, defaults, factories and errors."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from dataclasses import dataclass, field

import pytest

from leakcheck.graph.values import Value, sym_value
from leakcheck.lean_init import lean, lean_init
from leakcheck.types import Span


def _twins():
    @dataclass(frozen=True, slots=True)
    class Plain:
        name: str
        count: int = 0
        tags: tuple[str, ...] = ()
        seen: list[int] = field(default_factory=list)

    @lean
    @dataclass(frozen=True, slots=True)
    class Lean:
        name: str
        count: int = 0
        tags: tuple[str, ...] = ()
        seen: list[int] = field(default_factory=list)

    return Plain, Lean


def _state(obj: object) -> list[tuple[str, object]]:
    return [(f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj)]


def test_a_lean_init_builds_what_dataclasses_init_builds() -> None:
    Plain, Lean = _twins()
    assert Lean.__init__.__code__.co_filename.startswith("<leakcheck lean init")
    for args, kwargs in [(("a",), {}), (("a", 2), {}), (("a",), {"tags": ("x",)}),
                         ((), {"name": "a", "seen": [1]}), (("a", 1, ("t",), [2]), {})]:
        assert _state(Lean(*args, **kwargs)) == _state(Plain(*args, **kwargs))
    first, second = Lean("a"), Lean("b")
    assert first.seen == [] and first.seen is not second.seen  # a factory call each time


def test_a_lean_init_refuses_what_dataclasses_init_refuses() -> None:
    Plain, Lean = _twins()
    for cls in (Plain, Lean):
        with pytest.raises(TypeError):
            cls()  # a required field missing
        with pytest.raises(TypeError):
            cls("a", other=1)
        with pytest.raises(TypeError):
            cls("a", 1, (), [], "too many")
        with pytest.raises(dataclasses.FrozenInstanceError):
            cls("a").count = 3  # type: ignore[misc]
    assert inspect.signature(Lean).parameters.keys() == inspect.signature(Plain).parameters.keys()


def test_classes_outside_the_plain_case_keep_dataclasses_init() -> None:
    @dataclass(frozen=True, slots=True)
    class Hidden:
        a: int
        b: int = field(default=0, init=False)

    @dataclass(frozen=True, slots=True, kw_only=True)
    class KeywordOnly:
        a: int

    @dataclass(frozen=True, slots=True)
    class Hooked:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclass(frozen=True, slots=True)
    class Underscored:
        _a: int

    @dataclass(frozen=True)
    class Unslotted:
        a: int

    for cls in (Hidden, KeywordOnly, Hooked, Underscored, Unslotted):
        assert lean_init(cls) is None, cls
        before = cls.__init__
        assert lean(cls).__init__ is before


def test_leakchecks_values_are_built_and_unpickled_through_lean_inits() -> None:
    """``Value`` and ``Span`` (``lean_value``): same fields from positional and keyword
    arguments and defaults, and a pickle round trip gives an equal value."""
    v = Value(frozenset({("n", 1)}), None, (("k", sym_value(("param", "f", "x"))),))
    assert v.shape == frozenset({("n", 1)}) and v.elem is None and v.info is None
    assert v.from_grader is False and v.syms == frozenset()
    assert Value(shape=v.shape, fields=v.fields) == v
    assert pickle.loads(pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL)) == v
    span = Span("a.py", 1, 2, 3, 4)
    assert pickle.loads(pickle.dumps(span)) == span
    assert Value.__init__.__code__.co_filename.startswith("<leakcheck lean init")
    assert Span.__init__.__code__.co_filename.startswith("<leakcheck lean init")
