"""Fixture suite for interprocedural, cross-module analysis (SPEC §3 "Interprocedural and
across modules", "Context-sensitive"; SPEC §2 registration anywhere in the project; SPEC §5
explicit files).

Every directory under ``tests/fixtures/projects/`` is a small training repository with its own
``pyproject.toml`` (so it is its own project root). Its files carry the inline markers of
``leakcheck.testing``: ``# expect: LC10x`` on each sink line, ``# expect-miss:`` for a known
miss, and ``# path: A1`` hops of a witness path (source first, sink last, the functions in
between in order). Quiet sink lines that a sloppy engine would flag carry a ``# clean`` or
``# sanitized`` comment, for the reader and for the shape checks below.

The engine must report exactly the marked ``(file, line, rule)`` triples over the whole
project, nothing more and nothing less.
"""

from __future__ import annotations

import functools
import re
import time
from pathlib import Path

import pytest

from leakcheck.api import Options, check_paths
from leakcheck.report.json import JsonReporter
from leakcheck.testing import (
    MarkerError,
    ProjectExpectations,
    Witness,
    compare_project,
    parse_path_markers,
    parse_project,
    project_files,
    project_relative,
    project_triples,
    step_hops,
    witness_matches,
)
from leakcheck.types import CheckResult, FileError, Finding, Span, Step

REPO = Path(__file__).resolve().parent.parent
PROJECTS_DIR = REPO / "tests" / "fixtures" / "projects"

# Project -> what it exercises. Every project directory is declared here and vice versa.
PROJECTS = {
    "grader_entry_sources": "graders registered by name called by project code: a grader's "
                            "own entry source never escapes through its return into callers "
                            "that pass clean text; the witness starts at the caller's decode",
    "multi_package": "src layout, three packages: rollout/worker.py -> utils/text.py -> "
                     "rewards/manager.py (class) -> rewards/judge.py; a helper two calls away "
                     "strips with an imported THINK_END constant",
    "reward_managers": "class hierarchy, inheritance, super(), properties, self attributes "
                       "across methods, function values in attributes, reward_fn= registration",
    "async_rollout": "async def / await / async for across modules, dataclass fields across "
                     "returns",
    "registry_rewards": "REWARD_FUNCS_REGISTRY, GRPOTrainer(reward_funcs=...) through a "
                        "variable and by position, functools.partial, Rubric, add_reward_func",
    "decorated_graders": "@register_reward from another module, forwarding and sanitizing "
                         "wrapper decorators",
    "recursive_helpers": "recursion, mutual recursion, an import cycle, recursions that move "
                         "a value between fields or arguments on every step",
    "reexports": "__init__.py re-exports, import a.b as c, from . import x, from .. import x as "
                 "y, tuple returns",
    "closures_generators": "generators, yield from, closures, nested functions, lambdas",
    "kwargs_forwarding": "defaults, keyword arguments, *args/**kwargs forwarding, tuple "
                         "returns, functools.partial of a forwarding function",
    "verl_style": "verl reward managers decoding with tokenizer.decode, compute_score modules "
                  "imported inside functions, compute_score= registration",
    "context_sensitivity": "shared helpers called with reasoning at one site and the answer at "
                           "another",
    "shared_globals": "module globals imported by other modules: changed in place by an "
                      "importer (RECENT.append) or by their own module's function, read by "
                      "a grader that imports them; field-sensitive by constant key",
    "grader_attributes": "a grader's bound method kept on an object under a neutral name "
                         "(`self.evaluate = judge.grade`, a partial of it, a parameter a "
                         "caller gives it) and called from the class, a base or outside",
    "star_imports": "`from pkg import *` through a package `__init__` that star-imports its "
                    "modules, `__all__` or every public name, an exported constant as the "
                    "split separator, a local definition after the star import",
    "function_values": "functions chosen through values: a registry dict imported from "
                       "another module read with a key in a variable, a tuple iterated, a "
                       "conditional expression, lists handed to a helper and kept by a "
                       "trainer on `self`",
    "ray_workers": "Ray: an actor made with `.options(...).remote(...)` kept on `self`, its "
                   "methods called with `.remote(...)`, a `@ray.remote` task, `ray.get`",
    "trainer_hierarchy": "a TRL-style trainer base with sibling subclasses: a `self` attribute "
                         "read in a class's method holds what the classes of its instances "
                         "write (itself, its bases, its subclasses and their mixins), never "
                         "what a sibling writes, except into a mutable class attribute, which "
                         "every instance of the hierarchy shares",
}

