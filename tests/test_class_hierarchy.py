"""What a class's instances may run (SPEC §3, methods and ``self`` attributes): the
linker's MROs, subclasses and sharers (the classes whose methods run on the same
instance), computed on demand per class, must equal their definitions over whole
hierarchies: single chains, diamonds and mixins, asked in any order. The definitions
below walk every class (what the linker did before it asked per class); a long chain
(thousands of classes, each inheriting the previous) made that quadratic in time and
memory."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from leakcheck.api import _on_big_stack
from leakcheck.project.link import Linker


def _linker(bases: dict[str, list[str]]) -> Linker:
    """A linker that knows only classes (no modules): bases as given, names resolving to
    themselves."""
    linker = Linker.__new__(Linker)
    linker.classes = {c: SimpleNamespace(bases=tuple(b), shared_attrs=frozenset())
                      for c, b in bases.items()}
    linker.resolve_name = lambda name: name  # type: ignore[method-assign]
    linker._mro, linker._bases_of, linker._subs, linker._sharers = {}, {}, {}, {}
    linker._children = None
    return linker


def _mro(bases: dict[str, list[str]], cls: str, memo: dict[str, tuple[str, ...]]
         ) -> tuple[str, ...]:
    """The class, then each base's MRO in order, each class at its first place."""
    if cls not in memo:
        out: list[str] = [cls]
        for b in bases[cls]:
            out += [c for c in _mro(bases, b, memo) if c not in out]
        memo[cls] = tuple(out)
    return memo[cls]


def _sharers(bases: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
    """Each class -> its MRO, then its subclasses (sorted), then the MROs of those
    subclasses' other bases (mixins), in that order, without the class itself."""
    memo: dict[str, tuple[str, ...]] = {}
    subs = {c: sorted(d for d in bases if d != c and c in _mro(bases, d, memo))
            for c in bases}
    out = {}
    for c in bases:
        found = list(_mro(bases, c, memo))
        found += [d for d in subs[c] if d not in found]
        for d in subs[c]:
            for b in bases[d]:
                if b not in found:
                    found += [x for x in _mro(bases, b, memo) if x not in found]
        out[c] = tuple(x for x in found if x != c)
    return out


def _hierarchy(seed: int, size: int) -> dict[str, list[str]]:
    """Classes K0..K<size-1>, each with up to three bases among the earlier ones (mostly
    one, the previous class: long chains with mixins and diamonds off them)."""
    rng = random.Random(seed)
    bases: dict[str, list[str]] = {}
    for i in range(size):
        if i == 0:
            bases["K0"] = []
            continue
        first = [f"K{i - 1}"] if rng.random() < 0.6 else [f"K{rng.randrange(i)}"]
        more = [f"K{rng.randrange(i)}" for _ in range(rng.choice((0, 0, 0, 1, 2)))]
        bases[f"K{i}"] = list(dict.fromkeys(first + more))
    return bases


@pytest.mark.parametrize("seed", range(40))
def test_mros_subclasses_and_sharers_equal_their_definitions(seed: int) -> None:
    bases = _hierarchy(seed, 60)
    linker = _linker(bases)
    order = list(bases)
    random.Random(seed).shuffle(order)  # (memoized per class: any order of asking)
    memo: dict[str, tuple[str, ...]] = {}
    expected = _sharers(bases)
    for c in order:
        assert linker.sharers_of(c) == expected[c], c
        assert linker.mro(c) == _mro(bases, c, memo), c
        assert linker._subclasses_of(c) == tuple(sorted(
            d for d in bases if d != c and c in _mro(bases, d, memo))), c


def test_a_long_chain_is_asked_about_its_ends_only() -> None:
    """4,000 classes, each inheriting the previous: the last one's MRO is the whole chain,
    and the first one's sharers are all the others, without computing every class's."""
    n = 4000
    bases = {f"C{i}": [f"C{i - 1}"] if i else [] for i in range(n)}
    linker = _linker(bases)

    def ask() -> None:  # (on the stack a run has: the MRO recurses down the chain)
        assert linker.mro(f"C{n - 1}") == tuple(f"C{i}" for i in reversed(range(n)))
        assert linker.sharers_of(f"C{n - 1}") == tuple(f"C{i}" for i in reversed(range(n - 1)))
        assert linker.sharers_of("C0") == tuple(sorted(f"C{i}" for i in range(1, n)))
        assert len(linker._sharers) == 2

    _on_big_stack(ask)
