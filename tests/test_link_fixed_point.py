"""Every summary the linker used is a fixed point of the linked graph (SPEC §3: recursion
iterates to a fixed point). A recursive function's summary for an access path that only a
caller asks for, after the recursion's own rounds, used to be computed once: the result
tokens of the recursive calls for that path were met during that very search and linked
with the summary as it stood then, so `rotate(first, second, n)`, which returns either
argument, was summarized as returning only `first` (and four summaries of trl, six of verl
were short the same way). Searching every summary again on the finished graph must give
what the linker used."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakcheck.api import Options, check_paths
from leakcheck.project import link

PROJECTS = Path(__file__).resolve().parent / "fixtures" / "projects"


def _summaries_again(linker: link.Linker) -> dict[tuple[str, tuple[str, ...]], tuple]:
    """(function, access path) -> (what the linker used, a fresh search on its graph)."""
    out = {}
    used = {f: dict(paths) for f, paths in linker._summaries.items()}
    for func, paths in used.items():
        for path, (roots, _) in paths.items():
            linker._summaries.pop(func, None)
            linker._by_start.pop(func, None)
            out[(func, path)] = (roots, linker.summary(func, path))
    return out


@pytest.mark.parametrize("project", sorted(p.name for p in PROJECTS.iterdir() if p.is_dir()))
def test_every_summary_is_a_fixed_point(project: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict] = []
    run = link.Linker.run

    def checked(self: link.Linker, *args):
        graph = run(self, *args)
        seen.append(_summaries_again(self))
        return graph

    monkeypatch.setattr(link.Linker, "run", checked)
    check_paths(Options(paths=(str(PROJECTS / project),), jobs=1))
    assert seen and seen[0], "the linker computed no summary"
    short = {k: sorted(map(repr, fresh - used)) for k, (used, fresh) in seen[0].items()
             if fresh != used}
    assert not short, short


def test_a_recursion_that_swaps_its_arguments_returns_either(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The case above, by name: both parameters are roots of `rotate`'s result."""
    found: dict = {}
    run = link.Linker.run

    def keep(self: link.Linker, *args):
        graph = run(self, *args)
        found.update(self._summaries.get("textproc.fields.rotate", {}))
        return graph

    monkeypatch.setattr(link.Linker, "run", keep)
    check_paths(Options(paths=(str(PROJECTS / "recursive_helpers"),), jobs=1))
    roots, _ = found[()]
    params = {n[1][2] for n in roots if n[0] == "sym" and n[1][0] == "param" and n[2] == ()}
    assert {"first", "second"} <= params
