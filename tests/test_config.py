"""SPEC §5 configuration: [tool.leakcheck] in the nearest pyproject.toml or --config FILE;
unknown keys, wrong types and bad patterns are errors naming the file and key; the user's
vocabulary extends the packs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from leakcheck.api import Options, check_paths
from leakcheck.cli import main
from leakcheck.errors import ConfigError

LEAKS = (
    "def accuracy_reward(completions, **kwargs):\n"
    "    return [judge(c) for c in completions]\n"  # line 2: LC102 (return + judge call)
    "\n"
    "def ask(judge, msg):\n"
    "    return judge(msg.reasoning_content)\n"  # line 5: LC101
)


def _project(tmp_path: Path, table: str, files: dict[str, str] | None = None) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n\n" + table)
    for rel, text in (files or {"m.py": LEAKS}).items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def _found(root: Path, **kw: object) -> set[tuple[str, int, str]]:
    result = check_paths(Options(paths=(str(root),), **kw))  # type: ignore[arg-type]
    return {(f.sink.path, f.sink.start_line, f.rule_id) for f in result.findings}


def test_no_table_reports_everything(tmp_path: Path) -> None:
    root = _project(tmp_path, "")
    assert {(line, rule) for _, line, rule in _found(root)} == {(2, "LC102"), (5, "LC101")}


def test_select_and_ignore(tmp_path: Path) -> None:
    root = _project(tmp_path, '[tool.leakcheck]\nselect = ["LC101"]\n')
    assert {rule for *_, rule in _found(root)} == {"LC101"}
    root2 = _project(tmp_path / "b", '[tool.leakcheck]\nignore = ["LC101"]\n')
    assert {rule for *_, rule in _found(root2)} == {"LC102"}


def test_command_line_overrides_the_file(tmp_path: Path) -> None:
    root = _project(tmp_path, '[tool.leakcheck]\nselect = ["LC101"]\n')
    assert {rule for *_, rule in _found(root, select=("LC102",))} == {"LC102"}


def test_per_file_ignores_and_extend_exclude(tmp_path: Path) -> None:
    root = _project(tmp_path, '[tool.leakcheck]\nextend-exclude = ["gen"]\n'
                    '[tool.leakcheck.per-file-ignores]\n"tests/*" = ["LC102"]\n',
                    {"src/m.py": LEAKS, "tests/t.py": LEAKS, "gen/g.py": LEAKS})
    found = _found(root)
    assert {p for p, *_ in found} == {"src/m.py", "tests/t.py"}
    assert {(p, r) for p, _, r in found if p == "tests/t.py"} == {("tests/t.py", "LC101")}


def test_exclude_replaces_defaults(tmp_path: Path) -> None:
    root = _project(tmp_path, '[tool.leakcheck]\nexclude = ["other"]\n',
                    {"build/m.py": LEAKS, "other/o.py": LEAKS})
    assert {p for p, *_ in _found(root)} == {"build/m.py"}


@pytest.mark.parametrize(("table", "key", "line"), [
    ('[tool.leakcheck]\nselct = ["LC101"]\n', "selct", 5),
    ('[tool.leakcheck]\nselect = "LC101"\n', "select", 5),
    ('[tool.leakcheck]\nextend-exclude = ["gen/[abc"]\n', "extend-exclude", 5),
    ('[tool.leakcheck]\nignore = ["lc 101"]\n', "ignore", 5),
    ('[tool.leakcheck.vocabulary]\ngrader = ["x"]\n', "vocabulary.grader", 5),
    ('[tool.leakcheck.vocabulary]\ngraders = ["bad name!("]\n', "vocabulary.graders", 5),
])
def test_bad_configuration_names_file_key_and_line(tmp_path: Path, table: str, key: str,
                                                   line: int) -> None:
    root = _project(tmp_path, table)
    with pytest.raises(ConfigError) as info:
        check_paths(Options(paths=(str(root),)))
    assert f"`{key}`" in str(info.value)
    assert info.value.path == str(root / "pyproject.toml")
    assert info.value.line == line


def test_cli_exit_2_on_bad_configuration(tmp_path: Path) -> None:
    root = _project(tmp_path, '[tool.leakcheck]\nselct = ["LC101"]\n')
    result = CliRunner().invoke(main, [str(root)])
    assert result.exit_code == 2
    assert "pyproject.toml:5" in result.output and "selct" in result.output


def test_explicit_config_file(tmp_path: Path) -> None:
    root = _project(tmp_path, "")
    cfg = tmp_path / "leakcheck.toml"
    cfg.write_text('[tool.leakcheck]\nselect = ["LC101"]\n')
    assert {rule for *_, rule in _found(root, config=str(cfg))} == {"LC101"}


def test_user_vocabulary(tmp_path: Path) -> None:
    code = (
        "def ask(check_answer, ok_check, msg):\n"
        "    check_answer(msg.musing)\n"  # user grader pattern + user cot word: LC101
        "    ok_check(answer_only(msg.musing))\n"  # user sanitizer: clean
        "    prm_like.score_steps(msg.reasoning_content)\n"  # user may-see-reasoning: clean
        "    return mypkg_checker(msg.reasoning_content)\n"  # pattern *_checker: LC101
    )
    root = _project(tmp_path, '[tool.leakcheck.vocabulary]\ncot = ["musing"]\n'
                    'graders = ["check_answer", "ok_check", "*_checker", "prm_like.*"]\n'
                    'sanitizers = ["answer_only"]\nmay-see-reasoning = ["prm_like.score_steps"]\n',
                    {"m.py": code})
    assert {(line, rule) for _, line, rule in _found(root)} == {(2, "LC101"), (5, "LC101")}


def test_user_grader_by_qualified_name_registers_the_def(tmp_path: Path) -> None:
    files = {"pkg/__init__.py": "",
             "pkg/scoring.py": "def check(text, gold):\n    return text == gold\n",
             "pkg/run.py": "from pkg.scoring import check\n\ndef go(msg, gold):\n"
                           "    return check(msg.reasoning_content, gold)\n"}
    root = _project(tmp_path, '[tool.leakcheck.vocabulary]\ngraders = ["pkg.scoring.check"]\n',
                    files)
    assert _found(root) == {("pkg/run.py", 4, "LC101"), ("pkg/scoring.py", 2, "LC101")}
    assert _found(root, use_config=False) == set()


# --- issue 5: where errors point, rule ids, discovery ---------------------------------


def test_error_line_is_found_in_the_leakcheck_table_not_another_tools(tmp_path: Path) -> None:
    table = ('[tool.ruff.lint]\nselect = ["E", "F"]\n\n'  # lines 4-5: not ours
             '[tool.leakcheck]\nselect = "LC101"\n')  # line 8
    root = _project(tmp_path, table)
    with pytest.raises(ConfigError) as info:
        check_paths(Options(paths=(str(root),)))
    assert info.value.line == 8


def test_per_file_ignores_error_points_at_its_glob(tmp_path: Path) -> None:
    table = ('[tool.leakcheck.per-file-ignores]\n"tests/*.py" = ["LC102"]\n'
             '"gen/[x.py" = ["LC102"]\n')  # line 6
    root = _project(tmp_path, table)
    with pytest.raises(ConfigError) as info:
        check_paths(Options(paths=(str(root),)))
    assert "gen/[x.py" in str(info.value) and info.value.line == 6


@pytest.mark.parametrize(("table", "key", "line"), [
    ('[tool.leakcheck]\nselect = ["LC101", "LC103"]\n', "select", 5),
    ('[tool.leakcheck]\nignore = ["LC9"]\n', "ignore", 5),
    ('[tool.leakcheck.per-file-ignores]\n"t/*" = ["LC109"]\n', "per-file-ignores.t/*", 5),
])
def test_unknown_rule_ids_are_errors(tmp_path: Path, table: str, key: str, line: int) -> None:
    root = _project(tmp_path, table)
    result = CliRunner().invoke(main, [str(root)])
    assert result.exit_code == 2
    assert f"pyproject.toml:{line}:" in result.output and f"`{key}`" in result.output
    assert "known rules: LC001, LC101, LC102" in result.output


def test_unknown_rule_id_on_the_command_line_is_exit_2(tmp_path: Path) -> None:
    root = _project(tmp_path, "")
    result = CliRunner().invoke(main, [str(root), "--select", "LC101,LC999"])
    assert result.exit_code == 2 and "--select: unknown rule 'LC999'" in result.output


def test_rule_ids_from_an_extra_pack_are_known(tmp_path: Path) -> None:
    pack = tmp_path / "mine.toml"
    pack.write_text('[[rule]]\nid = "LC900"\nname = "mine"\nkind = "mine"\nlevel = "note"\n'
                    'short = "Mine"\nmessage = "m {source} {sink}"\n[rule.doc]\nwhat = "W"\n'
                    'why = "Y"\nexample = "x = 1"\nfix = "x = 2"\n')
    root = _project(tmp_path / "p", '[tool.leakcheck]\nignore = ["LC900"]\n'
                    f'rules = ["{pack.as_posix()}"]\n')
    assert _found(root)  # no error: LC900 comes from the pack


def test_nearest_table_above_the_analyzed_path(tmp_path: Path) -> None:
    # the analyzed directory's own pyproject.toml has no [tool.leakcheck]: the one above it
    # applies (as ruff's [tool.ruff] lookup does)
    _project(tmp_path, '[tool.leakcheck]\nselect = ["LC101"]\n', {})
    inner = _project(tmp_path / "sub", "")
    assert {rule for *_, rule in _found(inner)} == {"LC101"}
    assert {rule for *_, rule in _found(inner / "m.py")} == {"LC101"}


def test_invalid_toml_that_is_ours_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.leakcheck]\n'
                                             'select = ["LC101"\n')
    (tmp_path / "m.py").write_text(LEAKS)
    result = CliRunner().invoke(main, [str(tmp_path)])
    assert result.exit_code == 2
    assert "pyproject.toml:" in result.output and "invalid TOML" in result.output


def test_invalid_toml_of_another_tool_is_skipped(tmp_path: Path) -> None:
    _project(tmp_path, '[tool.leakcheck]\nselect = ["LC101"]\n', {})
    inner = _project(tmp_path / "sub", "[tool.black\nline-length = 1\n")  # not valid TOML
    assert {rule for *_, rule in _found(inner)} == {"LC101"}


def test_standalone_config_file_holds_the_keys_at_top_level(tmp_path: Path) -> None:
    root = _project(tmp_path, "")
    cfg = tmp_path / "leakcheck.toml"
    cfg.write_text('ignore = ["LC101"]\nselct = 1\n')
    result = CliRunner().invoke(main, [str(root), "--config", str(cfg)])
    assert result.exit_code == 2 and "leakcheck.toml:2:" in result.output
    cfg.write_text('ignore = ["LC101"]\n')
    assert {rule for *_, rule in _found(root, config=str(cfg))} == {"LC102"}


def test_isolated_ignores_the_configuration(tmp_path: Path) -> None:
    root = _project(tmp_path, '[tool.leakcheck]\nselect = ["LC101"]\n')
    result = CliRunner().invoke(main, [str(root), "--isolated", "--format", "json"])
    assert {f["rule_id"] for f in json.loads(result.output)["findings"]} == {"LC101", "LC102"}
    assert CliRunner().invoke(main, [str(root), "--isolated", "--config",
                                     str(root / "pyproject.toml")]).exit_code == 2
