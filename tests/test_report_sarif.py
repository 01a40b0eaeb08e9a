"""--format sarif: SARIF 2.1.0 as SPEC §4 and GitHub code scanning require."""

from __future__ import annotations

import json

import pytest
import report_factories as rf
from conftest import assert_valid_sarif

from leakcheck import __version__
from leakcheck.report import get_reporter
from leakcheck.report.sarif import (
    MAX_RESULTS,
    MAX_THREAD_FLOW_LOCATIONS,
    build_log,
)
from leakcheck.types import Span, Step


def render(result) -> str:
    return get_reporter("sarif").render(result, color=False)


def log_of(result) -> dict:
    return json.loads(render(result))


def full_result():
    return rf.result(
        "/home/dev/my project",
        findings=(rf.finding(), rf.suppressed_finding()),
        file_errors=(rf.file_error(),),
    )


@pytest.fixture
def run():
    log = log_of(full_result())
    assert len(log["runs"]) == 1
    return log["runs"][0]


def test_valid_against_the_official_schema(sarif_validator):
    assert_valid_sarif(sarif_validator, log_of(full_result()))


def test_empty_run_is_valid(sarif_validator):
    log = log_of(rf.result(files=()))
    assert_valid_sarif(sarif_validator, log)
    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is True


def test_log_header():
    log = log_of(full_result())
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"


def test_driver_identifies_the_tool(run):
    driver = run["tool"]["driver"]
    assert driver["name"] == "leakcheck"
    assert driver["version"] == __version__
    assert driver["semanticVersion"] == __version__
    assert driver["informationUri"].startswith("https://")


def test_rules_metadata(run):
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["LC101", "LC102"]
    lc101, lc102 = rules
    assert lc101["name"] == "cot-reaches-grader"
    assert lc101["shortDescription"]["text"] == "Reasoning text reaches a grader"
    assert lc101["fullDescription"]["text"] == "Text known to be reasoning flows into a grader."
    assert lc101["defaultConfiguration"]["level"] == "error"
    assert lc102["defaultConfiguration"]["level"] == "warning"
    for rule in rules:
        help_ = rule["help"]
        for section in ("What it does", "Why is this bad?", "Example", "Use instead"):
            assert section in help_["text"]
            assert f"## {section}" in help_["markdown"]
        assert "```python" in help_["markdown"]
        assert "```" not in help_["text"]
        assert "judge(prompt, msg.content)" in help_["text"]
        assert rule["properties"]["tags"]
        assert rule["properties"]["precision"] in {"very-high", "high", "medium", "low"}
        # GitHub's length limits
        assert len(rule["shortDescription"]["text"]) <= 1024
        assert len(rule["fullDescription"]["text"]) <= 1024


