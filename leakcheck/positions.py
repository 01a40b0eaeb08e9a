"""Node positions for a libcst Module, the same as ``PositionProvider`` at a fraction of the cost.

``MetadataWrapper.resolve(PositionProvider)`` runs a whole visit of the tree (which rebuilds
every node) and then a code generation pass that allocates a ``CodeRange`` and two
``CodePosition`` objects per node, splits every token with a regular expression and enters a
generator-based context manager per syntactic node. Here the same code generation runs
against a lean state: tokens without a newline only move the column, positions are plain
tuples, and a ``CodeRange`` is made only for the nodes whose span is asked for
(:class:`Positions`), which are the few that become graph nodes; trivia (whitespace,
comments, punctuation, operators) get none. The recorded ranges are identical to libcst's
(``tests/test_positions.py`` compares them on every fixture and on this package).
"""

from __future__ import annotations

import re
import threading
from typing import Any

import libcst as cst
from libcst._nodes.base import CSTNode
from libcst._nodes.expression import _BaseParenthesizedNode
from libcst._nodes.internal import CodegenState
from libcst.metadata import CodePosition, CodeRange

from leakcheck.graph.nodetypes import PUNCTUATION, WHITESPACE
from leakcheck.raw_nodes import node_classes

_NEWLINE = re.compile(r"\r\n?|\n")

Raw = tuple[int, int, int, int]  # start line, start column, end line, end column


class Positions:
    """CST node -> ``CodeRange``, made on demand from the raw tuples (a Mapping's ``get``,
    ``[]``, ``in`` and ``len``); the graph builder reads ``raw`` tuples and ``text``.
    Keyed by ``id(node)``: libcst nodes hash by identity through a Python-level
    ``__hash__``, which cost more than the rest of the bookkeeping; the module keeps its
    nodes alive while this is in use."""

    __slots__ = ("_lines", "_raw", "_text")

    def __init__(self, raw: dict[int, Raw], text: str = "") -> None:
        self._raw = raw
        self._text = text  # the module's code, as the pass that measured the ranges made it
        self._lines: list[str] | None = None

    def get(self, node: cst.CSTNode, default: CodeRange | None = None) -> CodeRange | None:
        r = self._raw.get(id(node))
        if r is None:
            return default
        return CodeRange(CodePosition(r[0], r[1]), CodePosition(r[2], r[3]))

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        rng = self.get(node)
        if rng is None:
            raise KeyError(node)
        return rng

    def __contains__(self, node: object) -> bool:
        return id(node) in self._raw

    def __len__(self) -> int:
        return len(self._raw)

    def raw(self, node: cst.CSTNode) -> Raw | None:
        return self._raw.get(id(node))

    def alias(self, made: cst.CSTNode, original: cst.CSTNode) -> None:
        """Give a node the analysis made (a call rewritten) the range of the one it stands
        for; the caller keeps ``made`` alive, as ranges are kept by ``id``."""
        r = self._raw.get(id(original))
        if r is not None:
            self._raw[id(made)] = r

    def text(self, node: cst.CSTNode) -> str | None:
        """The code inside ``node``'s range (what ``code_for_node`` gives for an expression
        without parentheses of its own), or None when it has no range."""
        r = self._raw.get(id(node))
        if r is None or not self._text:
            return None
        lines = self._lines
        if lines is None:
            lines = self._lines = _NEWLINE.split(self._text)
        if r[0] == r[2]:
            return lines[r[0] - 1][r[1]:r[3]]
        return "\n".join([lines[r[0] - 1][r[1]:], *lines[r[0]:r[2] - 1],
                          lines[r[2] - 1][:r[3]]])


class _Record:
    """``record_syntactic_position`` without a generator per call."""

    __slots__ = ("end_node", "node", "start", "start_node", "state")

    def __init__(self, state: _State, node: cst.CSTNode, start_node: cst.CSTNode | None,
                 end_node: cst.CSTNode | None) -> None:
        self.state = state
        self.node = node
        self.start_node = start_node
        self.end_node = end_node

    def __enter__(self) -> None:
        self.start = (self.state.line, self.state.column)

    def __exit__(self, *exc: object) -> None:
        state = self.state
        computed = state.computed
        if self.start_node is not None:
            s = computed[id(self.start_node)]
            start = (s[0], s[1])
        else:
            start = self.start
        if self.end_node is not None:
            e = computed[id(self.end_node)]
            end = (e[2], e[3])
        else:
            end = (state.line, state.column)
        computed[id(self.node)] = (start[0], start[1], end[0], end[1])


