"""Rendered output of the real engine on tests/fixtures/examples/, per format, against
tests/goldens/. ``pytest --update-goldens`` rewrites them; review the diff before committing.

JSON and SARIF carry the absolute project root; it is replaced by a fixed stand-in so the
goldens do not depend on where the repository is checked out. The text report reads the
sink lines from disk, so it renders with the real root (it prints only relative paths).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from conftest import assert_valid_sarif

from leakcheck.api import Options, check_paths
from leakcheck.report import get_reporter

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "tests" / "fixtures" / "examples"
GOLDENS = REPO / "tests" / "goldens"
STAND_IN_ROOT = "/project"
SUFFIX = {"text": ".txt", "json": ".json", "sarif": ".sarif"}
CASES = [
    "leaky_reward",
    "sanitized_reward",
    "anthropic_judge",
    "suppressed_format_reward",
    "broken_syntax",
]

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def results():
    return {name: check_paths(Options(paths=(str(EXAMPLES / f"{name}.py"),))) for name in CASES}


def rendered(result, fmt: str) -> str:
    if fmt != "text":
        result = dataclasses.replace(result, root=STAND_IN_ROOT)
    return get_reporter(fmt).render(result, color=False)


@pytest.mark.parametrize("fmt", list(SUFFIX))
@pytest.mark.parametrize("name", CASES)
def test_golden(results, name, fmt, update_goldens, sarif_validator):
    golden = GOLDENS / f"{name}{SUFFIX[fmt]}"
    actual = rendered(results[name], fmt)
    if fmt == "sarif":
        assert_valid_sarif(sarif_validator, json.loads(actual))
    if update_goldens:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8", newline="\n")
        return
    assert golden.is_file(), f"{golden} is missing; run pytest --update-goldens"
    assert actual == golden.read_text(encoding="utf-8"), (
        f"{golden.name} differs from the current output; if the change is intended, "
        "run pytest --update-goldens and review the diff"
    )


def test_results_are_relative_to_the_project_root(results):
    # SPEC §4: the project root is the nearest pyproject.toml; the examples directory is an
    # example user project with its own, so every path is relative to it.
    examples = REPO / "tests" / "fixtures" / "examples"
    for result in results.values():
        assert Path(result.root) == examples
        for path in result.files:
            assert not Path(path).is_absolute()
            assert (examples / path).is_file()


def test_sarif_goldens_are_valid(sarif_validator):
    goldens = sorted(GOLDENS.glob("*.sarif"))
    assert len(goldens) == len(CASES)
    for golden in goldens:
        assert_valid_sarif(sarif_validator, json.loads(golden.read_text(encoding="utf-8")))


def test_two_runs_give_byte_identical_machine_output():
    for name in CASES[:2]:
        again = check_paths(Options(paths=(str(EXAMPLES / f"{name}.py"),)))
        first = check_paths(Options(paths=(str(EXAMPLES / f"{name}.py"),)))
        for fmt in ("json", "sarif"):
            assert rendered(again, fmt) == rendered(first, fmt)


# What the goldens must show, stated independently of their bytes (so a regenerated golden
# cannot quietly bless a regression).


def test_leaky_example_reports_the_verify_call(results):
    findings = results["leaky_reward"].active_findings
    assert {f.rule_id for f in findings} == {"LC102"}
    assert any("verify" in f.sink_description for f in findings)
    for f in findings:
        assert f.path[0].span == f.source and f.path[-1].span == f.sink


def test_sanitized_twin_is_clean(results):
    result = results["sanitized_reward"]
    assert result.findings == () and result.file_errors == ()


def test_thinking_blocks_reaching_a_judge_are_lc101(results):
    findings = results["anthropic_judge"].active_findings
    assert findings and all(f.rule_id == "LC101" for f in findings)


def test_unparsable_file_is_a_file_error_not_a_crash(results):
    result = results["broken_syntax"]
    assert result.findings == ()
    assert [(e.path, e.kind) for e in result.file_errors] == [
        ("broken_syntax.py", "syntax")
    ]


def test_inline_suppression_keeps_the_finding_with_its_reason(results):
    findings = results["suppressed_format_reward"].findings
    assert findings
    assert results["suppressed_format_reward"].active_findings == ()
    for f in findings:
        assert f.suppression is not None
        assert f.suppression.reason == "format reward reads the think tags on purpose"
        assert f.suppression.rules == ("LC102",)
