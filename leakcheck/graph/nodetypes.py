"""libcst's node classes: its abstract ones as sets of their concrete classes, and its
trivia (punctuation, operators, whitespace and comments).

``isinstance`` against libcst's abstract bases goes through ``ABCMeta.__instancecheck__``,
several times slower than a set lookup of the node's type; the builder asks it for every
statement and expression. (``issubclass`` against them is slow too, the first time: these
sets are made from each class's MRO.)
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterator

import libcst as cst


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


# every concrete node class libcst exports (``add_slots`` leaves the class it copied behind
# as a subclass too: only the exported one is the real node type)
NODE_CLASSES: frozenset[type] = frozenset(
    c for c in _subclasses(cst.CSTNode) if vars(cst).get(c.__name__) is c
    and not inspect.isabstract(c))


def concrete(base: type) -> frozenset[type]:
    """Every concrete libcst node class that is a ``base``."""
    return frozenset(c for c in NODE_CLASSES if base in c.__mro__)


EXPRESSIONS = concrete(cst.BaseExpression)
SMALL_STATEMENTS = concrete(cst.BaseSmallStatement)

# punctuation and operators: nodes whose only fields are their whitespace (``Comma``,
# ``Dot``, ``Add``, ``LeftParen``; ``ImportStar`` has none)
PUNCTUATION: frozenset[type] = frozenset(
    c for c in NODE_CLASSES if all(f.name.startswith("whitespace")
                                   for f in dataclasses.fields(c)))
WHITESPACE: frozenset[type] = frozenset({
    cst.SimpleWhitespace, cst.ParenthesizedWhitespace, cst.Newline, cst.TrailingWhitespace,
    cst.EmptyLine, cst.Comment})
