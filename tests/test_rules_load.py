"""SPEC §2/§5: rule packs are validated TOML data; a malformed pack names its file and line;
the engine reads only what the packs declare."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from leakcheck.api import Analyzer
from leakcheck.errors import RuleFileError
from leakcheck.ruleset import builtin_pack_paths, load_ruleset

ROOT = Path(__file__).resolve().parents[1]


def test_builtin_packs_load_and_declare_both_rules() -> None:
    rules = load_ruleset()
    ids = {r.id: r for r in rules.rules}
    assert ids["LC101"].kind == "cot" and ids["LC101"].level == "error"
    assert ids["LC102"].kind == "completion" and ids["LC102"].level == "warning"
    assert ids["LC101"].name == "cot-reaches-grader"
    assert ids["LC102"].name == "unstripped-completion-reaches-grader"
    assert builtin_pack_paths(), "the shipped packs are found"


def test_pack_digest_changes_with_content(tmp_path: Path) -> None:
    extra = tmp_path / "extra.toml"
    extra.write_text('[words]\ncot = ["musing"]\n')
    assert load_ruleset().digest != load_ruleset([extra]).digest


def _pack(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return path


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = _pack(tmp_path, '[words]\ncot = ["a"\nx = 1\n')
    with pytest.raises(RuleFileError) as info:
        load_ruleset([path])
    assert info.value.path == str(path)
    assert info.value.line is not None and info.value.line >= 2
    assert str(path) in str(info.value)


def test_unknown_key_names_line(tmp_path: Path) -> None:
    path = _pack(tmp_path, '[words]\nfoo = ["a"]\n\n[sinks.call]\nwords = ["foo"]\nwhords = []\n')
    with pytest.raises(RuleFileError) as info:
        load_ruleset([path])
    assert "whords" in str(info.value)
    assert info.value.line == 6


def test_unknown_section(tmp_path: Path) -> None:
    path = _pack(tmp_path, '[sinkz]\nwords = []\n')
    with pytest.raises(RuleFileError, match="unknown section"):
        load_ruleset([path])


def test_wrong_type(tmp_path: Path) -> None:
    path = _pack(tmp_path, '[words]\ncot = "reasoning"\n')
    with pytest.raises(RuleFileError, match="list of strings") as info:
        load_ruleset([path])
    assert info.value.line == 2


def test_unknown_word_list_reference(tmp_path: Path) -> None:
    path = _pack(tmp_path, '[sinks.call]\nwords = ["nonexistent"]\n')
    with pytest.raises(RuleFileError, match="unknown word list `nonexistent`") as info:
        load_ruleset([path])
    assert info.value.line == 2


def test_duplicate_rule_id(tmp_path: Path) -> None:
    text = (ROOT / "rules" / "cot.toml").read_text()
    start = text.index("[[rule]]")
    end = text.index("[[rule]]", start + 1)
    path = _pack(tmp_path, text[start:end])
    with pytest.raises(RuleFileError, match="duplicate rule id `LC101`"):
        load_ruleset([path])


def test_rule_doc_section_missing(tmp_path: Path) -> None:
    path = _pack(tmp_path, '[[rule]]\nid = "LC900"\nname = "x"\nkind = "x"\nlevel = "error"\n'
                 'short = "s"\nmessage = "m"\n[rule.doc]\nwhat = "w"\nwhy = "y"\nexample = "e"\n')
    with pytest.raises(RuleFileError, match="missing the `fix` section"):
        load_ruleset([path])


def test_source_kind_without_rule(tmp_path: Path) -> None:
    path = _pack(tmp_path, '[sources.name]\nkind = "secret"\nwords = ["cot"]\n')
    with pytest.raises(RuleFileError, match="kind `secret` has no rule"):
        load_ruleset([path])


def test_access_chain_parts_are_checked(tmp_path: Path) -> None:
    """A chain part is a name, `[]` or a constant key `["text"]`; anything else is an error
    naming the file and line instead of a rule that silently never matches."""
    good = _pack(tmp_path, '[[sources.attribute]]\nkind = "completion"\n'
                 'chain = ["output", \'["text"]\', "[]", "text"]\n')
    assert load_ruleset([good])
    bad = tmp_path / "bad_chain.toml"
    bad.write_text('[[sources.attribute]]\nkind = "completion"\nchain = ["outputs", "[0]"]\n')
    with pytest.raises(RuleFileError, match="chain part `\\[0\\]`") as info:
        load_ruleset([bad])
    assert info.value.line == 3 and info.value.path == str(bad)


def test_missing_rule_file() -> None:
    with pytest.raises(RuleFileError, match="not found"):
        load_ruleset(["/nonexistent/pack.toml"])


def test_every_vocabulary_list_of_the_spec_is_in_the_pack() -> None:
    pack = tomllib.loads((ROOT / "rules" / "cot.toml").read_text())
    words = pack["words"]
    assert {"cot", "reasoning", "thinking", "think", "thought", "thoughts", "scratchpad",
            "rationale", "monologue", "chain of thought", "reason content"} == set(words["cot"])
    assert {"reward", "judge", "verify", "score", "rm", "orm", "rubric"} <= set(words["grader"])
    assert {"log", "wandb", "metric", "metrics", "info"} <= set(words["logging"])
    assert {"build", "make", "prompt", "template", "stats"} <= set(words["builder"])
    assert {"gt", "gold", "label", "target"} <= set(words["reference"])
    assert {"effort", "budget", "tokens", "enable", "parser", "tag", "model"} <= set(
        words["config"])


def _custom_pack(tmp_path: Path) -> Path:
    """A self-contained pack with invented vocabulary: proves nothing is hard-coded."""
    path = tmp_path / "custom.toml"
    path.write_text("""
