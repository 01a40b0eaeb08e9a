"""`from m import *` binds what Python binds (SPEC §3, calls resolved across modules): the
module's literal `__all__`, else every public name it binds at the top level, its own star
imports included. A call through a star-imported name reaches the project function, so a
sink inside it hears the caller's reasoning; an exported constant splits as a literal does.

The fixture project `star_imports` covers the package `__init__` re-export; these cases
each pin one rule of what is bound."""

from __future__ import annotations

from pathlib import Path

from report_factories import project_findings

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
    return project_findings(tmp_path, {"judges.py": JUDGES.format(all=all_line),
                                       "train.py": CALLER.format(callee=callee)})


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
    assert project_findings(tmp_path, {
        "judges.py": "from judge_sdk import Judge\n\nJUDGE = Judge('m')\n\n\n"
                     "def _assess(text):\n    return JUDGE.grade(text)\n",
        "train.py": CALLER.format(callee="_assess")}) == set()


def test_star_imports_chain_and_cycles_terminate(tmp_path: Path) -> None:
    """`a` star-imports `b`, which star-imports `c` and `a` again: `c`'s function is
    reached from `a`'s importer, and the cycle ends."""
    assert project_findings(tmp_path, {
        "a.py": "from b import *\n",
        "b.py": "from c import *\nfrom a import *\n",
        "c.py": "from judge_sdk import Judge\n\nJUDGE = Judge('m')\n\n\n"
                "def assess(text):\n    return JUDGE.grade(text)\n",
        "train.py": "from a import *\nfrom torch import *\n\n\n"
                    "def step(message):\n    return assess(message.reasoning_content)\n",
    }) == {("c.py", 7, "LC101")}


def test_a_definition_after_the_star_import_wins(tmp_path: Path) -> None:
    assert project_findings(tmp_path, {
        "judges.py": JUDGES.format(all=""),
        "train.py": "from judges import *\n\n\n"
                    "def assess(text):\n    print(text)\n\n\n"
                    "def step(message):\n    return assess(message.reasoning_content)\n",
    }) == set()


def test_names_flow_by_any_path_without_all(tmp_path: Path) -> None:
    """`hub` star-imports `api` (whose `__all__` passes nothing of `core` on) and `extra`
    (no `__all__`, star-importing `core`): `core`'s function is bound through `hub`, by the
    second path, whichever of the two the search meets first."""
    core = ("from judge_sdk import Judge\n\nJUDGE = Judge('m')\n\n\n"
            "def assess(text):\n    return JUDGE.grade(text)\n")
    for first, second in (("api", "extra"), ("extra", "api")):
        assert project_findings(tmp_path, {
            "core.py": core,
            "api.py": "from core import *\n\n__all__ = ['VERSION']\nVERSION = 1\n",
            "extra.py": "from core import *\n",
            "hub.py": f"from {first} import *\nfrom {second} import *\n",
            "train.py": "from hub import *\n\n\n"
                        "def step(message):\n    return assess(message.reasoning_content)\n",
        }) == {("core.py", 7, "LC101")}, (first, second)


def test_a_star_imported_constant_keeps_its_value(tmp_path: Path) -> None:
    """`END` comes from a star import: splitting on it is the sanitizer, as with the literal
    (were it a plain reference, the split would sanitize nothing)."""
    files = {"judges.py": JUDGES.format(all=""),
             "tags.py": "END = '</think>'\nSTART = '<think>'\n",
             "train.py": "from judges import *\nfrom tags import *\n\n\n"
                         "def step(completion):\n"
                         "    return assess(completion.split({sep})[-1])\n"}
    assert project_findings(tmp_path, {**files, "train.py": files["train.py"].format(
        sep="END")}) == set()
    assert project_findings(tmp_path, {**files, "train.py": files["train.py"].format(
        sep="START")}) == {("judges.py", 7, "LC101")}


def test_a_star_imported_function_table_calls_its_functions(tmp_path: Path) -> None:
    """`CHECKS` (a dict of functions) comes from a star import: `CHECKS[name](...)` may call
    each of them."""
    assert project_findings(tmp_path, {
        "checks.py": "from judge_sdk import Judge\n\nJUDGE = Judge('m')\n\n\n"
                     "def check_a(text):\n    return JUDGE.grade(text)\n\n\n"
                     "def check_b(text):\n    return JUDGE.grade(text)\n\n\n"
                     "CHECKS = {'a': check_a, 'b': check_b}\n",
        "train.py": "from checks import *\n\n\n"
                    "def step(message, name):\n"
                    "    return CHECKS[name](message.reasoning_content)\n",
    }) == {("checks.py", 7, "LC101"), ("checks.py", 11, "LC101")}


def test_a_star_imported_global_changed_in_place_is_the_one_global(tmp_path: Path) -> None:
    """`LOG` is star-imported where reasoning is appended to it, and imported by name where
    a judge reads it: one list."""
    assert project_findings(tmp_path, {
        "judges.py": JUDGES.format(all=""),
        "shared.py": "LOG = []\n",
        "collect.py": "from shared import *\n\n\n"
                      "def keep(message):\n    LOG.append(message.reasoning_content)\n",
        "grade.py": "from judges import assess\nfrom shared import LOG\n\n\n"
                    "def grade():\n    return assess(LOG[-1])\n",
    }) == {("judges.py", 7, "LC101"), ("grade.py", 6, "LC101")}


def test_many_modules_star_importing_many_names_bind_each(tmp_path: Path) -> None:
    """Each of many modules star-importing the same 300 names (bound in one update) sees
    the constant among them with its value: the split on it takes the reasoning out in
    every one."""
    files = {"consts.py": "".join(f"n{i} = {i}\n" for i in range(300)) + "START = '<think>'\n"}
    for k in range(20):
        files[f"m{k}.py"] = ("from judge_sdk import Judge\n\n"
                             "from consts import *\n\nJUDGE = Judge('m')\n\n\n"
                             f"def step_{k}(completion, message):\n"
                             "    JUDGE.grade(completion.split(START)[-1])\n"
                             f"    return JUDGE.grade(message.reasoning_content[n{k}:])\n")
    assert project_findings(tmp_path, files) == {(f"m{k}.py", line, "LC101") for k in range(20)
                                                 for line in (9, 10)}
