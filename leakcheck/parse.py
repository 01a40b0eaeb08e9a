"""bytes -> libcst Module plus positions; every failure becomes a FileError, never a raise.

Positions come from :mod:`leakcheck.positions` (libcst's ``PositionProvider`` ranges, computed
without the metadata wrapper's whole-tree visit and made into ``CodeRange`` only on demand).
"""

from __future__ import annotations

import ast
import re
import symtable
import warnings
from dataclasses import dataclass
from itertools import accumulate
from operator import sub

import libcst as cst

from leakcheck.positions import Positions, positions
from leakcheck.raw_nodes import parser_output
from leakcheck.types import FileError


def python_ast(data: bytes | str, mode: str = "exec") -> ast.AST:
    """CPython's tree of analyzed code, its warnings silenced: ``"\\d"`` in a plain string
    is a SyntaxWarning that Python 3.12 prints for every such literal, which is the analyzed
    code's business, not output of leakcheck's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compile(data, "<leakcheck>", mode, flags=ast.PyCF_ONLY_AST, dont_inherit=True)


def check_python_syntax(data: bytes) -> None:
    """Raise what CPython's parser raises on ``data``, without building its tree: the
    symbol table pass parses the file to its C-level tree and makes a few objects per scope
    (about half the time of ``python_ast`` on generated training code, which a 1M-line
    tree's check of the files it skips spent 10 s in). It also refuses what only a
    compiler does (``nonlocal`` at module level): the caller then parses such a file the
    usual way, which decides."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        symtable.symtable(data, "<leakcheck>", "exec")  # type: ignore[arg-type]


_AT = re.compile(r"error at (\d+):(\d+)")
# CPython refuses more than 200 nested brackets; libcst's native parser can overflow the
# C stack long before reporting anything (3,000 parentheses), so such input never reaches it.
MAX_NESTING = 200
_TOO_MANY_BRACKETS = f"syntax error: too many nested parentheses (more than {MAX_NESTING})"

# libcst's parser also slows down sharply, in time and memory, on deep nesting: long
# operator and postfix chains (`a + a + …`, `x[0][0]…`, `f()()…`, `a ** a ** …`: 2,000
# links take seconds, 20,000 minutes), nested lambdas, and calls nested inside calls
# (`f(1, f(1, …`: 3,000 levels took 12 GB and more than a minute). Cheap byte scans flag
# the files that could hold any of these — a line over LONG_LINE bytes, CHAIN_LINES lines
# in a row that start or end with an operator, or brackets outside strings and comments
# nesting more than MAX_NESTING deep — and only those are measured with CPython's own
# parser (linear, and with limits of its own) before libcst sees them.
MAX_EXPRESSION_DEPTH = 500
LONG_LINE = 2000
CHAIN_LINES = 300
_LEADS = frozenset(b"-+*/%@|&^.([)]")
_CHAIN_WORDS = frozenset((b"and", b"or", b"not", b"if", b"else", b"lambda", b"await", b"in",
                          b"is"))
_FIRST_WORD = re.compile(rb"[A-Za-z_]+")
_LETTERS = frozenset(b"abcdefghijklmnopqrstuvwxyz")
_TRAILS = frozenset(b"-+*/%@|&^.([\\")
# comments and string literals, left to right as the tokenizer meets them: plain strings
# and comments go; a string with a prefix (group ``keep``) stays, since an f-string's
# expressions are code (so do raw and bytes strings: counting their brackets only costs a
# measurement). Every alternative starts at a quote or `#`, which keeps the search fast.
_BODY = (rb"(?:'''(?:[^'\\]|\\.|'(?!''))*(?:''')?"
         rb'|"""(?:[^"\\]|\\.|"(?!""))*(?:""")?'
         rb"|'(?:[^'\\\r\n]|\\.)*'?"
         rb'|"(?:[^"\\\r\n]|\\.)*"?)')
_LITERAL = re.compile(rb"(?=['\"#])(?:(?P<keep>(?<=[A-Za-z])" + _BODY + rb")|#[^\r\n]*|"
                      + _BODY + rb")", re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"()[]{}")
_BRACKET_STEP = [0] * 256
for _b in b"([{":
    _BRACKET_STEP[_b] = 1
for _b in b")]}":
    _BRACKET_STEP[_b] = -1


def chain_line(data: bytes) -> int:
    """Where ``data`` may hold an operator chain long enough to matter (cheap, linear): the
    first line over LONG_LINE bytes, or the first of CHAIN_LINES lines in a row that start
    or end with an operator; 0 when there is none."""
    run = 0
    for number, line in enumerate(data.split(b"\n"), 1):
        if len(line) > LONG_LINE:
            return number
        text = line.strip()
        if not text:
            run = 0
            continue
        first = _FIRST_WORD.match(text)
        if text[0] in _LEADS or text[-1] in _TRAILS or (
                first is not None and first.group() in _CHAIN_WORDS) or (
                text[-1] in _LETTERS and text.rsplit(None, 1)[-1] in _CHAIN_WORDS):
            run += 1
            if run >= CHAIN_LINES:
                return number - CHAIN_LINES + 1
        else:
            run = 0
    return 0


def deep_brackets(data: bytes) -> bool:
    """Whether brackets outside comments and plain strings may nest more than MAX_NESTING
    deep: the largest rise of the running bracket count (a closing bracket the stripping
    got wrong cannot hide the nesting that follows it). Linear, at C speed."""
    if len(data.translate(None, _NOT_BRACKETS)) <= MAX_NESTING:
        return False
    brackets = _LITERAL.sub(rb"\g<keep>", data).translate(None, _NOT_BRACKETS)
    if len(brackets) <= MAX_NESTING:
        return False
    depth = list(accumulate(map(_BRACKET_STEP.__getitem__, brackets)))
    lowest = accumulate(depth, min, initial=0)  # the lowest count before each bracket
    return max(map(sub, depth, lowest)) > MAX_NESTING


def refused_up_front(data: bytes) -> bool:
    """Whether ``parse_source`` may refuse ``data`` before libcst sees it (a null byte, deep
    nesting): callers that take a cheaper path (the pre-filter's CPython check) must then
    leave the file to ``parse_source``."""
    return b"\0" in data or deep_brackets(data) or chain_line(data) > 0


@dataclass(frozen=True, slots=True)
class Parsed:
    module: cst.Module
    positions: Positions


def parse_source(path: str, data: bytes) -> Parsed | FileError:
    if b"\0" in data:
        line = data[: data.index(b"\0")].count(b"\n") + 1
        return FileError(path, line, 1, "syntax", "source contains a null byte")
    brackets = deep_brackets(data)
    if brackets or chain_line(data):
        refused = _too_deep(data, brackets)
        if refused is not None:
            return FileError(path, refused[0], 1, "syntax", refused[1])
    try:
        with parser_output():
            module = cst.parse_module(data)
    except cst.ParserSyntaxError as exc:
        line, col, message = _syntax_location(exc, data)
        return FileError(path, line, col, "syntax", f"syntax error: {message}")
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        return FileError(path, 1, 1, "encoding", f"cannot decode source: {exc}")
    except RecursionError:
        return FileError(path, 1, 1, "syntax", "source is nested too deeply to parse")
    except Exception as exc:  # libcst internals: report, keep the run going
        return FileError(path, 1, 1, "syntax", f"cannot parse: {type(exc).__name__}: {exc}")
    try:
        ranges = positions(module)
    except RecursionError:
        return FileError(path, 1, 1, "internal", "source is nested too deeply to analyze")
    return Parsed(module, ranges)


def _too_deep(data: bytes, brackets: bool) -> tuple[int, str] | None:
    """Where and why the file is nested too deeply to hand to libcst, by CPython's parser
    (fast on these inputs): its syntax tree gets deeper than MAX_EXPRESSION_DEPTH, or
    CPython itself refuses the nesting (more than 200 brackets, 100 indentation levels, or
    its parser's stack). None when it does not, or when CPython refuses the file for
    another reason (libcst then reports it as usual, or accepts syntax newer than this
    Python's) — unless its brackets may nest too deeply for libcst's stack (``brackets``):
    then CPython's own error stands."""
    deep = f"expression nested too deeply to analyze (more than {MAX_EXPRESSION_DEPTH} levels)"
    try:
        tree = python_ast(data)
    except (RecursionError, MemoryError):  # MemoryError: CPython's parser stack overflowed
        return max(1, chain_line(data)), deep  # (CPython names no line)
    except SyntaxError as exc:
        message = exc.msg or "invalid syntax"
        line = max(1, exc.lineno or 1)
        if message == "too many nested parentheses":
            return line, _TOO_MANY_BRACKETS
        if message.startswith("too many"):  # "too many levels of indentation"
            return line, f"syntax error: {message}"
        return (line, f"syntax error: {message}") if brackets else None
    except ValueError:
        return (1, _TOO_MANY_BRACKETS) if brackets else None
    stack: list[tuple[ast.AST, int, int]] = [(tree, 0, 1)]
    while stack:
        node, depth, line = stack.pop()
        line = getattr(node, "lineno", line)
        if depth > MAX_EXPRESSION_DEPTH:
            return line, deep
        stack.extend((child, depth + 1, line) for child in ast.iter_child_nodes(node))
    return None


def _syntax_location(exc: cst.ParserSyntaxError, data: bytes) -> tuple[int, int, str]:
    """Where and what the error is. libcst reports where its parser gave up (often the
    next line) and its raw_line can be off by one more; CPython's compiler, asked only once
    the file has already failed, names the line a person would fix."""
    try:
        python_ast(data)
    except SyntaxError as err:
        if err.lineno:
            return err.lineno, max(1, err.offset or 1), err.msg or "invalid syntax"
    except (ValueError, RecursionError, MemoryError):
        pass
    detail = str(exc).splitlines()
    message = next((d.split(": ", 2)[-1] for d in detail if "error at" in d), "invalid syntax")
    m = _AT.search(str(exc))
    if m:
        return int(m.group(1)), int(m.group(2)) + 1, message
    line = max(1, min(exc.raw_line, data.count(b"\n") + 1))
    return line, exc.raw_column + 1, message
