"""Rendered output of the real engine on tests/fixtures/examples/, per format, against
tests/goldens/. ``pytest --update-goldens`` rewrites them; review the diff before committing.

The text goldens are what a user sees running ``leakcheck <file>`` from the repository root
(with and without color), so they render with the current directory set to the repository:
human formats show paths relative to it. The run time is fixed (the summary line shows it).
JSON and SARIF carry the absolute project root; it is replaced by a fixed stand-in so the
goldens do not depend on where the repository is checked out.
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
FIXED_SECONDS = 0.25
# format name -> (reporter, color, golden suffix)
FORMATS = {
    "text": ("text", False, ".txt"),
    "text-color": ("text", True, ".color.txt"),
    "json": ("json", False, ".json"),
    "sarif": ("sarif", False, ".sarif"),
    "github": ("github", False, ".github.txt"),
    "markdown": ("markdown", False, ".md"),
}
MACHINE = ("json", "sarif")
CASES = [
    "leaky_reward",
    "sanitized_reward",
    "anthropic_judge",
    "suppressed_format_reward",
    "stale_suppression",
    "broken_syntax",
]

pytestmark = pytest.mark.golden


@pytest.fixture(scope="module")
def results():
    return {name: check_paths(Options(paths=(str(EXAMPLES / f"{name}.py"),))) for name in CASES}


def rendered(result, fmt: str) -> str:
    reporter, color, _ = FORMATS[fmt]
    result = dataclasses.replace(result, elapsed_seconds=FIXED_SECONDS)
    if reporter in MACHINE:
        result = dataclasses.replace(result, root=STAND_IN_ROOT)
    return get_reporter(reporter).render(result, color=color)


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("name", CASES)
def test_golden(results, name, fmt, update_goldens, sarif_validator, monkeypatch):
    monkeypatch.chdir(REPO)
    golden = GOLDENS / f"{name}{FORMATS[fmt][2]}"
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


def test_every_golden_belongs_to_a_case():
    expected = {f"{name}{suffix}" for name in CASES for _, _, suffix in FORMATS.values()}
    assert {p.name for p in GOLDENS.iterdir()} == expected


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
        for fmt in ("json", "sarif", "markdown"):
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
    assert result.unused_suppressions == ()


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
    assert results["suppressed_format_reward"].unused_suppressions == ()
    for f in findings:
        assert f.suppression is not None
        assert f.suppression.reason == "format reward reads the think tags on purpose"
        assert f.suppression.rules == ("LC102",)


def test_stale_comments_are_reported_on_their_lines(results):
    result = results["stale_suppression"]
    unused = {(u.span.start_line, u.rules) for u in result.unused_suppressions}
    # 10: the leak was fixed; 11: bare ignore, nothing there; 15: names the wrong rule;
    # 19: malformed (no brackets), so it does not suppress the LC101 leak beside it
    assert unused == {(10, ("LC102",)), (11, ()), (15, ("LC101",)), (19, ())}
    assert {(f.sink.start_line, f.rule_id) for f in result.active_findings} == {
        (15, "LC102"), (19, "LC101")}


def test_text_golden_is_what_the_terminal_shows(results, monkeypatch):
    # The layout a user reads, stated without the golden's bytes.
    monkeypatch.chdir(REPO)
    lines = rendered(results["leaky_reward"], "text").splitlines()
    assert lines[0].startswith("tests/fixtures/examples/leaky_reward.py:15:9: LC102 ")
    assert lines[1].strip() == "|" and lines[2].startswith("15 |")
    assert "^" in lines[3] and "  path:" in lines
    assert lines[-1].endswith(f"1 file analyzed in {FIXED_SECONDS:.2f}s, 0 file errors.")
    color = rendered(results["leaky_reward"], "text-color")
    assert "\x1b[" in color and "\x1b[" not in "\n".join(lines)
