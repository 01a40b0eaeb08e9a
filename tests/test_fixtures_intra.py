"""Fixture suite for the single-function engine (SPEC §1, §2 and the intra-function part of §3).

Every file under ``tests/fixtures/intra/<area>/`` is a small piece of training code whose sink
lines carry ``# expect: LC101`` / ``# expect: LC102`` markers (``leakcheck.testing``). The engine
must report exactly those ``(line, rule)`` pairs for the file, nothing more and nothing less.
``# expect-miss:`` markers are known misses: each one is its own strict xfail, so the suite fails
loudly the day the engine catches it (turn the marker into ``expect`` then).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from leakcheck.api import Options, check_paths
from leakcheck.testing import (
    Comparison,
    Expectations,
    MarkerError,
    check_fixture,
    compare,
    compare_result,
    parse_expectations,
)
from leakcheck.types import CheckResult, FileError, Finding, Span, Step

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "intra"

# Subfolder -> the SPEC area it covers. Every area must hold at least one leaking fixture and
# one clean-only fixture (a file without any marker).
AREAS = {
    "sources_name": "§2 Sources: cot by name (and its exclusions)",
    "sources_call": "§2 Sources: cot by call, reasoning parsers",
    "sources_tags": "§2 Sources: cot by tags",
    "sources_registration": "§2 Sources: completion by registration",
    "sources_decode": "§2 Sources: completion by decoding",
    "sinks_call": "§2 Sinks: grader calls, process reward models",
    "sinks_registered": "§2 Sinks: registered graders",
    "sinks_store": "§2 Sinks: reward stores",
    "sanitizers": "§2 Sanitizers",
    "flow": "§3 flow sensitivity, branches, loops",
    "expressions": "§3 expressions",
    "builtins": "§3 restructuring builtins, element-level taint",
    "containers": "§3 containers, field sensitivity",
    "implicit": "§3 implicit flows",
    "rules": "§1 rules LC101/LC102 and their precedence",
}

ALL_FIXTURES = sorted(FIXTURES.rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(FIXTURES).as_posix()


@functools.cache
def _expectations(path: Path) -> Expectations:
    return parse_expectations(path.read_text(encoding="utf-8"))


@functools.cache
def _checked(path: Path) -> tuple[Comparison, str]:
    return check_fixture(path)


@functools.cache
def _result(path: Path) -> CheckResult:
    # single-function fixtures are self-contained: no project around them
    return check_paths(Options(paths=(str(path),), resolve_project=False))


def _is_clean_only(path: Path) -> bool:
    exp = _expectations(path)
    return not exp.expected and not exp.misses


CLEAN_FIXTURES = [p for p in ALL_FIXTURES if _is_clean_only(p)]
KNOWN_MISSES = [
    pytest.param(path, line, rule, id=f"{_rel(path)}:{line}:{rule}",
                 marks=pytest.mark.xfail(strict=True, reason="known engine miss (expect-miss)"))
    for path in ALL_FIXTURES
    for line, rule in sorted(_expectations(path).misses)
]


# --- the fixtures themselves ---------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=_rel)
def test_fixture(path: Path) -> None:
    comparison, text = _checked(path)
    assert comparison.ok, (
        f"{_rel(path)}: findings differ from the markers\n" + comparison.render(text, _rel(path))
    )


@pytest.mark.parametrize(("path", "line", "rule"), KNOWN_MISSES)
def test_known_miss(path: Path, line: int, rule: str) -> None:
    comparison, text = _checked(path)
    assert (line, rule) in comparison.caught_misses, (
        f"{_rel(path)}:{line}: {rule} still missed\n" + comparison.render(text, _rel(path))
    )


def test_clean_fixtures_together() -> None:
    """All clean-only fixtures in one run: no findings, no file errors, every file analyzed."""
    assert CLEAN_FIXTURES
    result = check_paths(Options(paths=tuple(str(p) for p in CLEAN_FIXTURES),
                                 resolve_project=False))
    assert result.file_errors == ()
    reported = sorted(f"{f.sink.path}:{f.sink.start_line}: {f.rule_id}" for f in result.findings)
    assert reported == []
    analyzed = {(Path(result.root) / f).resolve() for f in result.files}
    assert analyzed == {p.resolve() for p in CLEAN_FIXTURES}


def test_leakcheck_source_tree_is_clean() -> None:
    result = check_paths(Options(paths=(str(REPO / "leakcheck"),)))
    assert result.file_errors == ()
    reported = sorted(f"{f.sink.path}:{f.sink.start_line}: {f.rule_id}" for f in result.findings)
    assert reported == []


# --- the suite's shape ---------------------------------------------------------------------


def test_every_area_has_leaking_and_clean_fixtures() -> None:
    by_area: dict[str, list[Path]] = {}
    for path in ALL_FIXTURES:
        parts = path.relative_to(FIXTURES).parts
        assert len(parts) == 2, f"{_rel(path)}: fixtures live in exactly one area subfolder"
        by_area.setdefault(parts[0], []).append(path)
    assert set(by_area) == set(AREAS), "every area folder is declared in AREAS and vice versa"
    for area, paths in sorted(by_area.items()):
        leaking = [p for p in paths if _expectations(p).expected]
        clean = [p for p in paths if _is_clean_only(p)]
        assert leaking, f"{area} ({AREAS[area]}): no leaking fixture"
        assert clean, f"{area} ({AREAS[area]}): no clean-only fixture"
    assert len(ALL_FIXTURES) >= 60


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=_rel)
def test_fixture_names_its_spec_bullet(path: Path) -> None:
    import ast

    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert doc and doc.startswith("SPEC §"), f"{_rel(path)}: docstring must say which SPEC bullet"


# --- the harness itself: a test that cannot fail is a defect -------------------------------


def test_parse_expectations_reads_comment_markers_only() -> None:
    text = (
        '"""Docstrings may quote markers: # expect: LC102"""\n'  # 1: inside a string, ignored
        "x = judge(a)  # expect: LC101\n"  # 2
        "y = judge(b)  # expect: LC101, LC102\n"  # 3
        "z = judge(c)  # expect-miss: LC101\n"  # 4
        "s = '# expect: LC101'\n"  # 5: inside a string, ignored
        "w = 1  # the expected value, not a marker\n"  # 6
    )
    exp = parse_expectations(text)
    assert exp.expected == {(2, "LC101"), (3, "LC101"), (3, "LC102")}
    assert exp.misses == {(4, "LC101")}
    assert exp.lines == {2, 3, 4}


