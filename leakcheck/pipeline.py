"""Per-module work (pre-filter facts, parse, scan, build) and where it runs.

Every function here is a pure function of one file's bytes, its module name, the rule set and
(for building) its LinkIn, so its result can be cached by those inputs and computed in any
process. A :class:`Worker` holds the parsed modules of the files it owns between the scan and
the build phase; :class:`Pool` runs one worker in this process (``jobs=1``) or one per
forked child process, each owning a fixed, size-balanced share of the files. Results are
merged in file order, so the output does not depend on the number of jobs.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import sys
import threading
import traceback
from dataclasses import dataclass, replace
from multiprocessing.connection import wait
from typing import Any

import networkx as nx

from leakcheck.graph.builder import LinkIn
from leakcheck.graph.context import CallSite, ClassData, FunctionData, SinkRecord
from leakcheck.graph.module import build_module
from leakcheck.graph.regex import RegexReader
from leakcheck.graph.scan import ModuleScan, scan_module
from leakcheck.parse import Parsed, parse_source
from leakcheck.positions import measuring
from leakcheck.prefilter import FileFacts, Vocab, check_skipped, file_facts
from leakcheck.raw_nodes import parser_output
from leakcheck.ruleset import RuleSet
from leakcheck.ruleset.match import Vocabulary
from leakcheck.types import FileError, lean_value

RECURSION_LIMIT = 50000
STACK_BYTES = 512 * 1024 * 1024


@lean_value
@dataclass(frozen=True, slots=True)
class Facts:
    """A file's pre-filter facts, reduced to the parts of module names it holds (small to
    cache)."""

    source: bool
    sink: bool
    named: tuple[bytes, ...]
    relative: tuple[tuple[int, str], ...]
    empty: bool = False  # no code at all (prefilter.FileFacts)


@lean_value
@dataclass(frozen=True, slots=True)
class Built:
    """What linking and solving need of a built module (no CST: picklable and small)."""

    path: str
    module_name: str
    graph: nx.DiGraph
    sinks: dict[tuple, SinkRecord]
    callsites: dict[tuple, CallSite]
    functions: dict[str, FunctionData]
    classes: dict[str, ClassData]
    bases: dict[tuple, tuple]

    def qualname(self, scope: str) -> str:
        return f"{self.module_name}.{scope}" if scope else self.module_name


def portable(scan: ModuleScan) -> ModuleScan:
    """The part of a scan the project index reads (lambda ids only mean something to the
    process that parsed the module)."""
    return replace(scan, registered_lambdas=set())


class Worker:
    def __init__(self, rules: RuleSet, sources: list[tuple[str, bytes]],
                 words: frozenset[bytes] = frozenset()) -> None:
        self.rules = rules
        self.sources = sources
        self.words = words  # every part of every module name (prefilter.name_words)
        self.vocab = Vocabulary(rules)
        self.regex = RegexReader(self.vocab)
        self.pvocab = Vocab.from_rules(rules)
        self.parsed: dict[int, Parsed] = {}
        self.scans: dict[int, ModuleScan] = {}

    # -- pre-filter --------------------------------------------------------------------
    def facts(self, items: list[int]) -> dict[int, Facts]:
        out = {}
        for idx in items:
            try:
                f: FileFacts = file_facts(self.sources[idx][1], self.pvocab)
            except Exception:  # a bug here must not skip the file, nor end the run: keep it
                out[idx] = Facts(True, True, tuple(sorted(self.words)), ())
                continue
            out[idx] = Facts(f.source, f.sink, tuple(sorted(f.runs & self.words)), f.relative,
                             f.empty)
        return out

    def check(self, items: list[int]) -> dict[int, object]:
        """Skipped files: their property names, or their parse error / parse result."""
        out: dict[int, object] = {}
        for idx in items:
            rel, data = self.sources[idx]
            props = check_skipped(data)
            if props is not None:
                out[idx] = props
                continue
            result = parse_source(rel, data)
            out[idx] = result if isinstance(result, FileError) else "parsed"
        return out

    # -- parse and scan ------------------------------------------------------------------
    def parse(self, items: list[int]) -> dict[int, FileError | None]:
        out: dict[int, FileError | None] = {}
        with parser_output(), measuring():  # hooks installed once for the batch
            for idx in items:
                if idx in self.parsed:
                    out[idx] = None
                    continue
                rel, data = self.sources[idx]
                result = parse_source(rel, data)
                if isinstance(result, FileError):
                    out[idx] = result
                else:
                    self.parsed[idx] = result
                    out[idx] = None
        return out

    def _parsed(self, idx: int) -> Parsed | FileError:
        if idx not in self.parsed:
            err = self.parse([idx])[idx]
            if err is not None:
                return err
        return self.parsed[idx]

    def scan(self, items: list[tuple[int, str]]) -> dict[int, ModuleScan | FileError]:
        out: dict[int, ModuleScan | FileError] = {}
        for idx, name in items:
            rel = self.sources[idx][0]
            p = self._parsed(idx)
            if isinstance(p, FileError):
                out[idx] = p
                continue
            try:
                scan = self.scans[idx] = self._scan(idx, p, name)
            except RecursionError:
                out[idx] = FileError(rel, 1, 1, "internal", "source is nested too deeply")
                continue
            except Exception as exc:  # an engine bug in one file must not end the run
                out[idx] = FileError(rel, 1, 1, "internal",
                                     f"internal error: {type(exc).__name__}: {exc}")
                continue
            out[idx] = portable(scan)
        return out

    def _scan(self, idx: int, parsed: Parsed, name: str) -> ModuleScan:
        return scan_module(parsed.module, self.vocab, name,
                           self.sources[idx][0].endswith("__init__.py"))

    def build(self, items: list[tuple[int, str, LinkIn]]) -> dict[int, Built | FileError]:
        out: dict[int, Built | FileError] = {}
        for idx, name, link_in in items:
            rel = self.sources[idx][0]
            p = self._parsed(idx)
            if isinstance(p, FileError):
                out[idx] = p
                continue
            try:
                scan = self.scans.get(idx) or self._scan(idx, p, name)
                ctx = build_module(p.module, rel, p.positions, self.vocab, self.regex,
                                   module_name=name, scan=scan, link_in=link_in)
            except RecursionError:
                out[idx] = FileError(rel, 1, 1, "internal",
                                     "source is nested too deeply to analyze")
                continue
            except Exception as exc:  # an engine bug in one file must not end the run
                out[idx] = FileError(rel, 1, 1, "internal",
                                     f"internal error: {type(exc).__name__}: {exc}")
                continue
            out[idx] = Built(rel, name, ctx.graph, ctx.sinks, ctx.callsites, ctx.functions,
                             ctx.classes, ctx.bases)
            # the tree is no longer needed: free it as the build goes
            self.parsed.pop(idx, None)
            self.scans.pop(idx, None)
        return out


def _serve(conn: Any, worker: Worker) -> None:
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        method, items = msg
        try:
            # each result pickled on its own, here in parallel: the parent stores these bytes
            # in the cache as they are and unpickles them once
            result = getattr(worker, method)(items)
            conn.send(("ok", {i: pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL)
                              for i, v in result.items()}))
        except BaseException as exc:  # reported in the parent as an internal error
            conn.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))


def _child(conn: Any, worker: Worker) -> None:
    gc.disable()  # as in the parent (see Analyzer.analyze_project)
    gc.freeze()  # what the fork inherited is never collected: leave its pages shared
    sys.setrecursionlimit(RECURSION_LIMIT)
    threading.stack_size(STACK_BYTES)
    t = threading.Thread(target=_serve, args=(conn, worker), name="leakcheck-worker")
    t.start()
    t.join()
    os._exit(0)


class Pickled:
    """A result as a worker process pickled it. ``preload`` unpickles it ahead of time;
    ``load`` hands that object out once, and unpickles afresh after that (as before)."""

    __slots__ = ("_ready", "data")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._ready: list[Any] = []

    def preload(self) -> None:
        if not self._ready:
            self._ready.append(pickle.loads(self.data))

    def load(self) -> Any:
        return self._ready.pop() if self._ready else pickle.loads(self.data)


def unwrap(value: Any) -> Any:
    return value.load() if isinstance(value, Pickled) else value


class WorkerFailed(RuntimeError):
    pass


class Pool:
    """``jobs`` workers; ``jobs <= 1`` (or no ``fork`` on this platform) runs in-process.

    Worker processes are forked on the first call that has enough work for them: a small
    batch (the one edited file of a warm run) runs in this process, which costs less than
    forking, pickling and piping it."""

    SMALL_BATCH_BYTES = 256 * 1024
    LOCAL = -1  # owner of a file handled in this process

    def __init__(self, rules: RuleSet, sources: list[tuple[str, bytes]], jobs: int,
                 words: frozenset[bytes] = frozenset()) -> None:
        self.sources = sources
        self.local = Worker(rules, sources, words)
        self.conns: list[Any] = []
        self.procs: list[Any] = []
        self.wanted = jobs if jobs > 1 and "fork" in multiprocessing.get_all_start_methods() \
            else 1
        self.jobs = self.wanted
        self.owner: dict[int, int] = {}

    def _start(self) -> None:
        ctx = multiprocessing.get_context("fork")
        for _ in range(self.wanted):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_child, args=(child, self.local), daemon=True)
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)

    def _balance(self, items: list[int], owner: dict[int, int]) -> None:
        """Give each file a worker, balancing bytes (largest first)."""
        load = [0] * self.jobs
        for idx in sorted(items, key=lambda i: (-len(self.sources[i][1]), i)):
            if idx in owner:
                continue
            w = min(range(self.jobs), key=lambda j: (load[j], j))
            owner[idx] = w
            load[w] += len(self.sources[idx][1])

    def run(self, method: str, items: list, key=lambda item: item, sticky: bool = True) -> dict:
        """Call ``method`` on the workers of ``items`` (all at once) and merge the results:
        objects in-process, :class:`Pickled` from worker processes. ``sticky``: a file keeps
        its worker from one call to the next (the worker holds its parsed tree between
        scanning and building)."""
        if not items:
            return {}
        if self.wanted <= 1:
            return getattr(self.local, method)(items)
        owner = self.owner if sticky else {}
        idxs = [key(i) for i in items]
        if all(owner.get(i, self.LOCAL) == self.LOCAL for i in idxs) and sum(
                len(self.sources[i][1]) for i in idxs) < self.SMALL_BATCH_BYTES:
            for i in idxs:
                owner[i] = self.LOCAL
            return getattr(self.local, method)(items)
        if not self.conns:
            self._start()
        self._balance(idxs, owner)
        shares: list[list] = [[] for _ in range(self.jobs)]
        here: list = []
        for item in items:
            w = owner[key(item)]
            (here if w == self.LOCAL else shares[w]).append(item)
        busy = []
        for w, share in enumerate(shares):
            if share:
                self.conns[w].send((method, share))
                busy.append(w)
        out: dict = getattr(self.local, method)(here) if here else {}
        failure = None
        received: dict[int, dict] = {}
        pending = {self.conns[w]: w for w in busy}
        while pending:
            # whichever worker is done first: its results are unpickled while the others
            # still run, on the core it left free (verl --jobs 2: the parent's unpickling
            # after the last worker 0.24 -> 0.12 s)
            for conn in sorted(wait(list(pending)), key=pending.__getitem__):
                w = pending.pop(conn)
                try:
                    status, value = conn.recv()
                except EOFError:
                    status, value = "error", "a worker process ended unexpectedly"
                if status == "ok":
                    received[w] = {i: Pickled(b) for i, b in value.items()}
                    if pending and failure is None:
                        for result in received[w].values():
                            result.preload()
                else:
                    failure = value
        if failure is not None:
            raise WorkerFailed(failure)
        for w in busy:  # in worker order, whichever finished first
            out.update(received[w])
        return out

    def close(self) -> None:
        for conn in self.conns:
            try:
                conn.send(None)
                conn.close()
            except OSError:
                pass
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
        self.conns = []
        self.procs = []

