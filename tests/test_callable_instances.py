"""Calling an instance of a project class runs its ``__call__`` (SPEC §3: methods, when the
class is known): a checker object made here, kept on ``self``, given by an annotated
parameter, or called as it is made. Each case's only sink is inside ``__call__``; the same
calls with the answer are quiet. The fixture project ``function_values`` covers functions
chosen through values; this covers objects."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_factories import project_findings

CHECKER = (
    "from judge_sdk import Judge\n"
    "\n"
    "\n"
    "class Checker:\n"
    "    def __init__(self):\n"
    "        self.judge = Judge('m')\n"
    "\n"
    "    def __call__(self, text):\n"
    "        return self.judge.grade(text)\n"  # line 9: the sink
    "\n"
    "\n"
)
CASES = {
    "made_here": "def step(message):\n"
                 "    checker = Checker()\n"
                 "    return checker({text})\n",
    "kept_on_self": "class Pipeline:\n"
                    "    def __init__(self):\n"
                    "        self.checker = Checker()\n"
                    "\n"
                    "    def run(self, message):\n"
                    "        return self.checker({text})\n",
    "annotated_parameter": "def step(message, checker: Checker):\n"
                           "    return checker({text})\n",
    "called_as_made": "def step(message):\n"
                      "    return Checker()({text})\n",
    "in_a_registry": "CHECKS = {{'strict': Checker()}}\n"
                     "\n"
                     "\n"
                     "def step(message):\n"
                     "    return CHECKS['strict']({text})\n",
}


def _run(tmp_path: Path, source: str) -> set[tuple[str, int, str]]:
    return project_findings(tmp_path, {"train.py": source})


def _triples(tmp_path: Path, case: str, text: str) -> set[tuple[str, int, str]]:
    return _run(tmp_path, CHECKER + CASES[case].format(text=text))


@pytest.mark.parametrize("case", sorted(CASES))
def test_calling_an_instance_runs_its_call_method(tmp_path: Path, case: str) -> None:
    assert _triples(tmp_path, case, "message.reasoning_content") == {("train.py", 9, "LC101")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_same_call_with_the_answer_is_quiet(tmp_path: Path, case: str) -> None:
    assert _triples(tmp_path, case, "message.content") == set()


def test_a_capitalized_table_called_by_a_subscript_is_no_constructor(tmp_path: Path) -> None:
    """``CHECKS["acc"](x)`` calls the function the table holds: a capitalized name before
    the subscript names no class to construct (the callee is a value)."""
    assert _run(tmp_path,
                "from judge_sdk import Judge\n\nJUDGE = Judge('m')\n\n\n"
                "def accuracy(text):\n    return JUDGE.grade(text)\n\n\n"
                "CHECKS = {'acc': accuracy}\n\n\n"
                "def step(message):\n    return CHECKS['acc'](message.reasoning_content)\n"
                ) == {("train.py", 7, "LC101")}


def test_a_class_chosen_by_a_condition_keeps_what_it_is_given(tmp_path: Path) -> None:
    """``cls = A if strict else B; obj = cls(text)``: which constructor runs is not known
    here, so the object carries its arguments (as an unknown call's result does); it is not
    a call of ``A.__init__``, whose return is None."""
    assert _run(tmp_path,
                "class Strict:\n    def __init__(self, text):\n        self.text = text\n\n\n"
                "class Lenient:\n    pass\n\n\n"
                "def step(judge, message, strict):\n"
                "    cls = Strict if strict else Lenient\n"
                "    sample = cls(message.reasoning_content)\n"
                "    return judge.grade(sample)\n") == {("train.py", 13, "LC101")}
