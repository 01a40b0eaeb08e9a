"""``--format sarif``: SARIF 2.1.0 for GitHub code scanning and editor viewers (SPEC §4).

Shape decisions, each for a consumer:
- ``locations[0]`` is the sink: GitHub annotates the first location only.
- URIs are relative to the project root (GitHub ignores ``uriBaseId``) and also carry
  ``uriBaseId: %SRCROOT%`` with ``originalUriBaseIds`` for viewers that resolve it.
- ``partialFingerprints`` carries the engine's own fingerprint under ``leakcheck/v1``. We do
  not fill ``primaryLocationLineHash``: the upload Action computes it from code content, and a
  value made from ``file:line`` would stop it from doing so and break alert tracking.
- File errors are ``warning`` notifications with ``executionSuccessful: true``: an error-level
  notification means a failed run, and a broken file does not fail the run.
- GitHub rejects runs over 25,000 results or thread flows over 10,000 steps; we cut to fit and
  say so in a notification rather than produce an upload that fails.
Objects are built in a fixed key order (readable, and deterministic without sorting).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from leakcheck import rule_docs
from leakcheck.report.base import INFORMATION_URI, TOOL_NAME, ReporterBase, tool_version
from leakcheck.report.pretty import dumps
from leakcheck.suppress import UNUSED_SUPPRESSION_ID, UNUSED_SUPPRESSION_RULE
from leakcheck.types import (
    CheckResult,
    FileError,
    Finding,
    RuleInfo,
    Span,
    Step,
    UnusedSuppression,
)

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "leakcheck/v1"
MAX_RESULTS = 25_000  # GitHub: results per run
MAX_THREAD_FLOW_LOCATIONS = 10_000  # GitHub: locations per thread flow
SOURCE_LOCATION_ID = 1  # relatedLocations id the result message links to: [source](1)
_TEXT_LIMIT = 1024  # GitHub: shortDescription/fullDescription text length
_NAME_LIMIT = 255  # GitHub: rule name length

# Step.kind -> threadFlowLocation.kinds (SARIF well-known values where one fits).
_STEP_KINDS: dict[str, list[str]] = {
    "source": ["taint", "source"],
    "flow": ["taint"],
    "call": ["call"],
    "return": ["return"],
    "sink": ["taint", "sink"],
}
_PRECISION = {"error": "high", "warning": "medium", "note": "low"}
_PROBLEM_SEVERITY = {"error": "error", "warning": "warning", "note": "recommendation"}


# --- locations -------------------------------------------------------------------------


def artifact_uri(path: str) -> str:
    """A root-relative POSIX path (``Path.as_posix``: forward slashes on every system) as a
    URI reference, percent-encoded; a backslash is part of a POSIX file name."""
    return quote(path, safe="/")


def root_uri(root: str) -> str:
    """The project root as an absolute ``file:`` URI ending in ``/`` (SARIF §3.14.14)."""
    posix = root.replace("\\", "/")
    if re.match(r"^[A-Za-z]:/", posix):  # a Windows drive path
        posix = "/" + posix
    uri = "file://" + quote(posix, safe="/:")
    return uri if uri.endswith("/") else uri + "/"


def _artifact_location(path: str) -> dict[str, Any]:
    if path.startswith("/") or re.match(r"^[A-Za-z]:[/\\]", path):
        # Outside the root (should not happen): an absolute URI needs no base.
        return {"uri": root_uri(path).rstrip("/")}
    return {"uri": artifact_uri(path), "uriBaseId": SRCROOT}


def _region(span: Span) -> dict[str, int]:
    # The schema's minimum is 1 for each; a 0 from a hand-made span must not make the
    # whole log invalid.
    start_line = max(1, span.start_line)
    start_column = max(1, span.start_column)
    end_line = max(start_line, span.end_line)
    end_column = max(1, span.end_column)
    if end_line == start_line:
        end_column = max(start_column, end_column)
    return {
        "startLine": start_line,
        "startColumn": start_column,
        "endLine": end_line,
        "endColumn": end_column,
    }


def _physical(span: Span) -> dict[str, Any]:
    return {"artifactLocation": _artifact_location(span.path), "region": _region(span)}


def _message(text: str) -> dict[str, str]:
    return {"text": text}


def escape_message(text: str) -> str:
    """Literal brackets in a message that has embedded links are escaped (SARIF §3.11.6)."""
    return text.replace("[", r"\[").replace("]", r"\]")


# --- rules -----------------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _help(rule: RuleInfo) -> dict[str, str]:
    return {"text": rule_docs.as_text(rule), "markdown": rule_docs.as_markdown(rule)}


def _descriptor(rule: RuleInfo) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": _clip(rule.name, _NAME_LIMIT),
        "shortDescription": _message(_clip(rule.short_description, _TEXT_LIMIT)),
        "fullDescription": _message(_clip(rule.full_description, _TEXT_LIMIT)),
        "help": _help(rule),
        "defaultConfiguration": {"level": rule.level},
        "properties": {
            "tags": ["chain-of-thought", "grader", rule.kind],
            "precision": _PRECISION.get(rule.level, "medium"),
            "problem.severity": _PROBLEM_SEVERITY.get(rule.level, "warning"),
        },
    }


def _placeholder_descriptor(finding: Finding) -> dict[str, Any]:
    # A finding whose rule the result does not describe still needs a valid ruleIndex.
    return {
        "id": finding.rule_id,
        "name": _clip(finding.rule_name, _NAME_LIMIT),
        "shortDescription": _message(finding.rule_name or finding.rule_id),
        "fullDescription": _message(finding.rule_name or finding.rule_id),
        "help": {"text": finding.rule_name or finding.rule_id},
        "defaultConfiguration": {"level": finding.level},
    }


def _rules(result: CheckResult) -> list[dict[str, Any]]:
    by_id: dict[str, dict[str, Any]] = {r.id: _descriptor(r) for r in result.rules}
    if result.unused_suppressions:
        by_id[UNUSED_SUPPRESSION_ID] = _descriptor(UNUSED_SUPPRESSION_RULE)
    for finding in result.findings:
        by_id.setdefault(finding.rule_id, _placeholder_descriptor(finding))
    return [by_id[rule_id] for rule_id in sorted(by_id)]


# --- results ---------------------------------------------------------------------------


def _thread_flow_location(step: Step, order: int) -> dict[str, Any]:
    return {
        "location": {"physicalLocation": _physical(step.span), "message": _message(step.message)},
        "kinds": _STEP_KINDS.get(step.kind, [step.kind]),
        "nestingLevel": 0,
        "executionOrder": order,
        "importance": "essential" if step.kind in ("source", "sink") else "important",
    }


def _steps(finding: Finding, max_steps: int) -> tuple[list[dict[str, Any]], bool]:
    steps: Sequence[Step] = finding.path or (
        Step(finding.source, finding.source_description, "source"),
        Step(finding.sink, finding.sink_description, "sink"),
    )
    numbered = list(enumerate(steps, start=1))
    truncated = len(numbered) > max_steps
    if truncated:
        # Keep the start of the path and its end (the sink); executionOrder keeps the
        # original numbers, so the gap is visible.
        numbered = numbered[: max_steps - 1] + numbered[-1:]
    return [_thread_flow_location(step, order) for order, step in numbered], truncated


def _result(finding: Finding, rule_index: int, max_steps: int,
            baseline_used: bool = False) -> tuple[dict[str, Any], bool]:
    locations, truncated = _steps(finding, max_steps)
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": finding.level,
        "message": _message(
            f"{escape_message(finding.message)} ([source]({SOURCE_LOCATION_ID}))"
        ),
        "locations": [
            {"physicalLocation": _physical(finding.sink),
             "message": _message(finding.sink_description)},
        ],
        "relatedLocations": [
            {"id": SOURCE_LOCATION_ID, "physicalLocation": _physical(finding.source),
             "message": _message(finding.source_description)},
        ],
        "codeFlows": [{"threadFlows": [{"locations": locations}]}],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": {"taintKinds": list(finding.kinds)},
    }
    if finding.suppression is not None:
        suppression: dict[str, Any] = {"kind": "inSource"}
        if finding.suppression.reason:
            suppression["justification"] = finding.suppression.reason
        suppression["location"] = {"physicalLocation": _physical(finding.suppression.span)}
        result["suppressions"] = [suppression]
    elif finding.baselined:
        # Known debt recorded in the baseline file: viewers show it as suppressed, not open.
        result["suppressions"] = [{"kind": "external",
                                   "justification": "recorded in the leakcheck baseline"}]
    if baseline_used:
        result["baselineState"] = "unchanged" if finding.baselined else "new"
    return result, truncated


def _unused_result(unused: UnusedSuppression, rule_index: int, occurrence: int,
                   baseline_used: bool) -> dict[str, Any]:
    # No line numbers in the fingerprint, as for findings: the file, the comment's rules and
    # what is wrong with it, and its occurrence among identical ones.
    key = "\0".join((UNUSED_SUPPRESSION_ID, unused.span.path, ",".join(unused.rules),
                     unused.message))
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    result: dict[str, Any] = {
        "ruleId": UNUSED_SUPPRESSION_ID,
        "ruleIndex": rule_index,
        "level": UNUSED_SUPPRESSION_RULE.level,
        "message": _message(unused.message),
        "locations": [{"physicalLocation": _physical(unused.span),
                       "message": _message("suppresses nothing")}],
        "partialFingerprints": {FINGERPRINT_KEY: f"{digest}:{occurrence}"},
    }
    if baseline_used:
        result["baselineState"] = "new"
    return result


def _keep(findings: Sequence[Finding], limit: int) -> Sequence[Finding]:
    """At most ``limit`` findings: active before suppressed or baselined, errors before
    warnings, in the
    result's own order otherwise (that order is already deterministic)."""
    if len(findings) <= limit:
        return findings
    rank = {"error": 0, "warning": 1, "note": 2}
    chosen = sorted(
        range(len(findings)),
        key=lambda i: (not findings[i].active, rank.get(findings[i].level, 3), i),
    )[:limit]
    return [findings[i] for i in sorted(chosen)]


