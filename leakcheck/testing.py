"""The fixture harness: inline expectation markers, semgrep/mypy style.

A fixture is an ordinary Python file. On the line where a finding is expected (the sink's
first line) it carries a comment marker::

    return judge(msg.reasoning_content)  # expect: LC101
    rewards.append(len(text))  # expect: LC102
    return judge(head)  # expect-miss: LC101

``expect`` lists the rule ids the engine must report on that line; ``expect-miss`` lists known
misses (a finding a precise engine should produce but this one does not yet). Every line without
a marker must have no finding: the comparison is on the exact set of ``(line, rule_id)`` pairs.
Markers are read from comments only (``tokenize``), so a docstring may quote them. A comment
that looks like a marker but does not parse is an error, never silently ignored.

``parse_expectations(text)`` reads the markers, ``compare(actual, expectations)`` diffs them,
``check_fixture(path)`` runs the engine on one file and returns the comparison, and
``Comparison.render(...)`` prints a readable diff that quotes each offending line.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from leakcheck.types import CheckResult, Finding

Pair = tuple[int, str]

_RULE = r"[A-Z]{2}\d{3}"
_MARKER = re.compile(
    rf"\bexpect(?P<miss>-miss)?\s*:\s*(?P<rules>{_RULE}(?:\s*,\s*{_RULE})*)\s*(?=$|#)"
)
# Anything that starts like a marker; each occurrence must be a well-formed _MARKER.
_LOOKS_LIKE_MARKER = re.compile(r"\bexpect(?:-miss)?(?:\s*:|\s+[A-Z]{2}\d)")


class MarkerError(ValueError):
    """A comment that looks like an expectation marker but cannot be parsed."""


@dataclass(frozen=True, slots=True)
class Expectations:
    """What a fixture says the engine must report."""

    expected: frozenset[Pair]
    misses: frozenset[Pair]

    @property
    def lines(self) -> frozenset[int]:
        return frozenset(line for line, _ in self.expected | self.misses)


def _comments(text: str) -> Iterable[tuple[int, str]]:
    reader = io.StringIO(text).readline
    for tok in tokenize.generate_tokens(reader):
        if tok.type == tokenize.COMMENT:
            yield tok.start[0], tok.string


def parse_expectations(text: str) -> Expectations:
    """Read ``# expect: RULE[, RULE]`` and ``# expect-miss: RULE`` markers from comments."""
    expected: set[Pair] = set()
    misses: set[Pair] = set()
    for line, comment in _comments(text):
        starts = [m.start() for m in _LOOKS_LIKE_MARKER.finditer(comment)]
        if not starts:
            continue
        for start in starts:
            match = _MARKER.match(comment, start)
            if match is None:
                raise MarkerError(f"line {line}: malformed expectation marker: {comment!r}")
            target = misses if match.group("miss") else expected
            for rule in re.split(r"\s*,\s*", match.group("rules")):
                target.add((line, rule))
    both = expected & misses
    if both:
        line, rule = min(both)
        raise MarkerError(f"line {line}: {rule} is both expected and an expected miss")
    return Expectations(frozenset(expected), frozenset(misses))


def _same_file(root: str, finding_path: str, file: Path) -> bool:
    candidate = Path(finding_path)
    if not candidate.is_absolute():
        candidate = Path(root) / candidate
    try:
        return candidate.resolve() == file.resolve()
    except OSError:  # pragma: no cover - defensive
        return False


def findings_for(result: CheckResult, file: Path, *, include_suppressed: bool = False,
                 ) -> tuple[Finding, ...]:
    """The findings of ``result`` whose sink is in ``file``."""
    findings = result.findings if include_suppressed else result.active_findings
    return tuple(f for f in findings if _same_file(result.root, f.sink.path, file))


def actual_pairs(findings: Iterable[Finding]) -> frozenset[Pair]:
    return frozenset((f.sink.start_line, f.rule_id) for f in findings)


@dataclass(frozen=True, slots=True)
class Comparison:
    """The difference between what a fixture expects and what the engine reported."""

    missing: frozenset[Pair]  # expected, not reported
    unexpected: frozenset[Pair]  # reported, not expected (and not a known miss)
    caught_misses: frozenset[Pair]  # known misses the engine now reports
    pending_misses: frozenset[Pair]  # known misses still not reported
    errors: tuple[str, ...] = ()  # file errors the engine reported for the fixture

    @property
    def ok(self) -> bool:
        """True when the fixture's ``expect`` markers match exactly (misses aside)."""
        return not (self.missing or self.unexpected or self.errors)

    def render(self, source: str = "", path: str = "<fixture>") -> str:
        """A readable diff: one line per discrepancy, quoting the source line."""
        lines = source.splitlines()

        def quote(line: int) -> str:
            text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
            return f"{path}:{line}: {text}"

        out: list[str] = []
        for err in self.errors:
            out.append(f"  file error     {err}")
        for line, rule in sorted(self.missing):
            out.append(f"  missing    {rule}  {quote(line)}")
        for line, rule in sorted(self.unexpected):
            out.append(f"  unexpected {rule}  {quote(line)}")
        for line, rule in sorted(self.caught_misses):
            out.append(f"  now caught {rule}  {quote(line)}  (turn expect-miss into expect)")
        for line, rule in sorted(self.pending_misses):
            out.append(f"  known miss {rule}  {quote(line)}")
        return "\n".join(out) if out else "  (no differences)"


