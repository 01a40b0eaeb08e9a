"""Pre-filter, cache and parallelism change how fast, never what: every fixture project (and
the intra-module fixture tree) gives byte-identical JSON with and without each of them."""

from __future__ import annotations

import functools
import json
import pickle
import shutil
from pathlib import Path

import pytest
import report_factories as rf

import leakcheck.api as api
import leakcheck.solve as solve
from leakcheck.api import Options, check_paths
from leakcheck.pipeline import Pickled, Pool, unwrap
from leakcheck.prefilter import Vocab, check_skipped, file_facts, needed_files
from leakcheck.ruleset import load_ruleset
from leakcheck.ruleset.load import with_vocabulary

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SHARED = FIXTURES / "prefilter" / "shared_state"
TREES = sorted([*(FIXTURES / "projects").iterdir(), *(FIXTURES / "prefilter").iterdir(),
                FIXTURES / "intra", FIXTURES / "examples"])
TREES = [t for t in TREES if t.is_dir()]


render = rf.timeless_json


@functools.cache
def run(tree: Path, processes: bool = False, **kw) -> str:
    """``processes``: make these small trees use the worker processes as a large one does
    (no batch is small enough to stay in-process, and two files are enough for two jobs),
    and check that they did (else ``--jobs 2`` would be compared with itself)."""
    if not processes:
        return render(check_paths(Options(paths=(str(tree),), **kw)))
    saved = Pool.SMALL_BATCH_BYTES, api.FILES_PER_JOB, Pool._start, solve.PARALLEL_SINKS
    started: list[int] = []

    def start(pool: Pool) -> None:
        started.append(pool.wanted)
        saved[2](pool)

    # (the solver forks for its share of the sinks too)
    Pool.SMALL_BATCH_BYTES, api.FILES_PER_JOB, Pool._start, solve.PARALLEL_SINKS = \
        0, 1, start, 1  # type: ignore[method-assign]
    try:
        text = render(check_paths(Options(paths=(str(tree),), **kw)))
    finally:
        Pool.SMALL_BATCH_BYTES, api.FILES_PER_JOB, Pool._start, solve.PARALLEL_SINKS = \
            saved  # type: ignore[method-assign]
    assert started or len(list(tree.rglob("*.py"))) < 2, "the worker processes never ran"
    return text


@pytest.mark.parametrize("tree", TREES, ids=[str(t.relative_to(FIXTURES)) for t in TREES])
@pytest.mark.parametrize("variant", ["prefilter", "jobs2", "jobs2-processes",
                                     "jobs2-prefilter-off"])
def test_same_output(tree: Path, variant: str) -> None:
    plain = run(tree, prefilter=False, jobs=1)
    kw = {"prefilter": {"prefilter": True, "jobs": 1},
          "jobs2": {"prefilter": True, "jobs": 2},
          "jobs2-processes": {"prefilter": True, "jobs": 2, "processes": True},
          "jobs2-prefilter-off": {"prefilter": False, "jobs": 2, "processes": True}}[variant]
    assert run(tree, **kw) == plain


