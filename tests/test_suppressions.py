"""SPEC §5 suppressions, through the real CLI: ``# leakcheck: ignore[LC101] -- reason`` and a
bare ``# leakcheck: ignore`` on the sink's line (or the first line of a multi-line sink);
suppressed findings stay in the output; comments that suppress nothing are reported as
LC001, count for the exit code, and follow select/ignore/per-file-ignores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import assert_valid_sarif

from leakcheck.cli import main
from leakcheck.suppress import directives

# line 2: LC101 at `judge(...)` and at the return (a registered grader by name)
LEAK = "def judge_reward(judge, msg):\n    return judge(msg.reasoning_content){c}\n"
# line 2: LC102 (the completions of a registered grader reach its return)
COMPLETION = "def format_reward(completions, **kw):\n    return [len(c) for c in completions]{c}\n"
CLEAN = "def judge_reward(judge, msg):\n    return judge(msg.content){c}\n"


def project(tmp_path: Path, files: dict[str, str], table: str = "") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n" + table)
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(main, [*args], catch_exceptions=False)


def as_json(*args: str) -> tuple[int, dict]:
    res = run(*args, "--format", "json")
    return res.exit_code, json.loads(res.output)


# --- the directive ------------------------------------------------------------------


@pytest.mark.parametrize(("comment", "rules", "reason"), [
    ("# leakcheck: ignore", (), None),
    ("# leakcheck: ignore[LC101]", ("LC101",), None),
    ("# leakcheck: ignore[lc102, LC101] -- format reward", ("LC101", "LC102"), "format reward"),
    ("#leakcheck:ignore[LC101]--why", ("LC101",), "why"),
    ("# LeakCheck: IGNORE[LC101]", ("LC101",), None),
    ("# leakcheck: ignore[LC101]  # noqa: E501", ("LC101",), None),
    ("# type: ignore  # leakcheck: ignore[LC101] -- r", ("LC101",), "r"),
])
def test_valid_directives(comment, rules, reason):
    found = directives("m.py", f"x = 1  {comment}\n".encode())
    assert found.malformed == ()
    (s,) = found.valid.values()
    assert (s.rules, s.reason) == (rules, reason)
    # the span starts at the directive's own `#` (col 8 is where the comment starts)
    directive_hash = comment.rindex("#", 0, comment.lower().index("leakcheck"))
    assert (s.span.start_line, s.span.start_column) == (1, 8 + directive_hash)


@pytest.mark.parametrize("comment", [
    "# leakcheck: ignore LC101",  # no brackets: would silently do nothing
    "# leakcheck: ignore[LC101] because it is fine",  # reason without `--`
    "# leakcheck: ignore[]",
    "# leakcheck: ignore[LC101,]",
    "# leakcheck: disable[LC101]",
    "# leakcheck: ignored",
])
def test_malformed_directives_are_not_suppressions(comment):
    found = directives("m.py", f"x = 1  {comment}\n".encode())
    assert found.valid == {}
    assert [s.start_line for s in found.malformed] == [1]


def test_text_inside_a_string_is_not_a_directive():
    found = directives("m.py", b's = "# leakcheck: ignore[LC101]"\nt = "# leakcheck: bogus"\n')
    assert found.valid == {} and found.malformed == ()


# --- suppression --------------------------------------------------------------------


def test_named_and_bare_ignores_suppress_and_keep_the_reason(tmp_path):
    root = project(tmp_path, {
        "a.py": LEAK.format(c="  # leakcheck: ignore[LC101] -- the judge grades reasoning"),
        "b.py": LEAK.format(c="  # leakcheck: ignore")})
    code, doc = as_json(str(root))
    assert code == 0
    assert doc["findings"] and all(f["suppressed"] for f in doc["findings"])
    reasons = {f["sink"]["path"]: f["suppression"]["reason"] for f in doc["findings"]}
    assert reasons == {"a.py": "the judge grades reasoning", "b.py": None}
    assert doc["unused_suppressions"] == []
    text = run(str(root)).output
    assert text.splitlines()[0].startswith("0 findings, 4 suppressed (LC101: 4)")


def test_an_ignore_for_another_rule_does_not_suppress(tmp_path):
    root = project(tmp_path, {"a.py": LEAK.format(c="  # leakcheck: ignore[LC102]")})
    code, doc = as_json(str(root))
    assert code == 1
    assert not any(f["suppressed"] for f in doc["findings"])
    assert [u["rules"] for u in doc["unused_suppressions"]] == [["LC102"]]


def test_first_line_of_a_multi_line_sink(tmp_path):
    code = ("def judge_reward(judge, msg):\n"
            "    score = judge(  # leakcheck: ignore[LC101] -- deliberate\n"
            "        msg.reasoning_content,\n"
            "    )\n"
            "    return 0.0\n")
    root = project(tmp_path, {"m.py": code})
    exit_code, doc = as_json(str(root))
    assert exit_code == 0, doc
    (finding,) = doc["findings"]
    assert finding["sink"]["start_line"] == 2 and finding["sink"]["end_line"] == 4
    assert finding["suppression"]["reason"] == "deliberate"
    assert doc["unused_suppressions"] == []


def test_sarif_marks_suppressed_results_in_source(tmp_path, sarif_validator):
    root = project(tmp_path, {"a.py": LEAK.format(c="  # leakcheck: ignore[LC101] -- why")})
    res = run(str(root), "--format", "sarif")
    log = json.loads(res.output)
    assert_valid_sarif(sarif_validator, log)
    results = log["runs"][0]["results"]
    assert results and all(r["suppressions"][0]["kind"] == "inSource" for r in results)
    assert {r["suppressions"][0]["justification"] for r in results} == {"why"}


# --- comments that suppress nothing (LC001) -----------------------------------------


def test_unused_comments_are_reported_with_file_and_line(tmp_path):
    root = project(tmp_path, {"m.py": CLEAN.format(c="  # leakcheck: ignore[LC101] -- old")})
    res = run(str(root))
    assert res.exit_code == 1
    first = res.output.splitlines()[0]
    assert first == "m.py:2:32: LC001 unused suppression: no `LC101` finding on this line"
    assert "1 unused suppression" in res.output.splitlines()[-1]


def test_bare_unknown_and_malformed(tmp_path):
    root = project(tmp_path, {
        "a.py": CLEAN.format(c="  # leakcheck: ignore"),
        "b.py": LEAK.format(c="  # leakcheck: ignore[LC1O1]"),
        "c.py": LEAK.format(c="  # leakcheck: ignore LC101")})
    code, doc = as_json(str(root))
    assert code == 1
    got = {(u["location"]["path"], u["location"]["start_line"], tuple(u["rules"]))
           for u in doc["unused_suppressions"]}
    assert got == {("a.py", 2, ()), ("b.py", 2, ("LC1O1",)), ("c.py", 2, ())}
    messages = {u["location"]["path"]: u["message"] for u in doc["unused_suppressions"]}
    assert "unknown rule `LC1O1`" in messages["b.py"]
    assert "malformed" in messages["c.py"]
    # the malformed and the misspelled comments do not suppress the leaks beside them
    active = {f["sink"]["path"] for f in doc["findings"] if not f["suppressed"]}
    assert active == {"b.py", "c.py"}


def test_only_the_unmatched_rule_of_a_comment_is_reported(tmp_path):
    root = project(tmp_path, {"m.py": LEAK.format(c="  # leakcheck: ignore[LC101, LC102]")})
    code, doc = as_json(str(root))
    assert [u["rules"] for u in doc["unused_suppressions"]] == [["LC102"]]
    assert code == 1  # the stale half fails the run, though every finding is suppressed
    assert all(f["suppressed"] for f in doc["findings"])


def test_unused_suppression_alone_exits_1_and_exit_zero_forces_0(tmp_path):
    root = project(tmp_path, {"m.py": CLEAN.format(c="  # leakcheck: ignore")})
    assert run(str(root)).exit_code == 1
    assert run(str(root), "--exit-zero").exit_code == 0


def test_ignoring_lc001_turns_the_check_off(tmp_path):
    root = project(tmp_path, {"m.py": CLEAN.format(c="  # leakcheck: ignore")})
    assert run(str(root), "--ignore", "LC001").exit_code == 0
    root2 = project(tmp_path / "b", {"m.py": CLEAN.format(c="  # leakcheck: ignore")},
                    '[tool.leakcheck]\nignore = ["LC001"]\n')
    assert run(str(root2)).exit_code == 0


def test_select_without_lc001_turns_it_off_and_with_it_on(tmp_path):
    root = project(tmp_path, {"m.py": CLEAN.format(c="  # leakcheck: ignore[LC101]")})
    assert as_json(str(root), "--select", "LC101")[1]["unused_suppressions"] == []
    assert len(as_json(str(root), "--select", "LC101,LC001")[1]["unused_suppressions"]) == 1


def test_per_file_ignores_can_turn_it_off_for_some_files(tmp_path):
    files = {"tests/t.py": CLEAN.format(c="  # leakcheck: ignore"),
             "src/m.py": CLEAN.format(c="  # leakcheck: ignore")}
    root = project(tmp_path, files, '[tool.leakcheck.per-file-ignores]\n"tests/*" = ["LC001"]\n')
    paths = [u["location"]["path"] for u in as_json(str(root))[1]["unused_suppressions"]]
    assert paths == ["src/m.py"]


def test_a_comment_for_a_rule_turned_off_is_not_judged(tmp_path):
    # LC102 is ignored: its comment is kept (whether a finding is there or not), since the
    # user will want it back when the rule is on again.
    files = {"found.py": COMPLETION.format(c="  # leakcheck: ignore[LC102] -- counts only"),
             "gone.py": CLEAN.format(c="  # leakcheck: ignore[LC102]"),
             "bare.py": COMPLETION.format(c="  # leakcheck: ignore")}
    root = project(tmp_path, files)
    code, doc = as_json(str(root), "--ignore", "LC102")
    assert code == 0, doc["unused_suppressions"]
    assert doc["findings"] == []  # LC102 is not reported
    # with the rule on, the comment in gone.py is stale and the others are used
    code, doc = as_json(str(root))
    assert [u["location"]["path"] for u in doc["unused_suppressions"]] == ["gone.py"]


def test_a_comment_for_a_rule_turned_off_in_its_file_is_not_judged(tmp_path):
    # the same, for a rule off in some files only: a stale ignore[LC102] is reported where
    # LC102 is on and kept where per-file-ignores turns it off
    files = {"legacy/gone.py": CLEAN.format(c="  # leakcheck: ignore[LC102]"),
             "src/gone.py": CLEAN.format(c="  # leakcheck: ignore[LC102]")}
    root = project(tmp_path, files, '[tool.leakcheck.per-file-ignores]\n"legacy/*" = ["LC102"]\n')
    paths = [u["location"]["path"] for u in as_json(str(root))[1]["unused_suppressions"]]
    assert paths == ["src/gone.py"]


def test_unused_suppressions_in_sarif_and_github(tmp_path, sarif_validator):
    root = project(tmp_path, {"m.py": CLEAN.format(c="  # leakcheck: ignore[LC101]")})
    log = json.loads(run(str(root), "--format", "sarif").output)
    assert_valid_sarif(sarif_validator, log)
    run_ = log["runs"][0]
    (result,) = run_["results"]
    assert result["ruleId"] == "LC001" and result["level"] == "warning"
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (2, 32)
    rule = run_["tool"]["driver"]["rules"][result["ruleIndex"]]
    assert rule["id"] == "LC001" and rule["name"] == "unused-suppression"
    gh = run(str(root), "--format", "github").output.splitlines()
    assert gh[0].startswith("::warning file=m.py,line=2,endLine=2,col=32,")
    assert "title=LC001 unused-suppression::unused suppression" in gh[0]


def test_lc001_is_listed_and_explained(tmp_path):
    listing = run("--list-rules").output
    assert "LC001" in listing and "unused-suppression" in listing
    explained = run("--explain", "LC001")
    assert explained.exit_code == 0 and "What it does" in explained.output


def test_pre_commit_style_file_arguments_judge_only_those_files(tmp_path):
    root = project(tmp_path, {"a.py": CLEAN.format(c="  # leakcheck: ignore"),
                              "b.py": CLEAN.format(c="  # leakcheck: ignore")})
    code, doc = as_json(str(root / "a.py"))
    assert code == 1
    assert [u["location"]["path"] for u in doc["unused_suppressions"]] == ["a.py"]


def test_closing_line_of_a_black_wrapped_sink(tmp_path):
    # black moves a trailing comment after the closing parenthesis (semgrep#8172's pitfall)
    code = ("def judge_reward(judge, msg):\n"
            "    score = judge(\n"
            "        msg.reasoning_content,\n"
            "    )  # leakcheck: ignore[LC101] -- deliberate\n"
            "    return 0.0\n")
    exit_code, doc = as_json(str(project(tmp_path, {"m.py": code})))
    assert exit_code == 0, doc
    assert [f["suppression"]["reason"] for f in doc["findings"]] == ["deliberate"]


def test_a_comment_on_the_line_above_covers_nothing(tmp_path):
    code = ("def judge_reward(judge, msg):\n"
            "    # leakcheck: ignore[LC101]\n"
            "    score = judge(msg.reasoning_content)\n"
            "    return 0.0\n")
    exit_code, doc = as_json(str(project(tmp_path, {"m.py": code})))
    assert exit_code == 1
    assert [f["suppressed"] for f in doc["findings"]] == [False]
    assert [u["location"]["start_line"] for u in doc["unused_suppressions"]] == [2]
