"""A pre-order walk over a libcst tree that calls ``visit_<Node>`` methods, for read-only
visitors.

``CSTNode.visit`` rebuilds every node it passes (``_visit_and_replace_children`` constructs a
copy even when nothing changed), which makes a read-only pass cost about as much as the
parse. This walk reads the dataclass fields instead. It calls only ``visit_<Node>`` (never
``leave_*`` or attribute hooks) and always descends, which is what the scanner needs.

It goes into a node's trivia (whitespace, comments, brackets, commas, operators) and into
names and plain literals only for a visitor with a handler for such a node: they hold no
statement and no expression, and they are most of a tree's nodes (three quarters of the
walk's time on a real repository).
"""

from __future__ import annotations

import dataclasses

import libcst as cst

from leakcheck.graph.nodetypes import PUNCTUATION, WHITESPACE

# Fields that hold only trivia: whitespace and comments, brackets, punctuation, operators,
# indentation strings, keyword tokens (the same field names across libcst's node classes;
# every field named ``whitespace...`` too).
_TRIVIA_FIELDS = frozenset({
    "lpar", "rpar", "lbracket", "rbracket", "lbrace", "rbrace", "comma", "semicolon", "dot",
    "colon", "first_colon", "second_colon", "equal", "leading_lines", "lines_after_decorators",
    "header", "footer", "indent", "trailing_whitespace", "leading_whitespace", "operator",
    "asynchronous", "separator", "newline", "comment", "empty_lines", "first_line",
    "last_line", "relative", "posonly_ind", "trailing_comma", "star",
})

# Node types that hold no statement and no expression (nothing below them is visited).
LEAVES: frozenset[type] = WHITESPACE | {
    cst.Name, cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.Ellipsis,
    cst.FormattedStringText, cst.Pass, cst.Break, cst.Continue, cst.ImportStar, cst.ParamStar,
    cst.ParamSlash}


class _Plan:
    """For one visitor type: its own handlers by node type name (libcst's do-nothing
    defaults, which a ``CSTVisitor`` subclass inherits for every node type, left out), the
    fields to descend into by node type, and whether a value's type is a node to visit
    (1), a sequence that may hold nodes (2) or neither (0). libcst's CSTNode is an ABC, and
    an isinstance check against it per field of every node was most of the walk's time."""

    def __init__(self, kind: type) -> None:
        self.handlers: dict[str, str] = {}
        for name in dir(kind):
            if not name.startswith("visit_"):
                continue
            owner = next(c for c in kind.__mro__ if name in c.__dict__)
            if not owner.__module__.startswith("libcst"):
                self.handlers[name[len("visit_"):]] = name
        handled = {getattr(cst, n, None) for n in self.handlers}
        # a visitor of trivia sees everything; one of leaves sees those leaves
        self.everything = not handled.isdisjoint(PUNCTUATION | WHITESPACE)
        self.skip = frozenset() if self.everything else LEAVES - handled
        self.fields: dict[type, tuple[str, ...]] = {}
        self.kinds: dict[type, int] = {tuple: 2, list: 2}

    def fields_of(self, cls: type) -> tuple[str, ...]:
        names = self.fields.get(cls)
        if names is None:
            names = self.fields[cls] = tuple(
                f.name for f in dataclasses.fields(cls) if self.everything or (
                    f.name not in _TRIVIA_FIELDS and not f.name.startswith("whitespace")))
        return names

    def kind(self, cls: type) -> int:
        kind = self.kinds.get(cls)
        if kind is None:
            visit = issubclass(cls, cst.CSTNode) and cls not in self.skip and (
                self.everything or cls not in PUNCTUATION)
            kind = self.kinds[cls] = 1 if visit else 0
        return kind


_PLANS: dict[type, _Plan] = {}


def walk(root: cst.CSTNode, visitor: object) -> None:
    plan = _PLANS.get(type(visitor))
    if plan is None:
        plan = _PLANS[type(visitor)] = _Plan(type(visitor))
    own = plan.handlers
    handlers: dict[type, object] = {}
    stack: list[cst.CSTNode] = [root]
    kinds = plan.kinds
    while stack:
        node = stack.pop()
        cls = type(node)
        handler = handlers.get(cls, False)
        if handler is False:
            method = own.get(cls.__name__)
            handler = handlers[cls] = getattr(visitor, method) if method else None
        if handler is not None:
            handler(node)
        children: list[cst.CSTNode] = []
        for name in plan.fields_of(cls):
            value = getattr(node, name)
            kind = kinds.get(type(value))
            if kind is None:
                kind = plan.kind(type(value))
            if kind == 1:
                children.append(value)
            elif kind == 2:
                for v in value:
                    k = kinds.get(type(v))
                    if (k if k is not None else plan.kind(type(v))) == 1:
                        children.append(v)
        stack.extend(reversed(children))
