"""What every output format shares: the Reporter protocol, the format registry, run counts.

A new format is a new module in this package plus one line in ``_REPORTERS``. The registry
names ``module:Class`` strings and imports on demand, so listing formats (for ``--format``
choices) costs nothing and a reporter's dependencies (rich) load only when it is used.
"""

from __future__ import annotations

import importlib
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from leakcheck.suppress import UNUSED_SUPPRESSION_ID, UNUSED_SUPPRESSION_RULE
from leakcheck.types import CheckResult, Span

TOOL_NAME = "leakcheck"
# Where SARIF viewers send people who click the tool name; one place to change it.
INFORMATION_URI = "https://github.com/leakcheck/leakcheck"


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """How much a human-facing format shows (the machine formats ignore these)."""

    quiet: bool = False  # one line per diagnostic, no code frames, paths or summary
    statistics: bool = False  # counts per rule instead of each finding
    verbose: bool = False  # file-error details; suppressed and baselined findings listed


class ReporterBase:
    def __init__(self, options: ReportOptions | None = None) -> None:
        self.options = options or ReportOptions()


class Reporter(Protocol):
    """Turns a finished run into the text of one output format.

    ``render`` never fails on a well-formed result and never reads the clock: the same
    result gives the same string.
    """

    def render(self, result: CheckResult, *, color: bool) -> str: ...


_REPORTERS: dict[str, str] = {
    "text": "leakcheck.report.text:TextReporter",
    "json": "leakcheck.report.json:JsonReporter",
    "sarif": "leakcheck.report.sarif:SarifReporter",
    "github": "leakcheck.report.github:GithubReporter",
    "markdown": "leakcheck.report.markdown:MarkdownReporter",
}


def format_names() -> tuple[str, ...]:
    """The names ``--format`` accepts, default first."""
    return tuple(_REPORTERS)


def get_reporter(name: str, options: ReportOptions | None = None) -> Reporter:
    try:
        target = _REPORTERS[name]
    except KeyError:
        known = ", ".join(_REPORTERS)
        raise ValueError(f"unknown output format {name!r} (known: {known})") from None
    module_name, _, class_name = target.partition(":")
    reporter_class = getattr(importlib.import_module(module_name), class_name)
    reporter: Reporter = reporter_class(options)
    return reporter


