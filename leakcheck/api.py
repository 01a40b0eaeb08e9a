"""The library entry points. Orchestrates discover -> parse -> build -> solve -> report data.

This is the one place a per-file failure becomes a FileError: whatever goes wrong inside one
file (unreadable, unparsable, an internal error) is reported and the run goes on.
"""

from __future__ import annotations

import sys
import threading
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
from leakcheck.suppress import apply_suppressions, inline_suppressions
from leakcheck.types import CheckResult, FileError, Finding

# Deeply nested code recurses deeply in libcst and in the builder: analysis runs on a thread
# with a large stack (virtual memory, touched only as needed) so a hostile file becomes a
# FileError instead of a C stack overflow.
RECURSION_LIMIT = 50000
STACK_BYTES = 512 * 1024 * 1024


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
        findings, error = self.analyze_parsed(path, parsed)
        return apply_suppressions(findings, inline_suppressions(path, data)), error

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


def _on_big_stack(fn, *args):
    result: list = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn(*args))
        except BaseException as exc:  # re-raised on the caller's thread
            failure.append(exc)

    old_limit = sys.getrecursionlimit()
    old_size = threading.stack_size()
    sys.setrecursionlimit(max(old_limit, RECURSION_LIMIT))
    try:
        threading.stack_size(STACK_BYTES)
        worker = threading.Thread(target=run, name="leakcheck")
        worker.start()
        worker.join()
    finally:
        threading.stack_size(old_size)
        sys.setrecursionlimit(old_limit)
    if failure:
        raise failure[0]
    return result[0]


def check_paths(options: Options) -> CheckResult:
    return _on_big_stack(_check_paths, options)


def _check_paths(options: Options) -> CheckResult:
    started = time.perf_counter()
    rules = load_ruleset(options.extra_rule_files)
    analyzer = Analyzer(rules)
    found = discover(options.paths, exclude=options.exclude)
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
        got, error = analyzer.analyze(rel, data)
        findings.extend(got)
        if error is not None:
            errors.append(error)
        else:
            files.append(rel)
    return CheckResult(
        root=found.root.as_posix(), files=tuple(files), findings=_sorted(findings),
        file_errors=tuple(sorted(errors, key=lambda e: (e.path, e.line, e.column))),
        rules=rules.rules, elapsed_seconds=time.perf_counter() - started,
    )


def check_source(source: str, path: str = "snippet.py",
                 extra_rule_files: Sequence[str] = ()) -> CheckResult:
    return _on_big_stack(_check_source, source, path, extra_rule_files)


def _check_source(source: str, path: str, extra_rule_files: Sequence[str]) -> CheckResult:
    started = time.perf_counter()
    rules = load_ruleset(extra_rule_files)
    findings, error = Analyzer(rules).analyze(path, source.encode("utf-8"))
    return CheckResult(root=Path.cwd().as_posix(), files=() if error else (path,),
                       findings=_sorted(findings),
                       file_errors=(error,) if error else (), rules=rules.rules,
                       elapsed_seconds=time.perf_counter() - started)
