"""libcst's abstract node classes as sets of their concrete classes.

``isinstance`` against libcst's abstract bases goes through ``ABCMeta.__instancecheck__``,
several times slower than a set lookup of the node's type; the builder asks it for every
statement and expression.
"""

from __future__ import annotations

import inspect

import libcst as cst


def concrete(base: type) -> frozenset[type]:
    """Every concrete libcst node class that is a ``base``."""
    return frozenset(c for c in vars(cst).values() if isinstance(c, type)
                     and issubclass(c, base) and not inspect.isabstract(c))


EXPRESSIONS = concrete(cst.BaseExpression)
SMALL_STATEMENTS = concrete(cst.BaseSmallStatement)
