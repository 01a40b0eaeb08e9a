"""DESIGN habit 4: an unmodeled syntax form flows its children's taint in production and
raises under LEAKCHECK_STRICT=1 (set by conftest for the whole suite)."""

from __future__ import annotations

import libcst as cst

import leakcheck.graph.builder  # noqa: F401  (registers the Call handler)
from leakcheck.api import check_source
from leakcheck.graph import exprs


def test_suite_runs_strict() -> None:
    assert exprs.STRICT, "tests must run with LEAKCHECK_STRICT=1 (tests/conftest.py)"


def test_every_expression_type_in_libcst_is_handled_or_known() -> None:
    # Every concrete BaseExpression subclass either has a handler or is only ever reached
    # through its parent's handler (slices, f-string parts, argument wrappers).
    reached_via_parent = {"Slice", "Index", "FormattedStringExpression", "FormattedStringText",
                          "StarredElement", "TemplatedStringExpression",
                          "TemplatedStringText", "From"}
    handled = {t.__name__ for t in exprs._HANDLERS}
    concrete = {
        name for name in dir(cst)
        if isinstance(getattr(cst, name), type) and issubclass(getattr(cst, name),
                                                               cst.BaseExpression)
        and not name.startswith("Base") and getattr(cst, name) is not cst.BaseExpression
    }
    missing = concrete - handled - reached_via_parent
    assert not missing, f"expression forms without a handler: {sorted(missing)}"


def test_modern_syntax_is_modeled() -> None:
    source = (
        "def format_reward(completions, **kwargs):\n"
        "    c = completions[0]\n"
        "    match c:\n"
        "        case {\"content\": text} if text:\n"
        "            return 1.0\n"
        "    return [t for t in (x := completions)]\n"
        "\n"
        "type Alias = list[int]\n"
    )
    result = check_source(source, "m.py")
    assert result.file_errors == ()
    assert {f.sink.start_line for f in result.findings} == {5, 6}