def compare(actual: Iterable[Pair], expectations: Expectations,
            errors: Iterable[str] = ()) -> Comparison:
    got = frozenset(actual)
    return Comparison(
        missing=expectations.expected - got,
        unexpected=got - expectations.expected - expectations.misses,
        caught_misses=got & expectations.misses,
        pending_misses=expectations.misses - got,
        errors=tuple(errors),
    )


def compare_result(result: CheckResult, file: Path, expectations: Expectations) -> Comparison:
    """Compare the part of ``result`` that concerns ``file`` with its expectations."""
    errors = [f"{e.kind} at {e.line}:{e.column}: {e.message}"
              for e in result.file_errors if _same_file(result.root, e.path, file)]
    return compare(actual_pairs(findings_for(result, file)), expectations, errors)


def check_fixture(file: Path) -> tuple[Comparison, str]:
    """Run the engine on one fixture file; return the comparison and the file's text."""
    from leakcheck.api import Options, check_paths

    text = file.read_text(encoding="utf-8")
    expectations = parse_expectations(text)
    result = check_paths(Options(paths=(str(file),), resolve_project=False))
    return compare_result(result, file, expectations), text


# --- multi-file fixture projects -------------------------------------------------------------
#
# A fixture project is a directory with its own ``pyproject.toml`` (so it is its own project
# root) holding ordinary Python packages. Every file carries the same ``expect`` /
# ``expect-miss`` markers as a single-file fixture; the comparison is on the exact set of
# ``(path relative to the project root, line, rule_id)`` over all files. Witness paths are
# marked with ``# path: A1`` comments: the letters name a witness, the number orders its hops
# (several per line: ``# path: A1, B3``). The first hop is the finding's source line, the last
# hop its sink line; hops in between name the function the path must pass through (any step
# inside the function that contains the marked line counts, since which assignment or call
# step an engine reports inside a function may vary).

Triple = tuple[str, int, str]  # (path relative to the project root, line, rule_id)
Hop = tuple[str, int]  # (path relative to the project root, line)

_PATH_MARKER = re.compile(r"\bpath\s*:\s*(?P<hops>[A-Z]+\d+(?:\s*,\s*[A-Z]+\d+)*)\s*(?=$|#)")
_LOOKS_LIKE_PATH_MARKER = re.compile(r"#\s*(?=path\s*:)")
_HOP = re.compile(r"(?P<name>[A-Z]+)(?P<order>\d+)")
_PROJECT_EXCLUDES = frozenset({"__pycache__", ".venv", "build", ".git"})


def parse_path_markers(text: str) -> dict[str, dict[int, int]]:
    """``# path: A1, B2`` markers: witness name -> {hop order: line}."""
    found: dict[str, dict[int, int]] = {}
    for line, comment in _comments(text):
        for start in [m.end() for m in _LOOKS_LIKE_PATH_MARKER.finditer(comment)]:
            match = _PATH_MARKER.match(comment, start)
            if match is None:
                raise MarkerError(f"line {line}: malformed path marker: {comment!r}")
            for hop in re.split(r"\s*,\s*", match.group("hops")):
                parts = _HOP.fullmatch(hop)
                assert parts is not None  # guaranteed by _PATH_MARKER
                orders = found.setdefault(parts.group("name"), {})
                order = int(parts.group("order"))
                if order in orders:
                    raise MarkerError(f"line {line}: hop {hop} is marked twice")
                orders[order] = line
    return found


def project_files(root: Path) -> list[Path]:
    """The ``.py`` files of a fixture project, sorted by relative path."""
    return sorted((p for p in root.rglob("*.py")
                   if not _PROJECT_EXCLUDES.intersection(p.relative_to(root).parts)),
                  key=lambda p: p.relative_to(root).as_posix())


@dataclass(frozen=True, slots=True)
class Witness:
    """A witness path a fixture project marks: its hops, source first and sink last."""

    name: str
    hops: tuple[Hop, ...]
    scopes: tuple[tuple[int, int], ...]  # per hop: the line range a step may fall in


@dataclass(frozen=True, slots=True)
class ProjectExpectations:
    expected: frozenset[Triple]
    misses: frozenset[Triple]
    witnesses: tuple[Witness, ...]
    comments: tuple[tuple[str, int, str], ...]  # (path, line, comment) of every comment

    def for_file(self, rel: str) -> Expectations:
        return Expectations(frozenset((ln, r) for p, ln, r in self.expected if p == rel),
                            frozenset((ln, r) for p, ln, r in self.misses if p == rel))


def _function_scopes(text: str) -> list[tuple[int, int]]:
    import ast

    scopes = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            scopes.append((node.lineno, node.end_lineno or node.lineno))
    return scopes


