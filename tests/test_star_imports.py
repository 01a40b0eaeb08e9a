"""`from m import *` binds what Python binds (SPEC §3, calls resolved across modules): the
module's literal `__all__`, else every public name it binds at the top level, its own star
imports included. A call through a star-imported name reaches the project function, so a
sink inside it hears the caller's reasoning; an exported constant splits as a literal does.

The fixture project `star_imports` covers the package `__init__` re-export; these cases
each pin one rule of what is bound."""

from __future__ import annotations

from pathlib import Path

from leakcheck.api import Options, check_paths
from leakcheck.testing import project_triples

JUDGES = (
    "from judge_sdk import Judge\n"
    "\n"
    "JUDGE = Judge('m')\n"
    "{all}"
    "\n"
    "\n"
    "def assess(text):\n"
    "    return JUDGE.grade(text)\n"  # line 8 with an __all__ line above
    "\n"
    "\n"
    "def assess_all(text):\n"
    "    return JUDGE.grade(text)\n"
)
CALLER = (
    "from judges import *\n"
    "\n"
    "\n"
    "def step(message):\n"
    "    return {callee}(message.reasoning_content)\n"
)


def _project(tmp_path: Path, all_line: str, callee: str) -> set[tuple[str, int, str]]:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "star"\n')
    (tmp_path / "judges.py").write_text(JUDGES.format(all=all_line))
    (tmp_path / "train.py").write_text(CALLER.format(callee=callee))
    result = check_paths(Options(paths=(str(tmp_path),), jobs=1))
    assert result.file_errors == ()
    return project_triples(result, tmp_path)


def test_a_star_imported_function_is_the_project_function(tmp_path: Path) -> None:
    assert _project(tmp_path, "", "assess") == {("judges.py", 7, "LC101")}


def test_all_decides_what_is_bound(tmp_path: Path) -> None:
    # `assess_all` is left out of `__all__`: the star import does not bind it, and the
    # call of an unbound name reaches nothing in the project
    assert _project(tmp_path, "__all__ = ['assess']\n", "assess") == {
        ("judges.py", 8, "LC101")}


def test_a_name_left_out_of_all_is_not_bound(tmp_path: Path) -> None:
    assert _project(tmp_path, "__all__ = ['assess']\n", "assess_all") == set()


def test_an_all_changed_in_place_exports_every_public_name(tmp_path: Path) -> None:
    # `__all__.append(...)` is not read: every public name counts, so nothing is missed
    assert _project(tmp_path, "__all__ = ['assess']; __all__.append('x')\n",
                    "assess_all") == {("judges.py", 12, "LC101")}


def test_an_all_extended_by_a_literal_is_read(tmp_path: Path) -> None:
    assert _project(tmp_path, "__all__ = ['assess']; __all__ += ['assess_all']\n",
                    "assess_all") == {("judges.py", 12, "LC101")}


def test_underscore_names_are_not_bound_without_all(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "star"\n')
    (tmp_path / "judges.py").write_text(
        "from judge_sdk import Judge\n\nJUDGE = Judge('m')\n\n\n"
        "def _assess(text):\n    return JUDGE.grade(text)\n")
    (tmp_path / "train.py").write_text(CALLER.format(callee="_assess"))
    result = check_paths(Options(paths=(str(tmp_path),), jobs=1))
    assert project_triples(result, tmp_path) == set()


def test_star_imports_chain_and_cycles_terminate(tmp_path: Path) -> None:
    """`a` star-imports `b`, which star-imports `c` and `a` again: `c`'s function is
    reached from `a`'s importer, and the cycle ends."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "star"\n')
    (tmp_path / "a.py").write_text("from b import *\n")
    (tmp_path / "b.py").write_text("from c import *\nfrom a import *\n")
    (tmp_path / "c.py").write_text(
        "from judge_sdk import Judge\n\nJUDGE = Judge('m')\n\n\n"
        "def assess(text):\n    return JUDGE.grade(text)\n")
    (tmp_path / "train.py").write_text(
        "from a import *\nfrom torch import *\n\n\n"
        "def step(message):\n    return assess(message.reasoning_content)\n")
    result = check_paths(Options(paths=(str(tmp_path),), jobs=1))
    assert result.file_errors == ()
    assert project_triples(result, tmp_path) == {("c.py", 7, "LC101")}


def test_a_definition_after_the_star_import_wins(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "star"\n')
    (tmp_path / "judges.py").write_text(JUDGES.format(all=""))
    (tmp_path / "train.py").write_text(
        "from judges import *\n\n\n"
        "def assess(text):\n    print(text)\n\n\n"
        "def step(message):\n    return assess(message.reasoning_content)\n")
    result = check_paths(Options(paths=(str(tmp_path),), jobs=1))
    assert project_triples(result, tmp_path) == set()


def test_names_flow_by_any_path_without_all(tmp_path: Path) -> None:
    """`hub` star-imports `api` (whose `__all__` passes nothing of `core` on) and `extra`
    (no `__all__`, star-importing `core`): `core`'s function is bound through `hub`, by the
    second path, whichever of the two the search meets first."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "star"\n')
    (tmp_path / "core.py").write_text(
        "from judge_sdk import Judge\n\nJUDGE = Judge('m')\n\n\n"
        "def assess(text):\n    return JUDGE.grade(text)\n")
    (tmp_path / "api.py").write_text("from core import *\n\n__all__ = ['VERSION']\nVERSION = 1\n")
    (tmp_path / "extra.py").write_text("from core import *\n")
    for order in ("api, extra", "extra, api"):
        first, second = order.split(", ")
        (tmp_path / "hub.py").write_text(f"from {first} import *\nfrom {second} import *\n")
        (tmp_path / "train.py").write_text(
            "from hub import *\n\n\n"
            "def step(message):\n    return assess(message.reasoning_content)\n")
        result = check_paths(Options(paths=(str(tmp_path),), jobs=1))
        assert project_triples(result, tmp_path) == {("core.py", 7, "LC101")}, order
