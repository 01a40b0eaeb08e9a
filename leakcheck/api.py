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
from pathlib import Path, PurePosixPath

from leakcheck.config import (
    Config,
    check_option_rule_ids,
    check_rule_ids,
    find_config,
    load_config,
)
from leakcheck.discover import discover, relative
from leakcheck.graph.module import build_module
from leakcheck.graph.regex import RegexReader
from leakcheck.graph.scan import ModuleScan, scan_module
from leakcheck.parse import Parsed, parse_source
from leakcheck.project.index import ProjectIndex
from leakcheck.project.link import Linker
from leakcheck.project.names import module_names
from leakcheck.ruleset import RuleSet, load_ruleset
from leakcheck.ruleset.load import with_vocabulary
from leakcheck.ruleset.match import Vocabulary
from leakcheck.solve import Solver, number_duplicates
from leakcheck.suppress import (
    UNUSED_SUPPRESSION_ID,
    RuleFilter,
    apply_suppressions,
    inline_suppressions,
    unused_suppressions,
)
from leakcheck.types import CheckResult, FileError, Finding, ProgressCallback

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
    # Given explicit files, calls are still resolved across the whole project root (as
    # pre-commit needs). False analyzes just the given paths, as if they were the project.
    resolve_project: bool = True
    config: str | None = None  # --config FILE; None: the nearest pyproject.toml with one
    use_config: bool = True  # False: ignore [tool.leakcheck] altogether
    select: tuple[str, ...] | None = None  # overrides the configuration's
    ignore: tuple[str, ...] | None = None
    # False: only the extra packs (`--rules`, config `rules`) replace the shipped ones;
    # None: the configuration's `builtin-rules` decides (default true)
    builtin_rules: bool | None = None


@dataclass(frozen=True, slots=True)
class ProjectOutcome:
    findings: list[Finding]
    errors: list[FileError]
    analyzed: list[str]


