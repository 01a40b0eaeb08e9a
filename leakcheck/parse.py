"""bytes -> libcst Module plus positions; every failure becomes a FileError, never a raise.

Positions come from :mod:`leakcheck.positions` (libcst's ``PositionProvider`` ranges, computed
without the metadata wrapper's whole-tree visit and made into ``CodeRange`` only on demand).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import libcst as cst

from leakcheck.positions import Positions, positions
from leakcheck.types import FileError

_AT = re.compile(r"error at (\d+):(\d+)")
# CPython refuses more than 200 nested brackets; libcst's native parser can overflow the
# C stack long before reporting anything, so such input is rejected up front.
MAX_NESTING = 200
_DEEP_RUN = re.compile(rb"(?:[(\[{][ \t\r\n\\]*){%d}" % (MAX_NESTING + 1))


# libcst's parser slows down sharply on long operator and postfix chains (`a + a + …`,
# `x[0][0]…`, `f()()…`: 2,000 links take seconds, 20,000 minutes), which the bracket check
# cannot see. A cheap byte scan flags the files that could hold one — a line over
# LONG_LINE bytes, or CHAIN_LINES lines in a row that start or end with an operator — and
# only those are measured with CPython's own parser before libcst sees them.
MAX_EXPRESSION_DEPTH = 500
LONG_LINE = 2000
CHAIN_LINES = 300
_LEADS = frozenset(b"-+*/%@|&^.([)]")
_LEAD_WORDS = frozenset((b"and", b"or", b"not", b"if", b"else", b"lambda", b"await"))
_TRAILS = frozenset(b"-+*/%@|&^.([\\")


def suspect_chain(data: bytes) -> bool:
    """Whether ``data`` may hold an operator chain long enough to matter (cheap, linear)."""
    run = 0
    for line in data.split(b"\n"):
        if len(line) > LONG_LINE:
            return True
        text = line.strip()
        if text and (text[0] in _LEADS or text[-1] in _TRAILS
                     or text.split(None, 1)[0] in _LEAD_WORDS):
            run += 1
            if run >= CHAIN_LINES:
                return True
        else:
            run = 0
    return False


def refused_up_front(data: bytes) -> bool:
    """Whether ``parse_source`` may refuse ``data`` before libcst sees it (a null byte, too
    many nested brackets, a long chain): callers that take a cheaper path (the pre-filter's
    CPython check) must then leave the file to ``parse_source``."""
    return b"\0" in data or _DEEP_RUN.search(data) is not None or suspect_chain(data)


@dataclass(frozen=True, slots=True)
class Parsed:
    module: cst.Module
    positions: Positions


def parse_source(path: str, data: bytes) -> Parsed | FileError:
    if b"\0" in data:
        line = data[: data.index(b"\0")].count(b"\n") + 1
        return FileError(path, line, 1, "syntax", "source contains a null byte")
    deep = _DEEP_RUN.search(data)
    if deep is not None:
        line = data[: deep.start()].count(b"\n") + 1
        return FileError(path, line, 1, "syntax",
                         f"syntax error: too many nested parentheses (more than {MAX_NESTING})")
    if suspect_chain(data):
        too_deep = _too_deep(data)
        if too_deep is not None:
            return FileError(path, too_deep, 1, "syntax",
                             f"expression nested too deeply to analyze (more than "
                             f"{MAX_EXPRESSION_DEPTH} levels)")
    try:
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


def _too_deep(data: bytes) -> int | None:
    """The line where the syntax tree first gets deeper than MAX_EXPRESSION_DEPTH, by
    CPython's parser (fast on these inputs); None when it does not, or when CPython refuses
    the file for another reason (libcst then reports it as usual)."""
    try:
        tree = ast.parse(data)
    except RecursionError:
        return 1  # deeper than CPython itself accepts
    except (SyntaxError, ValueError, MemoryError):
        return None
    stack: list[tuple[ast.AST, int, int]] = [(tree, 0, 1)]
    while stack:
        node, depth, line = stack.pop()
        line = getattr(node, "lineno", line)
        if depth > MAX_EXPRESSION_DEPTH:
            return line
        stack.extend((child, depth + 1, line) for child in ast.iter_child_nodes(node))
    return None


def _syntax_location(exc: cst.ParserSyntaxError, data: bytes) -> tuple[int, int, str]:
    """Where and what the error is. libcst reports where its parser gave up (often the
    next line) and its raw_line can be off by one more; CPython's compiler, asked only once
    the file has already failed, names the line a person would fix."""
    try:
        compile(data, "<leakcheck>", "exec", dont_inherit=True, flags=0x400)  # ONLY_AST
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
