"""A pre-order walk over a libcst tree that calls ``visit_<Node>`` methods, for read-only
visitors.

``CSTNode.visit`` rebuilds every node it passes (``_visit_and_replace_children`` constructs a
copy even when nothing changed), which makes a read-only pass cost about as much as the
parse. This walk reads the dataclass fields instead. It calls only ``visit_<Node>`` (never
``leave_*`` or attribute hooks) and always descends, which is what the scanner needs.
"""

from __future__ import annotations

import dataclasses

import libcst as cst

_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(cls))
        _FIELDS[cls] = names
    return names


# type -> 1 (a CST node), 2 (a sequence that may hold nodes), 0 (anything else). libcst's
# CSTNode is an ABC, and an isinstance check against it per field of every node was most of
# the walk's time.
_KIND: dict[type, int] = {tuple: 2, list: 2}


def _kind(cls: type) -> int:
    kind = _KIND.get(cls)
    if kind is None:
        kind = _KIND[cls] = 1 if issubclass(cls, cst.CSTNode) else 0
    return kind


def walk(root: cst.CSTNode, visitor: object) -> None:
    handlers: dict[type, object] = {}
    stack: list[cst.CSTNode] = [root]
    kinds = _KIND
    while stack:
        node = stack.pop()
        cls = type(node)
        handler = handlers.get(cls, False)
        if handler is False:
            handler = getattr(visitor, "visit_" + cls.__name__, None)
            handlers[cls] = handler
        if handler is not None:
            handler(node)
        children: list[cst.CSTNode] = []
        for name in _fields(cls):
            value = getattr(node, name)
            kind = kinds.get(type(value))
            if kind is None:
                kind = _kind(type(value))
            if kind == 1:
                children.append(value)
            elif kind == 2:
                for v in value:
                    k = kinds.get(type(v))
                    if (k if k is not None else _kind(type(v))) == 1:
                        children.append(v)
        stack.extend(reversed(children))