def test_rules_are_listed_even_without_findings():
    rules = log_of(rf.result())["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["LC101", "LC102"]


def test_rule_index_points_at_the_rule(run):
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_result_level_and_message(run):
    first = run["results"][0]
    assert first["ruleId"] == "LC101"
    assert first["level"] == "error"
    text = first["message"]["text"]
    assert "reasoning from `msg.reasoning_content` reaches grader `judge()`" in text
    assert "[source](1)" in text


def test_primary_location_is_the_sink(run):
    loc = run["results"][0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "pkg/reward.py", "uriBaseId": "%SRCROOT%"}
    assert loc["region"] == {"startLine": 4, "startColumn": 26, "endLine": 4, "endColumn": 34}


def test_related_location_is_the_source(run):
    related = run["results"][0]["relatedLocations"]
    assert len(related) == 1
    assert related[0]["id"] == 1  # the id [source](1) links to
    phys = related[0]["physicalLocation"]
    assert phys["artifactLocation"]["uri"] == "pkg/reward.py"
    assert phys["region"] == {"startLine": 3, "startColumn": 16, "endLine": 3, "endColumn": 37}
    assert related[0]["message"]["text"] == "`msg.reasoning_content` is reasoning"


def test_code_flow_is_the_path_in_order(run):
    finding = rf.finding()
    flows = run["results"][0]["codeFlows"]
    locations = flows[0]["threadFlows"][0]["locations"]
    assert len(locations) == len(finding.path)
    for tfl, step in zip(locations, finding.path, strict=True):
        region = tfl["location"]["physicalLocation"]["region"]
        assert (region["startLine"], region["startColumn"], region["endLine"],
                region["endColumn"]) == (step.span.start_line, step.span.start_column,
                                         step.span.end_line, step.span.end_column)
        assert tfl["location"]["message"]["text"] == step.message
        assert tfl["nestingLevel"] == 0
        assert tfl["kinds"]
    assert [t["executionOrder"] for t in locations] == [1, 2, 3]
    assert "taint" in locations[0]["kinds"]
    # the flow ends where the result is reported
    assert locations[-1]["location"]["physicalLocation"] == \
        run["results"][0]["locations"][0]["physicalLocation"]


def test_call_and_return_steps_are_marked():
    span = Span("pkg/reward.py", 4, 12, 4, 35)
    steps = (
        Step(rf.SOURCE, "reasoning", "source"),
        Step(span, "passed to `helper()`", "call"),
        Step(span, "returned from `helper()`", "return"),
        Step(rf.SINK, "passed to `judge()`", "sink"),
    )
    res = log_of(rf.result(findings=(rf.finding(steps=steps),)))["runs"][0]["results"][0]
    kinds = [t["kinds"] for t in res["codeFlows"][0]["threadFlows"][0]["locations"]]
    assert "call" in kinds[1] and "return" in kinds[2]


def test_partial_fingerprint_is_the_engines_and_not_a_line_hash(run):
    fp = run["results"][0]["partialFingerprints"]
    assert fp == {"leakcheck/v1": "5f2c0d9a41b7e3c8"}
    assert "primaryLocationLineHash" not in fp


def test_suppressed_finding_is_kept_with_in_source_justification(run):
    assert len(run["results"]) == 2
    active, suppressed = run["results"]
    assert "suppressions" not in active
    assert suppressed["ruleId"] == "LC102"
    assert suppressed["suppressions"][0]["kind"] == "inSource"
    assert suppressed["suppressions"][0]["justification"] == \
        "format reward reads the think tags on purpose"


def test_file_errors_are_warning_notifications_of_a_successful_run(run):
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is True
    notes = invocation["toolExecutionNotifications"]
    assert len(notes) == 1
    assert notes[0]["level"] == "warning"
    assert "invalid syntax" in notes[0]["message"]["text"]
    phys = notes[0]["locations"][0]["physicalLocation"]
    assert phys["artifactLocation"]["uri"] == "pkg/broken.py"
    assert phys["region"]["startLine"] == 2
    assert all(n["level"] != "error" for n in notes)


def test_unreadable_file_without_position_is_still_valid(sarif_validator):
    from leakcheck.types import FileError

    err = FileError("pkg/gone.py", 0, 0, "read", "permission denied")
    log = log_of(rf.result(file_errors=(err,)))
    assert_valid_sarif(sarif_validator, log)
    note = log["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "pkg/gone.py"


def test_root_is_an_absolute_file_uri_in_original_uri_base_ids(run):
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base == "file:///home/dev/my%20project/"


def test_uris_are_relative_percent_encoded_with_forward_slashes(sarif_validator):
    sink = Span("src/my rewards/récompense#1.py", 2, 1, 2, 9)
    f = rf.finding(sink=sink, steps=(Step(sink, "here", "sink"),))
    log = log_of(rf.result(findings=(f,)))
    assert_valid_sarif(sarif_validator, log)
    location = log["runs"][0]["results"][0]["locations"][0]
    uri = location["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "src/my%20rewards/r%C3%A9compense%231.py"


def test_a_backslash_is_part_of_a_posix_file_name_in_the_uri(sarif_validator):
    """Paths are ``as_posix()`` on every system: a backslash is a character of the name (a
    POSIX file may hold one), not a separator to turn into a slash."""
    sink = Span("src/a\\b.py", 2, 1, 2, 9)
    f = rf.finding(sink=sink, steps=(Step(sink, "here", "sink"),))
    log = log_of(rf.result(findings=(f,)))
    assert_valid_sarif(sarif_validator, log)
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "src/a%5Cb.py", "uriBaseId": "%SRCROOT%"}


def test_literal_brackets_in_messages_are_escaped():
    f = rf.finding(message='reasoning from `sample["cot"]` reaches grader `judge()`')
    text = log_of(rf.result(findings=(f,)))["runs"][0]["results"][0]["message"]["text"]
    assert r'sample\["cot"\]' in text
    assert text.endswith(" ([source](1))")


def test_results_are_capped_with_a_notification(sarif_validator):
    findings = tuple(
        rf.finding(sink=Span("pkg/reward.py", n, 1, n, 2), fingerprint=str(n)) for n in range(1, 6)
    )
    log = build_log(rf.result(findings=findings), max_results=3)
    assert_valid_sarif(sarif_validator, log)
    run = log["runs"][0]
    assert len(run["results"]) == 3
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert any("5 results" in n["message"]["text"] for n in notes)
    assert run["invocations"][0]["executionSuccessful"] is True


def test_capping_keeps_active_findings_before_suppressed_ones():
    active = tuple(rf.finding(fingerprint=f"a{n}") for n in range(2))
    log = build_log(rf.result(findings=(rf.suppressed_finding(), *active)), max_results=2)
    kept = [r["partialFingerprints"]["leakcheck/v1"] for r in log["runs"][0]["results"]]
    assert kept == ["a0", "a1"]


def test_thread_flows_are_capped_and_still_end_at_the_sink(sarif_validator):
    steps = tuple(Step(Span("pkg/reward.py", n, 1, n, 2), f"step {n}", "flow") for n in range(1, 7))
    steps += (Step(rf.SINK, "passed to `judge()`", "sink"),)
    log = build_log(rf.result(findings=(rf.finding(steps=steps),)), max_thread_flow_locations=4)
    assert_valid_sarif(sarif_validator, log)
    run = log["runs"][0]
    locations = run["results"][0]["codeFlows"][0]["threadFlows"][0]["locations"]
    assert len(locations) == 4
    assert locations[-1]["location"]["message"]["text"] == "passed to `judge()`"
    assert [t["executionOrder"] for t in locations] == [1, 2, 3, 7]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert any("cut" in n["message"]["text"] for n in notes)


def test_default_caps_are_githubs_limits():
    assert MAX_RESULTS == 25_000
    assert MAX_THREAD_FLOW_LOCATIONS == 10_000


def test_default_thread_flow_cap_applies():
    steps = tuple(Step(Span("pkg/reward.py", 1, 1, 1, 2), "hop", "flow") for _ in range(10_050))
    log = build_log(rf.result(findings=(rf.finding(steps=steps),)))
    locations = log["runs"][0]["results"][0]["codeFlows"][0]["threadFlows"][0]["locations"]
    assert len(locations) == 10_000


def test_default_result_cap_applies():
    findings = (rf.finding(steps=(Step(rf.SINK, "sink", "sink"),)),) * (MAX_RESULTS + 1)
    log = build_log(rf.result(findings=findings))
    assert len(log["runs"][0]["results"]) == MAX_RESULTS


def test_byte_identical_across_renders():
    assert render(full_result()) == render(full_result())
    assert render(full_result()).endswith("}\n")