def test_small_batches_stay_in_process_and_large_ones_fork() -> None:
    """A warm run's one edited file is not worth forking workers for; a cold run is."""
    rules = load_ruleset(())
    tiny = [(f"m{i}.py", b"x = 1\n") for i in range(4)]
    pool = Pool(rules, tiny, jobs=2)
    try:
        assert set(pool.run("parse", [0, 1, 2, 3])) == {0, 1, 2, 3}
        assert pool.procs == []
    finally:
        pool.close()
    big = [(f"m{i}.py", b"x = 1\n" * (Pool.SMALL_BATCH_BYTES // 8)) for i in range(4)]
    pool = Pool(rules, big, jobs=2)
    try:
        out = pool.run("parse", [0, 1, 2, 3])
        assert set(out) == {0, 1, 2, 3} and len(pool.procs) == 2
        assert all(unwrap(out[i]) is None for i in out)  # parsed, no error
    finally:
        pool.close()


def test_workers_results_come_back_in_worker_order_whichever_finishes_first() -> None:
    """The worker with one large file finishes after the one with three small ones; the
    results are still merged in worker order (what a run does with them must not depend on
    timing), and each is complete: unpickled early or not, the same value."""
    rules = load_ruleset(())
    line = b"def reward(completions, **kwargs):\n    return [len(c) for c in completions]\n"
    sources = [("big.py", line * 6000)] + [(f"s{i}.py", line * 400) for i in range(3)]
    pool = Pool(rules, sources, jobs=2)
    try:
        pool.run("parse", [0, 1, 2, 3])
        assert len(pool.procs) == 2 and pool.owner[0] != pool.owner[1]
        out = pool.run("scan", [(i, f"m{i}") for i in range(4)], key=lambda x: x[0])
        assert list(out) == [0, 1, 2, 3]  # big.py's worker first, though it finished last
        local = Pool(rules, sources, jobs=1)
        try:
            expected = local.run("scan", [(i, f"m{i}") for i in range(4)], key=lambda x: x[0])
        finally:
            local.close()
        assert {i: unwrap(v) for i, v in out.items()} == expected
    finally:
        pool.close()


def test_a_preloaded_result_is_handed_out_once_then_unpickled_afresh() -> None:
    result = Pickled(pickle.dumps({"scores": [1.0]}))
    result.preload()
    first, second = result.load(), result.load()
    assert first == second == {"scores": [1.0]}
    assert first is not second  # each load owns its object, as without preloading


@pytest.mark.parametrize("tree", TREES, ids=[str(t.relative_to(FIXTURES)) for t in TREES])
def test_same_output_cold_and_warm_cache(tree: Path, tmp_path: Path) -> None:
    plain = run(tree, prefilter=False, jobs=1)
    opts = Options(paths=(str(tree),), cache=True, cache_dir=str(tmp_path / "c"))
    assert render(check_paths(opts)) == plain  # cold: fills the cache
    assert render(check_paths(opts)) == plain  # warm: the whole-run entry
    shutil.rmtree(tmp_path / "c" / "run")  # warm again, from the per-file entries
    assert render(check_paths(opts)) == plain


def test_fixture_trees_have_findings() -> None:
    """The equality above would be empty on trees without findings."""
    with_findings = [t for t in TREES if json.loads(run(t, prefilter=False, jobs=1))["findings"]]
    assert len(with_findings) >= len(TREES) - 1


def _needed(root: Path, rules=None) -> set[str]:
    sources = [(p.relative_to(root).as_posix(), p.read_bytes()) for p in sorted(
        root.rglob("*.py"))]
    return needed_files(root, sources, rules or load_ruleset(()))


def test_relay_through_shared_helpers_is_kept() -> None:
    """relay.py has no vocabulary word and nobody imports it; it only imports two helpers, one
    also imported by the source module, the other by the sink module. Closing over what the
    source/sink files import and what imports those would still miss it: only the connected
    component keeps it, and the finding depends on it."""
    kept = _needed(SHARED)
    assert kept == {"box.py", "collect.py", "grading.py", "relay.py", "shelf.py"}
    result = check_paths(Options(paths=(str(SHARED),)))
    assert any(f.sink.path == "grading.py" and f.rule_id == "LC101" for f in result.findings)
    assert any(s.span.path == "relay.py" for f in result.findings for s in f.path)
    without_relay = check_paths(Options(paths=(str(SHARED),), exclude=("relay.py",)))
    assert not any(f.sink.path == "grading.py" for f in without_relay.findings)


def test_a_module_named_with_an_underscore_is_joined_to_its_importers(tmp_path: Path) -> None:
    """``from reward_utils import grade`` names the module ``reward_utils``, which is no
    single alphanumeric run: the importer holding the reasoning was skipped, and the leak
    with it (the same for a package such as ``open_instruct``, imported from outside it)."""
    (tmp_path / "reward_utils.py").write_text(
        "from judge_sdk import Judge\n\nJUDGE = Judge('m')\n\n\n"
        "def grade(question, text):\n    return JUDGE.grade(question, text)\n")
    (tmp_path / "rollout.py").write_text(
        "from reward_utils import grade\n\n\n"
        "def review(message, question):\n"
        "    return grade(question, message.reasoning_content)\n")
    (tmp_path / "unrelated_kernels.py").write_text("def fused(x):\n    return x * 2\n")
    assert _needed(tmp_path) == {"reward_utils.py", "rollout.py"}
    result = check_paths(Options(paths=(str(tmp_path),)))
    # the judge call and `grade` itself (a grader by name, its return a reward), and the
    # call of `grade` in the rollout
    assert {(f.sink.path, f.sink.start_line, f.rule_id) for f in result.findings} == {
        ("reward_utils.py", 7, "LC101"), ("rollout.py", 5, "LC101")}


HIDDEN_WORDS = {
    "escape": 'trace = getattr(message, "\\x72easoning_content")',
    "unicode-escape": 'trace = message["\\u0072easoning_content"]',
    "octal-escape": 'trace = message["\\162easoning_content"]',
    "named-escape": 'trace = message["\\N{LATIN SMALL LETTER R}easoning_content"]',
    "concatenated": 'trace = getattr(message, "reas" "oning_content")',
    "concatenated-lines": 'trace = getattr(message, ("reas"  # split\n    "oning_content"))',
    "continued": 'trace = getattr(message, "reas\\\noning_content")',
}


@pytest.mark.parametrize("line", HIDDEN_WORDS.values(), ids=HIDDEN_WORDS.keys())
def test_a_word_the_engine_reads_in_a_string_value_keeps_the_file(tmp_path: Path,
                                                                  line: str) -> None:
    """The engine reads string values (escapes decoded, adjacent literals joined): a source
    named only that way must not be skipped for want of its word in the file's bytes."""
    (tmp_path / "rewards.py").write_text(
        "from judge_sdk import Judge\n\nJUDGE = Judge('m')\n\n\n"
        "def review(message, question):\n"
        f"    {line}\n"
        "    return JUDGE.grade(question, trace)\n")
    found = {p: [(f.sink.path, f.rule_id) for f in check_paths(
        Options(paths=(str(tmp_path),), prefilter=p, jobs=1)).findings] for p in (False, True)}
    assert found[False] == [("rewards.py", "LC101")]
    assert found[True] == found[False]


def test_escapes_that_name_no_character_are_read_as_none(tmp_path: Path) -> None:
    """A code point past U+10FFFF, an unknown or empty name, an octal escape past 0o377:
    Python rejects some at compile time, but the bytes reach the pre-filter first, which
    ended the whole run on the first of them."""
    bad = 'x = "\\UFFFFFFFF" "\\N{}" "\\N{NOT A NAME}" "\\777" "\\x"\n'
    facts = file_facts(bad.encode(), Vocab.from_rules(load_ruleset(())))
    assert not facts.source
    (tmp_path / "odd.py").write_text(bad)
    (tmp_path / "rewards.py").write_text(
        "from judge_sdk import Judge\n\nJUDGE = Judge('m')\n\n\n"
        "def review(message, question):\n"
        "    return JUDGE.grade(question, message.reasoning_content)\n")
    result = check_paths(Options(paths=(str(tmp_path),), jobs=1))
    assert [(f.sink.path, f.rule_id) for f in result.findings] == [("rewards.py", "LC101")]


def test_a_file_the_pre_filter_fails_on_is_kept_and_the_run_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in the byte scan of one file must neither end the run nor skip that file:
    the file is kept (joined to every module) and analyzed as usual."""
    import leakcheck.pipeline as pipeline

    (tmp_path / "grading.py").write_text(
        "from judge_sdk import Judge\n\nJUDGE = Judge('m')\n\n\n"
        "def score(question, text):\n    return JUDGE.grade(question, text)\n")
    (tmp_path / "rollout.py").write_text(
        "from grading import score\n\n\n"
        "def review(message, question):\n"
        "    return score(question, message.reasoning_content)\n")
    real = pipeline.file_facts

    def broken(data: bytes, vocab: Vocab):
        if b"reasoning_content" in data:
            raise ValueError("a bug")
        return real(data, vocab)

    monkeypatch.setattr(pipeline, "file_facts", broken)
    result = check_paths(Options(paths=(str(tmp_path),), jobs=1))
    assert result.file_errors == ()
    assert ("grading.py", "LC101") in {(f.sink.path, f.rule_id) for f in result.findings}
    assert "rollout.py" in result.files


def test_skipped_files_are_checked_and_counted() -> None:
    result = check_paths(Options(paths=(str(SHARED),)))
    assert "kernels.py" in result.files and "lonely_reward.py" in result.files
    assert [(e.path, e.line, e.kind) for e in result.file_errors] == [
        ("broken_tool.py", 2, "syntax")]


def test_projects_are_not_all_skipped_or_all_kept() -> None:
    """On the fixture projects the pre-filter keeps every file that can matter; on the
    shared-state fixture it skips the components that cannot (so it is not a no-op)."""
    for project in (FIXTURES / "projects").iterdir():
        files = {p.relative_to(project).as_posix() for p in project.rglob("*.py")}
        assert _needed(project), project.name
        assert _needed(project) <= files
    assert {"kernels.py", "lonely_reward.py", "broken_tool.py"}.isdisjoint(_needed(SHARED))


def test_vocabulary_comes_from_the_rules(tmp_path: Path) -> None:
    """A user CoT word makes a file a possible source; the built-in packs alone do not."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "musings.py").write_text(
        "def run(msg, judge):\n    musing = msg.musing\n    return judge(musing)\n")
    rules = load_ruleset(())
    assert _needed(tmp_path, rules) == set()
    assert _needed(tmp_path, with_vocabulary(rules, cot_fields=["musing"])) == {"musings.py"}
    vocab = Vocab.from_rules(with_vocabulary(rules, graders=["*_checker"]))
    assert file_facts(b"x = answer_checker(y)\n", vocab).sink
    assert not file_facts(b"x = answer_check(y)\n", vocab).sink


@pytest.mark.parametrize("code,source,sink", [
    (b"s.split('</think>')[0]", True, False),
    (b"d['reasoningContent']", True, False),
    (b"tok.batch_decode(ids)", True, False),
    (b"out.outputs[0].text", True, False),
    (b"GRPOTrainer(model, reward_funcs=fs)", False, True),
    (b"self.attn_weights = w", False, False),
    (b"batch['token_level_scores'] = v", False, True),
    (b"x = format(y)  # transform, norm, informal", False, False),
])
def test_file_facts(code: bytes, source: bool, sink: bool) -> None:
    facts = file_facts(code, Vocab.from_rules(load_ruleset(())))
    assert (facts.source, facts.sink) == (source, sink)


def test_exclude_matcher_equals_fnmatch_loop() -> None:
    from leakcheck.discover import DEFAULT_EXCLUDES, _excluded, _excluded_slow

    patterns = [DEFAULT_EXCLUDES, ("scripts/*", "tests/fixtures", "*_pb2.py", "gen?/"),
                ("a/b/", "[!x]*.py"), ()]
    paths = ["src/pkg/mod.py", ".venv/lib/x.py", "build", "pkg.egg-info/PKG", "scripts/run.py",
             "tests/fixtures/a/b.py", "tests/fixturesx/a.py", "x_pb2.py", "gen1/m.py",
             "a/b/c.py", "a/bc.py", "xy.py", "yz.py", "deep/node_modules/q.py", "ok/.tox"]
    for pats in patterns:
        for rel in paths:
            parts = tuple(rel.split("/"))
            assert _excluded(parts, rel, pats) == _excluded_slow(parts, rel, pats), (pats, rel)


MONOREPO = FIXTURES / "prefilter" / "monorepo"


def _components(root: Path) -> dict[str, str]:
    from leakcheck.prefilter import components, module_heads
    from leakcheck.project.names import module_names

    vocab = Vocab.from_rules(load_ruleset(()))
    sources = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob(
        "*.py"))}
    facts = {rel: file_facts(data, vocab) for rel, data in sources.items()}
    packages: dict[str, bool] = {}
    names = {rel: module_heads(rel, root, module_names(rel, root, packages)) for rel in sources}
    return components(facts, names)


