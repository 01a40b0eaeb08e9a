"""bytes -> libcst Module plus positions; every failure becomes a FileError, never a raise."""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from leakcheck.types import FileError

_AT = re.compile(r"error at (\d+):(\d+)")


@dataclass(frozen=True, slots=True)
class Parsed:
    module: cst.Module
    positions: dict[cst.CSTNode, CodeRange]


def parse_source(path: str, data: bytes) -> Parsed | FileError:
    if b"\0" in data:
        line = data[: data.index(b"\0")].count(b"\n") + 1
        return FileError(path, line, 1, "syntax", "source contains a null byte")
    try:
        module = cst.parse_module(data)
    except cst.ParserSyntaxError as exc:
        line, col = _syntax_location(exc, data)
        message = str(exc).splitlines()[0] if str(exc) else "invalid syntax"
        return FileError(path, line, col, "syntax", f"syntax error: {message}")
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        return FileError(path, 1, 1, "encoding", f"cannot decode source: {exc}")
    except RecursionError:
        return FileError(path, 1, 1, "syntax", "source is nested too deeply to parse")
    except Exception as exc:  # libcst internals: report, keep the run going
        return FileError(path, 1, 1, "syntax", f"cannot parse: {type(exc).__name__}: {exc}")
    try:
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        positions = dict(wrapper.resolve(PositionProvider))
    except RecursionError:
        return FileError(path, 1, 1, "internal", "source is nested too deeply to analyze")
    return Parsed(wrapper.module, positions)


def _syntax_location(exc: cst.ParserSyntaxError, data: bytes) -> tuple[int, int]:
    # libcst's raw_line can be one past the real line; its message says "error at L:C"
    m = _AT.search(str(exc)) or _AT.search(getattr(exc, "message", "") or "")
    if m:
        return int(m.group(1)), int(m.group(2)) + 1
    line = max(1, min(exc.raw_line, data.count(b"\n") + 1))
    return line, exc.raw_column + 1
