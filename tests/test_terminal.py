"""The terminal report through the real CLI (issue 5, part 6): paths a user can open from
the current directory, --quiet, --statistics, -v, colors (NO_COLOR, FORCE_COLOR), the
summary line with the time, and a progress bar on stderr only at a terminal."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from leakcheck.api import Options, check_paths
from leakcheck.cli import main
from leakcheck.progress import ProgressBar, wanted

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "tests" / "fixtures" / "examples"
VERL = REPO / "tests" / "fixtures" / "projects" / "verl_style"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
SUMMARY = re.compile(
    r"^\d+ findings? (\(.*\) )?.*\d+ suppressed.*, \d+ files? analyzed in \d+\.\d\ds, "
    r"\d+ file errors?\.$")


def run(*args: str, env: dict[str, str | None] | None = None):
    base: dict[str, str | None] = {"NO_COLOR": None, "FORCE_COLOR": None, "CI": None}
    return CliRunner().invoke(main, [*args], env={**base, **(env or {})},
                              catch_exceptions=False)


@pytest.fixture
def at_repo(monkeypatch):
    monkeypatch.chdir(REPO)


def test_paths_are_relative_to_the_current_directory(at_repo):
    # verl_style is a project of its own; from the repository root its files are shown by
    # the path that opens them from here, in findings and in every step.
    out = run("tests/fixtures/projects/verl_style").output
    locations = re.findall(r"^(\S+\.py):\d+:\d+: LC", out, re.M)
    locations += re.findall(r"^\s+\d+\. (\S+\.py):\d+:\d+ ", out, re.M)
    assert locations
    assert all(p.startswith("tests/fixtures/projects/verl_style/") for p in locations)
    assert all((REPO / p).is_file() for p in locations)
    # JSON keeps paths relative to the project root (SPEC §4)
    doc = json.loads(run("tests/fixtures/projects/verl_style", "--format", "json").output)
    assert all(f["sink"]["path"].startswith("tinyverl/") for f in doc["findings"])


def test_from_inside_a_project_paths_climb_out(monkeypatch):
    monkeypatch.chdir(VERL / "tinyverl" / "workers")
    out = run(str(VERL)).output
    heads = re.findall(r"^(\S+\.py):\d+:\d+: LC", out, re.M)
    assert heads and all(Path(h).resolve().is_file() for h in heads)
    assert any(h.startswith("../") for h in heads)


def test_summary_line_counts_rules_suppressed_files_errors_and_time(at_repo):
    out = run("tests/fixtures/examples").output
    last = out.rstrip().splitlines()[-1]
    assert SUMMARY.match(last), last
    assert last.startswith("9 findings (LC101: 5, LC102: 4), 1 suppressed (LC102: 1), "
                           "4 unused suppressions, 5 files analyzed in ")
    assert last.endswith(", 1 file error.")


def test_quiet_is_one_line_per_diagnostic(at_repo):
    res = run("tests/fixtures/examples", "--quiet")
    assert res.exit_code == 1
    lines = res.output.splitlines()
    assert lines and all(re.match(r"^\S+\.py:\d+:\d+: (LC\d+|error:) ", line) for line in lines)
    assert sum(": LC1" in line for line in lines) == 9
    assert sum(": LC001 " in line for line in lines) == 4
    assert sum(": error: " in line for line in lines) == 1


def test_statistics_counts_per_rule(at_repo):
    res = run("tests/fixtures/examples", "--statistics")
    assert res.exit_code == 1
    lines = res.output.splitlines()
    assert lines[0].split() == ["rule", "name", "findings", "suppressed", "baselined"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:4]}
    assert rows == {"LC001": ["unused-suppression", "4", "0", "0"],
                    "LC101": ["cot-reaches-grader", "5", "0", "0"],
                    "LC102": ["unstripped-completion-reaches-grader", "4", "1", "0"]}
    assert "|" not in res.output  # no code frames
    assert SUMMARY.match(lines[-1])


def test_statistics_is_for_text_only():
    res = run(str(EXAMPLES), "--statistics", "--format", "json")
    assert res.exit_code == 2 and "--statistics" in res.stderr


def test_verbose_details_file_errors_and_lists_suppressed(at_repo):
    plain = run("tests/fixtures/examples/broken_syntax.py").output
    assert "tests/fixtures/examples/broken_syntax.py:4:53: error: syntax error" in plain
    assert "-v shows" in plain and " | " not in plain
    verbose = run("tests/fixtures/examples/broken_syntax.py", "-v").output
    assert "broken_syntax.py:4:53: error[syntax]: syntax error: expected ':'" in verbose
    code_line = next(line for line in verbose.splitlines() if line.startswith("4 | "))
    caret = next(line for line in verbose.splitlines() if line.strip().startswith("| ")
                 and "^" in line)
    assert caret.index("^") - caret.index("|") - 2 == 52  # under column 53
    source_line = (REPO / "tests/fixtures/examples/broken_syntax.py").read_text().splitlines()[3]
    assert code_line == "4 | " + source_line.expandtabs(4)  # the frame quotes the file
    suppressed = run("tests/fixtures/examples/suppressed_format_reward.py", "-v").output
    assert "suppressed:" in suppressed
    assert "-- format reward reads the think tags on purpose" in suppressed


def test_no_color_by_default_off_a_terminal_and_never_with_no_color():
    assert not ANSI.search(run(str(EXAMPLES)).output)
    assert ANSI.search(run(str(EXAMPLES), "--color").output)
    assert not ANSI.search(run(str(EXAMPLES), env={"NO_COLOR": "1", "FORCE_COLOR": "1"}).output)


def test_force_color_colors_a_pipe_unless_told_otherwise(tmp_path):
    assert ANSI.search(run(str(EXAMPLES), env={"FORCE_COLOR": "1"}).output)
    assert not ANSI.search(run(str(EXAMPLES), env={"FORCE_COLOR": "0"}).output)
    assert not ANSI.search(run(str(EXAMPLES), "--no-color", env={"FORCE_COLOR": "1"}).output)
    out = tmp_path / "report.txt"
    run(str(EXAMPLES), "-o", str(out), env={"FORCE_COLOR": "1"})
    assert not ANSI.search(out.read_text())  # a file gets escapes only from --color


def test_colored_output_has_the_same_words(at_repo):
    plain = run("tests/fixtures/examples/leaky_reward.py").output
    colored = run("tests/fixtures/examples/leaky_reward.py", "--color").output
    strip_time = re.compile(r"in \d+\.\d\ds")
    assert strip_time.sub("", ANSI.sub("", colored)) == strip_time.sub("", plain)


def test_help_documents_every_option_and_the_readme_too():
    help_text = run("--help").output
    options = set(re.findall(r"(--[a-z][a-z-]+)", help_text))
    assert {"--baseline", "--write-baseline", "--quiet", "--verbose", "--statistics",
            "--isolated", "--format", "--config", "--select", "--ignore"} <= options
    for name in ("github", "markdown", "NO_COLOR", "FORCE_COLOR"):
        assert name in help_text
    readme = (REPO / "README.md").read_text()
    missing = sorted(o for o in options - {"--help", "--version"} if f"`{o}" not in readme
                     and f"{o} " not in readme and f"{o}`" not in readme)
    assert not missing, f"options missing from README.md: {missing}"


# --- progress -------------------------------------------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_callback_reports_every_phase():
    """Per-file work runs in the worker pool, so the callback hears the stages in order:
    ``(next stage, stages done, stages)``, from nothing done to everything done."""
    from leakcheck.api import STAGES

    calls: list[tuple[str, int, int]] = []
    check_paths(Options(paths=(str(EXAMPLES),)), progress=lambda *a: calls.append(a))
    assert [c[0] for c in calls[:-1]] == list(STAGES)
    assert [c[1] for c in calls] == list(range(len(STAGES) + 1))
    assert {c[2] for c in calls} == {len(STAGES)}
    assert calls[-1] == (STAGES[-1], len(STAGES), len(STAGES))


def test_progress_only_at_a_terminal_outside_ci():
    tty = FakeTerminal()
    assert wanted(tty, {})
    assert not wanted(tty, {"CI": "true"})
    assert not wanted(tty, {"TERM": "dumb"})
    assert not wanted(tty, {}, quiet=True)
    assert not wanted(io.StringIO(), {})


def test_progress_bar_draws_after_the_delay_and_erases_itself():
    tty = FakeTerminal()
    with ProgressBar(tty, delay=0.0) as bar:
        bar("parse", 1, 10)
        bar("parse", 10, 10)
    assert bar.shown and "parsing" in ANSI.sub("", tty.getvalue())
    quick = FakeTerminal()
    with ProgressBar(quick, delay=60.0) as bar:
        bar("parse", 1, 2)
    assert not bar.shown and quick.getvalue() == ""


def test_no_progress_output_in_a_pipe():
    proc = subprocess.run([sys.executable, "-m", "leakcheck", str(EXAMPLES)],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 1
    assert proc.stderr == ""
