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


def walk(root: cst.CSTNode, visitor: object) -> None:
    handlers: dict[type, object] = {}
    stack: list[cst.CSTNode] = [root]
    node_type = cst.CSTNode
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
            if isinstance(value, node_type):
                children.append(value)
            elif isinstance(value, (tuple, list)):
                children.extend(v for v in value if isinstance(v, node_type))
        stack.extend(reversed(children))
