"""The per-module cache: warm runs do no parsing, an edit re-parses only the edited file,
corrupted or unwritable caches are survived, concurrent runs are safe."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import report_factories as rf
from click.testing import CliRunner

import leakcheck.pipeline as pipeline
from leakcheck.api import Options, check_paths
from leakcheck.cache import CACHE_DIR_NAME, ENV_CACHE_DIR, PACKED_KINDS
from leakcheck.cli import main
from leakcheck.parse import parse_source

REPO = Path(__file__).resolve().parents[1]
PROJECT = REPO / "tests" / "fixtures" / "projects" / "multi_package"


render = rf.timeless_json


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
    texts = [rf.without_time(json.loads(o.read_text())) for o in outs]
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


def test_entries_of_a_kind_share_one_file_per_root(project: Path, tmp_path: Path) -> None:
    """A run over many files writes a handful of cache files, not one per module per stage:
    .gitignore, CACHEDIR.TAG, one pack segment per kind, one whole-run entry, however many
    modules there are."""
    for i in range(40):  # many more modules than kinds
        (project / "src" / "utils" / f"helper_{i}.py").write_text(
            f"def helper_{i}(text):\n    return text.strip()  # leakcheck: ignore[LC101]\n")
    cache = tmp_path / "c"
    check_paths(_opts(project, cache))
    files = [p for p in cache.rglob("*") if p.is_file()]
    packs = [p for p in files if p.suffix == ".pack"]
    assert packs and len(packs) <= len(PACKED_KINDS)  # one segment per kind
    assert len(files) <= len(PACKED_KINDS) + 3, sorted(p.name for p in files)


def test_going_back_to_an_earlier_state_is_still_warm(project: Path, tmp_path: Path,
                                                      parses: list[str]) -> None:
    """A rewritten pack keeps older entries beside the new ones: switching branches back
    and forth does not re-parse."""
    cache = tmp_path / "c"
    check_paths(_opts(project, cache))
    edited = project / "src" / "utils" / "text.py"
    original = edited.read_text()
    edited.write_text(original + "\n\ndef shout(text):\n    return text.upper()\n")
    check_paths(_opts(project, cache))
    edited.write_text(original)
    (cache / "run").rename(tmp_path / "run-entries")  # no whole-run shortcut: per file only
    parses.clear()
    back = render(check_paths(_opts(project, cache)))
    assert parses == []
    assert back == render(check_paths(_opts(project, None)))


def test_dataclass_values_survive_the_lean_value() -> None:
    import pickle

    from leakcheck.graph.context import CallSite, FunctionData, Param, SinkRecord, Target
    from leakcheck.graph.facts import FunctionRef
    from leakcheck.graph.values import Value
    from leakcheck.types import FileError, Finding, Span, Step, Suppression, UnusedSuppression

    span = Span("a.py", 1, 2, 3, 4)
    value = Value(shape=frozenset({("n",)}), fields=((".a", Value()),), from_grader=True)
    values = [
        span, value, Param("x", "positional"), FunctionRef("m.f"),
        SinkRecord(("n",), span, "f", "`g()`", "g(x)"),
        Target("method", "m.C", method="run", property_read=True),
        CallSite(("ret", 1), span, "f", "g(x)", Target("function", "m.g"), (value,),
                 (("k", value),), frozenset(), receiver=value, kw_forward=("param", "f", "kw")),
        FunctionData("m.f", (Param("x", "positional"),), value, None, False, ("m.deco",)),
        Finding("LC101", "cot-reaches-grader", "error", "cot", ("completion", "cot"), "m", "t",
                (("sink", "`g()`"),), span, "`g()`", span, "`r`",
                (Step(span, "source", "source"), Step(span, "sink", "sink")), "f:0",
                Suppression(span, ("LC101",), "why"), True),
        UnusedSuppression(span, ("LC102",), "unused"), FileError("a.py", 3, 1, "syntax", "e"),
    ]
    for v in values:
        back = pickle.loads(pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL))
        assert back == v and type(back) is type(v)


def test_an_edit_adds_a_small_segment_and_segments_are_compacted(project: Path,
                                                                  tmp_path: Path) -> None:
    """One edited file does not rewrite the whole pack (on a large tree that is tens of MB);
    the segments of a kind never grow past MAX_SEGMENTS; every state still gives the
    results of an uncached run."""
    from leakcheck.cache import MAX_SEGMENTS

    cache = tmp_path / "c"
    check_paths(_opts(project, cache))
    packs = cache / "packs"
    [parse_pack] = [p for p in packs.iterdir() if p.name.startswith("parse-")]
    before = parse_pack.read_bytes()
    edited = project / "src" / "utils" / "text.py"
    for k in range(2 * MAX_SEGMENTS):
        edited.write_text(edited.read_text() + f"\n\ndef shout{k}(text):\n"
                          "    return text.upper()\n")
        warm = render(check_paths(_opts(project, cache)))
        assert warm == render(check_paths(_opts(project, None)))
        parse_segments = [p for p in packs.iterdir() if p.name.startswith("parse-")]
        assert len(parse_segments) <= MAX_SEGMENTS
        if k == 0:  # the first edit wrote a segment beside the untouched first one
            assert len(parse_segments) == 2 and parse_pack.read_bytes() == before
    assert not parse_pack.exists()  # compacted away since


def test_suppression_comments_are_read_once_per_file_content(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    """Tokenizing for ``# leakcheck:`` comments is cached like the rest: after an edit, only
    the edited file is read again, and the suppressed and unused ones are still reported."""
    import leakcheck.suppress as suppress

    project = tmp_path / "proj"
    project.mkdir()
    (project / "rewards.py").write_text(
        "def reward(completions, **kwargs):\n"
        "    return [judge(c) for c in completions]  # leakcheck: ignore[LC102] -- on purpose\n")
    (project / "other.py").write_text("x = 1  # leakcheck: ignore\n")
    cache = tmp_path / "c"
    expected = render(check_paths(_opts(project, cache)))
    data = json.loads(expected)
    assert data["unused_suppressions"] and data["summary"]["suppressed"] == 2
    read: list[bytes] = []
    original = suppress._comments

    def counting(source: bytes):
        read.append(source)
        return original(source)

    monkeypatch.setattr(suppress, "_comments", counting)
    (project / "rewards.py").write_text((project / "rewards.py").read_text() + "\ny = 2\n")
    edited = render(check_paths(_opts(project, cache)))
    assert read == [(project / "rewards.py").read_bytes()]
    assert edited == render(check_paths(_opts(project, None)))


def test_a_warm_run_does_not_load_the_engine(project: Path, tmp_path: Path) -> None:
    """An unchanged tree is answered from the whole-run entry without importing libcst or
    networkx (a third of a warm run's time went to importing them)."""
    cache = tmp_path / "c"
    script = (
        "import sys\n"
        "from leakcheck.cli import main\n"
        "try:\n"
        f"    main([{str(project)!r}, '--format', 'json', '--cache-dir', {str(cache)!r},\n"
        f"          '-o', {str(tmp_path / 'out.json')!r}, '--exit-zero'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('libcst', 'networkx') if m in sys.modules))\n")
    runs = [subprocess.run([sys.executable, "-c", script], cwd=REPO, check=True,
                           capture_output=True, text=True, timeout=120) for _ in range(2)]
    assert runs[0].stdout.strip() == "['libcst', 'networkx']"  # cold: the engine ran
    assert runs[1].stdout.strip() == "[]"  # warm: nothing of it was needed


def test_whole_run_entries_are_bounded_least_recently_used_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One whole-run entry per tree state analyzed: a long-lived cache keeps the
    MAX_RUN_ENTRIES most recently used and removes the rest; reading an entry counts as use."""
    import os
    import time

    from leakcheck import cache as cache_module

    monkeypatch.setattr(cache_module, "MAX_RUN_ENTRIES", 3)
    store = cache_module.Cache(tmp_path / "c", scope="/project")
    keys = [cache_module.key("run", i) for i in range(5)]
    past = time.time_ns() - 3600 * 10**9
    for i in range(3):  # written an hour ago, a second apart
        store.put("run", keys[i], f"state {i}")
        os.utime(store._path("run", keys[i]), ns=(past + i * 10**9,) * 2)
    assert store.get("run", keys[0]) == "state 0"  # now the most recently used
    store.put("run", keys[3], "state 3")  # one too many: the least recently used goes
    assert store.get("run", keys[1]) is None
    assert [store.get("run", keys[i]) for i in (0, 2, 3)] == ["state 0", "state 2", "state 3"]
    store.put("run", keys[4], "state 4")
    remaining = sorted(p.name for p in (tmp_path / "c").rglob("*") if p.parent.parent.name
                       == "run" and p.is_file())
    assert len(remaining) == 3 and keys[4] in remaining


MONOREPO = REPO / "tests" / "fixtures" / "prefilter" / "monorepo"


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    dst = tmp_path / "mono"
    shutil.copytree(MONOREPO, dst)
    return dst


@pytest.fixture
def linked(monkeypatch: pytest.MonkeyPatch) -> list[set[str]]:
    """The files each run's linker was given."""
    import leakcheck.project.link as link

    runs: list[set[str]] = []
    original = link.Linker.__init__

    def recording(self, index, modules) -> None:  # type: ignore[no-untyped-def]
        runs.append({m.path for m in modules})
        original(self, index, modules)

    monkeypatch.setattr(link.Linker, "__init__", recording)
    return runs


def test_an_edit_relinks_only_its_own_component(monorepo: Path, tmp_path: Path,
                                                linked: list[set[str]]) -> None:
    """alpha and beta name no module of each other: an edit in beta links and solves beta
    alone, alpha's findings come from the cache, and the output is a cold run's."""
    check_paths(_opts(monorepo, tmp_path / "c"))
    assert linked[-1] >= {"alpha/rollout.py", "beta/rollout.py"}
    rollout = monorepo / "beta" / "rollout.py"
    rollout.write_text(rollout.read_text() + "\n\ndef again(message, question):\n"
                       "    return scoring.rate(question, message.reasoning_content)\n")
    edited = render(check_paths(_opts(monorepo, tmp_path / "c")))
    # (beta's empty `__init__.py` is in no component: it holds nothing to link)
    assert linked[-1] == {"beta/rollout.py", "beta/scoring/__init__.py",
                          "beta/scoring/rate.py"}
    assert edited == render(check_paths(_opts(monorepo, None)))
    assert {(f["sink"]["path"], f["sink"]["start_line"]) for f in json.loads(edited)[
        "findings"]} == {("alpha/rewards.py", 8), ("alpha/rollout.py", 9),
                         ("beta/scoring/rate.py", 7)}


def test_an_edit_that_joins_two_components_links_them_together(monorepo: Path,
                                                               tmp_path: Path) -> None:
    """alpha starts using beta's scorer: one component now, and the leak through it is
    found on the warm cache as on a cold run."""
    check_paths(_opts(monorepo, tmp_path / "c"))
    rollout = monorepo / "alpha" / "rollout.py"
    rollout.write_text(rollout.read_text() + "\n\ndef second_opinion(message, question):\n"
                       "    from beta.scoring import rate\n\n"
                       "    return rate(question, message.reasoning_content)\n")
    edited = render(check_paths(_opts(monorepo, tmp_path / "c")))
    assert edited == render(check_paths(_opts(monorepo, None)))
    traces = [f for f in json.loads(edited)["findings"]
              if f["sink"]["path"] == "beta/scoring/rate.py"]
    assert any(s["location"]["path"] == "alpha/rollout.py" for f in traces for s in f["path"])
