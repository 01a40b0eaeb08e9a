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
    result = check_paths(Options(paths=(str(file),)))
    return compare_result(result, file, expectations), text
