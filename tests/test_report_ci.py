"""--format github (workflow-command annotations) and --format markdown (job summary / PR
comment), pinned with hand-made results; one test of each runs the real CLI."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import report_factories as rf
from click.testing import CliRunner

from leakcheck.cli import main
from leakcheck.report import get_reporter
from leakcheck.report.github import escape_data, escape_property
from leakcheck.report.markdown import MAX_DETAILED, inline
from leakcheck.types import Span, Step, UnusedSuppression

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "tests" / "fixtures" / "examples"
COMMAND = re.compile(r"^::(error|warning|notice) (?P<props>[^:]*)::(?P<msg>.*)$")


def github(result) -> list[str]:
    return get_reporter("github").render(result, color=False).splitlines()


def markdown(result) -> str:
    return get_reporter("markdown").render(result, color=False)


@pytest.fixture
def project(tmp_path):
    return rf.write_project(tmp_path)


def props(line: str) -> dict[str, str]:
    m = COMMAND.match(line)
    assert m, line
    return dict(p.split("=", 1) for p in m.group("props").split(","))


# --- github ---------------------------------------------------------------------------


def test_escaping_follows_the_runner():
    assert escape_data("50% a\r\nb") == "50%25 a%0D%0Ab"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"
    assert escape_data("a:b,c") == "a:b,c"  # only properties escape : and ,


def test_one_annotation_per_active_finding_with_location_and_rule(project):
    result = rf.result(project, findings=(rf.finding(), rf.suppressed_finding()))
    lines = github(result)
    annotations = [line for line in lines if line.startswith("::")]
    assert len(annotations) == 1  # the suppressed finding is acknowledged: no annotation
    line = annotations[0]
    assert line.startswith("::error ")
    assert props(line) == {"file": "pkg/reward.py", "line": "4", "endLine": "4", "col": "26",
                           "endColumn": "34", "title": "LC101 cot-reaches-grader"}
    message = COMMAND.match(line).group("msg")
    first, *steps = message.split("%0A")
    assert first == "reasoning from `msg.reasoning_content` reaches grader `judge()`"
    assert steps == ["1. pkg/reward.py:3:16 `msg.reasoning_content` is reasoning",
                     "2. pkg/reward.py:3:5 assigned to `thinking`",
                     "3. pkg/reward.py:4:26 passed to `judge()`"]
    assert lines[-1].startswith("leakcheck: 1 finding (LC101: 1), 1 suppressed")


def test_levels_map_to_commands(project):
    warning = rf.finding(rule_id="LC102")
    note = dataclasses.replace(rf.finding(), level="note")
    lines = github(rf.result(project, findings=(warning, note)))
    assert lines[0].startswith("::warning ") and lines[1].startswith("::notice ")


def test_a_message_that_could_break_the_command_is_escaped(project):
    nasty = rf.finding(message="a, b: 100%\nnext::error file=x::y", steps=())
    (line, _) = github(rf.result(project, findings=(nasty,)))
    assert line.count("\n") == 0
    assert COMMAND.match(line).group("msg") == "a, b: 100%25%0Anext::error file=x::y"
    # properties cannot be split by a path with a comma or a colon
    odd = rf.finding(sink=Span("pkg/a,b:c.py", 1, 1, 1, 2), steps=())
    (line, _) = github(rf.result(project, findings=(odd,)))
    assert props(line)["file"] == "pkg/a%2Cb%3Ac.py"


def test_unused_suppressions_and_file_errors_are_annotated(project):
    unused = UnusedSuppression(Span("pkg/reward.py", 4, 40, 4, 60), ("LC102",),
                               "unused suppression: no `LC102` finding on this line")
    result = dataclasses.replace(rf.result(project, file_errors=(rf.file_error(),)),
                                 unused_suppressions=(unused,))
    lines = github(result)
    assert lines[0].startswith("::warning file=pkg/reward.py,line=4,endLine=4,col=40,")
    assert "title=LC001 unused-suppression::" in lines[0]
    assert lines[1].startswith("::error file=pkg/broken.py,line=2,")
    assert lines[1].endswith("::could not analyze pkg/broken.py (syntax): "
                             "invalid syntax: expected ':'")


def test_cli_github_format_from_the_repository_root(monkeypatch):
    monkeypatch.chdir(REPO)
    res = CliRunner().invoke(main, ["tests/fixtures/examples/leaky_reward.py", "--format",
                                    "github"])
    assert res.exit_code == 1
    annotations = [line for line in res.output.splitlines() if line.startswith("::")]
    assert len(annotations) == 3
    # paths resolve from the workspace (the current directory), as GitHub needs
    assert all(props(a)["file"] == "tests/fixtures/examples/leaky_reward.py"
               for a in annotations)


# --- markdown -------------------------------------------------------------------------


def test_markdown_has_a_verdict_a_table_and_each_path(project):
    md = markdown(rf.result(project, findings=(rf.finding(), rf.suppressed_finding())))
    lines = md.splitlines()
    assert lines[0] == "## leakcheck: 1 finding"
    table = [line for line in lines if line.startswith("| LC10")]
    assert table == ["| LC101 | `cot-reaches-grader` | 1 | 0 | 0 |",
                     "| LC102 | `unstripped-completion-reaches-grader` | 0 | 1 | 0 |"]
    assert "### 1. LC101 `pkg/reward.py:4:26`" in lines
    assert "```python" in lines and "return judge(prompt, thinking)" in lines
    assert "1. `pkg/reward.py:3:16` `msg.reasoning_content` is reasoning" in lines
    assert "3. `pkg/reward.py:4:26` passed to `judge()`" in lines
    # the suppressed finding is in the collapsed audit section, with its reason
    audit = md[md.index("<details>"):]
    assert "format reward reads the think tags on purpose" in audit
    assert "</details>" in audit


def test_markdown_clean_run(project):
    md = markdown(rf.result(project, files=("pkg/reward.py",)))
    assert md.splitlines()[0] == "## leakcheck: no leaks found"
    assert "<details>" not in md and "###" not in md


def test_markdown_escapes_text_outside_code_spans():
    assert inline("cut from <think> `s.split('</think>')` *x*") == (
        r"cut from \<think\> `s.split('</think>')` \*x\*")
    assert inline("`a | b` c | d", table=True) == r"`a \| b` c \| d"


def test_markdown_caps_the_detailed_findings(project):
    many = tuple(rf.finding(sink=Span("pkg/reward.py", 4, 26, 4, 34), fingerprint=f"f{i}")
                 for i in range(MAX_DETAILED + 3))
    md = markdown(rf.result(project, findings=many))
    assert md.count("\n### ") == MAX_DETAILED
    assert "… and 3 more findings" in md


def test_cli_markdown_format(monkeypatch):
    monkeypatch.chdir(REPO)
    res = CliRunner().invoke(main, ["tests/fixtures/examples", "--format", "markdown"])
    assert res.exit_code == 1
    assert res.output.startswith("## leakcheck: 9 findings, 4 unused suppressions, "
                                 "1 file not analyzed\n")
    assert "### Unused suppressions (LC001)" in res.output
    assert "### Files not analyzed" in res.output
    assert "\x1b[" not in res.output


def test_steps_keep_their_order_in_both_formats(project):
    steps = tuple(Step(Span("pkg/reward.py", 3, n, 3, n + 1), f"step {n}", "flow")
                  for n in range(1, 6))
    f = rf.finding(steps=steps)
    md = markdown(rf.result(project, findings=(f,)))
    assert [int(m) for m in re.findall(r"step (\d)", md)] == [1, 2, 3, 4, 5]
    (line, _) = github(rf.result(project, findings=(f,)))
    assert [int(m) for m in re.findall(r"step (\d)", line)] == [1, 2, 3, 4, 5]
