"""Linking is driven by the sinks: only what a backward search from them meets is linked
(``Linker.run(targets)``). Findings, witnesses included, must be those of linking every
token (``Linker.run()``), on every fixture tree and for runs that report on a few files of a
project only (pre-commit), where only those files' sinks drive the linking."""

from __future__ import annotations

from pathlib import Path

import pytest
import report_factories as rf

from leakcheck.api import Options, check_paths
from leakcheck.project import link

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TREES = sorted(t for t in [*(FIXTURES / "projects").iterdir(), *(FIXTURES / "prefilter")
                           .iterdir(), FIXTURES / "intra", FIXTURES / "examples"] if t.is_dir())
PROJECTS = sorted(t for t in (FIXTURES / "projects").iterdir() if t.is_dir())


def _linking_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    run = link.Linker.run
    monkeypatch.setattr(link.Linker, "run", lambda self, targets=None: run(self))


def _output(paths: tuple[str, ...]) -> str:
    return rf.timeless_json(check_paths(Options(paths=paths, jobs=1)))


@pytest.mark.parametrize("tree", TREES, ids=[str(t.relative_to(FIXTURES)) for t in TREES])
def test_linking_upstream_of_the_sinks_finds_what_linking_everything_finds(
        tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    demanded = _output((str(tree),))
    _linking_everything(monkeypatch)
    assert _output((str(tree),)) == demanded


@pytest.mark.parametrize("project", PROJECTS, ids=[p.name for p in PROJECTS])
def test_a_run_on_some_files_links_upstream_of_their_sinks_only_and_finds_the_same(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = tuple(sorted(str(f) for f in project.rglob("*.py")))
    demanded = {f: _output((f,)) for f in files}
    _linking_everything(monkeypatch)
    assert {f: _output((f,)) for f in files} == demanded


def test_calls_no_sink_depends_on_are_not_linked(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Calls that only feed a log line are never linked (their result tokens get no edges),
    which is the point of driving the linking from the sinks; the leak is still found."""
    (tmp_path / "text.py").write_text(
        "def normalize(s):\n"
        "    return s.strip().lower()\n")
    (tmp_path / "rewards.py").write_text(
        "import logging\n"
        "from judge_sdk import Judge\n"
        "from text import normalize\n\n"
        "JUDGE = Judge('m')\n\n\n"
        "def review(message, question, scores):\n"
        "    scores.append(JUDGE.grade(question, normalize(message.reasoning_content)))\n"
        "\n\n"
        "def headline(message):\n"
        "    line = normalize(message.content)\n"
        "    logging.info(line)\n"
        "    return line\n")
    linkers: list[link.Linker] = []
    run = link.Linker.run

    def keep(self: link.Linker, *args):
        linkers.append(self)
        return run(self, *args)

    monkeypatch.setattr(link.Linker, "run", keep)
    result = check_paths(Options(paths=(str(tmp_path),), jobs=1))
    assert {f.rule_id for f in result.findings} == {"LC101"}
    (linker,) = linkers
    logged = [n for n in linker.known if n[1][0] == "ret" and n[1][2] == 13]
    judged = [n for n in linker.known if n[1][0] == "ret" and n[1][2] == 9]
    assert logged and judged
    assert all(n not in linker._materialized and not linker.graph.in_degree(n)
               for n in logged)
    assert any(n in linker._materialized for n in judged)


BASE = (
    "from judge_sdk import Judge\n"
    "\n"
    "JUDGE = Judge('m')\n"
    "\n"
    "\n"
    "class BaseTrainer:\n"
    "    def review(self, question):\n"
    "        return JUDGE.grade(question, self.trace)\n"
    "\n"
    "    def review_answer(self, question):\n"
    "        return JUDGE.grade(question, self.answer)\n"
)
MIDDLE = (
    "from {base} import BaseTrainer\n"
    "\n"
    "\n"
    "class ReasoningTrainer(BaseTrainer):\n"
    "    def rollout(self, message):\n"
    "        self.trace = message.reasoning_content\n"
    "        self.answer = message.content\n"
)
LEAF = (
    "from {base} import JUDGE\n"
    "from {middle} import ReasoningTrainer\n"
    "\n"
    "\n"
    "class LoggingTrainer(ReasoningTrainer):\n"
    "    def review_again(self):\n"
    "        return JUDGE.grade(self.trace)\n"
)


@pytest.mark.parametrize("names", [("a_base", "b_middle", "c_leaf"),
                                   ("c_base", "b_middle", "a_leaf")], ids=["base-first",
                                                                          "leaf-first"])
def test_self_attributes_are_shared_up_and_down_a_class_hierarchy(
        tmp_path: Path, names: tuple[str, str, str]) -> None:
    """``self.trace`` set in the middle class reaches the base's method and the leaf's; the
    answer stays clean; in either file order (classes are met in file order)."""
    base, middle, leaf = names
    (tmp_path / f"{base}.py").write_text(BASE)
    (tmp_path / f"{middle}.py").write_text(MIDDLE.format(base=base))
    (tmp_path / f"{leaf}.py").write_text(LEAF.format(base=base, middle=middle))
    result = check_paths(Options(paths=(str(tmp_path),), jobs=1))
    assert result.file_errors == ()
    found = {(Path(f.sink.path).stem, f.sink.start_line, f.rule_id) for f in result.findings}
    assert found == {(base, 8, "LC101"), (leaf, 7, "LC101")}