# (project, explicit file, a file a finding's source must be in, or None): SPEC §5, findings
# only for the given file while calls into (and registrations in) the rest of the project are
# still resolved.
EXPLICIT = [
    ("multi_package", "src/rewards/judge.py", "src/rollout/worker.py"),
    ("reward_managers", "managers/scoring.py", "managers/base.py"),
    ("async_rollout", "agent/grading.py", "agent/worker.py"),
    ("registry_rewards", "r1_recipes/rewards/preference.py", None),
    ("decorated_graders", "graders/remote.py", "graders/math_graders.py"),
    ("recursive_helpers", "textproc/tree.py", "rewards.py"),
    ("reexports", "rl/rewards/client.py", "rl/text/sections.py"),
    ("closures_generators", "gen/factories.py", "gen/streams.py"),
    ("kwargs_forwarding", "fwd/helpers.py", "fwd/rewards.py"),
    ("verl_style", "tinyverl/utils/sandbox.py", "tinyverl/workers/reward_manager/naive.py"),
    ("verl_style", "tinyverl/rewards/custom.py", None),
    ("context_sensitivity", "cs/text.py", None),
    ("shared_globals", "rlstate/grading.py", "rlstate/rollout.py"),
    ("star_imports", "rlkit/rewards/shaping.py", "train/rollout.py"),
    ("function_values", "rlx/checks.py", "train.py"),
    ("ray_workers", "rayrl/workers/judge.py", "rayrl/trainer.py"),
    ("trainer_hierarchy", "hier/base.py", "hier/mixins.py"),
]

_QUIET = re.compile(r"#\s*(clean|sanitized)\b")


def _dir(name: str) -> Path:
    return PROJECTS_DIR / name


@functools.cache
def _expectations(name: str) -> ProjectExpectations:
    return parse_project(_dir(name))


@functools.cache
def _result(name: str) -> CheckResult:
    return check_paths(Options(paths=(str(_dir(name)),)))


def _witness_params() -> list:
    return [pytest.param(name, w, id=f"{name}:{w.name}")
            for name in sorted(PROJECTS) for w in _expectations(name).witnesses]


def _describe(result: CheckResult, root: Path, finding: Finding) -> str:
    lines = [f"    {finding.rule_id} sink {finding.sink} source {finding.source}"]
    for step in finding.path:
        rel = project_relative(result, root, step.span.path)
        lines.append(f"      {step.kind:<6} {rel}:{step.span.start_line}  {step.message}")
    return "\n".join(lines)


# --- the projects themselves ---------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_project(name: str) -> None:
    root = _dir(name)
    comparison = compare_project(_result(name), root, _expectations(name))
    assert comparison.ok, f"{name}: findings differ from the markers\n" + comparison.render(root)


def test_known_misses_are_still_missed() -> None:
    """``expect-miss`` markers are strict: one the engine now reports must become ``expect``."""
    caught = []
    for name in sorted(PROJECTS):
        comparison = compare_project(_result(name), _dir(name), _expectations(name))
        if comparison.caught_misses:
            caught.append(f"{name}:\n" + comparison.render(_dir(name)))
    assert not caught, "\n".join(caught)


@pytest.mark.parametrize(("name", "witness"), _witness_params())
def test_witness_path(name: str, witness: Witness) -> None:
    """The finding at the witness's sink has a path from the marked source, through the marked
    functions in order, to the sink; its first step is the source and its last the sink."""
    root = _dir(name)
    result = _result(name)
    sink = witness.hops[-1]
    at_sink = [f for f in result.active_findings
               if (project_relative(result, root, f.sink.path), f.sink.start_line) == sink]
    assert at_sink, f"{name}:{witness.name}: no finding at the sink {sink[0]}:{sink[1]}"
    good = [f for f in at_sink if witness_matches(witness, step_hops(result, root, f))]
    hops = " -> ".join(f"{p}:{ln}" for p, ln in witness.hops)
    assert good, (f"{name}:{witness.name}: no path {hops}\n"
                  + "\n".join(_describe(result, root, f) for f in at_sink))
    for finding in good:
        source = (project_relative(result, root, finding.source.path), finding.source.start_line)
        assert source == witness.hops[0]
        assert finding.path[0].kind == "source" and finding.path[-1].kind == "sink"
        assert finding.path[-1].span.start_line == finding.sink.start_line


# --- explicit files (pre-commit) -----------------------------------------------------------


@pytest.mark.parametrize(("name", "rel", "foreign"), EXPLICIT,
                         ids=[f"{n}:{r}" for n, r, _ in EXPLICIT])
