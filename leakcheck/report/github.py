"""``--format github``: GitHub Actions workflow commands, one annotation per diagnostic.

``::error file=F,line=L,endLine=L2,col=C,endColumn=C2,title=LC101 cot-reaches-grader::msg``
for every active finding (its level: error, warning, or notice for note), ``::warning`` for
each comment that suppresses nothing (LC001) and ``::error`` for each file that could not be
analyzed; suppressed and baselined findings are acknowledged and get none. The message
carries the numbered path, one step a line, so the annotation shows where the reasoning came
from. A plain summary line ends the output (the log shows it; it is not a command).

Escaping follows the runner (actions/toolkit ``command.ts``): in the message ``%``, CR and LF
become ``%25``, ``%0D``, ``%0A``; property values also escape ``:`` and ``,``. Paths are as
``display_path`` gives them: relative to the current directory, which in a workflow is the
workspace GitHub resolves them against.
"""

from __future__ import annotations

from leakcheck.report.base import ReporterBase, display_path, location, summarize, summary_line
from leakcheck.suppress import UNUSED_SUPPRESSION_ID, UNUSED_SUPPRESSION_RULE
from leakcheck.types import CheckResult, Span

_COMMAND = {"error": "error", "warning": "warning", "note": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, root: str, span: Span, title: str, message: str) -> str:
    props = [("file", display_path(root, span.path)), ("line", str(span.start_line)),
             ("endLine", str(span.end_line)), ("col", str(span.start_column)),
             ("endColumn", str(span.end_column)), ("title", title)]
    head = ",".join(f"{key}={escape_property(value)}" for key, value in props)
    return f"::{_COMMAND.get(level, 'warning')} {head}::{escape_data(message)}"


class GithubReporter(ReporterBase):
    def render(self, result: CheckResult, *, color: bool = False) -> str:
        lines = []
        for f in result.active_findings:
            steps = "\n".join(
                f"{n}. {location(result.root, s.span)} {s.message}"
                for n, s in enumerate(f.path, start=1))
            message = f.message + (f"\n{steps}" if steps else "")
            lines.append(command(f.level, result.root, f.sink, f"{f.rule_id} {f.rule_name}",
                                 message))
        for u in result.unused_suppressions:
            lines.append(command(UNUSED_SUPPRESSION_RULE.level, result.root, u.span,
                                 f"{UNUSED_SUPPRESSION_ID} {UNUSED_SUPPRESSION_RULE.name}",
                                 u.message))
        for e in result.file_errors:
            line, column = max(1, e.line), max(1, e.column)
            shown = display_path(result.root, e.path)
            lines.append(command("error", result.root, Span(e.path, line, column, line, column),
                                 "leakcheck: file not analyzed",
                                 f"could not analyze {shown} ({e.kind}): {e.message}"))
        lines.append("leakcheck: " + summary_line(summarize(result)))
        return "\n".join(lines) + "\n"
