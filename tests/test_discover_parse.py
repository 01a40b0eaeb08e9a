"""SPEC §4: every .py file under the paths, sorted, default excludes; a file that cannot be
read or parsed is reported and every other file is still analyzed."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakcheck.api import Options, check_paths
from leakcheck.discover import discover, find_root
from leakcheck.report.base import format_names, get_reporter

LEAK = (
    "def judge_reward(completions, **kwargs):\n"
    "    return [judge(c) for c in completions]\n"
)


def _tree(tmp_path: Path, files: dict[str, bytes | str]) -> Path:
    for rel, content in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    return tmp_path


def test_sorted_with_default_excludes(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "src/b.py": "", "src/a.py": "", "src/pkg/c.py": "", ".venv/lib/x.py": "",
        "build/lib/y.py": "", "node_modules/z.py": "", "src/__pycache__/q.py": "",
        "src/notes.txt": "", "pkg.egg-info/w.py": "",
    })
    found = discover([root])
    rel = [p.relative_to(root).as_posix() for p in found.files]
    assert rel == ["src/a.py", "src/b.py", "src/pkg/c.py"]


def test_user_exclude(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"src/a.py": "", "src/gen/parser.py": "", "tests/t.py": ""})
    found = discover([root], exclude=("gen", "tests/*"))
    assert [p.relative_to(root).as_posix() for p in found.files] == ["src/a.py"]


def test_project_root_is_nearest_marker(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"src/pkg/a.py": ""})
    assert find_root([root / "src" / "pkg"]) == root.resolve()
    assert find_root([root / "src" / "pkg" / "a.py"]) == root.resolve()


def test_paths_relative_to_root(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"src/rewards.py": LEAK})
    result = check_paths(Options(paths=(str(root / "src"),)))
    assert result.files == ("src/rewards.py",)
    assert [f.sink.path for f in result.findings] == ["src/rewards.py", "src/rewards.py"]


def test_bad_files_are_reported_and_the_rest_analyzed(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "a_syntax.py": "def f(:\n    pass\n",
        "b_latin1.py": b"# -*- coding: latin-1 -*-\nx = '\xe9'\n",  # valid: declared
        "c_nullbyte.py": b"x = 1\n\x00\n",
        "d_bad_cookie.py": b"# -*- coding: no-such-codec -*-\nx = 1\n",
        "e_undecodable.py": b"x = '\xff\xfe'\n",
        "z_leak.py": LEAK,
    })
    (root / "dir.py").mkdir()
    result = check_paths(Options(paths=(str(root),)))
    errors = {e.path: e for e in result.file_errors}
    assert set(errors) == {"a_syntax.py", "c_nullbyte.py", "d_bad_cookie.py",
                           "e_undecodable.py", "dir.py"}
    assert errors["a_syntax.py"].kind == "syntax" and errors["a_syntax.py"].line == 1
    assert errors["c_nullbyte.py"].line == 2
    assert errors["dir.py"].kind == "read"
    assert errors["e_undecodable.py"].kind == "encoding"
    # the leaking file is still analyzed and its findings reported
    assert {f.sink.path for f in result.findings} == {"z_leak.py"}


def test_syntax_error_line_is_the_real_line(tmp_path: Path) -> None:
    # libcst's raw_line can be off by one (research: `r = randint(,3)` at line 40)
    body = "\n".join(f"x{i} = {i}" for i in range(39)) + "\nr = randint(,3)\ny = 2\n"
    root = _tree(tmp_path, {"m.py": body})
    result = check_paths(Options(paths=(str(root),)))
    assert [(e.line, e.kind) for e in result.file_errors] == [(40, "syntax")]


def test_missing_path_is_reported(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"a.py": LEAK})
    result = check_paths(Options(paths=(str(root / "a.py"), str(root / "nope.py"))))
    assert [e.kind for e in result.file_errors] == ["read"]
    assert len(result.findings) == 2


def test_python312_fstring_is_parsed(tmp_path: Path) -> None:
    # valid on 3.12+ (PEP 701); the native libcst parser accepts it on 3.11 too
    root = _tree(tmp_path, {"m.py": 'obs = {"output": "x"}\ns = f"{obs["output"][-10:]}"\n'})
    result = check_paths(Options(paths=(str(root),)))
    assert result.file_errors == ()


def test_deeply_nested_source_is_a_file_error_not_a_crash(tmp_path: Path) -> None:
    expr = "(" * 3000 + "1" + ")" * 3000
    root = _tree(tmp_path, {"deep.py": f"x = {expr}\n", "ok.py": LEAK})
    result = check_paths(Options(paths=(str(root),)))
    assert [e.path for e in result.file_errors] == ["deep.py"]
    assert {f.sink.path for f in result.findings} == {"ok.py"}


def test_long_operator_chains_are_file_errors_not_minutes_of_parsing(tmp_path: Path) -> None:
    """libcst's parser is superlinear on long operator and postfix chains (20,000 `+` took
    four minutes): past MAX_EXPRESSION_DEPTH levels the file is reported, named by its line,
    and the rest of the run goes on. A chain a person writes still parses."""
    from leakcheck.parse import MAX_EXPRESSION_DEPTH

    long_sum = " + ".join(["completion"] * 20000)
    subscripts = "".join("        [0]\n" for _ in range(3000))
    ternary = " if completion else ".join(["completion"] * 3000)
    fine = " + ".join(["completion"] * (MAX_EXPRESSION_DEPTH // 2))
    root = _tree(tmp_path, {
        "sum.py": f"def reward_fn(completion):\n    return {long_sum}\n",
        "sub.py": f"def reward_fn(completion):\n    x = (completion\n{subscripts}    )\n"
                  "    return x\n",
        "tern.py": f"def reward_fn(completion):\n    return ({ternary})\n",
        "unrelated/arith.py": "def f(a):\n    return " + " * ".join(["a"] * 20000) + "\n",
        "fine.py": f"def reward_fn(completion):\n    return {fine}\n",
        "ok.py": LEAK,
    })
    for prefilter in (True, False):
        result = check_paths(Options(paths=(str(root),), prefilter=prefilter))
        errors = {(e.path, e.line) for e in result.file_errors}
        assert errors == {("sum.py", 2), ("sub.py", 2), ("tern.py", 2),
                          ("unrelated/arith.py", 2)}
        assert all("nested too deeply" in e.message for e in result.file_errors)
        assert {f.sink.path for f in result.findings} == {"fine.py", "ok.py"}


def test_deep_nesting_the_chain_scan_cannot_see_is_a_file_error_too(tmp_path: Path) -> None:
    """Calls nested in calls (`f(1, f(1, …`, one per line: 3,000 levels took libcst 12 GB
    and more than a minute), power chains (`a ** a ** …`, where CPython's own parser runs
    out of stack) and nested lambdas on lines of their own are reported by their line, and
    the run goes on. Nesting CPython accepts still parses."""
    calls = "".join("        f(1,\n" for _ in range(3000)) + "        1" + ")" * 3000
    lambdas = "".join("        lambda:\n" for _ in range(3000)) + "        0"
    fine_calls = "".join("        f(1,\n" for _ in range(150)) + "        completion" + ")" * 150
    root = _tree(tmp_path, {
        "calls.py": f"def reward_fn(completion):\n    return (\n{calls})\n",
        "power.py": "def reward_fn(completion):\n    return " + " ** ".join(
            ["completion"] * 3000) + "\n",
        "lambdas.py": f"def reward_fn(completion):\n    return (\n{lambdas})\n",
        "fine.py": f"def reward_fn(completion):\n    return (\n{fine_calls})\n",
        "ok.py": LEAK,
    })
    for prefilter in (True, False):
        result = check_paths(Options(paths=(str(root),), prefilter=prefilter))
        errors = {(e.path, e.line, e.message) for e in result.file_errors}
        assert errors == {
            # CPython names the line of the 201st open bracket; where its parser runs out
            # of stack it names none: the long line, or the first line of the chain (`return (`)
            ("calls.py", 2 + 200, "syntax error: too many nested parentheses (more than 200)"),
            ("power.py", 2, "expression nested too deeply to analyze (more than 500 levels)"),
            ("lambdas.py", 2, "expression nested too deeply to analyze (more than 500 levels)"),
        }, errors
        assert {f.sink.path for f in result.findings} == {"fine.py", "ok.py"}


def test_brackets_in_strings_neither_hide_nor_fake_deep_nesting(tmp_path: Path) -> None:
    """The bracket count leaves out strings and comments: closing brackets in strings do not
    hide 3,000 nested calls (libcst would take minutes, or overflow its stack on plain
    parentheses), and brackets in strings and comments are no error. A file CPython refuses
    for another reason first still never reaches libcst when its brackets nest that deep."""
    root = _tree(tmp_path, {
        "closers.py": "x = " + 'f(")", ' * 3000 + "1" + ")" * 3000 + "\n",
        "py2.py": "print 'x'\ny = " + "(" * 3000 + "1" + ")" * 3000 + "\n",
        "text.py": "x = '" + "(" * 3000 + "'\ny = \"\"\"\n" + "[" * 500 + "\n\"\"\"\n# "
                   + "{" * 400 + "\n" + LEAK,
    })
    result = check_paths(Options(paths=(str(root),)))
    assert {(e.path, e.line, e.message) for e in result.file_errors} == {
        ("closers.py", 1, "syntax error: too many nested parentheses (more than 200)"),
        ("py2.py", 2, "syntax error: too many nested parentheses (more than 200)"),
    }
    assert {f.sink.path for f in result.findings} == {"text.py"}


def test_a_file_name_that_is_not_utf8_is_a_file_error_and_the_run_goes_on(
        tmp_path: Path) -> None:
    """A POSIX file name may be any bytes; no report format can carry those that are not
    UTF-8 (they used to end the whole run with an internal error). The file is reported,
    its name escaped, and every other file is analyzed."""
    import os

    root = _tree(tmp_path, {"ok.py": LEAK})
    try:
        (root / os.fsdecode(b"\xff\xfe.py")).write_bytes(LEAK.encode())
    except (OSError, UnicodeError):  # a file system that refuses such names
        pytest.skip("this file system keeps file names in UTF-8")
    for explicit in (False, True):
        paths = (str(root / os.fsdecode(b"\xff\xfe.py")), str(root / "ok.py")) if explicit \
            else (str(root),)
        result = check_paths(Options(paths=paths))
        assert [(e.path, e.kind) for e in result.file_errors] == [("\\xff\\xfe.py", "read")]
        assert "not valid UTF-8" in result.file_errors[0].message
        assert {f.sink.path for f in result.findings} == {"ok.py"}
        for fmt in format_names():  # every format can write it
            get_reporter(fmt).render(result, color=False).encode("utf-8")


def test_output_is_deterministic(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"a.py": LEAK, "b.py": LEAK.replace("judge_reward", "r_score")})
    first = check_paths(Options(paths=(str(root),)))
    second = check_paths(Options(paths=(str(root),)))
    assert [(f.fingerprint, f.path) for f in first.findings] == [
        (f.fingerprint, f.path) for f in second.findings]


def test_fifo_and_broken_symlink_are_reported_not_read(tmp_path: Path) -> None:
    import os

    root = _tree(tmp_path, {"ok.py": LEAK})
    os.mkfifo(root / "pipe.py")
    (root / "dangling.py").symlink_to(root / "missing-target.py")
    result = check_paths(Options(paths=(str(root),)))
    kinds = {e.path: e.kind for e in result.file_errors}
    assert kinds == {"pipe.py": "read", "dangling.py": "read"}
    assert {f.sink.path for f in result.findings} == {"ok.py"}


def test_warnings_about_the_analyzed_code_are_not_printed(tmp_path: Path) -> None:
    """``"\\d"`` in a plain string is a warning of CPython's compiler (a SyntaxWarning that
    Python 3.12 prints by default); leakcheck compiles analyzed code to read it, and must not
    print warnings that belong to that code, whether a file is analyzed or skipped."""
    import warnings

    from leakcheck.api import Options, check_paths

    (tmp_path / "patterns.py").write_text('import re\n\nDIGITS = re.compile("\\d+")\n')
    (tmp_path / "rewards.py").write_text(
        "import re\nfrom judge_sdk import Judge\n\nJUDGE = Judge('m')\n\n\n"
        "def review(message, question):\n"
        '    digits = re.findall("\\d+", message.reasoning_content)\n'
        "    return JUDGE.grade(question, digits)\n")
    (tmp_path / "broken.py").write_text('X = "\\d"\ndef f(:\n')
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        result = check_paths(Options(paths=(str(tmp_path),), jobs=1))
    assert [f.sink.path for f in result.findings] == ["rewards.py"]
    assert [e.path for e in result.file_errors] == ["broken.py"]
    assert not [w for w in seen if "escape sequence" in str(w.message)]


def test_a_string_cpython_cannot_evaluate_is_no_crash(tmp_path: Path) -> None:
    r"""``"budget\x_tokens"`` is a bad escape: libcst parses the file, CPython would not
    evaluate the literal. The literal is then no constant (no key, no tag), the file is
    analyzed and its leak found, and the run goes on (it ended the whole run before)."""
    (tmp_path / "bad_escape.py").write_text(
        'SETTINGS = {"budget\\x_tokens": 1}\n'
        "\n"
        "\n"
        "def step(judge, message):\n"
        "    return judge.grade(message.reasoning_content)\n")
    (tmp_path / "other.py").write_text(
        "def other(judge, message):\n    return judge.grade(message.reasoning_content)\n")
    result = check_paths(Options(paths=(str(tmp_path),), jobs=1))
    assert result.file_errors == ()
    assert sorted((Path(f.sink.path).name, f.sink.start_line) for f in result.findings) == [
        ("bad_escape.py", 5), ("other.py", 2)]


def test_an_internal_error_while_scanning_is_a_file_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in the per-file scan must cost that file, not the run."""
    import leakcheck.pipeline as pipeline

    real = pipeline.scan_module

    def scan(module, vocab, name, *rest):
        if name == "broken":
            raise KeyError("boom")
        return real(module, vocab, name, *rest)

    monkeypatch.setattr(pipeline, "scan_module", scan)
    (tmp_path / "broken.py").write_text("x = 1\n")
    (tmp_path / "fine.py").write_text(
        "def step(judge, message):\n    return judge.grade(message.reasoning_content)\n")
    result = check_paths(Options(paths=(str(tmp_path),), jobs=1, prefilter=False))
    assert [(Path(e.path).name, e.kind) for e in result.file_errors] == [("broken.py", "internal")]
    assert "KeyError" in result.file_errors[0].message
    assert [Path(f.sink.path).name for f in result.findings] == ["fine.py"]