def test_explicit_file_reports_only_that_file(name: str, rel: str, foreign: str | None) -> None:
    root = _dir(name)
    result = check_paths(Options(paths=(str(root / rel),)))
    assert Path(result.root).resolve() == root.resolve(), "the project root is found upward"
    assert result.file_errors == ()
    sinks = {project_relative(result, root, f.sink.path) for f in result.findings}
    assert sinks <= {rel}, f"findings outside the given file: {sorted(sinks - {rel})}"
    expected = {(rel, line, rule) for line, rule in _expectations(name).for_file(rel).expected}
    assert project_triples(result, root) == expected, (
        f"{name}: {rel} alone gives different findings than the whole project marks")
    if foreign is not None:
        sources = {project_relative(result, root, f.source.path) for f in result.active_findings}
        assert foreign in sources, f"no finding of {rel} has its source in {foreign}: {sources}"


def test_explicit_files_in_different_packages() -> None:
    root = _dir("multi_package")
    files = ("src/rewards/judge.py", "src/rollout/worker.py")
    result = check_paths(Options(paths=tuple(str(root / f) for f in files)))
    assert Path(result.root).resolve() == root.resolve()
    exp = _expectations("multi_package")
    expected = {t for t in exp.expected if t[0] in files}
    assert project_triples(result, root) == expected


@pytest.mark.parametrize("name", ["multi_package", "registry_rewards"])
def test_split_invocations_resolve_the_project_on_their_own(name: str) -> None:
    """pre-commit may split the file list across invocations: each one resolves the project
    by itself, and together they report what one run over the project reports."""
    root = _dir(name)
    files = [p.relative_to(root).as_posix() for p in project_files(root)]
    halves = (files[0::2], files[1::2])
    union: set = set()
    for half in halves:
        result = check_paths(Options(paths=tuple(str(root / f) for f in half)))
        triples = project_triples(result, root)
        assert {t[0] for t in triples} <= set(half)
        union |= triples
    assert union == project_triples(_result(name), root) == _expectations(name).expected


# --- context sensitivity -------------------------------------------------------------------


def _line_of(path: Path, needle: str) -> int:
    hits = [i for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if needle in text]
    assert len(hits) == 1, f"{path.name}: {needle!r} found on lines {hits}"
    return hits[0]


def test_context_sensitivity_in_the_fixture_project() -> None:
    """`normalize`, `normalized_clip` and `Formatter.render` are each called with reasoning at
    one site and with the answer at another: only the first sites are findings, and the helper
    module itself has none."""
    root = _dir("context_sensitivity")
    rewards = root / "cs" / "rewards.py"
    result = _result("context_sensitivity")
    got = project_triples(result, root)
    pairs = [
        ("JUDGE.grade(question, trace)", "JUDGE.grade(question, answer)"),
        ("normalized_clip(message.reasoning_content)", "normalized_clip(message.content)"),
        ("FORMATTER.render(message.reasoning_content)", "FORMATTER.render(message.content)"),
        ('render_query(question, sample["trace"], sample)',
         "render_query(question, message.content, sample)"),
    ]
    for tainted, clean in pairs:
        assert ("cs/rewards.py", _line_of(rewards, tainted), "LC101") in got, tainted
        clean_line = _line_of(rewards, clean)
        assert not {t for t in got if t[:2] == ("cs/rewards.py", clean_line)}, clean
    assert not {t for t in got if t[0] == "cs/text.py"}


HELPER = 'def normalize(text):\n    return " ".join(text.split())\n'
TAINTED_SITE = (
    "from helpers import normalize\n"
    "\n"
    "\n"
    "def review_reasoning(message, judge):\n"
    "    return judge.grade(normalize(message.reasoning_content))\n"
)
CLEAN_SITE = (
    "from helpers import normalize\n"
    "\n"
    "\n"
    "def review_answer(message, judge):\n"
    "    return judge.grade(normalize(message.content))\n"
)


@pytest.mark.parametrize("tainted_first", [True, False], ids=["tainted-first", "clean-first"])
def test_context_sensitivity_does_not_depend_on_file_order(tmp_path: Path,
                                                           tainted_first: bool) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "cs"\n')
    (tmp_path / "helpers.py").write_text(HELPER)
    tainted, clean = ("a_site.py", "b_site.py") if tainted_first else ("b_site.py", "a_site.py")
    (tmp_path / tainted).write_text(TAINTED_SITE)
    (tmp_path / clean).write_text(CLEAN_SITE)
    result = check_paths(Options(paths=(str(tmp_path),)))
    assert result.file_errors == ()
    assert project_triples(result, tmp_path) == {(tainted, 5, "LC101")}
    (finding,) = result.active_findings
    assert ("helpers.py", 2) in step_hops(result, tmp_path, finding)


