"""A string literal's value is CPython's, escapes, prefixes and line endings included
(``graph.scan.string_value``: dictionary keys, think tags and field names are read
through it)."""

from __future__ import annotations

import ast

import libcst as cst
import pytest

from leakcheck.graph.scan import _string_literal, string_value

LITERALS = ['""', "''", '""""""', "''''''", '"reasoning_content"', "'<think>'",
            '"""multi\nline"""', "'''a 'quoted' word'''", '"\'"', "'\"'", 'u"text"',
            'r"raw \\d"', 'b"bytes"', 'Rb"raw bytes"', 'B"x"', '"tab\\there"',
            '"\\u00e9t\\u00e9"', '"é"', "'🤔'", '"""ends with quote\\""""',
            '"""\r\nwindows\r\n"""', "'a\\\nb'", 'rb"\\x00"']


@pytest.mark.parametrize("text", LITERALS)
def test_a_literal_is_what_cpython_makes_of_it(text: str) -> None:
    assert _string_literal(text) == ast.literal_eval(text)


@pytest.mark.parametrize("text", ['b"é"', '"\\x_"', "'\\N{no such name}'"])
def test_a_literal_cpython_refuses_has_no_value(text: str) -> None:
    assert string_value(cst.SimpleString(text)) is None