[[rule]]
id = "LC900"
name = "musing-reaches-oracle"
kind = "musing"
level = "error"
short = "s"
message = "musing from {source} reaches {sink}"
[rule.doc]
what = "w"
why = "y"
example = "e"
fix = "f"

[words]
musing = ["musing"]
oracle = ["oracle"]

[sources.name]
kind = "musing"
words = ["musing"]

[sinks.call]
words = ["oracle"]
""")
    return path


def test_engine_uses_only_declared_vocabulary(tmp_path: Path) -> None:
    rules = load_ruleset([_custom_pack(tmp_path)], builtin=False)
    analyzer = Analyzer(rules)
    source = (
        "def f(musing, reasoning):\n"
        "    ask_oracle(musing)\n"  # the custom pack's source and sink
        "    judge(reasoning)\n"  # the default vocabulary is not loaded: no finding
    )
    findings, error = analyzer.analyze("x.py", source.encode())
    assert error is None
    assert [(f.rule_id, f.sink.start_line) for f in findings] == [("LC900", 2)]


# --- replacing the shipped packs (issue: user vocabulary, `--rules` adds or replaces) --------

_REPLACEMENT_SOURCE = (
    "def step(musing, reasoning, judge):\n"
    "    ask_oracle(musing)\n"  # the user's pack: a source reaching a sink
    "    judge(reasoning)\n"  # the shipped vocabulary: reported only when it is loaded
)


def _cli(args: list[str]) -> tuple[int, str, str]:
    from click.testing import CliRunner

    from leakcheck.cli import main

    result = CliRunner().invoke(main, args)
    return result.exit_code, result.stdout, result.stderr


def test_rules_add_to_the_shipped_packs_by_default(tmp_path: Path) -> None:
    pack = _custom_pack(tmp_path)
    (tmp_path / "step.py").write_text(_REPLACEMENT_SOURCE)
    code, out, _ = _cli([str(tmp_path / "step.py"), "--rules", str(pack), "--format", "json",
                         "--isolated"])
    found = sorted((f["rule_id"], f["sink"]["start_line"]) for f in json.loads(out)["findings"])
    assert code == 1 and found == [("LC101", 3), ("LC900", 2)]


def test_no_builtin_rules_replaces_the_shipped_packs(tmp_path: Path) -> None:
    pack = _custom_pack(tmp_path)
    (tmp_path / "step.py").write_text(_REPLACEMENT_SOURCE)
    code, out, _ = _cli([str(tmp_path / "step.py"), "--rules", str(pack), "--no-builtin-rules",
                         "--format", "json", "--isolated"])
    found = [(f["rule_id"], f["sink"]["start_line"]) for f in json.loads(out)["findings"]]
    assert code == 1 and found == [("LC900", 2)]
    code, out, _ = _cli(["--list-rules", "--rules", str(pack), "--no-builtin-rules"])
    assert code == 0 and "LC900" in out and "LC101" not in out


def test_config_builtin_rules_false_replaces_the_shipped_packs(tmp_path: Path) -> None:
    pack = _custom_pack(tmp_path)
    (tmp_path / "step.py").write_text(_REPLACEMENT_SOURCE)
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.leakcheck]\nrules = ["{pack.name}"]\nbuiltin-rules = false\n')
    code, out, _ = _cli([str(tmp_path / "step.py"), "--format", "json"])
    found = [(f["rule_id"], f["sink"]["start_line"]) for f in json.loads(out)["findings"]]
    assert code == 1 and found == [("LC900", 2)]


def test_builtin_rules_must_be_a_boolean(tmp_path: Path) -> None:
    (tmp_path / "step.py").write_text(_REPLACEMENT_SOURCE)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.leakcheck]\n'
                                             'builtin-rules = "no"\n')
    code, _, err = _cli([str(tmp_path / "step.py")])
    assert code == 2
    assert "builtin-rules" in err and "pyproject.toml:5" in err


def test_no_builtin_rules_without_a_pack_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "step.py").write_text(_REPLACEMENT_SOURCE)
    code, _, err = _cli([str(tmp_path / "step.py"), "--no-builtin-rules", "--isolated"])
    assert code == 2 and "--rules PATH" in err
