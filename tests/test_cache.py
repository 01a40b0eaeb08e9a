"""The per-module cache: warm runs do no parsing, an edit re-parses only the edited file,
corrupted or unwritable caches are survived, concurrent runs are safe."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import leakcheck.pipeline as pipeline
from leakcheck.api import Options, check_paths
from leakcheck.cache import CACHE_DIR_NAME, ENV_CACHE_DIR
from leakcheck.cli import main
from leakcheck.parse import parse_source
from leakcheck.report.json import JsonReporter

REPO = Path(__file__).resolve().parents[1]
PROJECT = REPO / "tests" / "fixtures" / "projects" / "multi_package"


def render(result) -> str:
    data = json.loads(JsonReporter().render(result, color=False))
    data.pop("elapsed_seconds", None)
    data.get("summary", {}).pop("elapsed_seconds", None)
    return json.dumps(data, sort_keys=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    dst = tmp_path / "proj"
    shutil.copytree(PROJECT, dst)
    return dst


def _opts(project: Path, cache: Path | None, **kw) -> Options:
    if cache is None:
        return Options(paths=(str(project),), **kw)
    return Options(paths=(str(project),), cache=True, cache_dir=str(cache), **kw)


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []

    def counting(path: str, data: bytes):
        seen.append(path)
        return parse_source(path, data)

    monkeypatch.setattr(pipeline, "parse_source", counting)
    return seen


def test_warm_run_parses_nothing(project: Path, tmp_path: Path, parses: list[str]) -> None:
    cold = render(check_paths(_opts(project, tmp_path / "c")))
    assert parses  # the cold run parsed
    parses.clear()
    assert render(check_paths(_opts(project, tmp_path / "c"))) == cold
    assert parses == []
    assert cold == render(check_paths(_opts(project, None)))


def test_one_edit_reparses_only_that_file(project: Path, tmp_path: Path,
                                          parses: list[str]) -> None:
    check_paths(_opts(project, tmp_path / "c"))
    edited = project / "src" / "utils" / "text.py"
    edited.write_text(edited.read_text() + "\n\ndef shout(text):\n    return text.upper()\n")
    parses.clear()
    warm = render(check_paths(_opts(project, tmp_path / "c")))
    assert parses == ["src/utils/text.py"]
    assert warm == render(check_paths(_opts(project, None)))


def test_corrupted_entries_are_recomputed(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c"
    expected = render(check_paths(_opts(project, cache)))
    entries = [p for p in cache.rglob("*") if p.is_file() and p.parent != cache]
    assert entries
    for i, entry in enumerate(entries):
        entry.write_bytes(b"" if i % 3 == 0 else b"\x80\x04garbage" if i % 3 == 1 else
                          entry.read_bytes()[: len(entry.read_bytes()) // 2])
    assert render(check_paths(_opts(project, cache))) == expected
    assert render(check_paths(_opts(project, cache))) == expected  # rewritten, then read


def test_unwritable_cache_dir_is_no_cache(project: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = check_paths(_opts(project, blocker / "cache"))
    assert render(result) == render(check_paths(_opts(project, None)))
    assert blocker.read_text() == "not a directory"


def test_concurrent_runs_share_a_cache(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c"
    outs = [tmp_path / f"out{i}.json" for i in range(3)]
    cmd = [sys.executable, "-m", "leakcheck", str(project), "--format", "json", "--exit-zero",
           "--cache-dir", str(cache), "--jobs", "2"]
    procs = [subprocess.Popen([*cmd, "-o", str(o)], cwd=REPO) for o in outs[:2]]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    subprocess.run([*cmd, "-o", str(outs[2])], cwd=REPO, check=True, timeout=120)
    texts = [json.loads(o.read_text()) for o in outs]
    for t in texts:
        t.pop("elapsed_seconds", None)
        t.get("summary", {}).pop("elapsed_seconds", None)
    assert texts[0] == texts[1] == texts[2]
    assert not [p for p in cache.rglob(".tmp-*")]  # no half-written entries left behind


def test_cli_default_cache_is_in_the_project_and_ignored(project: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.delenv(ENV_CACHE_DIR, raising=False)
    runner = CliRunner()
    first = runner.invoke(main, [str(project), "--format", "json"])
    cache = project / CACHE_DIR_NAME
    assert cache.is_dir() and "*" in (cache / ".gitignore").read_text()
    (cache / "stray.py").write_text("def f(completions):\n    return judge(completions)\n")
    second = runner.invoke(main, [str(project), "--format", "json"])
    assert first.exit_code == second.exit_code == 1
    assert "stray.py" not in second.output
    assert json.loads(first.output)["findings"] == json.loads(second.output)["findings"]


def test_cli_no_cache_writes_nothing(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_CACHE_DIR, raising=False)
    result = CliRunner().invoke(main, [str(project), "--no-cache", "--jobs", "1"])
    assert result.exit_code == 1
    assert not (project / CACHE_DIR_NAME).exists()
