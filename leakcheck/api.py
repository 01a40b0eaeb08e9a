"""The library entry points. Orchestrates discover -> parse -> build -> solve -> report data.

This is the one place a per-file failure becomes a FileError: whatever goes wrong inside one
file (unreadable, unparsable, an internal error) is reported and the run goes on.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from leakcheck import teardown
from leakcheck.cache import Cache, content_hash, default_cache_dir, engine_digest, key
from leakcheck.config import (
    Config,
    check_option_rule_ids,
    check_rule_ids,
    find_config,
    load_config,
)
from leakcheck.discover import discover, printable, relative
from leakcheck.prefilter import components, module_heads, name_words
from leakcheck.project.names import module_names
from leakcheck.ruleset import RuleSet, load_ruleset
from leakcheck.ruleset.load import with_vocabulary
from leakcheck.solve import number_duplicates
from leakcheck.suppress import (
    UNUSED_SUPPRESSION_ID,
    Directives,
    RuleFilter,
    apply_suppressions,
    directives,
    unused_suppressions,
)
from leakcheck.types import CheckResult, FileError, Finding, ProgressCallback

if TYPE_CHECKING:  # the engine proper (libcst, networkx) loads only when there is work:
    # a warm run answered by the whole-run cache entry never imports it
    from leakcheck.graph.builder import LinkIn
    from leakcheck.pipeline import Built, Pool

# Deeply nested code recurses deeply in libcst and in the builder: analysis runs on a thread
# with a large stack (virtual memory, touched only as needed) so a hostile file becomes a
# FileError instead of a C stack overflow. Nesting is bounded before libcst sees a file
# (parse.MAX_NESTING, MAX_EXPRESSION_DEPTH); call chains are not, and linking recurses
# through them in Python frames only (five per call: summary, _summary, _ensure_tokens,
# ensure_token, link_result), which take no C stack: 50,000 frames ended linking with a
# RecursionError (and no cross-call finding) at a chain of 14,000 functions.
RECURSION_LIMIT = 200_000
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
    # performance only: none of these changes the result
    jobs: int | None = 1  # worker processes for per-module work; None: one per core
    cache: bool = False  # reuse per-module results from cache_dir (the CLI turns it on)
    cache_dir: str | None = None  # None: $LEAKCHECK_CACHE_DIR or <root>/.leakcheck_cache
    prefilter: bool = True  # skip files of import components that cannot hold a finding


@dataclass(frozen=True, slots=True)
class ProjectOutcome:
    findings: list[Finding]
    errors: list[FileError]
    analyzed: list[str]
    # the suppression comments of every analyzed file that has any (read once per run, and
    # kept with a whole-run cache entry: tokenizing is the slow part of suppressions)
    directives: dict[str, Directives] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ComponentOutcome:
    """What linking and solving one component gave (cached by its modules' build keys)."""

    findings: tuple[Finding, ...]
    errors: tuple[FileError, ...]  # its modules' build errors
    analyzed: tuple[str, ...]


class Analyzer:
    """Rules loaded once; analyze a project (or one source) through every stage.

    ``prefilter``: skip the files of import components that cannot hold a finding
    (:mod:`leakcheck.prefilter`); ``jobs``: worker processes for the per-module work;
    ``cache``: per-module (and whole-run) results on disk (:mod:`leakcheck.cache`). None of
    the three changes the outcome.
    """

    def __init__(self, rules: RuleSet, *, prefilter: bool = True, jobs: int = 1,
                 cache: Cache | None = None) -> None:
        self.rules = rules
        self.prefilter = prefilter
        self.jobs = jobs
        self.cache = cache or Cache(None)

    def analyze(self, path: str, data: bytes) -> tuple[list[Finding], FileError | None]:
        outcome = self.analyze_project(Path.cwd(), [(path, data)])
        return outcome.findings, outcome.errors[0] if outcome.errors else None

    def analyze_project(self, root: Path, sources: list[tuple[str, bytes]],
                        report: set[str] | None = None,
                        progress: ProgressCallback | None = None) -> ProjectOutcome:
        cache = self.cache
        engine = engine_digest() if cache.enabled else ""
        rules_key = self.rules.digest
        hashes = [content_hash(data) for _, data in sources] if cache.enabled else []
        packages: dict[str, bool] = {}  # directory -> holds __init__.py (asked per file)
        names_of = {rel: module_names(rel, root, packages) for rel, _ in sources}
        heads = {rel: module_heads(rel, root, names_of[rel]) for rel, _ in sources}
        run_key = ""
        if cache.enabled:
            run_key = key("run", engine, rules_key, self.prefilter, root.as_posix(),
                          sorted(report) if report is not None else None,
                          [(rel, h, heads[rel]) for (rel, _), h in zip(sources, hashes,
                                                                       strict=True)])
            hit = cache.get("run", run_key)
            if isinstance(hit, ProjectOutcome):
                return hit
        # The trees, graphs and values built here hold no reference cycles, but there are
        # millions of them and every cyclic collection walks them all again (a third of the
        # run on a large tree): collect once at the end instead.
        collecting = gc.isenabled()
        gc.disable()
        from leakcheck.pipeline import Pool

        words = name_words(heads)
        pool = Pool(self.rules, sources, self.jobs, words)
        try:
            outcome = self._analyze(root, sources, report, pool, engine, hashes, heads,
                                    words, names_of, progress)
        finally:
            pool.close()
            if collecting:
                gc.enable()
        if cache.enabled:
            cache.flush()
            cache.put("run", run_key, outcome)
        return outcome

    def _cached(self, kind: str, keys: dict[int, str], compute, items: list, idx_of,
                **kw) -> dict:
        """Results by file index: from the cache where present, else computed (and kept)."""
        out: dict = {}
        todo = []
        for item in items:
            idx = idx_of(item)
            hit = self.cache.get(kind, keys[idx]) if self.cache.enabled else None
            if hit is not None:
                out[idx] = hit
            else:
                todo.append(item)
        from leakcheck.pipeline import Pickled

        for idx, value in compute(todo, **kw).items():
            if isinstance(value, Pickled):
                out[idx] = value.load()
                self.cache.put(kind, keys[idx], None, value.data)
            else:
                out[idx] = value
                self.cache.put(kind, keys[idx], value)
        return out

    def _keep_components(self, members: dict[str, list[int]], done: dict[str, ComponentOutcome],
                         component_keys: dict[str, str], sources: list[tuple[str, bytes]],
                         findings: list[Finding], build_errors: list[FileError],
                         analyzed: list[str]) -> None:
        """Cache what each component linked in this run gave, by the component's key."""
        group_of_file = {sources[i][0]: group for group, idxs in members.items()
                         for i in idxs if group not in done}
        parts: dict[str, tuple[list, list, list]] = {g: ([], [], []) for g in members
                                                     if g not in done}
        for f in findings:
            if f.sink.path not in group_of_file:  # (never expected: then cache nothing)
                return
            parts[group_of_file[f.sink.path]][0].append(f)
        for e in build_errors:
            if e.path not in group_of_file:
                return
            parts[group_of_file[e.path]][1].append(e)
        for rel in analyzed:
            group = group_of_file.get(rel)  # (skipped files are in no component)
            if group is not None:
                parts[group][2].append(rel)
        for group, (found, errs, files) in parts.items():
            self.cache.put("component", component_keys[group],
                           ComponentOutcome(tuple(found), tuple(errs), tuple(files)))

    def _analyze(self, root: Path, sources: list[tuple[str, bytes]], report: set[str] | None,
                 pool: Pool, engine: str, hashes: list[str],
                 heads: dict[str, tuple[str, ...]], words: frozenset[bytes],
                 names_of: dict[str, tuple[str, tuple[str, ...]]],
                 progress: ProgressCallback | None = None) -> ProjectOutcome:
        from leakcheck.pipeline import unwrap
        from leakcheck.project.index import ProjectIndex
        from leakcheck.project.link import Linker
        from leakcheck.solve import Solver

        rules_key = self.rules.digest
        phase = _Phases(progress)
        n = len(sources)
        every = list(range(n))

        # one digest per file of what every per-file entry depends on; each kind (and any
        # run-wide extra input, hashed once) is appended to it
        per_file = [key(engine, rules_key, rel, hashes[i]) for i, (rel, _) in
                    enumerate(sources)] if self.cache.enabled else []

        def keys(kind: str, *extra) -> dict[int, str]:
            if not self.cache.enabled:
                return dict.fromkeys(every, "")
            suffix = f":{kind}:{key(*extra)}" if extra else f":{kind}"
            return {i: per_file[i] + suffix for i in every}

        # 1. pre-filter: which files can matter at all
        if self.prefilter:
            facts = self._cached("facts", keys("facts", sorted(words)),
                                 lambda t: pool.run("facts", t, sticky=False), every,
                                 lambda i: i)
            component_of: dict[str, str] | None = components(
                {sources[i][0]: facts[i] for i in every}, heads)
            keep = set(component_of)
        else:
            component_of = None  # one component: nothing says where taint cannot cross
            keep = {rel for rel, _ in sources}
        wanted = [i for i in every if sources[i][0] in keep]
        skipped = [i for i in every if sources[i][0] not in keep]
        phase("prefilter")
        # 2. skipped files: CPython must accept them (else the usual parse reports them)
        status: dict[int, object] = {}
        extra_properties: set[str] = set()
        checked = self._cached("check", keys("check"),
                               lambda t: pool.run("check", t, sticky=False), skipped,
                               lambda i: i)
        for i in skipped:
            result = checked[i]
            if isinstance(result, FileError):
                status[i] = result
            elif result == "parsed":  # libcst accepts what CPython refused: analyze it
                wanted.append(i)
            else:
                status[i] = "skipped"
                extra_properties |= result  # type: ignore[operator]
        wanted.sort()
        phase("check skipped")
        # 3. parse what is analyzed (only its errors matter here: trees stay in workers)
        parse_keys = keys("parse")
        parsed_status = self._cached("parse", parse_keys, lambda t: {
            i: ("ok" if unwrap(e) is None else unwrap(e)) for i, e in pool.run(
                "parse", t).items()},
            wanted, lambda i: i)
        for i in wanted:
            status[i] = parsed_status[i]
        phase("parse")
        # 4. module names, in file order, over every file that parses
        names: dict[int, tuple[str, tuple[str, ...]]] = {}
        taken: set[str] = set()
        for i in every:
            if isinstance(status[i], FileError):
                continue
            rel = sources[i][0]
            primary, aliases = names_of[rel]
            if primary in taken:  # two scripts named alike: fall back to the full path
                primary = ".".join(PurePosixPath(rel).with_suffix("").parts)
            taken.add(primary)
            names[i] = (primary, aliases)
        errors: list[FileError] = [s for s in status.values() if isinstance(s, FileError)]
        analyzable = [i for i in wanted if i in names]
        # 5. scan
        scan_keys = {i: key("scan", k, names[i][0]) for i, k in keys("scan").items()
                     if i in names} if self.cache.enabled else dict.fromkeys(analyzable, "")
        scans = self._cached("scan", scan_keys, lambda t: pool.run("scan", t, key=lambda x: x[0]),
                             [(i, names[i][0]) for i in analyzable], lambda x: x[0])
        index = ProjectIndex()
        index.extra_properties = extra_properties
        scanned = []
        for i in analyzable:
            scan = scans[i]
            if isinstance(scan, FileError):
                errors.append(scan)
                continue
            index.add(names[i][0], names[i][1], scan)
            scanned.append(i)
        phase("scan+index")
        # 6. a component whose modules all build as in an earlier run has its findings
        # from that run: no build, link or solve (one file edited in a monorepo relinks
        # its own component only). No taint crosses components (see prefilter.components)
        link_ins = {i: index.link_in(names[i][0]) for i in scanned}
        build_keys = {i: key("build", scan_keys[i], _link_key(link_ins[i])) for i in scanned} \
            if self.cache.enabled else dict.fromkeys(scanned, "")
        group_of = {i: ("" if component_of is None else component_of.get(
            sources[i][0], sources[i][0])) for i in scanned}
        members: dict[str, list[int]] = {}
        for i in scanned:
            members.setdefault(group_of[i], []).append(i)
        component_keys: dict[str, str] = {}
        done: dict[str, ComponentOutcome] = {}
        if self.cache.enabled:
            for group, idxs in members.items():
                files = [sources[i][0] for i in idxs]
                component_keys[group] = key(  # (build keys hold the engine and the rules)
                    "component", [(sources[i][0], build_keys[i]) for i in idxs],
                    sorted(report.intersection(files)) if report is not None else None)
                hit = self.cache.get("component", component_keys[group])
                if isinstance(hit, ComponentOutcome):
                    done[group] = hit
        todo = [i for i in scanned if group_of[i] not in done]
        built = self._cached("build", build_keys, lambda t: pool.run(
            "build", t, key=lambda x: x[0]), [(i, names[i][0], link_ins[i]) for i in todo],
            lambda x: x[0])
        contexts: list[Built] = []
        analyzed: list[str] = [sources[i][0] for i in every
                               if status[i] == "skipped"]
        build_errors: list[FileError] = []
        for i in todo:
            b = built[i]
            if isinstance(b, FileError):
                build_errors.append(b)
                continue
            contexts.append(b)
            analyzed.append(sources[i][0])
        phase("build")
        # 7. link and solve (every component not done, together)
        linker = Linker(index, contexts)  # type: ignore[arg-type]
        sinks = [s for ctx in contexts for s in ctx.sinks.values()
                 if (report is None or s.span.path in report) and linker.sink_applies(s)]
        linked = True
        try:
            sinks += [s for s in linker.attribute_sinks({s.span for s in sinks})
                      if report is None or s.span.path in report]
            graph = linker.run(s.node for s in sinks)
        except Exception as exc:  # keep every module's own findings
            linked = False
            graph = linker.graph
            errors.append(FileError(".", 1, 1, "internal",
                                    f"internal error while linking: {type(exc).__name__}: {exc}"))
        phase("link")
        solver = Solver(graph, self.rules, linker.bases, linker.functions, linker.library_sites)
        findings = solver.solve(sinks, jobs=self.jobs)
        phase("solve")
        if linked and self.cache.enabled:
            self._keep_components(members, done, component_keys, sources, findings,
                                  build_errors, analyzed)
        errors.extend(build_errors)
        for outcome in done.values():
            findings.extend(outcome.findings)
            errors.extend(outcome.errors)
            analyzed.extend(outcome.analyzed)
        built_files = set(analyzed)
        # every analyzed file's entry, those without a marker too: a warm run then searches
        # no file for one (a case-insensitive search of every file cost 5% of an edit run)
        found = self._cached("directives", keys("directives"),
                             lambda todo: {i: directives(*sources[i]) for i in todo},
                             [i for i in every if sources[i][0] in built_files], lambda i: i)
        comments = {sources[i][0]: d for i, d in found.items() if d.valid or d.malformed}
        suppressed: list[Finding] = []
        by_file: dict[str, list[Finding]] = {}
        for f in findings:
            by_file.setdefault(f.sink.path, []).append(f)
        for rel in sorted(by_file):
            held = comments.get(rel)
            suppressed.extend(apply_suppressions(by_file[rel], held.valid if held else {}))
        errors = _in_order(errors, sources)
        teardown.keep(linker, graph, solver, contexts, built, scans, index)
        if report is not None:
            errors = [e for e in errors if e.path in report or e.path == "."]
            analyzed = [a for a in analyzed if a in report]
        return ProjectOutcome(suppressed, errors, sorted(analyzed),
                              {rel: d for rel, d in comments.items() if rel in analyzed})


# The stages of a run, in order, as `_Phases` is told they end.
STAGES = ("prefilter", "check skipped", "parse", "scan+index", "build", "link", "solve")


class _Phases:
    """Marks the end of each stage: ``LEAKCHECK_TIMING=1`` prints its wall time on stderr
    (for the benchmark), and a progress callback hears ``(next stage, stages done,
    stages)`` — per-file work runs inside the worker pool, so the bar counts stages."""

    def __init__(self, progress: ProgressCallback | None = None) -> None:
        self.on = bool(os.environ.get("LEAKCHECK_TIMING"))
        self.last = time.perf_counter()
        self.progress = progress
        self.done = 0
        if progress:
            progress(STAGES[0], 0, len(STAGES))

    def __call__(self, name: str) -> None:
        if self.on:
            now = time.perf_counter()
            print(f"leakcheck timing: {name} {now - self.last:.3f}s", file=sys.stderr)
            self.last = now
        self.done += 1
        if self.progress:
            upcoming = STAGES[min(self.done, len(STAGES) - 1)]
            self.progress(upcoming, min(self.done, len(STAGES)), len(STAGES))


def _link_key(link_in: LinkIn) -> tuple:
    return (sorted(link_in.registered), sorted(link_in.factories), repr(link_in.constants),
            sorted(link_in.properties), sorted(link_in.shared_globals),
            link_in.imported_globals, link_in.module_globals)


def _in_order(errors: list[FileError], sources: list[tuple[str, bytes]]) -> list[FileError]:
    """Per-file errors in the order the files come (as one pass over the files gives them)."""
    order = {rel: i for i, (rel, _) in enumerate(sources)}
    return sorted(errors, key=lambda e: order.get(e.path, len(order)))


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


# fewer files than this per job and the extra workers cost more than they save
FILES_PER_JOB = 8


def default_jobs() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


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
    errors: list[FileError] = [FileError(printable(p), 1, 1, "read", "no such file or directory")
                               for p in found.missing]
    sources: list[tuple[str, bytes]] = []
    for file in files:
        rel = relative(file, found.root)
        escaped = printable(rel)
        if escaped != rel:  # a report, a cache key or a module name could not hold it
            errors.append(FileError(escaped, 1, 1, "read",
                                    "file name is not valid UTF-8 (rename the file to analyze it)"))
            continue
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
        shown = {printable(p) for p in (*report, *found.missing)}
        errors = [e for e in errors if e.path in shown]
    cache = Cache(None)
    if options.cache:
        cache = Cache(Path(options.cache_dir) if options.cache_dir else
                      default_cache_dir(found.root), scope=found.root.as_posix())
    jobs = default_jobs() if options.jobs is None else max(1, options.jobs)
    analyzer = Analyzer(rules, prefilter=options.prefilter, jobs=min(jobs, max(1, len(
        sources) // FILES_PER_JOB)), cache=cache)
    outcome = analyzer.analyze_project(found.root, sources, report, progress)
    errors.extend(outcome.errors)
    return CheckResult(
        root=printable(found.root.as_posix()), files=tuple(outcome.analyzed),
        findings=_sorted([f for f in outcome.findings
                          if rule_filter.enabled(f.rule_id, f.sink.path)]),
        file_errors=tuple(sorted(errors, key=lambda e: (e.path, e.line, e.column))),
        rules=rules.rules, elapsed_seconds=time.perf_counter() - started,
        # judged against every finding, before select/ignore (see suppress.py)
        unused_suppressions=unused_suppressions(
            outcome.analyzed, outcome.findings, rule_filter, known, outcome.directives),
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
