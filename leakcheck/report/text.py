"""``--format text``: ruff/rustc-style diagnostics for people at a terminal.

Per active finding: ``path:line:col: RULE message``, a code frame of the sink line(s) read
from disk under ``result.root``, then the numbered path from source to sink. Comments that
suppress nothing (LC001) follow the same shape, in file order with the findings. File errors
follow as ``path:line:col: error: message``, then one summary line. Suppressed and baselined
findings are counted, not shown (they are acknowledged; ``-v`` lists them, JSON and SARIF
carry them). ``--quiet`` keeps only the first line of each diagnostic; ``--statistics``
replaces the diagnostics with counts per rule.

Paths are shown as the user can open them from the current directory (``display_path``).
Colors come only from the caller's ``color`` flag; the console ignores the environment
(TERM, NO_COLOR, COLUMNS), so the same result renders the same bytes everywhere.
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.text import Text

from leakcheck.report.base import (
    ReporterBase,
    SourceLines,
    display_path,
    location,
    plural,
    statistics_rows,
    summarize,
    summary_line,
)
from leakcheck.suppress import UNUSED_SUPPRESSION_ID, UNUSED_SUPPRESSION_RULE
from leakcheck.types import CheckResult, FileError, Finding, Span, UnusedSuppression

_LEVEL_STYLE = {"error": "bold red", "warning": "bold yellow", "note": "bold cyan"}
_GUTTER = "bold blue"
_LOCATION = "bold"
_DIM = "dim"
_TAB = 4
_MAX_FRAME_LINES = 6  # a longer sink shows its first and last lines around an ellipsis


def _frame_rows(span: Span, lines: list[str]) -> list[tuple[int, str, int, int]]:
    """(line number, displayed text, underline start, underline end) for the span's lines.

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


def _frame(span: Span, sources: SourceLines, level: str, label: str) -> list[Text]:
    lines = sources.lines(span.path)
    if not lines or not 1 <= span.start_line <= len(lines):
        return []
    rows = _frame_rows(span, lines)
    width = len(str(max(number for number, *_ in rows)))
    style = _LEVEL_STYLE.get(level, "bold")
    blank = " " * width
    out = [Text(f"{blank} |", style=_GUTTER)]
    for i, (number, shown, start, end) in enumerate(rows):
        if number == 0:
            out.append(Text(f"{'.' * width} |", style=_GUTTER))
            continue
        out.append(Text.assemble((f"{number:>{width}} | ", _GUTTER), shown))
        marker = Text.assemble((f"{blank} | ", _GUTTER), " " * start, ("^" * (end - start), style))
        if i == len(rows) - 1 and label:
            marker.append(" " + label, style=style)
        out.append(marker)
    out.append(Text(f"{blank} |", style=_GUTTER))
    return out