def test_parsing_skips_node_validation_and_puts_it_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parser's output is valid by construction: leakcheck's parse does not validate
    each node again (a fifth of libcst's parse time), and the tree is still the file's
    (its code is the source, byte for byte). Outside a parse, libcst validates as usual."""
    import libcst as cst

    from leakcheck.parse import Parsed, parse_source

    calls: list[str] = []
    original = cst.SimpleWhitespace._validate

    def counted(self: cst.SimpleWhitespace) -> None:
        calls.append(self.value)
        original(self)

    monkeypatch.setattr(cst.SimpleWhitespace, "_validate", counted)
    source = b"def reward(completions, **kw):\n    return [len(c) for c in completions]\n"
    parsed = parse_source("rewards.py", source)
    assert isinstance(parsed, Parsed)
    assert parsed.module.bytes == source
    assert calls == []
    with pytest.raises(cst.CSTValidationError):
        cst.SimpleWhitespace("not whitespace")
    assert calls == ["not whitespace"]


def test_valid_code_libcsts_validation_refuses_is_analyzed(tmp_path: Path) -> None:
    """`() if 0 else(lambda:())` is valid Python; libcst's parser builds it, then its node
    validation fails on it with a TypeError (LibCST issue 1061), which used to make the file
    a parse error. The parser's output is not validated again, so the file is analyzed."""
    root = _tree(tmp_path, {
        "rewards.py": "def reward_fn(completion):\n"
                      "    fallback = () if 0 else(lambda:())\n"
                      "    return judge.grade(completion)\n"})
    result = check_paths(Options(paths=(str(root),)))
    assert result.file_errors == ()
    assert {(f.sink.path, f.sink.start_line) for f in result.findings} == {("rewards.py", 3)}