class Analyzer:
    """Rules loaded once; analyze a project (or one source) through every stage."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self.vocab = Vocabulary(rules)
        self.regex = RegexReader(self.vocab)

    def analyze(self, path: str, data: bytes) -> tuple[list[Finding], FileError | None]:
        outcome = self.analyze_project(Path.cwd(), [(path, data)])
        return outcome.findings, outcome.errors[0] if outcome.errors else None

    def analyze_project(self, root: Path, sources: list[tuple[str, bytes]],
                        report: set[str] | None = None,
                        progress: ProgressCallback | None = None) -> ProjectOutcome:
        errors: list[FileError] = []
        parsed: dict[str, Parsed] = {}
        for done, (rel, data) in enumerate(sources, 1):
            result = parse_source(rel, data)
            if progress:
                progress("parse", done, len(sources))
            if isinstance(result, FileError):
                errors.append(result)
            else:
                parsed[rel] = result
        index = ProjectIndex()
        names: dict[str, tuple[str, ModuleScan]] = {}
        taken: set[str] = set()
        for done, (rel, p) in enumerate(parsed.items(), 1):
            if progress:
                progress("index", done, len(parsed))
            primary, aliases = module_names(rel, root)
            if primary in taken:  # two scripts named alike: fall back to the full path
                primary = ".".join(PurePosixPath(rel).with_suffix("").parts)
            taken.add(primary)
            try:
                scan = scan_module(p.module, self.vocab, primary, rel.endswith("__init__.py"))
            except RecursionError:
                errors.append(FileError(rel, 1, 1, "internal", "source is nested too deeply"))
                continue
            index.add(primary, aliases, scan)
            names[rel] = (primary, scan)
        contexts = []
        analyzed: list[str] = []
        for done, (rel, (primary, scan)) in enumerate(names.items(), 1):
            if progress:
                progress("analyze", done, len(names))
            p = parsed[rel]
            try:
                contexts.append(build_module(p.module, rel, p.positions, self.vocab, self.regex,
                                             module_name=primary, scan=scan,
                                             link_in=index.link_in(primary)))
                analyzed.append(rel)
            except RecursionError:
                errors.append(FileError(rel, 1, 1, "internal",
                                        "source is nested too deeply to analyze"))
            except Exception as exc:  # an engine bug in one file must not end the run
                errors.append(FileError(rel, 1, 1, "internal",
                                        f"internal error: {type(exc).__name__}: {exc}"))
        if progress:
            progress("link", 0, 1)
        linker = Linker(index, contexts)
        try:
            graph = linker.run()
        except Exception as exc:  # keep every module's own findings
            graph = linker.graph
            errors.append(FileError(".", 1, 1, "internal",
                                    f"internal error while linking: {type(exc).__name__}: {exc}"))
        if progress:
            progress("solve", 0, 1)
        solver = Solver(graph, self.rules, linker.bases, linker.functions, linker.library_sites)
        sinks = [s for ctx in contexts for s in ctx.sinks.values()
                 if report is None or s.span.path in report]
        findings = solver.solve(sinks)
        by_file = {rel: data for rel, data in sources}
        suppressed: list[Finding] = []
        for rel in sorted({f.sink.path for f in findings}):
            mine = [f for f in findings if f.sink.path == rel]
            suppressed.extend(apply_suppressions(mine, inline_suppressions(rel, by_file[rel])))
        if report is not None:
            errors = [e for e in errors if e.path in report or e.path == "."]
            analyzed = [a for a in analyzed if a in report]
        return ProjectOutcome(suppressed, errors, sorted(analyzed))


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


def check_paths(options: Options, progress: ProgressCallback | None = None) -> CheckResult:
    """Analyze ``options.paths``. ``progress(phase, done, total)``, if given, is called as
    the run goes (for a progress bar; see ``types.ProgressCallback``)."""
    return _on_big_stack(_check_paths, options, progress)


def _config(options: Options) -> Config:
    if options.config is not None:
        return load_config(Path(options.config))
    if not options.use_config:
        return Config()
    start = Path(options.paths[0]) if options.paths else Path(".")
    path = find_config(start if start.exists() else Path("."))
    return load_config(path) if path is not None else Config()


def _rule_filter(config: Config, options: Options, known: set[str]) -> RuleFilter:
    """select / ignore (the command line wins over the file) and per-file-ignores; every id
    must name a loaded rule (or LC001)."""
    check_rule_ids(config, known)
    check_option_rule_ids("--select", options.select, known)
    check_option_rule_ids("--ignore", options.ignore, known)
    return RuleFilter(
        select=options.select if options.select is not None else config.select,
        ignore=options.ignore if options.ignore is not None else config.ignore,
        per_file_ignores=config.per_file_ignores)


def _check_paths(options: Options, progress: ProgressCallback | None = None) -> CheckResult:
    started = time.perf_counter()
    config = _config(options)
    builtin = options.builtin_rules if options.builtin_rules is not None else \
        config.builtin_rules
    rules = load_ruleset(config.rules + options.extra_rule_files, builtin=builtin)
    known = {r.id for r in rules.rules} | {UNUSED_SUPPRESSION_ID}
    rule_filter = _rule_filter(config, options, known)
    vocab = config.vocabulary
    if vocab:
        rules = with_vocabulary(rules, vocab.cot_fields, vocab.graders, vocab.sanitizers,
                                vocab.sanctioned_graders)
    analyzer = Analyzer(rules)
    excludes = (config.exclude or ()) + config.extend_exclude + options.exclude
    defaults = config.exclude is None
    found = discover(options.paths, exclude=excludes, use_default_excludes=defaults)
    report: set[str] | None = None
    files = list(found.files)
    given = [Path(p) for p in options.paths]
    if options.resolve_project and given and all(p.is_file() for p in given if p.exists()) \
            and any(p.exists() for p in given):
        # explicit files (pre-commit): report on them, resolve calls across the project
        report = {relative(f, found.root) for f in found.files}
        project = discover([found.root], exclude=excludes, use_default_excludes=defaults,
                           skip_nested_projects=True)
        files = sorted(set(project.files) | set(found.files), key=lambda f: relative(
            f, found.root))
    errors: list[FileError] = [FileError(p, 1, 1, "read", "no such file or directory")
                               for p in found.missing]
    sources: list[tuple[str, bytes]] = []
    for file in files:
        rel = relative(file, found.root)
        try:
            if file.exists() and not file.is_file() and not file.is_dir():
                # a FIFO, socket or device named *.py: reading it could block forever
                errors.append(FileError(rel, 1, 1, "read", "not a regular file"))
                continue
            sources.append((rel, file.read_bytes()))
        except IsADirectoryError:
            errors.append(FileError(rel, 1, 1, "read", "is a directory, not a Python file"))
        except OSError as exc:
            errors.append(FileError(rel, 1, 1, "read", f"cannot read: {exc.strerror or exc}"))
    if report is not None:
        errors = [e for e in errors if e.path in report or (e.kind == "read" and
                  e.path in found.missing)]
    outcome = analyzer.analyze_project(found.root, sources, report, progress)
    errors.extend(outcome.errors)
    by_file = dict(sources)
    return CheckResult(
        root=found.root.as_posix(), files=tuple(outcome.analyzed),
        findings=_sorted([f for f in outcome.findings
                          if rule_filter.enabled(f.rule_id, f.sink.path)]),
        file_errors=tuple(sorted(errors, key=lambda e: (e.path, e.line, e.column))),
        rules=rules.rules, elapsed_seconds=time.perf_counter() - started,
        # judged against every finding, before select/ignore (see suppress.py)
        unused_suppressions=unused_suppressions(
            [(rel, by_file[rel]) for rel in outcome.analyzed], outcome.findings, rule_filter,
            known),
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
