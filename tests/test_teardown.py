"""The ``leakcheck`` command ends without tearing its run down (leakcheck.teardown), and is
otherwise the same command: exit codes, whole output on a pipe or in a file, messages.

Every test here runs the command in a process of its own, as a user's shell or CI does
(``python -m leakcheck`` goes through the same ``cli.run`` as the console script).
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import weakref
from pathlib import Path

from leakcheck import teardown

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "tests" / "fixtures" / "examples"


def _leakcheck(*args: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "leakcheck", "--no-cache", *args],
                          capture_output=True, text=True, cwd=REPO, timeout=120, **kw)


def test_exit_codes_of_the_command_are_kept() -> None:
    """0 clean, 1 findings, 2 usage: the hard exit passes click's codes on."""
    clean = _leakcheck(str(EXAMPLES / "sanitized_reward.py"))
    assert clean.returncode == 0, clean.stderr
    leaky = _leakcheck(str(EXAMPLES / "leaky_reward.py"))
    assert leaky.returncode == 1, leaky.stderr
    assert "LC1" in leaky.stdout  # the report was flushed before the process ended
    usage = _leakcheck("--jobs", "0", str(EXAMPLES))
    assert usage.returncode == 2
    assert "--jobs" in usage.stderr
    assert _leakcheck("--version").returncode == 0


def test_a_report_written_to_a_file_is_whole(tmp_path: Path) -> None:
    out = tmp_path / "report.sarif"
    proc = _leakcheck("--format", "sarif", "-o", str(out), str(EXAMPLES))
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["runs"][0]["results"]


def test_a_reader_closing_the_pipe_early_leaves_no_traceback(tmp_path: Path) -> None:
    """``leakcheck | head -c 1`` on a report far larger than a pipe holds (the writer meets
    a closed pipe): the exit code is the run's, stderr holds no Python noise."""
    leaky = (EXAMPLES / "leaky_reward.py").read_bytes()
    for i in range(150):
        (tmp_path / f"reward_{i}.py").write_bytes(leaky)
    proc = subprocess.run(
        f"{sys.executable} -m leakcheck --no-cache {tmp_path} | head -c 1 >/dev/null; "
        "exit ${PIPESTATUS[0]}",
        shell=True, executable="/bin/bash", capture_output=True, text=True, cwd=REPO,
        timeout=120)
    assert proc.returncode == 1
    assert proc.stderr == ""


def test_nothing_is_kept_unless_the_process_asked() -> None:
    """The API and tests (no ``defer``) free a run's data as usual."""
    class Data:
        pass

    data = Data()
    ref = weakref.ref(data)
    teardown.keep(data)
    del data
    gc.collect()
    assert ref() is None


def test_a_deferring_process_keeps_what_it_is_given_until_it_exits() -> None:
    script = (
        "import gc, weakref, sys\n"
        "from leakcheck import teardown\n"
        "class Data: pass\n"
        "teardown.defer()\n"
        "d = Data(); ref = weakref.ref(d)\n"
        "teardown.keep(d); del d; gc.collect()\n"
        "print('alive' if ref() is not None else 'freed')\n"
        "teardown.exit_now(3)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=REPO, timeout=60)
    assert proc.returncode == 3
    assert proc.stdout == "alive\n"  # flushed by exit_now, though os._exit skips Python's