@pytest.mark.parametrize(
    "comment",
    ["# expect LC101", "# expect: lc101", "# expect:", "# expect: LC10", "# expect-miss LC102",
     "# expect: LC101 LC102", "# expect: LC101, "],
)
def test_parse_expectations_rejects_malformed_markers(comment: str) -> None:
    with pytest.raises(MarkerError):
        parse_expectations(f"judge(x)  {comment}\n")


def test_parse_expectations_rejects_expect_and_miss_on_one_pair() -> None:
    with pytest.raises(MarkerError):
        parse_expectations("judge(x)  # expect: LC101  # expect-miss: LC101\n")


def _finding(path: str, line: int, rule: str) -> Finding:
    span = Span(path, line, 1, line, 10)
    return Finding(
        rule_id=rule, rule_name="x", level="error", kind="cot", kinds=("cot",), message="m",
        message_template="m", message_args=(), sink=span, sink_description="s", source=span,
        source_description="s", path=(Step(span, "sink", "sink"),), fingerprint="f",
    )


def test_compare_catches_wrong_expectations(tmp_path: Path) -> None:
    file = tmp_path / "fixture.py"
    source = "a = 1\nreturn judge(trace)  # expect: LC101\nrewards.append(n)\n"
    file.write_text(source)
    exp = parse_expectations(source)
    right = CheckResult(root=str(tmp_path), files=("fixture.py",),
                        findings=(_finding("fixture.py", 2, "LC101"),), file_errors=())
    assert compare_result(right, file, exp).ok

    wrong_rule = CheckResult(root=str(tmp_path), files=("fixture.py",),
                             findings=(_finding("fixture.py", 2, "LC102"),), file_errors=())
    cmp_rule = compare_result(wrong_rule, file, exp)
    assert not cmp_rule.ok
    assert cmp_rule.missing == {(2, "LC101")} and cmp_rule.unexpected == {(2, "LC102")}

    extra = CheckResult(root=str(tmp_path), files=("fixture.py",),
                        findings=(_finding("fixture.py", 2, "LC101"),
                                  _finding("fixture.py", 3, "LC102")), file_errors=())
    cmp_extra = compare_result(extra, file, exp)
    assert not cmp_extra.ok and cmp_extra.unexpected == {(3, "LC102")}
    rendered = cmp_extra.render(source, "fixture.py")
    assert "unexpected LC102" in rendered and "fixture.py:3: rewards.append(n)" in rendered

    nothing = CheckResult(root=str(tmp_path), files=("fixture.py",), findings=(), file_errors=())
    cmp_nothing = compare_result(nothing, file, exp)
    assert not cmp_nothing.ok and cmp_nothing.missing == {(2, "LC101")}
    assert "missing    LC101  fixture.py:2: return judge(trace)" in cmp_nothing.render(source,
                                                                                     "fixture.py")

    broken = CheckResult(root=str(tmp_path), files=("fixture.py",),
                         findings=(_finding("fixture.py", 2, "LC101"),),
                         file_errors=(FileError("fixture.py", 1, 1, "syntax", "bad"),))
    assert not compare_result(broken, file, exp).ok

    elsewhere = CheckResult(root=str(tmp_path), files=("fixture.py", "other.py"),
                            findings=(_finding("fixture.py", 2, "LC101"),
                                      _finding("other.py", 3, "LC102")), file_errors=())
    assert compare_result(elsewhere, file, exp).ok  # findings of other files are not this one's


def test_compare_separates_known_misses() -> None:
    exp = Expectations(expected=frozenset({(2, "LC101")}), misses=frozenset({(5, "LC101")}))
    pending = compare({(2, "LC101")}, exp)
    assert pending.ok and pending.pending_misses == {(5, "LC101")} and not pending.caught_misses
    caught = compare({(2, "LC101"), (5, "LC101")}, exp)
    assert caught.ok and caught.caught_misses == {(5, "LC101")}
    wrong = compare({(2, "LC101"), (5, "LC102")}, exp)
    assert not wrong.ok and wrong.unexpected == {(5, "LC102")}


def test_harness_catches_wrong_expectation_with_the_real_engine() -> None:
    """Shifting a real fixture's markers by one line, or flipping their rules, must fail."""
    path = FIXTURES / "rules" / "precedence.py"
    exp = _expectations(path)
    assert exp.expected
    result = _result(path)
    shifted = Expectations(frozenset((line + 1, rule) for line, rule in exp.expected), exp.misses)
    assert not compare_result(result, path, shifted).ok
    flip = {"LC101": "LC102", "LC102": "LC101"}
    flipped = Expectations(frozenset((line, flip[rule]) for line, rule in exp.expected),
                           exp.misses)
    assert not compare_result(result, path, flipped).ok
    emptied = Expectations(frozenset(), frozenset())
    cmp_empty = compare_result(result, path, emptied)
    assert cmp_empty.ok == (not result.active_findings)
