"""``--format json``: a documented, versioned record of a run (README "JSON output").

Version 1. Additive changes (new keys) keep the version; renaming, removing or changing the
meaning of a key bumps it. Keys are sorted and nothing depends on the clock, so the same
tree gives byte-identical output.
"""

from __future__ import annotations

from typing import Any

from leakcheck.report.base import TOOL_NAME, ReporterBase, summarize, tool_version
from leakcheck.report.pretty import dumps
from leakcheck.suppress import UNUSED_SUPPRESSION_ID, UNUSED_SUPPRESSION_RULE
from leakcheck.types import CheckResult, FileError, Finding, Span, Step, UnusedSuppression

JSON_FORMAT_VERSION = 1


def _span(span: Span) -> dict[str, Any]:
    return {
        "path": span.path,
        "start_line": span.start_line,
        "start_column": span.start_column,
        "end_line": span.end_line,
        "end_column": span.end_column,
    }


def _step(step: Step) -> dict[str, Any]:
    return {"location": _span(step.span), "message": step.message, "kind": step.kind}


def _finding(finding: Finding) -> dict[str, Any]:
    suppression = finding.suppression
    return {
        "rule_id": finding.rule_id,
        "rule_name": finding.rule_name,
        "level": finding.level,
        "kind": finding.kind,
        "kinds": list(finding.kinds),
        "message": finding.message,
        "message_template": finding.message_template,
        "message_args": dict(finding.message_args),
        "sink": {**_span(finding.sink), "description": finding.sink_description},
        "source": {**_span(finding.source), "description": finding.source_description},
        "path": [_step(s) for s in finding.path],
        "fingerprint": finding.fingerprint,
        "baselined": finding.baselined,
        "suppressed": suppression is not None,
        "suppression": None
        if suppression is None
        else {
            "reason": suppression.reason,
            "rules": list(suppression.rules),
            "location": _span(suppression.span),
        },
    }


def _unused(unused: UnusedSuppression) -> dict[str, Any]:
    return {
        "rule_id": UNUSED_SUPPRESSION_ID,
        "level": UNUSED_SUPPRESSION_RULE.level,
        "location": _span(unused.span),
        "rules": list(unused.rules),
        "message": unused.message,
    }


def _file_error(error: FileError) -> dict[str, Any]:
    return {
        "path": error.path,
        "line": error.line,
        "column": error.column,
        "kind": error.kind,
        "message": error.message,
    }


def to_document(result: CheckResult) -> dict[str, Any]:
    """The JSON document as Python data (tests and embedders use it without re-parsing)."""
    summary = summarize(result)
    by_rule: dict[str, dict[str, int]] = {}
    def count(rule_id: str) -> dict[str, int]:
        return by_rule.setdefault(rule_id, {"active": 0, "suppressed": 0, "baselined": 0})

    for rule_id, n in summary.active_by_rule:
        count(rule_id)["active"] = n
    for rule_id, n in summary.suppressed_by_rule:
        count(rule_id)["suppressed"] = n
    for rule_id, n in summary.baselined_by_rule:
        count(rule_id)["baselined"] = n
    baseline = result.baseline
    return {
        "version": JSON_FORMAT_VERSION,
        "tool": {"name": TOOL_NAME, "version": tool_version()},
        "root": result.root,
        "files_analyzed": summary.files_analyzed,
        "findings": [_finding(f) for f in result.findings],
        "unused_suppressions": [_unused(u) for u in result.unused_suppressions],
        "file_errors": [_file_error(e) for e in result.file_errors],
        "baseline": None if baseline is None else {
            "path": baseline.path, "entries": baseline.entries,
            "unmatched": baseline.unmatched},
        "summary": {
            "active": summary.active,
            "suppressed": summary.suppressed,
            "baselined": summary.baselined,
            "unused_suppressions": summary.unused_suppressions,
            "by_rule": by_rule,
            "file_errors": summary.file_errors,
        },
    }


class JsonReporter(ReporterBase):
    def render(self, result: CheckResult, *, color: bool = False) -> str:
        # ``color`` is part of the protocol; machine formats never carry escapes.
        return dumps(to_document(result), sort_keys=True) + "\n"