class _State(CodegenState):
    """libcst's PositionProvidingCodegenState, with the same observable results."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__(default_indent=module.default_indent,
                         default_newline=module.default_newline)
        self.line = 1
        self.column = 0
        self.stack: list[tuple[int, int]] = []
        self.computed: dict[int, Raw] = {}  # by id(node)

    def add_indent_tokens(self) -> None:
        self.tokens.extend(self.indent_tokens)
        for token in self.indent_tokens:  # indentation: spaces and tabs, never a newline
            self.column += len(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        if "\n" not in value and "\r" not in value:
            self.column += len(value)
            return
        segments = _NEWLINE.split(value)
        self.line += len(segments) - 1
        self.column = len(segments[-1])

    def before_codegen(self, node: cst.CSTNode) -> None:
        self.stack.append((self.line, self.column))

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self.stack.pop()
        key = id(node)
        if key not in self.computed:  # a syntactic position recorded inside wins
            self.computed[key] = (start[0], start[1], self.line, self.column)

    def record_syntactic_position(self, node: cst.CSTNode, *,  # type: ignore[override]
                                  start_node: cst.CSTNode | None = None,
                                  end_node: cst.CSTNode | None = None) -> _Record | _Skip:
        if node.__class__ in TRIVIA:  # (an operator's range without its whitespace)
            return _SKIP
        return _Record(self, node, start_node, end_node)


class _Skip:
    """The syntactic range of a trivia node, not kept."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_SKIP = _Skip()


# Whitespace, comments, punctuation and operators: what no graph node is made of. A closing
# parenthesis and ``*`` of ``import *`` end statements' syntactic ranges, so they keep theirs.
TRIVIA: frozenset[type] = (PUNCTUATION | WHITESPACE) - {cst.RightParen, cst.ImportStar}

_ORIGINAL_CODEGEN = CSTNode._codegen
_ORIGINAL_PARENTHESIZE = _BaseParenthesizedNode._parenthesize


class _Parenthesized:
    """``_parenthesize`` without a generator: the parentheses around an expression, and its
    syntactic range inside them."""

    __slots__ = ("node", "start", "state")

    def __init__(self, node: _BaseParenthesizedNode, state: _State) -> None:
        self.node = node
        self.state = state

    def __enter__(self) -> None:
        state = self.state
        for lpar in self.node.lpar:
            lpar._codegen(state)
        self.start = (state.line, state.column)

    def __exit__(self, *exc: object) -> None:
        state = self.state
        start = self.start
        state.computed[id(self.node)] = (start[0], start[1], state.line, state.column)
        for rpar in self.node.rpar:
            rpar._codegen(state)


def _codegen(self: CSTNode, state: CodegenState, **kwargs: Any) -> None:
    """``CSTNode._codegen`` for this module's pass: a trivia node only adds its text (no
    range is kept for it), any other node records its range without two method calls. (A
    class without a ``_codegen`` of its own for the pass, ``_classes``, comes here.)"""
    _codegen_for(self.__class__)(self, state, **kwargs)


# One function per kind of node, installed on each node class while a pass runs
# (``_FastCodegen``): which kind a node is is decided once per class, not once per node.
# Each hands any other state than this module's to libcst's own code generation.
def _whitespace_codegen(self: CSTNode, state: CodegenState, **kwargs: Any) -> None:
    if state.__class__ is not _State:
        _ORIGINAL_CODEGEN(self, state, **kwargs)
        return
    value = self.value  # type: ignore[attr-defined]
    if value:  # (most are empty: nothing to add)
        state.add_token(value)  # type: ignore[attr-defined]


def _trivia_codegen(self: CSTNode, state: CodegenState, **kwargs: Any) -> None:
    if state.__class__ is not _State:
        _ORIGINAL_CODEGEN(self, state, **kwargs)
        return
    self._codegen_impl(state, **kwargs)


