"""``--format markdown``: a report for a GitHub job summary (``>> $GITHUB_STEP_SUMMARY``) or
a pull-request comment.

A heading with the verdict, a table of counts per rule, then each active finding: its
location and message, the sink line as code, and the numbered path from source to sink.
Comments that suppress nothing and files that could not be analyzed get their own tables;
suppressed and baselined findings sit in a collapsed section (the audit trail, with each
reason). At most ``MAX_DETAILED`` findings are shown in full, so a comment stays under
GitHub's 65,536-character limit; the rest are counted.

Text outside code spans is escaped so file contents and messages cannot turn into markup
or HTML; nothing depends on the clock (the time is left out), so output is deterministic.
"""

from __future__ import annotations

import re

from leakcheck.report.base import (
    ReporterBase,
    SourceLines,
    display_path,
    location,
    plural,
    statistics_rows,
    summarize,
)
from leakcheck.suppress import UNUSED_SUPPRESSION_ID
from leakcheck.types import CheckResult, Finding, Span

MAX_DETAILED = 50
_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")
_CODE_SPAN = re.compile(r"(`[^`\n]*`)")


def escape(text: str) -> str:
    """Markdown-escape plain text (no code spans in it)."""
    return _SPECIAL.sub(r"\\\1", text).replace("&", "&amp;")


def inline(text: str, *, table: bool = False) -> str:
    """A message with `code spans`: the spans are kept, the rest escaped. In a table cell a
    ``|`` must be escaped even inside a code span (GFM)."""
    parts = []
    for piece in _CODE_SPAN.split(text):
        if piece.startswith("`") and piece.endswith("`") and len(piece) >= 2:
            parts.append(piece.replace("|", "\\|") if table else piece)
        else:
            parts.append(escape(piece))
    return "".join(parts)


def code(text: str, *, table: bool = False) -> str:
    """``text`` as one code span, whatever backticks it holds."""
    ticks = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    out = f"{ticks}{pad}{text}{pad}{ticks}"
    return out.replace("|", "\\|") if table else out


class MarkdownReporter(ReporterBase):
    def render(self, result: CheckResult, *, color: bool = False) -> str:
        summary = summarize(result)
        self._root = result.root
        self._sources = SourceLines(result.root)
        out: list[str] = []
        quiet_verdict = ("no leaks found" if not (summary.suppressed or summary.baselined)
                         else "no active findings")
        verdict = (quiet_verdict if not summary.failing else
                   ", ".join(p for p in (
                       plural(summary.active, "finding") if summary.active else "",
                       plural(summary.unused_suppressions, "unused suppression")
                       if summary.unused_suppressions else "",
                       plural(summary.file_errors, "file not analyzed", "files not analyzed")
                       if summary.file_errors else "") if p))
        out.append(f"## leakcheck: {verdict}")
        out.append("")
        counts = [plural(summary.files_analyzed, "file") + " analyzed",
                  f"{summary.suppressed} suppressed"]
        if summary.baseline_used:
            counts.append(f"{summary.baselined} baselined")
        counts.append(plural(summary.file_errors, "file error"))
        out.append(escape(", ".join(counts) + "."))
        out.append("")
        rows = statistics_rows(result)
        if rows:
            out += ["| rule | name | findings | suppressed | baselined |",
                    "|---|---|---:|---:|---:|"]
            out += [f"| {r} | {code(n, table=True)} | {a} | {s} | {b} |"
                    for r, n, a, s, b in rows]
            out.append("")
        active = result.active_findings
        for n, f in enumerate(active[:MAX_DETAILED], start=1):
            out += self._finding(n, f)
        if len(active) > MAX_DETAILED:
            out += [escape(f"… and {len(active) - MAX_DETAILED} more findings "
                           "(--format text, json or sarif lists them all)."), ""]
        if result.unused_suppressions:
            out += [f"### Unused suppressions ({UNUSED_SUPPRESSION_ID})", "",
                    "| location | problem |", "|---|---|"]
            out += [f"| {code(self._where(u.span), table=True)} | {inline(u.message, table=True)} |"
                    for u in result.unused_suppressions]
            out.append("")
        if result.file_errors:
            out += ["### Files not analyzed", "", "| file | kind | error |", "|---|---|---|"]
            for e in result.file_errors:
                where = f"{display_path(self._root, e.path)}:{max(1, e.line)}"
                out.append(f"| {code(where, table=True)} | {e.kind} | "
                           f"{inline(e.message, table=True)} |")
            out.append("")
        acknowledged = [f for f in result.findings if not f.active]
        if acknowledged:
            out += ["<details><summary>"
                    + escape(f"Acknowledged: {summary.suppressed} suppressed, "
                             f"{summary.baselined} baselined")
                    + "</summary>", "",
                    "| location | rule | message | why |", "|---|---|---|---|"]
            for f in acknowledged:
                if f.suppression is not None:
                    why = inline(f.suppression.reason, table=True) if f.suppression.reason \
                        else "suppressed, no reason given"
                else:
                    why = "in the baseline"
                out.append(f"| {code(self._where(f.sink), table=True)} | {f.rule_id} | "
                           f"{inline(f.message, table=True)} | {why} |")
            out += ["", "</details>", ""]
        return "\n".join(out).rstrip("\n") + "\n"

    def _where(self, span: Span) -> str:
        return location(self._root, span)

    def _source_line(self, span: Span) -> str | None:
        lines = self._sources.lines(span.path)
        if not lines or not 1 <= span.start_line <= len(lines):
            return None
        return lines[span.start_line - 1].strip()

    def _finding(self, n: int, f: Finding) -> list[str]:
        level = {"error": "error", "warning": "warning"}.get(f.level, f.level)
        out = [f"### {n}. {f.rule_id} {code(self._where(f.sink))}", "",
               f"**{level}**: {inline(f.message)}", ""]
        line = self._source_line(f.sink)
        if line is not None:
            fence = "~~~" if "```" in line else "```"
            out += [f"{fence}python", line, fence, ""]
        if f.path:
            out += [f"Path ({plural(len(f.path), 'step')}):", ""]
            out += [f"{i}. {code(self._where(s.span))} {inline(s.message)}"
                    for i, s in enumerate(f.path, start=1)]
            out.append("")
        return out
