"""A call of an abstract method runs a subclass's override (SPEC §3: methods, inheritance
inside the project). ``self.compute(x)`` in a base whose ``compute`` only raises
``NotImplementedError`` (or is ``...``, ``pass``, a docstring, ``@abstractmethod``), and
``agg(x)`` with ``agg: Aggregator`` whose ``__call__`` is abstract, reach every override in
the project's subclasses. A concrete method is what the class's MRO finds."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_factories import project_findings

BODIES = {
    "raise": "        raise NotImplementedError\n",
    "raise_call": "        raise NotImplementedError('subclasses grade')\n",
    "ellipsis": "        ...\n",
    "pass": "        pass\n",
    "docstring": "        \"\"\"Grade one text.\"\"\"\n",
    "abstractmethod": "        return 0.0\n",
}
TEMPLATE = (
    "import abc\n"
    "\n"
    "from judge_sdk import Judge\n"
    "\n"
    "JUDGE = Judge('m')\n"
    "\n"
    "\n"
    "class BaseCheck(abc.ABC):\n"
    "    def __call__(self, message):\n"
    "        return self.compute({text})\n"
    "\n"
    "{decorator}"
    "    def compute(self, text):\n"
    "{body}"
    "\n"
    "\n"
    "class JudgeCheck(BaseCheck):\n"
    "    def compute(self, text):\n"
    "        return JUDGE.grade(text)\n"
)


def _run(tmp_path: Path, source: str) -> set[tuple[str, int, str]]:
    return project_findings(tmp_path, {"rewards.py": source})


def _template(body: str, text: str) -> str:
    decorator = "    @abc.abstractmethod\n" if body == "abstractmethod" else ""
    source = TEMPLATE.format(text=text, decorator=decorator, body=BODIES[body])
    return source


@pytest.mark.parametrize("body", sorted(BODIES))
def test_an_abstract_hook_runs_the_subclass_override(tmp_path: Path, body: str) -> None:
    source = _template(body, "message.reasoning_content")
    sink = source.splitlines().index("        return JUDGE.grade(text)") + 1
    assert _run(tmp_path, source) == {("rewards.py", sink, "LC101")}


@pytest.mark.parametrize("body", sorted(BODIES))
def test_the_same_hook_given_the_answer_is_quiet(tmp_path: Path, body: str) -> None:
    assert _run(tmp_path, _template(body, "message.content")) == set()


def test_a_concrete_default_is_the_method_that_runs(tmp_path: Path) -> None:
    """A base method with a real body is the method the MRO finds: it runs, whatever a
    subclass overrides (the linker does not widen every call to every override)."""
    source = TEMPLATE.format(text="message.reasoning_content", decorator="",
                             body="        return JUDGE.grade(text)\n")
    base_sink = source.splitlines().index("        return JUDGE.grade(text)") + 1
    assert ("rewards.py", base_sink, "LC101") in _run(tmp_path, source)


def test_an_aggregator_typed_by_its_abstract_base(tmp_path: Path) -> None:
    """open-instruct's shape: ``aggregator: RewardAggregator = {...}[name]`` then
    ``aggregator(turn_rewards)``; the abstract ``__call__`` has two implementations, each
    of which the rewards reach (a reward container downstream, LC101 from the reasoning)."""
    source = (
        "from abc import ABC, abstractmethod\n"
        "\n"
        "\n"
        "class Aggregator(ABC):\n"
        "    @abstractmethod\n"
        "    def __call__(self, values): ...\n"
        "\n"
        "\n"
        "class Last(Aggregator):\n"
        "    def __call__(self, values):\n"
        "        return values[-1]\n"
        "\n"
        "\n"
        "class Total(Aggregator):\n"
        "    def __call__(self, values):\n"
        "        return sum(values)\n"
        "\n"
        "\n"
        "def collect(message, name, rewards):\n"
        "    aggregator: Aggregator = {'last': Last(), 'sum': Total()}[name]\n"
        "    rewards.append(aggregator([len(message.reasoning_content)]))\n"
    )
    assert _run(tmp_path, source) == {("rewards.py", 21, "LC101")}