def _scope_of(line: int, scopes: list[tuple[int, int]]) -> tuple[int, int]:
    inside = [s for s in scopes if s[0] <= line <= s[1]]
    if not inside:
        return (line, line)
    return max(inside, key=lambda s: s[0])  # the innermost function holding the line


def parse_project(root: Path) -> ProjectExpectations:
    """Read the markers of every file of a fixture project."""
    expected: set[Triple] = set()
    misses: set[Triple] = set()
    hops: dict[str, dict[int, tuple[str, int, tuple[int, int]]]] = {}
    comments: list[tuple[str, int, str]] = []
    for file in project_files(root):
        rel = file.relative_to(root).as_posix()
        text = file.read_text(encoding="utf-8")
        try:
            exp = parse_expectations(text)
            paths = parse_path_markers(text)
        except MarkerError as exc:
            raise MarkerError(f"{rel}: {exc}") from None
        expected.update((rel, line, rule) for line, rule in exp.expected)
        misses.update((rel, line, rule) for line, rule in exp.misses)
        comments.extend((rel, line, comment) for line, comment in _comments(text))
        scopes = _function_scopes(text) if paths else []
        for name, orders in paths.items():
            mine = hops.setdefault(name, {})
            for order, line in orders.items():
                if order in mine:
                    raise MarkerError(f"{rel}:{line}: hop {name}{order} is marked twice")
                mine[order] = (rel, line, _scope_of(line, scopes))
    witnesses = []
    for name, orders in sorted(hops.items()):
        ordered = [orders[k] for k in sorted(orders)]
        if len(ordered) < 2:
            raise MarkerError(f"witness {name} needs at least a source and a sink hop")
        scopes_list = [(line, line) if i in (0, len(ordered) - 1) else scope
                       for i, (_, line, scope) in enumerate(ordered)]
        witnesses.append(Witness(name, tuple((p, ln) for p, ln, _ in ordered),
                                 tuple(scopes_list)))
    return ProjectExpectations(frozenset(expected), frozenset(misses), tuple(witnesses),
                               tuple(comments))


def project_relative(result: CheckResult, root: Path, path: str) -> str:
    """A result path (relative to ``result.root``) made relative to the fixture project."""
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = Path(result.root) / candidate
    try:
        return candidate.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return candidate.as_posix()


def project_triples(result: CheckResult, root: Path) -> frozenset[Triple]:
    return frozenset((project_relative(result, root, f.sink.path), f.sink.start_line, f.rule_id)
                     for f in result.active_findings)


@dataclass(frozen=True, slots=True)
class ProjectComparison:
    missing: frozenset[Triple]
    unexpected: frozenset[Triple]
    caught_misses: frozenset[Triple]
    pending_misses: frozenset[Triple]
    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.errors)

    def render(self, root: Path) -> str:
        cache: dict[str, list[str]] = {}

        def quote(rel: str, line: int) -> str:
            if rel not in cache:
                try:
                    cache[rel] = (root / rel).read_text(encoding="utf-8").splitlines()
                except OSError:
                    cache[rel] = []
            lines = cache[rel]
            text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
            return f"{rel}:{line}: {text}"

        out = [f"  file error     {err}" for err in self.errors]
        out += [f"  missing    {r}  {quote(p, ln)}" for p, ln, r in sorted(self.missing)]
        out += [f"  unexpected {r}  {quote(p, ln)}" for p, ln, r in sorted(self.unexpected)]
        out += [f"  now caught {r}  {quote(p, ln)}  (turn expect-miss into expect)"
                for p, ln, r in sorted(self.caught_misses)]
        out += [f"  known miss {r}  {quote(p, ln)}" for p, ln, r in sorted(self.pending_misses)]
        return "\n".join(out) if out else "  (no differences)"


def compare_project(result: CheckResult, root: Path,
                    expectations: ProjectExpectations) -> ProjectComparison:
    """Compare a run over a fixture project with the markers of all its files."""
    got = project_triples(result, root)
    errors = tuple(f"{project_relative(result, root, e.path)}:{e.line}:{e.column}: "
                   f"{e.kind}: {e.message}" for e in result.file_errors)
    return ProjectComparison(
        missing=expectations.expected - got,
        unexpected=got - expectations.expected - expectations.misses,
        caught_misses=got & expectations.misses,
        pending_misses=expectations.misses - got,
        errors=errors,
    )


def step_hops(result: CheckResult, root: Path, finding: Finding) -> list[Hop]:
    return [(project_relative(result, root, s.span.path), s.span.start_line)
            for s in finding.path]


def witness_matches(witness: Witness, steps: list[Hop]) -> bool:
    """Whether ``steps`` starts at the witness's source, ends at its sink and passes through
    its intermediate hops in order."""
    if len(steps) < 2 or steps[0] != witness.hops[0] or steps[-1] != witness.hops[-1]:
        return False
    at = 1
    for (rel, _), (lo, hi) in zip(witness.hops[1:-1], witness.scopes[1:-1], strict=True):
        while at < len(steps) - 1 and not (steps[at][0] == rel and lo <= steps[at][1] <= hi):
            at += 1
        if at >= len(steps) - 1:
            return False
        at += 1
    return True