# --- termination and stable output ---------------------------------------------------------


def _fingerprint(result: CheckResult) -> tuple:
    return tuple((f.rule_id, f.sink, f.source, f.fingerprint,
                  tuple((s.span, s.kind, s.message) for s in f.path)) for f in result.findings)


def _ring_project(root: Path, size: int = 6) -> None:
    """A package whose modules import each other in a ring and whose functions recurse
    through the ring; plus self-recursion that grows its argument and mutual recursion."""
    (root / "pyproject.toml").write_text('[project]\nname = "ring"\n')
    pkg = root / "ring"
    pkg.mkdir()
    (pkg / "__init__.py").write_text('"""Ring."""\n\nfrom .m0 import step0\n')
    for i in range(size):
        nxt = (i + 1) % size
        (pkg / f"m{i}.py").write_text(
            f"from . import m{nxt}\n"
            "\n"
            "\n"
            f"def step{i}(text, n):\n"
            "    if n <= 0:\n"
            "        return text\n"
            f"    return m{nxt}.step{nxt}(text + ' ', n - 1)\n"
        )
    (pkg / "rec.py").write_text(
        "def grow(text, n):\n"
        "    return text if n == 0 else grow(text + text, n - 1)\n"
        "\n"
        "\n"
        "def ping(text, n):\n"
        "    return text if n == 0 else pong(text.upper(), n - 1)\n"
        "\n"
        "\n"
        "def pong(text, n):\n"
        "    return text if n == 0 else ping(text.lower(), n - 1)\n"
    )
    (root / "entry.py").write_text(
        "from ring import step0\n"
        "from ring.rec import grow, ping\n"
        "\n"
        "\n"
        "def review(message, judge):\n"
        "    a = judge.grade(step0(message.reasoning_content, 10))\n"
        "    b = judge.grade(step0(message.content, 10))\n"
        "    c = judge.grade(grow(message.reasoning_content, 3))\n"
        "    d = judge.grade(ping(message.reasoning_content, 5))\n"
        "    e = judge.grade(ping(message.content, 5))\n"
        "    return a, b, c, d, e\n"
    )


def test_termination_and_stable_output_on_recursive_and_cyclic_code(tmp_path: Path) -> None:
    _ring_project(tmp_path)
    runs = []
    for _ in range(2):
        started = time.perf_counter()
        result = check_paths(Options(paths=(str(tmp_path),)))
        assert time.perf_counter() - started < 10.0, "analysis of a small cyclic project is slow"
        runs.append(result)
    first, second = runs
    assert first.file_errors == ()
    assert project_triples(first, tmp_path) == {
        ("entry.py", 6, "LC101"), ("entry.py", 8, "LC101"), ("entry.py", 9, "LC101")}
    assert _fingerprint(first) == _fingerprint(second)
    assert JsonReporter().render(first) == JsonReporter().render(second)


def test_recursive_helpers_project_is_stable_and_fast() -> None:
    root = _dir("recursive_helpers")
    runs = []
    for _ in range(2):
        started = time.perf_counter()
        runs.append(check_paths(Options(paths=(str(root),))))
        assert time.perf_counter() - started < 10.0
    assert _fingerprint(runs[0]) == _fingerprint(runs[1])
    assert JsonReporter().render(runs[0]) == JsonReporter().render(runs[1])


# --- the suite's shape ---------------------------------------------------------------------