def test_modules_are_joined_by_whole_names_not_by_their_package() -> None:
    """alpha and beta share no module: two components, each found whole (beta's rollout
    reaches its scorer by a relative import and a re-export); gamma, with no sink, is
    skipped. By the first part of module names alone all three were one component."""
    found = _components(MONOREPO)
    alpha = {rel for rel, c in found.items() if rel.startswith("alpha/")}
    beta = {rel for rel, c in found.items() if rel.startswith("beta/")}
    # the teams' empty `__init__.py` files hold nothing and join nothing; beta's scoring
    # package re-exports `rate`, so its `__init__.py` is code like any other
    assert alpha == {"alpha/rewards.py", "alpha/rollout.py"}
    assert beta == {"beta/rollout.py", "beta/scoring/__init__.py", "beta/scoring/rate.py"}
    assert set(found) == alpha | beta
    assert len({found[r] for r in alpha}) == 1 and len({found[r] for r in beta}) == 1
    assert found["alpha/rollout.py"] != found["beta/rollout.py"]
    result = check_paths(Options(paths=(str(MONOREPO),)))
    prefix = MONOREPO.relative_to(REPO).as_posix() + "/"  # (paths are the repository's)
    assert sorted((f.sink.path.removeprefix(prefix), f.sink.start_line)
                  for f in result.findings) == [
        ("alpha/rewards.py", 8), ("alpha/rewards.py", 8), ("alpha/rollout.py", 9),
        ("beta/scoring/rate.py", 7)]