class _Writer:
    """Renders the parts of one result; paths are shown relative to the current directory."""

    def __init__(self, result: CheckResult) -> None:
        self.root = result.root
        self.sources = SourceLines(result.root)

    def where(self, span: Span) -> str:
        return location(self.root, span)

    def head(self, span: Span, rule_id: str, level: str, message: str) -> Text:
        style = _LEVEL_STYLE.get(level, "bold")
        return Text.assemble((self.where(span) + ":", _LOCATION), " ", (rule_id, style), " ",
                             message)

    def finding(self, finding: Finding, *, brief: bool) -> list[Text]:
        out = [self.head(finding.sink, finding.rule_id, finding.level, finding.message)]
        if brief:
            return out
        out += _frame(finding.sink, self.sources, finding.level, finding.sink_description)
        if finding.path:
            out.append(Text("  path:", style="bold"))
            width = len(str(len(finding.path)))  # numbers right-aligned: 9. and 10. line up
            for n, step in enumerate(finding.path, start=1):
                out.append(Text.assemble(f"    {n:>{width}}. ", (self.where(step.span), _LOCATION),
                                         " ", step.message))
        return out

    def unused(self, unused: UnusedSuppression, *, brief: bool) -> list[Text]:
        level = UNUSED_SUPPRESSION_RULE.level
        out = [self.head(unused.span, UNUSED_SUPPRESSION_ID, level, unused.message)]
        if not brief:
            out += _frame(unused.span, self.sources, level, "suppresses nothing")
        return out

    def file_error(self, error: FileError, *, verbose: bool) -> list[Text]:
        line, column = max(1, error.line), max(1, error.column)
        where = f"{display_path(self.root, error.path)}:{line}:{column}:"
        label = f"error[{error.kind}]:" if verbose else "error:"
        out = [Text.assemble((where, _LOCATION), " ", (label, "bold red"), " ", error.message)]
        if verbose and error.kind in ("syntax", "encoding", "internal") and error.line >= 1:
            span = Span(error.path, line, column, line, column + 1)
            out += _frame(span, self.sources, "error", "")
        return out

    def acknowledged(self, finding: Finding) -> Text:
        """One line for a suppressed or baselined finding (``-v``)."""
        text = Text.assemble("  ", (self.where(finding.sink) + ":", _LOCATION), " ",
                             finding.rule_id, " ", finding.message)
        if finding.suppression is not None and finding.suppression.reason:
            text.append(" -- " + finding.suppression.reason, style=_DIM)
        return text


def _statistics(result: CheckResult) -> list[Text]:
    rows = statistics_rows(result)
    if not rows:
        return []
    head = ("rule", "name", "findings", "suppressed", "baselined")
    table = [head, *((r, n, str(a), str(s), str(b)) for r, n, a, s, b in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    out = []
    for i, row in enumerate(table):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]),
                 *(cell.rjust(w) for cell, w in zip(row[2:], widths[2:], strict=True))]
        out.append(Text("  ".join(cells).rstrip(), style="bold" if i == 0 else ""))
    return out


class TextReporter(ReporterBase):
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
        opts = self.options
        writer = _Writer(result)
        blocks = self._diagnostics(result, writer)
        for block in blocks:
            for line in block:
                console.print(line)
            if not opts.quiet:
                console.print()
        for error in result.file_errors:
            for line in writer.file_error(error, verbose=opts.verbose):
                console.print(line)
        if opts.quiet:
            return buffer.getvalue()
        if result.file_errors:
            if not opts.verbose:
                console.print(Text("(-v shows the error kind and the offending line)",
                                   style=_DIM))
            console.print()
        if opts.verbose:
            self._acknowledged(result, writer, console)
        summary = summarize(result)
        if summary.baseline_unmatched:
            console.print(Text(
                f"{plural(summary.baseline_unmatched, 'baseline entry', 'baseline entries')} "
                "matched no finding (fixed or changed); --write-baseline FILE refreshes it.",
                style=_DIM))
        style = "bold red" if summary.failing else "bold green"
        console.print(Text(summary_line(summary), style=style))
        return buffer.getvalue()

    def _diagnostics(self, result: CheckResult, writer: _Writer) -> list[list[Text]]:
        opts = self.options
        if opts.statistics:
            table = _statistics(result)
            return [table] if table else []
        # findings in the result's order (already sorted), then the stale comments
        blocks = [writer.finding(f, brief=opts.quiet) for f in result.active_findings]
        blocks += [writer.unused(u, brief=opts.quiet) for u in result.unused_suppressions]
        return blocks

    @staticmethod
    def _acknowledged(result: CheckResult, writer: _Writer, console: Console) -> None:
        suppressed = [f for f in result.findings if f.suppressed]
        baselined = [f for f in result.findings if f.baselined and not f.suppressed]
        if suppressed:
            console.print(Text("suppressed:", style="bold"))
            for f in suppressed:
                console.print(writer.acknowledged(f))
            console.print()
        if baselined:
            where = f" (in {result.baseline.path})" if result.baseline else ""
            console.print(Text(f"baselined{where}:", style="bold"))
            for f in baselined:
                console.print(writer.acknowledged(f))
            console.print()
