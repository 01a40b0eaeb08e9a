"""``--format text``: ruff/rustc-style diagnostics for people at a terminal.

Per active finding: ``path:line:col: RULE message``, a code frame of the sink line(s) read
from disk under ``result.root``, then the numbered path from source to sink. File errors
follow as ``path:line:col: error: message``, then one summary line. Suppressed findings are
counted, not shown (they are acknowledged; JSON and SARIF list them).

Colors come only from the caller's ``color`` flag; the console ignores the environment
(TERM, NO_COLOR, COLUMNS), so the same result renders the same bytes everywhere.
"""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from rich.text import Text

from leakcheck.report.base import Summary, plural, summarize
from leakcheck.types import CheckResult, FileError, Finding, Span

_LEVEL_STYLE = {"error": "bold red", "warning": "bold yellow", "note": "bold cyan"}
_GUTTER = "bold blue"
_LOCATION = "bold"
_TAB = 4
_MAX_FRAME_LINES = 6  # a longer sink shows its first and last lines around an ellipsis


class _Sources:
    """Lines of the files a report quotes, each read once."""

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


def _location(span: Span) -> str:
    return f"{span.path}:{span.start_line}:{span.start_column}"


def _frame_rows(span: Span, lines: list[str]) -> list[tuple[int, str, int, int]]:
    """(line number, displayed text, underline start, underline end) for the sink lines.

    Offsets are in displayed (tab-expanded) characters, 0-based, end exclusive.
    """
    rows = []
    last = min(span.end_line, len(lines))
    for number in range(span.start_line, last + 1):
        raw = lines[number - 1]
        shown = raw.expandtabs(_TAB)
        if number == span.start_line:
            start = len(raw[: span.start_column - 1].expandtabs(_TAB))
        else:  # continuation lines are underlined from their first non-blank character
            start = len(shown) - len(shown.lstrip())
        if number == span.end_line:
            end = len(raw[: span.end_column - 1].expandtabs(_TAB))
        else:
            end = len(shown.rstrip())
        rows.append((number, shown.rstrip(), start, max(end, start + 1)))
    if len(rows) > _MAX_FRAME_LINES:
        rows = [*rows[:3], (0, "", 0, 0), *rows[-2:]]  # (0, ...) marks the elision
    return rows


def _frame(finding: Finding, sources: _Sources) -> list[Text]:
    lines = sources.lines(finding.sink.path)
    span = finding.sink
    if not lines or not 1 <= span.start_line <= len(lines):
        return []
    rows = _frame_rows(span, lines)
    width = len(str(max(number for number, *_ in rows)))
    style = _LEVEL_STYLE.get(finding.level, "bold")
    blank = " " * width
    out = [Text(f"{blank} |", style=_GUTTER)]
    for i, (number, shown, start, end) in enumerate(rows):
        if number == 0:
            out.append(Text(f"{'.' * width} |", style=_GUTTER))
            continue
        out.append(Text.assemble((f"{number:>{width}} | ", _GUTTER), shown))
        marker = Text.assemble((f"{blank} | ", _GUTTER), " " * start, ("^" * (end - start), style))
        if i == len(rows) - 1 and finding.sink_description:
            marker.append(" " + finding.sink_description, style=style)
        out.append(marker)
    out.append(Text(f"{blank} |", style=_GUTTER))
    return out


def _finding(finding: Finding, sources: _Sources) -> list[Text]:
    style = _LEVEL_STYLE.get(finding.level, "bold")
    head = Text.assemble(
        (_location(finding.sink) + ":", _LOCATION), " ", (finding.rule_id, style), " ",
        finding.message,
    )
    out = [head, *_frame(finding, sources)]
    if finding.path:
        out.append(Text("  path:", style="bold"))
        for n, step in enumerate(finding.path, start=1):
            out.append(Text.assemble(f"    {n}. ", (_location(step.span), _LOCATION), " ",
                                     step.message))
    return out


def _file_error(error: FileError) -> Text:
    where = f"{error.path}:{max(1, error.line)}:{max(1, error.column)}:"
    return Text.assemble((where, _LOCATION), " ", ("error:", "bold red"), " ", error.message)


def _counts(pairs: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{rule_id}: {n}" for rule_id, n in pairs)


def summary_line(summary: Summary) -> str:
    """``2 findings (LC101: 1, LC102: 1), 1 suppressed, 4 files analyzed, 1 file error.``"""
    parts = [plural(summary.active, "finding")]
    if summary.active_by_rule:
        parts[0] += f" ({_counts(summary.active_by_rule)})"
    suppressed = f"{summary.suppressed} suppressed"
    if summary.suppressed_by_rule:
        suppressed += f" ({_counts(summary.suppressed_by_rule)})"
    parts += [
        suppressed,
        plural(summary.files_analyzed, "file") + " analyzed",
        plural(summary.file_errors, "file error"),
    ]
    return ", ".join(parts) + "."


class TextReporter:
    def render(self, result: CheckResult, *, color: bool) -> str:
        buffer = io.StringIO()
        console = Console(
            file=buffer,
            color_system="standard" if color else None,
            force_terminal=color,
            force_jupyter=False,
            force_interactive=False,
            no_color=not color,
            width=200,  # soft_wrap below: long lines are never wrapped, whatever this says
            soft_wrap=True,
            markup=False,
            emoji=False,
            highlight=False,
            legacy_windows=False,
            _environ={},
        )
        sources = _Sources(result.root)
        for finding in result.active_findings:
            for line in _finding(finding, sources):
                console.print(line)
            console.print()
        for error in result.file_errors:
            console.print(_file_error(error))
        if result.file_errors:
            console.print()
        summary = summarize(result)
        style = "bold red" if summary.active or summary.file_errors else "bold green"
        console.print(Text(summary_line(summary), style=style))
        return buffer.getvalue()