def _name_codegen(self: CSTNode, state: CodegenState, **kwargs: Any) -> None:
    if state.__class__ is not _State or self.lpar or self.rpar:  # type: ignore[attr-defined]
        _node_codegen(self, state, **kwargs)  # (a parenthesized name: as any other node)
        return
    value = self.value  # type: ignore[attr-defined]
    line, column = state.line, state.column  # type: ignore[attr-defined]
    state.tokens.append(value)
    state.column = end = column + len(value)  # type: ignore[attr-defined]
    state.computed[id(self)] = (line, column, line, end)  # type: ignore[attr-defined]


def _node_codegen(self: CSTNode, state: CodegenState, **kwargs: Any) -> None:
    if state.__class__ is not _State:
        _ORIGINAL_CODEGEN(self, state, **kwargs)
        return
    line, column = state.line, state.column  # type: ignore[attr-defined]
    self._codegen_impl(state, **kwargs)
    computed = state.computed  # type: ignore[attr-defined]
    key = id(self)
    if key not in computed:  # a syntactic position recorded inside wins
        computed[key] = (line, column, state.line, state.column)  # type: ignore[attr-defined]


def _codegen_for(cls: type) -> Any:
    if cls is cst.SimpleWhitespace:
        return _whitespace_codegen
    if cls in TRIVIA:
        return _trivia_codegen
    if cls is cst.Name:
        return _name_codegen
    return _node_codegen


def _parenthesize(self: _BaseParenthesizedNode, state: CodegenState) -> Any:
    if state.__class__ is not _State:
        return _ORIGINAL_PARENTHESIZE(self, state)
    return _Parenthesized(self, state)  # type: ignore[arg-type]


class _FastCodegen:
    """While any pass of this module runs, libcst's codegen of every node goes through
    the functions above (each class gets the one of its kind, ``_codegen_for``) and
    ``_parenthesize`` (half of the pass's time was libcst's per-node bookkeeping: two
    hooks, a generator per expression). They hand any other ``CodegenState`` to libcst's
    own methods, so other code using libcst meanwhile (another
    thread) sees no difference; a pass that finds them already restored takes libcst's
    path, which records the same ranges (and the trivia's too)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0

    def __enter__(self) -> None:
        with self.lock:
            self.active += 1
            if self.active == 1:
                CSTNode._codegen = _codegen  # type: ignore[method-assign]
                for cls, codegen in _classes():
                    cls._codegen = codegen  # type: ignore[attr-defined]
                _BaseParenthesizedNode._parenthesize = _parenthesize  # type: ignore[method-assign]

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.active -= 1
            if self.active == 0:
                for cls, _ in _classes():
                    del cls._codegen  # type: ignore[attr-defined]  # (CSTNode's again)
                CSTNode._codegen = _ORIGINAL_CODEGEN  # type: ignore[method-assign]
                _BaseParenthesizedNode._parenthesize = _ORIGINAL_PARENTHESIZE  # type: ignore[method-assign]


_CLASSES: list[tuple[type, Any]] = []


def _classes() -> list[tuple[type, Any]]:
    """The node classes that get a ``_codegen`` of their own during a pass, with it: those
    that do not define one (none of libcst's do; one that did would keep it)."""
    if not _CLASSES:
        _CLASSES.extend((c, _codegen_for(c)) for c in node_classes()
                        if not any("_codegen" in k.__dict__ for k in c.__mro__
                                   if k is not CSTNode))
    return _CLASSES


_FAST = _FastCodegen()


def measuring() -> _FastCodegen:
    """A context in which :func:`positions` calls find the codegen hooks installed: a
    batch of files enters it once (installing them swaps methods on libcst's base classes,
    which empties the type caches of every node class: 30 us of a 110 us pass over a
    six-line file)."""
    return _FAST


def positions(module: cst.Module) -> Positions:
    """The range of every node but trivia (``TRIVIA``), as libcst's ``PositionProvider``
    gives it, and the module's code."""
    state = _State(module)
    with _FAST:
        module._codegen(state)
    return Positions(state.computed, "".join(state.tokens))
