"""SPEC §3 "across function calls inside the project", however long the chain: linking
recurses along call chains (a callee's summary before its caller's), so a chain of 12,000
functions must link like a chain of three, not end in an internal error that drops every
finding crossing a call."""

from __future__ import annotations

from pathlib import Path

from leakcheck.api import Options, check_paths


def _chain(n: int) -> str:
    """``f0`` calls ``f1`` … calls ``f{n}``, which returns its argument; the grader's
    argument runs through all of them."""
    parts = [f"def f{i}(x):\n    return f{i + 1}(x)\n" for i in range(n)]
    parts.append(f"def f{n}(x):\n    return x\n")
    parts.append("def reward_fn(completions, **kwargs):\n    return [0.0 for _ in completions]\n")
    parts.append("def run(message):\n    return reward_fn([f0(message.reasoning_content)])\n")
    return "\n".join(parts)


def test_a_call_chain_of_fifteen_thousand_functions_links(tmp_path: Path) -> None:
    # (50,000 frames of recursion stopped between 12,000 and 14,000 functions: "internal error while
    # linking: RecursionError", and no finding at all)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "case"\n')
    (tmp_path / "chain.py").write_text(_chain(15_000))
    result = check_paths(Options(paths=(str(tmp_path),), jobs=1))
    assert result.file_errors == ()
    assert {(f.rule_id, f.sink.start_line) for f in result.findings} == {
        ("LC101", 15_000 * 3 + 3 + 4 + 1)}
    path = result.findings[0].path
    assert path[0].message == "`message.reasoning_content` is a reasoning field"
    assert path[1].message == "enters parameter `x` of `f0()`"  # (the witness goes in)
    assert path[-2].message == "returned by `f0()`"
    assert path[-1].kind == "sink"