def test_a_module_name_no_byte_run_spells_joins_every_file(tmp_path: Path) -> None:
    """``import données``: the name is no ASCII identifier run, so no file can be seen to
    name it; the module is joined to every file rather than cut off from its importer."""
    (tmp_path / "données.py").write_text(
        "from judge_sdk import Judge\n\nJUDGE = Judge('m')\n\n\n"
        "def note(question, text):\n    return JUDGE.grade(question, text)\n", "utf-8")
    (tmp_path / "rollout.py").write_text(
        "import données\n\n\n"
        "def review(message, question):\n"
        "    return données.note(question, message.reasoning_content)\n", "utf-8")
    assert _needed(tmp_path) == {"données.py", "rollout.py"}
    result = check_paths(Options(paths=(str(tmp_path),)))
    assert [(f.sink.path, f.sink.start_line) for f in result.findings] == [("données.py", 7)]


def test_a_module_no_code_can_name_joins_nothing(tmp_path: Path) -> None:
    """``run-eval.py`` is no identifier: no import statement or attribute spells it, so it
    joins no file to another (counting it as named by every file, as a name no byte run
    spells is, would make the whole project one component)."""
    (tmp_path / "thoughts.py").write_text(
        "def keep(message):\n    return message.reasoning_content\n")
    (tmp_path / "scores.py").write_text(
        "from judge_sdk import Judge\n\nJUDGE = Judge('m')\n\n\n"
        "def grade(question, text):\n    return JUDGE.grade(question, text)\n")
    (tmp_path / "run-eval.py").write_text("print('evaluating')\n")
    assert _needed(tmp_path) == set()


