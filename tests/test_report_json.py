"""--format json: the documented, versioned document (SPEC §4, README "JSON output")."""

from __future__ import annotations

import json

import report_factories as rf

from leakcheck import __version__
from leakcheck.report import get_reporter
from leakcheck.types import Span, Step


def render(result, *, color: bool = False) -> str:
    return get_reporter("json").render(result, color=color)


def full_result():
    return rf.result(
        findings=(rf.finding(), rf.suppressed_finding()),
        file_errors=(rf.file_error(),),
    )


def test_top_level_shape_and_version():
    doc = json.loads(render(full_result()))
    assert set(doc) == {
        "version", "tool", "root", "files_analyzed", "findings", "file_errors", "summary",
        "unused_suppressions", "baseline",
    }
    assert doc["version"] == 1
    assert doc["tool"] == {"name": "leakcheck", "version": __version__}
    assert doc["root"] == "/project"
    assert doc["files_analyzed"] == 2


def test_finding_carries_rule_locations_path_and_fingerprint():
    doc = json.loads(render(full_result()))
    f = doc["findings"][0]
    assert f["rule_id"] == "LC101"
    assert f["rule_name"] == "cot-reaches-grader"
    assert f["level"] == "error"
    assert f["kind"] == "cot"
    assert f["kinds"] == ["cot"]
    assert f["message"] == "reasoning from `msg.reasoning_content` reaches grader `judge()`"
    assert f["message_template"] == "reasoning from {source} reaches grader {sink}"
    assert f["message_args"] == {"source": "`msg.reasoning_content`", "sink": "`judge()`"}
    assert f["sink"] == {
        "path": "pkg/reward.py", "start_line": 4, "start_column": 26, "end_line": 4,
        "end_column": 34, "description": "passed to `judge()`",
    }
    assert f["source"] == {
        "path": "pkg/reward.py", "start_line": 3, "start_column": 16, "end_line": 3,
        "end_column": 37, "description": "`msg.reasoning_content` is reasoning",
    }
    assert [s["kind"] for s in f["path"]] == ["source", "flow", "sink"]
    assert f["path"][1] == {
        "location": {"path": "pkg/reward.py", "start_line": 3, "start_column": 5,
                     "end_line": 3, "end_column": 13},
        "message": "assigned to `thinking`",
        "kind": "flow",
    }
    assert f["fingerprint"] == "5f2c0d9a41b7e3c8"
    assert f["suppressed"] is False
    assert f["suppression"] is None


def test_suppressed_finding_is_listed_with_its_reason():
    doc = json.loads(render(full_result()))
    f = doc["findings"][1]
    assert f["rule_id"] == "LC102"
    assert f["suppressed"] is True
    assert f["suppression"]["reason"] == "format reward reads the think tags on purpose"
    assert f["suppression"]["rules"] == ["LC102"]
    assert f["suppression"]["location"]["start_line"] == 4


def test_bare_suppression_has_null_reason_and_no_rules():
    from leakcheck.types import Suppression

    bare = rf.finding(suppression=Suppression(Span("pkg/reward.py", 4, 40, 4, 60), (), None))
    f = json.loads(render(rf.result(findings=(bare,))))["findings"][0]
    assert f["suppressed"] is True
    assert f["suppression"]["reason"] is None
    assert f["suppression"]["rules"] == []


def test_file_errors_are_entries():
    doc = json.loads(render(full_result()))
    assert doc["file_errors"] == [{
        "path": "pkg/broken.py", "line": 2, "column": 41, "kind": "syntax",
        "message": "invalid syntax: expected ':'",
    }]


def test_summary_counts_active_and_suppressed_by_rule():
    doc = json.loads(render(full_result()))
    assert doc["summary"] == {
        "active": 1,
        "suppressed": 1,
        "baselined": 0,
        "unused_suppressions": 0,
        "by_rule": {"LC101": {"active": 1, "suppressed": 0, "baselined": 0},
                    "LC102": {"active": 0, "suppressed": 1, "baselined": 0}},
        "file_errors": 1,
    }


def test_empty_run():
    doc = json.loads(render(rf.result(files=())))
    assert doc["findings"] == [] and doc["file_errors"] == []
    assert doc["files_analyzed"] == 0
    assert doc["summary"] == {"active": 0, "suppressed": 0, "baselined": 0,
                              "unused_suppressions": 0, "by_rule": {}, "file_errors": 0}
    assert doc["unused_suppressions"] == [] and doc["baseline"] is None


def test_findings_keep_the_result_order():
    a = rf.finding(sink=Span("a.py", 9, 1, 9, 5), fingerprint="1")
    b = rf.finding(sink=Span("b.py", 1, 1, 1, 5), fingerprint="2")
    doc = json.loads(render(rf.result(findings=(a, b))))
    assert [f["fingerprint"] for f in doc["findings"]] == ["1", "2"]


def test_layout_is_sorted_keys_indent_2_and_trailing_newline():
    text = render(full_result())
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_deterministic_and_never_colored():
    result = full_result()
    first = render(result)
    assert render(result) == first
    assert render(result, color=True) == first
    assert "\x1b" not in first


def test_elapsed_time_does_not_reach_the_output():
    import dataclasses

    result = full_result()
    slower = dataclasses.replace(result, elapsed_seconds=99.0)
    assert render(slower) == render(result)


def test_non_ascii_paths_and_messages_survive():
    sink = Span("données/récompense.py", 1, 1, 1, 2)
    step = Step(sink, "passé à `juge()`", "sink")
    f = rf.finding(sink=sink, steps=(step,), message="raisonnement → juge")
    doc = json.loads(render(rf.result(findings=(f,))))
    assert doc["findings"][0]["sink"]["path"] == "données/récompense.py"
    assert doc["findings"][0]["message"] == "raisonnement → juge"
