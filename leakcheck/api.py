"""The library entry points. Orchestrates discover -> parse -> build -> solve -> report data.

This is the one place a per-file failure becomes a FileError: whatever goes wrong inside one
file (unreadable, unparsable, an internal error) is reported and the run goes on.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from leakcheck.discover import discover, relative
from leakcheck.graph.module import build_module
from leakcheck.graph.regex import RegexReader
from leakcheck.parse import Parsed, parse_source
from leakcheck.ruleset import RuleSet, load_ruleset
from leakcheck.ruleset.match import Vocabulary
from leakcheck.solve import number_duplicates, solve_module
from leakcheck.types import CheckResult, FileError, Finding

RECURSION_LIMIT = 20000


@dataclass(frozen=True, slots=True)
class Options:
    paths: tuple[str, ...] = (".",)
    extra_rule_files: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


class Analyzer:
    """Rules loaded once; analyze many sources."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self.vocab = Vocabulary(rules)
        self.regex = RegexReader(self.vocab)

    def analyze(self, path: str, data: bytes) -> tuple[list[Finding], FileError | None]:
        parsed = parse_source(path, data)
        if isinstance(parsed, FileError):
            return [], parsed
        return self.analyze_parsed(path, parsed)

    def analyze_parsed(self, path: str, parsed: Parsed) -> tuple[list[Finding],
                                                                  FileError | None]:
        try:
            ctx = build_module(parsed.module, path, parsed.positions, self.vocab, self.regex)
            return solve_module(ctx, self.rules), None
        except RecursionError:
            return [], FileError(path, 1, 1, "internal", "source is nested too deeply to analyze")
        except Exception as exc:  # an engine bug in one file must not end the run
            return [], FileError(path, 1, 1, "internal",
                                 f"internal error: {type(exc).__name__}: {exc}")


def _sorted(findings: list[Finding]) -> tuple[Finding, ...]:
    ordered = sorted(findings, key=lambda f: (f.sink.path, f.sink.start_line,
                                              f.sink.start_column, f.rule_id, f.fingerprint))
    return tuple(number_duplicates(ordered))


def check_paths(options: Options) -> CheckResult:
    started = time.perf_counter()
    rules = load_ruleset(options.extra_rule_files)
    analyzer = Analyzer(rules)
    found = discover(options.paths, exclude=options.exclude)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))
    findings: list[Finding] = []
    errors: list[FileError] = [FileError(p, 1, 1, "read", "no such file or directory")
                               for p in found.missing]
    files: list[str] = []
    for file in found.files:
        rel = relative(file, found.root)
        try:
            data = file.read_bytes()
        except IsADirectoryError:
            errors.append(FileError(rel, 1, 1, "read", "is a directory, not a Python file"))
            continue
        except OSError as exc:
            errors.append(FileError(rel, 1, 1, "read", f"cannot read: {exc.strerror or exc}"))
            continue
        files.append(rel)
        got, error = analyzer.analyze(rel, data)
        findings.extend(got)
        if error is not None:
            errors.append(error)
    return CheckResult(
        root=found.root.as_posix(), files=tuple(files), findings=_sorted(findings),
        file_errors=tuple(sorted(errors, key=lambda e: (e.path, e.line, e.column))),
        rules=rules.rules, elapsed_seconds=time.perf_counter() - started,
    )


def check_source(source: str, path: str = "snippet.py",
                 extra_rule_files: Sequence[str] = ()) -> CheckResult:
    started = time.perf_counter()
    rules = load_ruleset(extra_rule_files)
    findings, error = Analyzer(rules).analyze(path, source.encode("utf-8"))
    return CheckResult(root=Path.cwd().as_posix(), files=(path,), findings=_sorted(findings),
                       file_errors=(error,) if error else (), rules=rules.rules,
                       elapsed_seconds=time.perf_counter() - started)
