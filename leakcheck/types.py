"""Frozen values that cross module boundaries.

Nothing here imports from the rest of leakcheck, so every stage can depend on it.
Columns are 1-based; ``end_column`` is the column just after the last character,
as SARIF defines it.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from leakcheck.lean_init import lean

# ``check_paths(options, progress=...)``: called as ``progress(phase, done, total)`` while
# a run goes ("parse", "index", "analyze" per file; "link", "solve" once). For progress bars
# only: it must be cheap and must not raise.
ProgressCallback = Callable[[str, int, int], None]

# Decorators that make a method an attribute read (`obj.prop` calls it): the scanner, the
# builder and the pre-filter's check of skipped files must agree on them.
PROPERTY_DECORATORS = ("property", "cached_property")

_C = TypeVar("_C", bound=type)


def lean_value(cls: _C) -> _C:
    """A slotted dataclass made cheap to construct (:func:`leakcheck.lean_init.lean`) and
    pickled as a call of its constructor with its fields in order.

    The default pickling for ``slots=True`` goes through ``dataclasses``' own
    ``__setstate__``, which calls ``fields()`` again for every object; built graphs hold
    hundreds of thousands of these values and a cache hit or a worker's result unpickles
    them all (a third of the time, measured on a 1M-line tree). Same values, same
    equality, cheaper to make and to load."""
    lean(cls)
    names = tuple(f.name for f in dataclasses.fields(cls))
    get = operator.attrgetter(*names)
    if len(names) == 1:
        def reduce(self: object) -> tuple:
            return (cls, (get(self),))
    else:
        def reduce(self: object) -> tuple:
            return (cls, get(self))
    cls.__reduce__ = reduce  # type: ignore[method-assign,assignment]
    return cls


@lean_value
@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A region of one file: ``path`` is POSIX and relative to the project root."""

    path: str
    start_line: int
    start_column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.start_line}:{self.start_column}"


@lean_value
@dataclass(frozen=True, slots=True)
class Step:
    """One hop of a witness path: where the tainted value is, and what happened to it."""

    span: Span
    message: str
    kind: str = "flow"  # "source" | "flow" | "call" | "return" | "sink"


@lean_value
@dataclass(frozen=True, slots=True)
class Suppression:
    """An inline ``# leakcheck: ignore`` that covers a finding."""

    span: Span
    rules: tuple[str, ...]  # empty: every rule
    reason: str | None


@lean_value
@dataclass(frozen=True, slots=True)
class Finding:
    """One sink location reached by tainted data, with the path that proves it."""

    rule_id: str
    rule_name: str
    level: str  # "error" | "warning" | "note"
    kind: str  # the taint kind reported (the highest-priority kind that reaches the sink)
    kinds: tuple[str, ...]  # every taint kind that reaches the sink, sorted
    message: str
    message_template: str
    message_args: tuple[tuple[str, str], ...]
    sink: Span
    sink_description: str
    source: Span
    source_description: str
    path: tuple[Step, ...]
    fingerprint: str
    suppression: Suppression | None = None
    baselined: bool = False  # matched an entry of the --baseline file

    @property
    def suppressed(self) -> bool:
        return self.suppression is not None

    @property
    def active(self) -> bool:
        """Counts for the exit code and is shown: neither suppressed nor baselined."""
        return self.suppression is None and not self.baselined


@lean_value
@dataclass(frozen=True, slots=True)
class UnusedSuppression:
    """A ``# leakcheck:`` comment that suppresses nothing (reported as rule LC001).

    ``rules`` are the rule ids of the comment that matched no finding on its line(s);
    empty for a bare ``# leakcheck: ignore`` that matched nothing, or a malformed comment.
    """

    span: Span  # the comment
    rules: tuple[str, ...]
    message: str


@dataclass(frozen=True, slots=True)
class BaselineUse:
    """The ``--baseline`` file a run was compared with."""

    path: str
    entries: int  # entries in the file
    unmatched: int  # entries for analyzed files that matched no finding (fixed or changed)


@lean_value
@dataclass(frozen=True, slots=True)
class FileError:
    """A file that could not be read, parsed or analyzed; the run goes on without it."""

    path: str
    line: int
    column: int
    kind: str  # "read" | "encoding" | "syntax" | "internal"
    message: str


@dataclass(frozen=True, slots=True)
class CheckResult:
    """Everything a run produced, already sorted for deterministic output."""

    root: str  # absolute POSIX path of the project root
    files: tuple[str, ...]  # analyzed files, relative to root
    findings: tuple[Finding, ...]
    file_errors: tuple[FileError, ...]
    rules: tuple[RuleInfo, ...] = field(default=())
    elapsed_seconds: float = 0.0
    unused_suppressions: tuple[UnusedSuppression, ...] = ()
    baseline: BaselineUse | None = None

    @property
    def active_findings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.active)


@dataclass(frozen=True, slots=True)
class RuleDoc:
    """A rule's documentation in fixed sections (ruff's layout)."""

    what: str
    why: str
    example: str
    fix: str


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """Reporting metadata of one rule, as declared by its pack."""

    id: str
    name: str
    kind: str
    level: str
    short_description: str
    full_description: str
    message: str  # template with {source} and {sink}
    doc: RuleDoc
    priority: int = 0