@pytest.mark.parametrize("init", ["", "\n\n", "# the org package\n", "#!/x\n# c\n\n"])
def test_an_empty_package_joins_nothing(tmp_path: Path, init: str) -> None:
    """Two teams under one empty root package (``org/__init__.py`` with no code): importing
    ``org.a.rewards`` names ``org`` too, but an empty module carries nothing, so the teams
    stay apart (one component each, each skippable on its own), and the findings are the
    same as without the pre-filter."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "org"\n')
    for team in ("a", "b"):
        (tmp_path / "org" / team).mkdir(parents=True)
        (tmp_path / "org" / team / "__init__.py").write_text("")
    (tmp_path / "org" / "__init__.py").write_text(init)
    (tmp_path / "org" / "a" / "rewards.py").write_text(
        "from judge_sdk import Judge\n\nJUDGE = Judge('m')\n\n\n"
        "def rate(question, text):\n    return JUDGE.grade(question, text)\n")
    (tmp_path / "org" / "a" / "rollout.py").write_text(
        "from org.a.rewards import rate\n\n\n"
        "def step(question, message):\n    return rate(question, message.reasoning_content)\n")
    (tmp_path / "org" / "b" / "train.py").write_text(
        "import org.a\n\n\ndef thoughts_of(message):\n    return message.reasoning_content\n")
    found = _components(tmp_path)
    assert set(found) == {"org/a/rewards.py", "org/a/rollout.py"}
    with_filter = check_paths(Options(paths=(str(tmp_path),)))
    without = check_paths(Options(paths=(str(tmp_path),), prefilter=False))
    assert rf.timeless_json(with_filter) == rf.timeless_json(without)
    assert [(f.sink.path, f.sink.start_line) for f in with_filter.findings] == [
        ("org/a/rewards.py", 7)]


def test_a_package_init_with_code_still_joins(tmp_path: Path) -> None:
    """A package ``__init__.py`` that holds code (a re-export, a constant) is a module like
    any other: its importers are joined to it."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "org"\n')
    (tmp_path / "org").mkdir()
    (tmp_path / "org" / "__init__.py").write_text("SHARED = []\n")
    (tmp_path / "org" / "grading.py").write_text(
        "import org\nfrom judge_sdk import Judge\n\nJUDGE = Judge('m')\n\n\n"
        "def rate(question):\n    return JUDGE.grade(question, org.SHARED[-1])\n")
    (tmp_path / "org" / "tracing.py").write_text(
        "import org\n\n\ndef keep(message):\n    org.SHARED.append(message.reasoning_content)\n")
    assert set(_components(tmp_path)) == {"org/__init__.py", "org/grading.py",
                                          "org/tracing.py"}