# --- notifications ---------------------------------------------------------------------


def _file_error_notification(error: FileError) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": _artifact_location(error.path)}
    if error.line >= 1:
        column = max(1, error.column)
        physical["region"] = {"startLine": error.line, "startColumn": column}
    return {
        "level": "warning",
        "message": _message(f"could not analyze {error.path}: {error.message}"),
        "locations": [{"physicalLocation": physical}],
        "properties": {"errorKind": error.kind},
    }


def _truncation_notifications(
    total_results: int, max_results: int, cut_flows: int, max_steps: int
) -> list[dict[str, Any]]:
    notes: list[dict[str, Any]] = []
    if total_results > max_results:
        notes.append({
            "level": "warning",
            "message": _message(
                f"{total_results} results found; only the first {max_results} are included "
                f"(GitHub code scanning accepts at most {max_results} results a run). "
                "Run with --format json for all of them."
            ),
        })
    if cut_flows:
        notes.append({
            "level": "warning",
            "message": _message(
                f"{cut_flows} code flow(s) had more than {max_steps} steps and were cut to "
                f"{max_steps} (the first {max_steps - 1} steps and the sink)."
            ),
        })
    return notes


# --- log -------------------------------------------------------------------------------


def build_log(
    result: CheckResult,
    *,
    max_results: int = MAX_RESULTS,
    max_thread_flow_locations: int = MAX_THREAD_FLOW_LOCATIONS,
) -> dict[str, Any]:
    """The SARIF log as Python data; the caps are parameters so tests can exercise them."""
    rules = _rules(result)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    kept = _keep(result.findings, max_results)
    results: list[dict[str, Any]] = []
    cut_flows = 0
    baseline_used = result.baseline is not None
    for finding in kept:
        sarif_result, truncated = _result(
            finding, index[finding.rule_id], max_thread_flow_locations, baseline_used
        )
        results.append(sarif_result)
        cut_flows += truncated
    seen: Counter[tuple[str, tuple[str, ...], str]] = Counter()
    for unused in result.unused_suppressions[: max(0, max_results - len(results))]:
        key = (unused.span.path, unused.rules, unused.message)
        results.append(_unused_result(unused, index[UNUSED_SUPPRESSION_ID], seen[key],
                                      baseline_used))
        seen[key] += 1
    notifications = [_file_error_notification(e) for e in result.file_errors]
    notifications += _truncation_notifications(
        len(result.findings) + len(result.unused_suppressions), max_results, cut_flows,
        max_thread_flow_locations,
    )
    version = tool_version()
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": version,
                "semanticVersion": version,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "invocations": [
            {"executionSuccessful": True, "toolExecutionNotifications": notifications}
        ],
        "originalUriBaseIds": {SRCROOT: {"uri": root_uri(result.root)}},
        # libcst columns count code points; SARIF's default is UTF-16 code units.
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


class SarifReporter(ReporterBase):
    def render(self, result: CheckResult, *, color: bool = False) -> str:
        return dumps(build_log(result)) + "\n"
