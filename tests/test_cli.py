"""The command line: options -> api -> report -> exit code (SPEC §4, §6).

Exit-code logic is pinned with hand-made results (the engine is replaced by a stub); a few
tests run the real engine on tests/fixtures/examples/ and one runs `python -m leakcheck` in
a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import report_factories as rf
from click.testing import CliRunner

from leakcheck import __version__, api
from leakcheck.cli import main
from leakcheck.errors import ConfigError, RuleFileError
from leakcheck.types import CheckResult

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "tests" / "fixtures" / "examples"


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@dataclass
class StubEngine:
    result: CheckResult
    error: BaseException | None = None
    options: list = field(default_factory=list)  # the Options each call received


@pytest.fixture
def stub_engine(monkeypatch, tmp_path) -> StubEngine:
    """Replace api.check_paths with a stub returning ``stub.result`` (or raising ``stub.error``)."""
    stub = StubEngine(rf.result(rf.write_project(tmp_path)))

    def check_paths(options):
        stub.options.append(options)
        if stub.error is not None:
            raise stub.error
        return stub.result

    monkeypatch.setattr(api, "check_paths", check_paths)
    return stub


# --- exit codes ---------------------------------------------------------------------


def test_exit_0_when_clean(stub_engine):
    res = invoke()
    assert res.exit_code == 0
    assert "0 findings" in res.stdout


def test_exit_1_for_an_active_finding(stub_engine):
    stub_engine.result = rf.result(stub_engine.result.root, findings=(rf.finding(),))
    res = invoke()
    assert res.exit_code == 1
    assert "LC101" in res.stdout


def test_suppressed_findings_do_not_count(stub_engine):
    stub_engine.result = rf.result(stub_engine.result.root, findings=(rf.suppressed_finding(),))
    assert invoke().exit_code == 0


def test_exit_1_for_a_file_error(stub_engine):
    stub_engine.result = rf.result(stub_engine.result.root, file_errors=(rf.file_error(),))
    res = invoke()
    assert res.exit_code == 1
    assert "pkg/broken.py:2:41: error:" in res.stdout


def test_exit_zero_forces_0_for_findings(stub_engine):
    stub_engine.result = rf.result(
        stub_engine.result.root, findings=(rf.finding(),), file_errors=(rf.file_error(),)
    )
    res = invoke("--exit-zero")
    assert res.exit_code == 0
    assert "LC101" in res.stdout


@pytest.mark.parametrize("error", [
    RuleFileError("unknown key 'sinkz'", path="extra/rules.toml", line=7),
    ConfigError("unknown key 'selct' in [tool.leakcheck]", path="pyproject.toml", line=12),
])
def test_exit_2_for_setup_errors_naming_file_and_line(stub_engine, error):
    stub_engine.error = error
    res = invoke()
    assert res.exit_code == 2
    assert f"{error.path}:{error.line}:" in res.stderr
    assert res.stdout == ""


def test_exit_zero_does_not_hide_setup_errors(stub_engine):
    stub_engine.error = RuleFileError("bad pack", path="r.toml", line=1)
    assert invoke("--exit-zero").exit_code == 2


def test_internal_error_is_a_message_not_a_traceback(stub_engine, monkeypatch):
    monkeypatch.delenv("LEAKCHECK_DEBUG", raising=False)
    stub_engine.error = KeyError("boom")
    res = invoke()
    assert res.exit_code == 2
    assert "leakcheck: internal error: KeyError" in res.stderr
    assert "Traceback" not in res.stderr + res.stdout


def test_internal_error_traceback_on_request(stub_engine):
    stub_engine.error = RuntimeError("boom")
    res = invoke(env={"LEAKCHECK_DEBUG": "1"})
    assert res.exit_code == 2
    assert "leakcheck: internal error: RuntimeError: boom" in res.stderr
    assert "Traceback" in res.stderr


# --- options ------------------------------------------------------------------------


def test_options_reach_the_engine(stub_engine, tmp_path):
    pack = tmp_path / "extra.toml"
    pack.write_text("", encoding="utf-8")
    src = tmp_path / "pkg"
    res = invoke(str(src), "--rules", str(pack), "--exclude", "gen/*", "--exclude", "*_pb2.py")
    assert res.exit_code == 0, res.stderr
    (options,) = stub_engine.options
    assert options.paths == (str(src),)
    assert options.extra_rule_files == (str(pack),)
    assert options.exclude == ("gen/*", "*_pb2.py")


def test_default_path_is_the_current_directory(stub_engine):
    invoke()
    assert stub_engine.options[0].paths == (".",)


def test_missing_rules_path_is_a_usage_error_naming_it(stub_engine, tmp_path):
    missing = tmp_path / "nope.toml"
    res = invoke("--rules", str(missing))
    assert res.exit_code == 2
    assert "nope.toml" in res.stderr
    assert stub_engine.options == []


def test_missing_path_is_a_usage_error(stub_engine, tmp_path):
    res = invoke(str(tmp_path / "no_such_dir"))
    assert res.exit_code == 2
    assert "no_such_dir" in res.stderr


def test_format_choices(stub_engine):
    res = invoke("--format", "xml")
    assert res.exit_code == 2
    for name in ("text", "json", "sarif"):
        assert name in res.stderr


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_machine_formats_on_stdout(stub_engine, fmt):
    stub_engine.result = rf.result(stub_engine.result.root, findings=(rf.finding(),))
    res = invoke("--format", fmt)
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert ("findings" in doc) if fmt == "json" else (doc["version"] == "2.1.0")


def test_output_file(stub_engine, tmp_path):
    stub_engine.result = rf.result(stub_engine.result.root, findings=(rf.finding(),))
    out = tmp_path / "report.sarif"
    res = invoke("--format", "sarif", "-o", str(out))
    assert res.exit_code == 1
    assert res.stdout == ""
    assert json.loads(out.read_text(encoding="utf-8"))["runs"][0]["results"]


def test_unwritable_output_file_is_exit_2(stub_engine, tmp_path):
    res = invoke("-o", str(tmp_path / "missing_dir" / "out.txt"))
    assert res.exit_code == 2
    assert "out.txt" in res.stderr


def test_color_flags(stub_engine, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    stub_engine.result = rf.result(stub_engine.result.root, findings=(rf.finding(),))
    assert "\x1b[" in invoke("--color").stdout
    assert "\x1b[" not in invoke("--no-color").stdout
    assert "\x1b[" not in invoke().stdout  # CliRunner's stdout is not a terminal


def test_no_color_env_turns_automatic_color_off(monkeypatch):
    from leakcheck.cli import use_color

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert use_color(None, None, tty=True) is True
    assert use_color(None, None, tty=False) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_color(None, None, tty=True) is False
    assert use_color(True, None, tty=False) is True  # --color wins
    monkeypatch.setenv("NO_COLOR", "")  # an empty NO_COLOR does not count (no-color.org)
    assert use_color(None, None, tty=True) is True
    assert use_color(None, "report.txt", tty=True) is False  # a file gets no escapes
    assert use_color(False, None, tty=True) is False


def test_version():
    res = invoke("--version")
    assert res.exit_code == 0
    assert __version__ in res.stdout


# --- the real engine ------------------------------------------------------------------


def test_real_leaky_example_exits_1():
    res = invoke(str(EXAMPLES / "leaky_reward.py"))
    assert res.exit_code == 1, res.stderr
    assert "leaky_reward.py:" in res.stdout
    assert "LC10" in res.stdout


def test_real_sanitized_example_exits_0():
    res = invoke(str(EXAMPLES / "sanitized_reward.py"))
    assert res.exit_code == 0, res.stdout + res.stderr


def test_real_unparsable_file_exits_1_and_is_reported():
    res = invoke(str(EXAMPLES / "broken_syntax.py"))
    assert res.exit_code == 1
    assert "broken_syntax.py:" in res.stdout
    assert "error:" in res.stdout


def test_real_malformed_rule_file_exits_2_naming_file_and_line(tmp_path):
    pack = tmp_path / "broken_pack.toml"
    pack.write_text('[pack]\nname = "x"\nversion = \n', encoding="utf-8")
    res = invoke(str(EXAMPLES / "sanitized_reward.py"), "--rules", str(pack))
    assert res.exit_code == 2
    assert "broken_pack.toml:3" in res.stderr
    assert "Traceback" not in res.stderr


def test_python_dash_m_leakcheck(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "leakcheck", "--format", "json",
         str(EXAMPLES / "leaky_reward.py")],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["findings"]
    assert all(f["sink"]["path"].endswith("leaky_reward.py") for f in doc["findings"])


def test_public_api_surface():
    import leakcheck

    assert leakcheck.check_paths is api.check_paths
    assert leakcheck.check_source is api.check_source
    assert leakcheck.Options is api.Options
    assert {"check_paths", "check_source", "Options", "Finding", "CheckResult",
            "__version__"} <= set(leakcheck.__all__)
    with pytest.raises(AttributeError):
        _ = leakcheck.no_such_name


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_machine_output_is_byte_identical_across_processes(fmt):
    # Different hash seeds change set and dict-of-set iteration orders; output must not move.
    outputs = []
    for seed in ("1", "2"):
        proc = subprocess.run(
            # no cache: the second process must analyze, not read the first one's result
            [sys.executable, "-m", "leakcheck", "--format", fmt, "--no-cache", str(EXAMPLES)],
            capture_output=True, cwd=REPO, timeout=120,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert proc.returncode == 1, proc.stderr
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1]


def test_force_color_env_turns_automatic_color_on(monkeypatch):
    from leakcheck.cli import use_color

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert use_color(None, None, tty=False) is True
    assert use_color(False, None, tty=False) is False  # --no-color wins
    assert use_color(None, "report.txt", tty=False) is False  # files only with --color
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_color(None, None, tty=True) is False  # NO_COLOR wins over FORCE_COLOR
    monkeypatch.delenv("NO_COLOR")
    for off in ("", "0", "false"):
        monkeypatch.setenv("FORCE_COLOR", off)
        assert use_color(None, None, tty=False) is False


def test_exit_1_for_an_unused_suppression_alone(stub_engine):
    import dataclasses

    from leakcheck.types import Span, UnusedSuppression

    unused = UnusedSuppression(Span("pkg/reward.py", 4, 40, 4, 60), (), "unused suppression")
    stub_engine.result = dataclasses.replace(stub_engine.result, unused_suppressions=(unused,))
    res = invoke()
    assert res.exit_code == 1 and "LC001" in res.stdout
    assert invoke("--exit-zero").exit_code == 0