def tool_version() -> str:
    # Imported late: leakcheck/__init__ is the single home of the version string.
    from leakcheck import __version__

    return __version__


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts shown at the end of text output and in JSON ``summary``."""

    active_by_rule: tuple[tuple[str, int], ...]  # sorted by rule id; rules with 0 omitted
    suppressed_by_rule: tuple[tuple[str, int], ...]
    files_analyzed: int
    file_errors: int
    baselined_by_rule: tuple[tuple[str, int], ...] = ()
    unused_suppressions: int = 0
    baseline_used: bool = False
    baseline_unmatched: int = 0
    elapsed_seconds: float = 0.0

    @property
    def active(self) -> int:
        return sum(n for _, n in self.active_by_rule)

    @property
    def suppressed(self) -> int:
        return sum(n for _, n in self.suppressed_by_rule)

    @property
    def baselined(self) -> int:
        return sum(n for _, n in self.baselined_by_rule)

    @property
    def failing(self) -> bool:
        """What makes the exit code 1 (unless --exit-zero)."""
        return bool(self.active or self.unused_suppressions or self.file_errors)


def summarize(result: CheckResult) -> Summary:
    active = Counter(f.rule_id for f in result.findings if f.active)
    suppressed = Counter(f.rule_id for f in result.findings if f.suppressed)
    baselined = Counter(f.rule_id for f in result.findings if f.baselined and not f.suppressed)
    return Summary(
        active_by_rule=tuple(sorted(active.items())),
        suppressed_by_rule=tuple(sorted(suppressed.items())),
        files_analyzed=len(result.files),
        file_errors=len(result.file_errors),
        baselined_by_rule=tuple(sorted(baselined.items())),
        unused_suppressions=len(result.unused_suppressions),
        baseline_used=result.baseline is not None,
        baseline_unmatched=result.baseline.unmatched if result.baseline else 0,
        elapsed_seconds=result.elapsed_seconds,
    )


def display_path(root: str, path: str, cwd: str | None = None) -> str:
    """A root-relative ``path`` as a person at ``cwd`` (default: the current directory) can
    open it: relative to ``cwd`` when the project is at or below it, or ``cwd`` is inside the
    project (``../lib/m.py``); else relative to the project root, as the machine formats
    write it. GitHub resolves annotation paths against the workspace, the usual ``cwd``."""
    if os.path.isabs(path):
        return path
    here = Path(cwd if cwd is not None else os.getcwd())
    base = Path(root)
    full = base / path
    try:
        if base == here or base.is_relative_to(here) or here.is_relative_to(base):
            return Path(os.path.relpath(full, here)).as_posix()
    except ValueError:  # another drive
        pass
    return path


def plural(n: int, word: str, plural_word: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural_word or word + 's')}"


def location(root: str, span: Span) -> str:
    """``path:line:col`` as a person opens it (see ``display_path``)."""
    return f"{display_path(root, span.path)}:{span.start_line}:{span.start_column}"


class SourceLines:
    """Lines of the files a report quotes, each read once (text frames, markdown code)."""

    def __init__(self, root: str) -> None:
        self._root = Path(root)
        self._cache: dict[str, list[str] | None] = {}

    def lines(self, path: str) -> list[str] | None:
        if path not in self._cache:
            try:
                data = (self._root / path).read_bytes()
            except OSError:
                self._cache[path] = None  # no frame; the location line still says where
            else:
                self._cache[path] = data.decode("utf-8", errors="replace").splitlines()
        return self._cache[path]


def _counts(pairs: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{rule_id}: {n}" for rule_id, n in pairs)


def duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s"


def summary_line(summary: Summary) -> str:
    """``2 findings (LC101: 1, LC102: 1), 1 suppressed, 4 files analyzed in 0.31s, 1 file
    error.`` (baselined findings and unused suppressions are counted when there are any)."""
    parts = [plural(summary.active, "finding")]
    if summary.active_by_rule:
        parts[0] += f" ({_counts(summary.active_by_rule)})"
    suppressed = f"{summary.suppressed} suppressed"
    if summary.suppressed_by_rule:
        suppressed += f" ({_counts(summary.suppressed_by_rule)})"
    parts.append(suppressed)
    if summary.baseline_used:
        parts.append(f"{summary.baselined} baselined")
    if summary.unused_suppressions:
        parts.append(plural(summary.unused_suppressions, "unused suppression"))
    parts += [
        plural(summary.files_analyzed, "file") + " analyzed in "
        + duration(summary.elapsed_seconds),
        plural(summary.file_errors, "file error"),
    ]
    return ", ".join(parts) + "."


def statistics_rows(result: CheckResult) -> list[tuple[str, str, int, int, int]]:
    """(rule id, name, active, suppressed, baselined) for every rule with a count."""
    names = {r.id: r.name for r in result.rules}
    names[UNUSED_SUPPRESSION_ID] = UNUSED_SUPPRESSION_RULE.name
    active: Counter[str] = Counter()
    suppressed: Counter[str] = Counter()
    baselined: Counter[str] = Counter()
    for f in result.findings:
        names.setdefault(f.rule_id, f.rule_name)
        bucket = suppressed if f.suppressed else baselined if f.baselined else active
        bucket[f.rule_id] += 1
    active[UNUSED_SUPPRESSION_ID] += len(result.unused_suppressions)
    ids = sorted(rule for rule in names if active[rule] or suppressed[rule] or baselined[rule])
    return [(rule, names[rule], active[rule], suppressed[rule], baselined[rule]) for rule in ids]
