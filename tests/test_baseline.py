"""SPEC §5 baselines, through the real CLI: ``--write-baseline FILE`` records the findings,
``--baseline FILE`` hides them; matching is by fingerprint (rule, file, enclosing function,
source and sink text), so it survives unrelated edits and fails when the leak changes; it
is a multiset; SARIF carries the same fingerprints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import assert_valid_sarif

from leakcheck.api import Options, check_paths
from leakcheck.baseline import apply_baseline, identity, load_baseline
from leakcheck.cli import main
from leakcheck.errors import BaselineError

REWARDS = '''\
def judge_reward(judge, msg):
    return judge(msg.reasoning_content)


def accuracy_reward(completions, solution, **kwargs):
    return [float(c == s) for c, s in zip(completions, solution)]


def clean_reward(judge, msg):
    return judge(msg.content)
'''


def project(tmp_path: Path, text: str = REWARDS) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "pkg").mkdir(exist_ok=True)
    (tmp_path / "pkg" / "rewards.py").write_text(text)
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(main, [*args], catch_exceptions=False)


def active(root: Path, baseline: Path) -> list[tuple[int, str]]:
    res = run(str(root), "--baseline", str(baseline), "--format", "json")
    doc = json.loads(res.output)
    return sorted((f["sink"]["start_line"], f["rule_id"]) for f in doc["findings"]
                  if not f["baselined"] and not f["suppressed"])


@pytest.fixture
def baselined(tmp_path) -> tuple[Path, Path]:
    root = project(tmp_path / "p")
    baseline = tmp_path / "leakcheck-baseline.json"
    res = run(str(root), "--write-baseline", str(baseline))
    assert res.exit_code == 0, res.output  # everything is baselined now
    assert f"wrote 3 findings to {baseline}" in res.stderr
    return root, baseline


def test_write_then_use_reports_nothing_new(baselined):
    root, baseline = baselined
    res = run(str(root), "--baseline", str(baseline))
    assert res.exit_code == 0, res.output
    last = res.output.rstrip().splitlines()[-1]
    assert last.startswith("0 findings, 0 suppressed, 3 baselined, 1 file analyzed")
    # the same run without the baseline still fails
    assert run(str(root)).exit_code == 1


def test_baseline_file_is_sorted_json_with_the_reports_fingerprints(baselined):
    root, baseline = baselined
    doc = json.loads(baseline.read_text())
    assert doc["kind"] == "leakcheck-baseline" and doc["version"] == 1
    entries = doc["findings"]
    assert [(e["path"], e["rule_id"], e["fingerprint"]) for e in entries] == sorted(
        (e["path"], e["rule_id"], e["fingerprint"]) for e in entries)
    assert all("line" not in json.dumps(e) for e in entries)  # no line numbers to go stale
    report = json.loads(run(str(root), "--format", "json").output)
    assert {e["fingerprint"] for e in entries} == {f["fingerprint"] for f in report["findings"]}
    sarif = json.loads(run(str(root), "--format", "sarif").output)
    assert {r["partialFingerprints"]["leakcheck/v1"] for r in sarif["runs"][0]["results"]} == {
        e["fingerprint"] for e in entries}
    # rewriting gives the same bytes
    again = baseline.with_name("again.json")
    run(str(root), "--write-baseline", str(again))
    assert again.read_bytes() == baseline.read_bytes()


def test_survives_lines_inserted_above_and_other_functions_changed(baselined):
    root, baseline = baselined
    edited = ("import os\n\n\nHEADER = 'x'\n\n\ndef unrelated():\n    return 1\n\n\n"
              + REWARDS.replace("return judge(msg.content)", "return judge(msg.content[:100])")
              + "\n\ndef more(x):\n    return x\n")
    project(root, edited)
    assert active(root, baseline) == []


def test_fails_to_match_when_the_sink_changes(baselined):
    root, baseline = baselined
    project(root, REWARDS.replace("return judge(msg.reasoning_content)",
                                  "return judge(msg.reasoning_content, strict=True)"))
    assert active(root, baseline) == [(2, "LC101"), (2, "LC101")]


def test_fails_to_match_when_the_source_changes(baselined):
    root, baseline = baselined
    project(root, REWARDS.replace("msg.reasoning_content", "msg.thinking"))
    assert active(root, baseline) == [(2, "LC101"), (2, "LC101")]


def test_fails_to_match_when_the_enclosing_function_is_renamed(baselined):
    root, baseline = baselined
    project(root, REWARDS.replace("def judge_reward(", "def judge_reward_v2("))
    assert active(root, baseline) == [(2, "LC101"), (2, "LC101")]


def test_fails_to_match_when_the_file_moves(baselined):
    root, baseline = baselined
    (root / "pkg" / "rewards.py").rename(root / "pkg" / "scoring.py")
    everything = json.loads(run(str(root), "--format", "json").output)["findings"]
    assert len(everything) == 3
    assert active(root, baseline) == sorted((f["sink"]["start_line"], f["rule_id"])
                                            for f in everything)


def test_a_new_leak_is_reported_and_the_old_ones_stay_hidden(baselined):
    root, baseline = baselined
    project(root, REWARDS + "\n\ndef other_reward(judge, msg):\n"
                            "    return judge(msg.reasoning_content)\n")
    res = run(str(root), "--baseline", str(baseline))
    assert res.exit_code == 1
    heads = [line for line in res.output.splitlines() if ": LC10" in line and "|" not in line]
    assert heads and all(line.startswith("pkg/rewards.py:14:") for line in heads)


def test_multiset_two_identical_leaks_need_two_entries(tmp_path):
    twice = ("def judge_reward(judge, msg):\n"
             "    a = judge(msg.reasoning_content)\n"
             "    b = judge(msg.reasoning_content)\n"
             "    return 0.0\n")
    root = project(tmp_path / "p", twice)
    baseline = tmp_path / "b.json"
    run(str(root), "--write-baseline", str(baseline))
    assert len(json.loads(baseline.read_text())["findings"]) == 2
    assert active(root, baseline) == []
    thrice = twice.replace("    return", "    c = judge(msg.reasoning_content)\n    return")
    project(root, thrice)
    assert active(root, baseline) == [(4, "LC101")]  # exactly one is new
    # an entry for each: dropping one entry from the file exposes one finding
    doc = json.loads(baseline.read_text())
    doc["findings"] = doc["findings"][:1]
    baseline.write_text(json.dumps(doc))
    project(root, twice)
    assert len(active(root, baseline)) == 1


def test_lambda_findings_keep_their_fingerprint_when_lines_move(tmp_path):
    code = ("def make(judge):\n"
            "    return lambda msg: judge(msg.reasoning_content)\n")
    root = project(tmp_path / "p", code)
    before = {f.fingerprint for f in check_paths(Options(paths=(str(root),))).findings}
    assert before
    project(root, "\n\n# moved down\n" + code)
    after = {f.fingerprint for f in check_paths(Options(paths=(str(root),))).findings}
    assert after == before


def test_a_json_report_works_as_a_baseline(tmp_path):
    root = project(tmp_path / "p")
    report = tmp_path / "report.json"
    run(str(root), "--format", "json", "-o", str(report))
    assert active(root, report) == []


def test_unmatched_entries_are_noted(baselined):
    root, baseline = baselined
    project(root, REWARDS.replace("msg.reasoning_content", "msg.content"))
    res = run(str(root), "--baseline", str(baseline))
    assert "2 baseline entries matched no finding (fixed or changed)" in res.output
    doc = json.loads(run(str(root), "--baseline", str(baseline), "--format", "json").output)
    assert doc["baseline"] == {"path": str(baseline), "entries": 3, "unmatched": 2}


def test_partial_runs_do_not_call_other_files_entries_stale(tmp_path):
    root = project(tmp_path / "p")
    (root / "pkg" / "other.py").write_text(REWARDS)
    baseline = tmp_path / "b.json"
    run(str(root), "--write-baseline", str(baseline))
    result = check_paths(Options(paths=(str(root / "pkg" / "rewards.py"),)))
    applied = apply_baseline(result, load_baseline(baseline))
    assert applied.baseline.unmatched == 0
    assert all(f.baselined for f in applied.findings)


def test_sarif_states_and_external_suppressions(baselined, sarif_validator):
    root, baseline = baselined
    project(root, REWARDS + "\n\ndef other_reward(judge, msg):\n"
                            "    return judge(msg.reasoning_content)\n")
    log = json.loads(run(str(root), "--baseline", str(baseline), "--format", "sarif").output)
    assert_valid_sarif(sarif_validator, log)
    results = log["runs"][0]["results"]
    states = {}
    for r in results:
        line = r["locations"][0]["physicalLocation"]["region"]["startLine"]
        states.setdefault(r["baselineState"], set()).add(line)
        if r["baselineState"] == "unchanged":
            assert r["suppressions"] == [
                {"kind": "external", "justification": "recorded in the leakcheck baseline"}]
        else:
            assert "suppressions" not in r
    assert states == {"unchanged": {2, 6}, "new": {14}}


def test_suppressed_findings_are_not_written(tmp_path):
    root = project(tmp_path / "p", REWARDS.replace(
        "return judge(msg.reasoning_content)",
        "return judge(msg.reasoning_content)  # leakcheck: ignore[LC101] -- by design"))
    baseline = tmp_path / "b.json"
    run(str(root), "--write-baseline", str(baseline))
    assert {e["rule_id"] for e in json.loads(baseline.read_text())["findings"]} == {"LC102"}


def test_identity_drops_the_occurrence_number():
    assert identity("abc:0") == identity("abc:7") == "abc"


@pytest.mark.parametrize(("text", "line"), [
    ("{\n  \"findings\": [\n    oops\n  ]\n}\n", 3),
    ('{"findings": 3}', None),
    ('{"findings": [{"rule_id": "LC101"}]}', None),
    ('{"kind": "leakcheck-baseline", "version": 9, "findings": []}', None),
])
def test_bad_baseline_files_are_exit_2_naming_the_file(tmp_path, text, line):
    root = project(tmp_path / "p")
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    with pytest.raises(BaselineError) as info:
        load_baseline(bad)
    assert info.value.path == str(bad) and info.value.line == line
    res = run(str(root), "--baseline", str(bad))
    assert res.exit_code == 2
    assert str(bad) in res.stderr and "Traceback" not in res.stderr


def test_missing_baseline_is_a_usage_error(tmp_path):
    res = run(str(project(tmp_path / "p")), "--baseline", str(tmp_path / "nope.json"))
    assert res.exit_code == 2 and "nope.json" in res.stderr


def test_baseline_and_write_baseline_together_are_a_usage_error(baselined):
    root, baseline = baselined
    res = run(str(root), "--baseline", str(baseline), "--write-baseline", str(baseline))
    assert res.exit_code == 2 and "--write-baseline" in res.stderr


def test_unwritable_baseline_is_exit_2(tmp_path):
    res = run(str(project(tmp_path / "p")), "--write-baseline",
              str(tmp_path / "no_dir" / "b.json"))
    assert res.exit_code == 2 and "b.json" in res.stderr


def test_verbose_lists_baselined_findings(baselined):
    root, baseline = baselined
    out = run(str(root), "--baseline", str(baseline), "-v").output
    assert f"baselined (in {baseline}):" in out
    assert "  pkg/rewards.py:2:12: LC101 " in out
