"""--format text: ruff/rustc-style lines, a code frame of the sink, the numbered path."""

from __future__ import annotations

import re

import pytest
import report_factories as rf

from leakcheck.report import get_reporter
from leakcheck.report.base import summarize
from leakcheck.report.text import summary_line
from leakcheck.types import FileError, Span, Step

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def render(result, *, color: bool = False) -> str:
    return get_reporter("text").render(result, color=color)


@pytest.fixture
def project(tmp_path):
    return rf.write_project(tmp_path)


@pytest.fixture
def full(project):
    return rf.result(
        project, findings=(rf.finding(), rf.suppressed_finding()), file_errors=(rf.file_error(),)
    )


def test_no_escape_codes_without_color(full):
    assert "\x1b" not in render(full, color=False)


def test_escape_codes_with_color(full):
    colored = render(full, color=True)
    assert ANSI.search(colored)
    # color changes the styling, not the words
    assert ANSI.sub("", colored) == render(full, color=False)


def test_environment_does_not_turn_color_on(full, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLUMNS", "20")
    assert "\x1b" not in render(full, color=False)


def test_header_line_is_path_line_col_rule_message(full):
    first = render(full).splitlines()[0]
    assert first == (
        "pkg/reward.py:4:26: LC101 reasoning from `msg.reasoning_content` reaches grader `judge()`"
    )


def test_code_frame_quotes_the_sink_line_and_underlines_the_span(full):
    lines = render(full).splitlines()
    code = next(i for i, line in enumerate(lines) if line.startswith("4 | "))
    assert lines[code] == "4 |     return judge(prompt, thinking)"
    marker = lines[code + 1]
    assert marker.startswith("  | ")
    body = marker[len("  | "):]
    assert body.index("^") == len("    return judge(prompt, ")
    assert body.count("^") == len("thinking")
    assert body.endswith("^ passed to `judge()`")


def test_numbered_path_lists_every_step(full):
    out = render(full)
    assert "    1. pkg/reward.py:3:16 `msg.reasoning_content` is reasoning" in out
    assert "    2. pkg/reward.py:3:5 assigned to `thinking`" in out
    assert "    3. pkg/reward.py:4:26 passed to `judge()`" in out
    assert out.index("1. pkg") < out.index("2. pkg") < out.index("3. pkg")


def test_file_error_line(full):
    assert "pkg/broken.py:2:41: error: invalid syntax: expected ':'" in render(full).splitlines()


def test_file_error_without_position_points_at_the_file_start(project):
    err = FileError("pkg/gone.py", 0, 0, "read", "cannot read file: permission denied")
    out = render(rf.result(project, file_errors=(err,)))
    assert "pkg/gone.py:1:1: error: cannot read file: permission denied" in out


def test_summary_is_the_last_line_with_counts(full):
    last = render(full).rstrip("\n").splitlines()[-1]
    assert last == (
        "1 finding (LC101: 1), 1 suppressed (LC102: 1), 2 files analyzed in 0.12s, 1 file error."
    )


def test_summary_of_a_clean_run(project):
    out = render(rf.result(project, files=("pkg/reward.py",)))
    assert out == "0 findings, 0 suppressed, 1 file analyzed in 0.12s, 0 file errors.\n"


def test_summary_counts_by_rule_in_rule_order(project):
    findings = (rf.finding(rule_id="LC102"), rf.finding(), rf.finding(rule_id="LC102"))
    line = summary_line(summarize(rf.result(project, findings=findings)))
    assert line.startswith("3 findings (LC101: 1, LC102: 2), 0 suppressed")


def test_suppressed_findings_are_counted_not_shown(project):
    out = render(rf.result(project, findings=(rf.suppressed_finding(),)))
    assert "LC102 unstripped" not in out
    assert "1 suppressed (LC102: 1)" in out


def test_missing_file_gives_no_frame_but_keeps_the_diagnostic(tmp_path):
    out = render(rf.result(tmp_path, findings=(rf.finding(),)))
    assert out.startswith("pkg/reward.py:4:26: LC101 ")
    assert " | " not in out
    assert "    1. pkg/reward.py:3:16" in out


def test_multi_line_sink_shows_each_line(tmp_path):
    (tmp_path / "m.py").write_text(
        "score = judge(\n    prompt,\n    thinking,\n)\n", encoding="utf-8"
    )
    sink = Span("m.py", 1, 9, 4, 2)
    f = rf.finding(sink=sink, steps=(Step(sink, "passed to `judge()`", "sink"),))
    out = render(rf.result(tmp_path, findings=(f,), files=("m.py",)))
    for text in ("1 | score = judge(", "2 |     prompt,", "3 |     thinking,", "4 | )"):
        assert text in out


def test_tabs_are_expanded_and_the_underline_stays_aligned(tmp_path):
    (tmp_path / "t.py").write_text("def f(x):\n\treturn judge(x)\n", encoding="utf-8")
    sink = Span("t.py", 2, 15, 2, 16)  # the `x` argument; column counts the tab as one
    f = rf.finding(sink=sink, steps=(Step(sink, "passed", "sink"),))
    lines = render(rf.result(tmp_path, findings=(f,), files=("t.py",))).splitlines()
    code = next(i for i, line in enumerate(lines) if line.startswith("2 | "))
    assert "\t" not in lines[code]
    shown = lines[code][len("2 | "):]
    caret = lines[code + 1][len("  | "):].index("^")
    assert shown[caret] == "x"


def test_findings_are_printed_in_result_order(project):
    a = rf.finding(sink=Span("pkg/reward.py", 4, 26, 4, 34))
    b = rf.finding(sink=Span("pkg/reward.py", 3, 16, 3, 37), rule_id="LC102")
    heads = [line for line in render(rf.result(project, findings=(a, b))).splitlines()
             if line.startswith("pkg/reward.py:")]
    assert heads[0].startswith("pkg/reward.py:4:26: LC101")
    assert heads[1].startswith("pkg/reward.py:3:16: LC102")


def test_deterministic(full):
    assert render(full) == render(full)
