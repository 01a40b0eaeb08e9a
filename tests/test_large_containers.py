"""SPEC §3 "how taint moves" into and out of containers, at sizes real code rarely reaches
and generated code does: a dict literal or a run of stores with thousands of constant keys,
thousands of appends of different items. What reaches a container's item still reaches
whatever reads it; a value keeps at most ``MAX_FIELDS`` keys apart and a container's items at
most ``MERGE_LIMIT`` nodes and access paths, so each store costs the same however many came
before (copying every earlier key on each store took 28-44 s for 20,000 of them)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import report_factories as rf

from leakcheck.api import Options, check_paths
from leakcheck.graph.module import build_module
from leakcheck.graph.regex import RegexReader
from leakcheck.graph.values import (
    CLEAN,
    DEEP,
    MAX_FIELDS,
    MERGE_LIMIT,
    Value,
    read,
    set_field,
    sym_value,
    widened_syms,
)
from leakcheck.parse import Parsed, parse_source
from leakcheck.ruleset import load_ruleset
from leakcheck.ruleset.match import Vocabulary

_TRAINER = "\nfrom trl import GRPOTrainer\ntrainer = GRPOTrainer(reward_funcs=[reward_fn])\n"


def _findings(tmp_path: Path, source: str) -> list[dict]:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "case"\n')
    (tmp_path / "rewards.py").write_text(source + _TRAINER)
    result = check_paths(Options(paths=(str(tmp_path),), jobs=1, cache=False))
    assert result.file_errors == ()
    return json.loads(rf.timeless_json(result))["findings"]


def _graded_lines(found: list[dict]) -> set[int]:
    return {f["sink"]["start_line"] for f in found if "judge.grade" in f["message"]}


def _returned(source: str) -> Value:
    vocab = Vocabulary(load_ruleset())
    parsed = parse_source("rewards.py", source.encode())
    assert isinstance(parsed, Parsed)
    ctx = build_module(parsed.module, "rewards.py", parsed.positions, vocab, RegexReader(vocab),
                       module_name="rewards")
    return ctx.functions["rewards.reward_fn"].ret


def _stores(n: int, tainted: int) -> str:
    lines = ["def reward_fn(completions, **kwargs):", "    d = {}"]
    lines += [f"    d['k{i}'] = {'completions[0]' if i == tainted else repr(i)}"
              for i in range(n)]
    lines += [f"    judge.grade(d['k{tainted}'])", "    judge.grade(d['k1'])", "    return d"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("tainted", [7, MAX_FIELDS + 40])
def test_a_key_stored_among_thousands_still_carries_its_taint(tmp_path: Path,
                                                               tainted: int) -> None:
    """The tainted key kept apart (7) or past MAX_FIELDS (a weak update of the items): its
    read reaches the grader; a clean key kept apart stays clean (precision where it was)."""
    n = MAX_FIELDS + 100
    found = _findings(tmp_path, _stores(n, tainted))
    assert _graded_lines(found) == {3 + n}  # d['k<tainted>'], not d['k1']


def test_a_dict_literal_past_max_fields_keeps_its_keys_bounded_and_its_taint() -> None:
    n = MAX_FIELDS + 300
    entries = ", ".join(f"'k{i}': {'completions[0]' if i == n - 1 else i}" for i in range(n))
    value = _returned(f"def reward_fn(completions, **kwargs):\n    return {{{entries}}}\n")
    assert len(value.fields) == MAX_FIELDS
    assert value.elem is not None
    assert ("param", "rewards.reward_fn", "completions") in {b for b, _ in value.elem.syms}


def _appends(n: int) -> str:
    lines = ["def reward_fn(completions, **kwargs):", "    out = []"]
    lines += [f"    out.append(completions[{i}] + str({i}))" for i in range(n)]
    lines += ["    judge.grade(out[3])", "    return out"]
    return "\n".join(lines) + "\n"


def test_thousands_of_appends_keep_the_items_bounded() -> None:
    """Every append adds a node and an access path (``completions[i]``) to the items: past
    MERGE_LIMIT they go through one node and widen to ``completions[**]``."""
    value = _returned(_appends(10 * MERGE_LIMIT))
    assert value.elem is not None
    assert len(value.elem.shape) <= MERGE_LIMIT + 1
    assert len(value.elem.syms) <= MERGE_LIMIT + 1


def test_an_item_appended_among_thousands_reaches_the_grader(tmp_path: Path) -> None:
    n = 10 * MERGE_LIMIT
    found = _findings(tmp_path, _appends(n))
    graded = [f for f in found if "judge.grade" in f["message"]]
    assert {f["sink"]["start_line"] for f in graded} == {3 + n}
    assert not any("joined" in s["message"] for f in graded for s in f["path"])


def test_set_field_is_a_sorted_strong_update_below_the_limit() -> None:
    """Against the definition: a dict of the keys, the new one replacing, sorted."""
    rng = random.Random(6)
    value = CLEAN
    expected: dict[str, Value] = {}
    for step in range(400):
        key = f"'k{rng.randrange(150)}"
        item = sym_value(("param", "f", "x"), (str(step),))
        value = set_field(value, key, item)
        expected[key] = item
        assert value.fields == tuple(sorted(expected.items()))
        assert value.field(key) is item
    assert all(value.field(k) is v for k, v in expected.items())
    assert value.field("'absent") is None


def test_set_field_past_the_limit_is_a_weak_update_of_the_items() -> None:
    tainted = Value(shape=frozenset({("n", 1)}))
    value = CLEAN
    for i in range(MAX_FIELDS):
        value = set_field(value, f"'k{i:05}", CLEAN)
    over = set_field(value, "'zzz", tainted)
    assert over.fields == value.fields
    assert read(over, "'zzz").shape == tainted.shape  # read through the items
    assert read(over, "'k00001").shape == frozenset()  # a kept key: still its own
    again = set_field(over, "'k00001", tainted)  # a kept key: strong update as before
    assert again.field("'k00001") is tainted


def test_widened_paths_cover_each_path_they_replace() -> None:
    base = ("param", "f", "completions")
    other = ("param", "f", "solution")
    syms = frozenset({(base, ("#0", "'content")), (base, ("#1",)), (other, ("'a",)),
                      (("self", "C"), (".x",)), (("self", "C"), (".y",))})
    widened = widened_syms(syms)
    assert (base, (DEEP,)) in widened  # the common prefix is empty: everything in it
    assert (other, ("'a",)) in widened  # alone: kept as it is
    assert {(("self", "C"), (".x",)), (("self", "C"), (".y",))} <= widened  # never widened
    assert len(widened) == 4
    common = widened_syms(frozenset({(base, ("#0", "'a")), (base, ("#0", "'b"))}))
    assert common == frozenset({(base, ("#0", DEEP))})
