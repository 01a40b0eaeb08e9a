"""Examples embedded in the rule packs run in the suite and from the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from leakcheck.cli import main
from leakcheck.errors import RuleFileError
from leakcheck.pack_examples import run_examples
from leakcheck.ruleset import load_ruleset

RULES = load_ruleset()


def test_shipped_packs_have_leaking_and_clean_examples() -> None:
    codes = [e.code for e in RULES.examples]
    assert any("# expect: LC101" in c for c in codes)
    assert any("# expect: LC102" in c for c in codes)
    assert any("# expect:" not in c for c in codes)


@pytest.mark.parametrize("result", run_examples(RULES), ids=lambda r: r.example.name)
def test_shipped_example(result) -> None:
    assert result.ok, (result.missing, result.unexpected, result.error)


def _pack(tmp_path: Path, code: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(f"[[example]]\nname = \"mine\"\ncode = '''\n{code}'''\n")
    return path


def test_cli_runs_user_examples_and_fails_on_a_wrong_expectation(tmp_path: Path) -> None:
    wrong = _pack(tmp_path, "def ask(judge, thinking):\n    return judge('ok')  # expect: LC101\n")
    result = CliRunner().invoke(main, ["--test-rules", "--rules", str(wrong)])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "missing    LC101 on line 2" in result.output


def test_cli_passes_when_examples_hold(tmp_path: Path) -> None:
    code = "def ask(judge, thinking):\n    return judge(thinking)  # expect: LC101\n"
    right = _pack(tmp_path, code)
    result = CliRunner().invoke(main, ["--test-rules", "--rules", str(right)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("passed, 0 failed")


def test_example_needs_name_and_code(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[[example]]\nname = \"x\"\n")
    with pytest.raises(RuleFileError, match="needs `name` and `code`"):
        load_ruleset([path])
