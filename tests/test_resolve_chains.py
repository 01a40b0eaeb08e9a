"""Import and re-export chains across modules (SPEC §3, calls across modules): a name
resolves through at most MAX_HOPS re-exports, whatever was resolved before it. Resolutions
are kept by name with the number of hops they took, so every module re-exporting the same
names through ``from pkg import *`` resolves each once; the limit must stay exact."""

from __future__ import annotations

import libcst as cst
import pytest

from leakcheck.graph.scan import scan_module
from leakcheck.project.index import MAX_HOPS, ProjectIndex
from leakcheck.ruleset import load_ruleset
from leakcheck.ruleset.match import Vocabulary

LENGTH = MAX_HOPS + 4


def _chain() -> ProjectIndex:
    """m0 defines ``f``; each m<i> re-exports m<i-1>'s: alternately ``from m<i-1> import f``
    and ``from m<i-1> import *``."""
    vocab = Vocabulary(load_ruleset())
    index = ProjectIndex()
    for i in range(LENGTH):
        if i == 0:
            code = "def f(x):\n    return x\n"
        elif i % 2:
            code = f"from m{i - 1} import f\n"
        else:
            code = f"from m{i - 1} import *\n"
        index.add(f"m{i}", (), scan_module(cst.parse_module(code), vocab, f"m{i}"))
    return index


def _fresh(name: str) -> str | None:
    hit = _chain().resolve(name)
    return hit.name if hit is not None else None


@pytest.mark.parametrize("order", ["shallow first", "deep first", "interleaved"])
def test_the_hop_limit_is_exact_whatever_was_resolved_before(order: str) -> None:
    names = [f"m{i}.f" for i in range(LENGTH)]
    if order == "deep first":
        names.reverse()
    elif order == "interleaved":
        names = names[::2] + names[1::2][::-1]
    index = _chain()
    got = {}
    for name in names:
        hit = index.resolve(name)
        got[name] = hit.name if hit is not None else None
    assert got == {name: _fresh(name) for name in names}
    assert got[f"m{MAX_HOPS}.f"] == "m0.f"  # exactly MAX_HOPS re-exports: resolved
    assert got[f"m{MAX_HOPS + 1}.f"] is None  # one more: not


def test_a_resolution_started_partway_down_a_chain_counts_its_own_hops() -> None:
    index = _chain()
    assert index.resolve(f"m{MAX_HOPS + 2}.f", hops=0) is None
    hit = index.resolve("m3.f", hops=MAX_HOPS - 3)  # three more hops allowed: enough
    assert hit is not None and hit.name == "m0.f"
    assert index.resolve("m3.f", hops=MAX_HOPS - 2) is None  # two: not