def test_every_project_directory_is_declared() -> None:
    dirs = {p.name for p in PROJECTS_DIR.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert dirs == set(PROJECTS)
    assert len(PROJECTS) >= 8


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_project_shape(name: str) -> None:
    """Its own root; packages with ``__init__.py``; leaking, clean and sanitized variants;
    every file analyzed; a witness path across at least two files; consistent markers."""
    root = _dir(name)
    assert (root / "pyproject.toml").is_file()
    files = project_files(root)
    assert any(p.name == "__init__.py" for p in files), "no package"
    assert len(files) >= 3
    exp = _expectations(name)
    assert exp.expected, "no leaking variant"
    quiet = {(p, ln, _QUIET.search(c).group(1)) for p, ln, c in exp.comments if _QUIET.search(c)}
    assert {kind for _, _, kind in quiet} == {"clean", "sanitized"}, "clean and sanitized variants"
    marked = {(p, ln) for p, ln, _ in exp.expected | exp.misses}
    assert not {(p, ln) for p, ln, _ in quiet} & marked, "a quiet line also expects a finding"
    assert exp.witnesses, "no witness path"
    for witness in exp.witnesses:
        assert witness.hops[-1] in marked, f"{witness.name}: the last hop is not an expected sink"
    assert any(len({p for p, _ in w.hops}) >= 2 for w in exp.witnesses), "no cross-file witness"
    result = _result(name)
    analyzed = {project_relative(result, root, f) for f in result.files}
    assert analyzed == {p.relative_to(root).as_posix() for p in files}


def test_witness_matching_is_strict() -> None:
    """The hop matcher itself: wrong source, wrong sink, missing or out-of-order hops fail."""
    w = Witness("A", (("a.py", 3), ("b.py", 10), ("c.py", 20), ("d.py", 5)),
                ((3, 3), (8, 12), (18, 22), (5, 5)))
    good = [("a.py", 3), ("a.py", 4), ("b.py", 8), ("b.py", 12), ("c.py", 21), ("d.py", 5)]
    assert witness_matches(w, good)
    assert not witness_matches(w, [("a.py", 4), *good[1:]])
    assert not witness_matches(w, [*good[:-1], ("d.py", 6)])
    assert not witness_matches(w, [("a.py", 3), ("c.py", 21), ("b.py", 9), ("d.py", 5)])
    assert not witness_matches(w, [("a.py", 3), ("b.py", 13), ("c.py", 21), ("d.py", 5)])
    assert not witness_matches(w, [("a.py", 3), ("b.py", 9), ("d.py", 5)])


def _fake(path: str, line: int, rule: str) -> Finding:
    span = Span(path, line, 1, line, 10)
    return Finding(
        rule_id=rule, rule_name="x", level="error", kind="cot", kinds=("cot",), message="m",
        message_template="m", message_args=(), sink=span, sink_description="s", source=span,
        source_description="s", path=(Step(span, "sink", "sink"),), fingerprint="f",
    )


def test_compare_project_catches_wrong_expectations(tmp_path: Path) -> None:
    """The project comparison itself: a wrong file, line or rule, an extra or a missing
    finding, and a file error all fail; a known miss neither fails nor passes silently."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\ny = judge(t)  # expect: LC101\n")
    (tmp_path / "pkg" / "b.py").write_text("z = judge(u)  # expect-miss: LC102\n")
    exp = parse_project(tmp_path)
    assert exp.expected == {("pkg/a.py", 2, "LC101")}
    assert exp.misses == {("pkg/b.py", 1, "LC102")}

    def run(*findings: Finding, errors: tuple[FileError, ...] = ()) -> CheckResult:
        return CheckResult(root=str(tmp_path), files=("pkg/a.py", "pkg/b.py"),
                           findings=findings, file_errors=errors)

    right = compare_project(run(_fake("pkg/a.py", 2, "LC101")), tmp_path, exp)
    assert right.ok and right.pending_misses == exp.misses and not right.caught_misses
    for wrong in (_fake("pkg/b.py", 2, "LC101"), _fake("pkg/a.py", 1, "LC101"),
                  _fake("pkg/a.py", 2, "LC102")):
        cmp = compare_project(run(wrong), tmp_path, exp)
        assert not cmp.ok and cmp.missing == exp.expected
        assert "missing    LC101  pkg/a.py:2: y = judge(t)" in cmp.render(tmp_path)
    extra = compare_project(run(_fake("pkg/a.py", 2, "LC101"), _fake("pkg/a.py", 1, "LC102")),
                            tmp_path, exp)
    assert not extra.ok and extra.unexpected == {("pkg/a.py", 1, "LC102")}
    caught = compare_project(run(_fake("pkg/a.py", 2, "LC101"), _fake("pkg/b.py", 1, "LC102")),
                             tmp_path, exp)
    assert caught.ok and caught.caught_misses == exp.misses
    broken = compare_project(run(_fake("pkg/a.py", 2, "LC101"),
                                 errors=(FileError("pkg/b.py", 1, 1, "syntax", "bad"),)),
                             tmp_path, exp)
    assert not broken.ok


def test_path_markers_are_parsed_strictly() -> None:
    text = "x = judge(a)  # expect: LC101  # path: A2, B3\ny = 1  # path: A1\n"
    assert parse_path_markers(text) == {"A": {2: 1, 1: 2}, "B": {3: 1}}
    for bad in ("x  # path: a1\n", "x  # path: A\n", "x  # path: A1 B2\n",
                "x  # path: A1\ny  # path: A1\n"):
        with pytest.raises(MarkerError):
            parse_path_markers(bad)
