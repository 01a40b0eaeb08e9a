"""Rule documentation: one source (the packs' [rule.doc] sections) for --list-rules,
--explain, the README table and SARIF help; a missing section is an error."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from leakcheck import rule_docs
from leakcheck.cli import main
from leakcheck.ruleset import load_ruleset

REPO = Path(__file__).resolve().parents[1]
TITLES = ("What it does", "Why is this bad?", "Example", "Use instead")


def test_every_rule_has_every_section() -> None:
    for rule in load_ruleset().rules:
        for title, body, _ in rule_docs.sections(rule):
            assert body, f"{rule.id}: empty section {title!r}"


def test_readme_table_is_generated_from_the_packs() -> None:
    table = rule_docs.readme_table(load_ruleset().rules)
    assert table in (REPO / "README.md").read_text(), (
        "README.md's rule table is out of date; paste rule_docs.readme_table():\n" + table)


def test_list_rules_names_every_rule() -> None:
    result = CliRunner().invoke(main, ["--list-rules"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == ["LC001", "LC101", "LC102"]
    assert "cot-reaches-grader" in lines[1] and "error" in lines[1]


def test_explain_prints_the_four_sections_in_order() -> None:
    result = CliRunner().invoke(main, ["--explain", "LC101"])
    assert result.exit_code == 0
    positions = [result.output.index(t) for t in TITLES]
    assert positions == sorted(positions)
    assert "msg.reasoning_content" in result.output  # the example's code, unfenced
    assert "```" not in result.output


def test_explain_accepts_the_rule_name_and_any_case() -> None:
    by_name = CliRunner().invoke(main, ["--explain", "unstripped-completion-reaches-grader"])
    by_id = CliRunner().invoke(main, ["--explain", "lc102"])
    assert by_name.exit_code == by_id.exit_code == 0
    assert by_name.output == by_id.output


def test_explain_unknown_rule_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["--explain", "LC999"])
    assert result.exit_code == 2
    assert "LC999" in result.output and "LC101" in result.output


def test_explain_includes_user_packs(tmp_path: Path) -> None:
    pack = tmp_path / "mine.toml"
    pack.write_text('[[rule]]\nid = "LC900"\nname = "mine"\nkind = "mine"\nlevel = "note"\n'
                    'short = "Mine"\nmessage = "m {source} {sink}"\n[rule.doc]\nwhat = "W"\n'
                    'why = "Y"\nexample = "x = 1"\nfix = "x = 2"\n')
    result = CliRunner().invoke(main, ["--rules", str(pack), "--explain", "LC900"])
    assert result.exit_code == 0 and "W" in result.output and "x = 2" in result.output


def test_sarif_help_carries_the_same_sections(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text("def r_score(completions, **kw):\n    return [judge(c) for c in completions]\n")
    result = CliRunner().invoke(main, [str(src), "--format", "sarif"])
    log = json.loads(result.output)
    for descriptor in log["runs"][0]["tool"]["driver"]["rules"]:
        rule = next(r for r in load_ruleset().rules if r.id == descriptor["id"])
        assert descriptor["help"]["text"] == rule_docs.as_text(rule)
        for title in TITLES:
            assert f"## {title}" in descriptor["help"]["markdown"]
