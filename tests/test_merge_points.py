"""SPEC §3 "how taint moves" through branches, loops and handlers: what reaches a join is
what reached any of its sides, however many joins there are in a row. A join point whose
taint set grew past ``MERGE_LIMIT`` nodes routes it through one node of its own (an SSA phi),
so a long run of branches costs linear graph size, not quadratic; that node is not a step of
any trace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import report_factories as rf

from leakcheck.api import Options, check_paths
from leakcheck.graph.module import build_module
from leakcheck.graph.regex import RegexReader
from leakcheck.graph.values import MERGE_LIMIT
from leakcheck.parse import Parsed, parse_source
from leakcheck.ruleset import load_ruleset
from leakcheck.ruleset.match import Vocabulary

_CALLER = '''

def run(message):
    return reward_fn([message.reasoning_content])
'''


def _branches(n: int, source_branch: int | None = None) -> str:
    """A registered reward function joining ``x`` over ``n`` if/else statements in a row;
    with ``source_branch``, only that branch puts reasoning into ``x``."""
    lines = ["def reward_fn(completions, **kwargs):",
             "    x = completions[0]" if source_branch is None else "    x = ''",
             "    y = ''"]
    for i in range(n):
        grow = ("x = x + completions[0]" if source_branch == i
                else f"x = x + str({i})")
        lines += [f"    if len(y) == {i}:", f"        {grow}", "    else:",
                  f"        y = y + str({i})"]
    lines.append("    return [len(x)]")
    return "\n".join(lines) + "\n" + _CALLER


def _early_exits(n: int) -> str:
    """``n`` returns in a row under conditions on the reasoning: everything after them
    depends on all of them (implicit flow)."""
    lines = ["def reward_fn(completions, **kwargs):", "    score = 0"]
    for i in range(n):
        lines += [f"    if completions[0].startswith('{i}'):", "        return [0.0]",
                  f"    score = score + {i}"]
    lines.append("    return [float(score)]")
    return "\n".join(lines) + "\n" + _CALLER


def _loop(n: int) -> str:
    lines = ["def reward_fn(completions, **kwargs):", "    x = ''", "    for c in completions:"]
    for i in range(n):
        lines += [f"        if len(c) == {i}:", f"            x = x + c[{i}]"]
    lines.append("    return [len(x)]")
    return "\n".join(lines) + "\n" + _CALLER


def _elif_chain(n: int) -> str:
    """``n`` conditions on the reasoning in one if/elif chain: each branch is nested in the
    ``else`` of all before it, so under all of their conditions."""
    lines = ["def reward_fn(completions, **kwargs):", "    text = completions[0]",
             "    if text == '0':", "        score = 0"]
    for i in range(1, n):
        lines += [f"    elif text == '{i}':", f"        score = {i}"]
    lines += ["    else:", "        score = -1", "    return [float(score)]"]
    return "\n".join(lines) + "\n" + _CALLER


def _edges(source: str) -> int:
    rules = load_ruleset()
    vocab = Vocabulary(rules)
    parsed = parse_source("rewards.py", source.encode())
    assert isinstance(parsed, Parsed)
    ctx = build_module(parsed.module, "rewards.py", parsed.positions, vocab, RegexReader(vocab),
                       module_name="rewards")
    return ctx.graph.number_of_edges()


def _findings(tmp_path: Path, source: str) -> list[dict]:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "case"\n')
    (tmp_path / "rewards.py").write_text(source)
    result = check_paths(Options(paths=(str(tmp_path),), jobs=1, cache=False))
    assert result.file_errors == ()
    return json.loads(rf.timeless_json(result))["findings"]


@pytest.mark.parametrize("make", [_branches, _early_exits, _loop, _elif_chain])
def test_a_long_run_of_joins_builds_a_graph_linear_in_its_length(make) -> None:
    # joining every earlier side's nodes directly gave each later use an edge from each
    # (quadratic: four times the statements, sixteen times the edges)
    small, large = _edges(make(100)), _edges(make(400))
    assert large < 6 * small
    assert large < 100 * 400


@pytest.mark.parametrize("n", [MERGE_LIMIT // 2, 4 * MERGE_LIMIT])
def test_reasoning_that_enters_before_many_joins_still_reaches_the_grader(
        tmp_path: Path, n: int) -> None:
    found = _findings(tmp_path, _branches(n))
    returned = [f for f in found if f["rule_id"] == "LC101" and "returned by" in
                f["path"][-1]["message"]]
    assert len(returned) == 1
    messages = [s["message"] for s in returned[0]["path"]]
    assert messages[0] == "`message.reasoning_content` is a reasoning field"
    assert not any("joined" in m for m in messages)  # the join's own node is no step


@pytest.mark.parametrize("at", [0, 3 * MERGE_LIMIT])
def test_reasoning_that_enters_in_one_branch_of_many_reaches_the_grader(
        tmp_path: Path, at: int) -> None:
    found = _findings(tmp_path, _branches(4 * MERGE_LIMIT, source_branch=at))
    returned = [f for f in found if "returned by" in f["path"][-1]["message"]]
    assert len(returned) == 1
    lines = [s["location"]["start_line"] for s in returned[0]["path"]]
    assert 5 + 4 * at in lines  # through the branch that assigned it
    assert not any("joined" in s["message"] for s in returned[0]["path"])


def test_a_condition_on_reasoning_before_many_early_exits_taints_the_score(
        tmp_path: Path) -> None:
    found = _findings(tmp_path, _early_exits(4 * MERGE_LIMIT))
    assert any("returned by" in f["path"][-1]["message"] for f in found)


def test_a_loop_joining_many_branches_still_carries_the_reasoning(tmp_path: Path) -> None:
    found = _findings(tmp_path, _loop(4 * MERGE_LIMIT))
    assert any("returned by" in f["path"][-1]["message"] for f in found)


def test_the_last_branch_of_a_long_elif_chain_on_reasoning_taints_the_score(
        tmp_path: Path) -> None:
    found = _findings(tmp_path, _elif_chain(4 * MERGE_LIMIT))
    returned = [f for f in found if "returned by" in f["path"][-1]["message"]]
    assert len(returned) == 1
    assert not any("joined" in s["message"] for s in returned[0]["path"])
