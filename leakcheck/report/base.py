"""What every output format shares: the Reporter protocol, the format registry, run counts.

A new format is a new module in this package plus one line in ``_REPORTERS``. The registry
names ``module:Class`` strings and imports on demand, so listing formats (for ``--format``
choices) costs nothing and a reporter's dependencies (rich) load only when it is used.
"""

from __future__ import annotations

import importlib
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

from leakcheck.types import CheckResult

TOOL_NAME = "leakcheck"
# Where SARIF viewers send people who click the tool name; one place to change it.
INFORMATION_URI = "https://github.com/leakcheck/leakcheck"


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
}


def format_names() -> tuple[str, ...]:
    """The names ``--format`` accepts, default first."""
    return tuple(_REPORTERS)


def get_reporter(name: str) -> Reporter:
    try:
        target = _REPORTERS[name]
    except KeyError:
        known = ", ".join(_REPORTERS)
        raise ValueError(f"unknown output format {name!r} (known: {known})") from None
    module_name, _, class_name = target.partition(":")
    reporter_class = getattr(importlib.import_module(module_name), class_name)
    reporter: Reporter = reporter_class()
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

    @property
    def active(self) -> int:
        return sum(n for _, n in self.active_by_rule)

    @property
    def suppressed(self) -> int:
        return sum(n for _, n in self.suppressed_by_rule)


def summarize(result: CheckResult) -> Summary:
    active = Counter(f.rule_id for f in result.findings if not f.suppressed)
    suppressed = Counter(f.rule_id for f in result.findings if f.suppressed)
    return Summary(
        active_by_rule=tuple(sorted(active.items())),
        suppressed_by_rule=tuple(sorted(suppressed.items())),
        files_analyzed=len(result.files),
        file_errors=len(result.file_errors),
    )


def plural(n: int, word: str, plural_word: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural_word or word + 's')}"