SKIPPED_FILES = {  # files no source or sink is in: the pre-filter skips them and checks them
    "broken.py": b"def tool(:\n    pass\n",
    "module_nonlocal.py": b"x = 1\nnonlocal x\n",  # refused by the compiler, not the parser
    "duplicate_arg.py": b"def f(a, a):\n    return a\n",
    "latin.py": "# -*- coding: latin-1 -*-\nNAME = 'caf\xe9'\n".encode("latin-1"),
    "bad_cookie.py": b"# -*- coding: no-such-codec -*-\nx = 1\n",
    "bom.py": b"\xef\xbb\xbfx = 1\n",
    "undecodable.py": b"x = '\xff\xfe'\n",
    "escape_warning.py": b"PATTERN = '\\d+'\n",
    "props.py": b"class K:\n    @property\n    def size(self):\n        return 1\n",
}


def test_skipped_files_give_the_same_errors_as_parsing_them(tmp_path: Path) -> None:
    """The pre-filter's check of skipped files (CPython's verdict, without its tree where no
    property name is needed) reports what parsing every file reports, file for file:
    syntax and encoding errors, and nothing for what only a compiler refuses."""
    for name, data in SKIPPED_FILES.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "reward.py").write_text(
        "from judge_sdk import Judge\n\nJUDGE = Judge('m')\n\n\n"
        "def step(message):\n    return JUDGE.grade(message.reasoning_content)\n")
    on = check_paths(Options(paths=(str(tmp_path),), prefilter=True, jobs=1, cache=False))
    off = check_paths(Options(paths=(str(tmp_path),), prefilter=False, jobs=1, cache=False))
    assert render(on) == render(off)
    assert {(e.path, e.kind) for e in on.file_errors} == {
        ("broken.py", "syntax"), ("bad_cookie.py", "encoding"), ("undecodable.py", "encoding")}
    assert [f.sink.path for f in on.findings] == ["reward.py"]
    # the check's own verdicts: a file CPython refuses is left to the usual parse (None),
    # one it accepts is skipped with its property names (what only a compiler refuses may
    # go either way: the parse then decides, as without the pre-filter)
    for name in ("broken.py", "bad_cookie.py", "undecodable.py"):
        assert check_skipped(SKIPPED_FILES[name]) is None, name
    for name in ("latin.py", "bom.py", "escape_warning.py"):
        assert check_skipped(SKIPPED_FILES[name]) == frozenset(), name
    assert check_skipped(SKIPPED_FILES["props.py"]) == {"size"}
