"""libcst node construction for the parser's own output: unvalidated, through lean ``__init__``s.

Every libcst node is a frozen, slotted dataclass. Constructing one runs the ``__init__``
dataclasses generated (each field set through ``object.__setattr__``, looked up on every
call) and then ``CSTNode.__post_init__``, which validates the fields: whitespace against a
pattern, brackets against each other. The parser's output is valid by construction;
validating it is a fifth to a quarter of ``parse_module`` (trl: 13-30%; libcst's source
notes the same cost), and the generated ``__init__``s are another tenth.

While :func:`parser_output` is active, node construction skips validation and every node
class's ``__init__`` is replaced by one with the same signature (parameters, defaults,
default factories) that stores each field through its slot's descriptor, bound once. Both
are put back when no parse is under way, so other code in the process builds validated
nodes as usual. A class whose ``__init__`` is not the plain case (see
:func:`leakcheck.lean_init.lean_init`) keeps its own.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from libcst._nodes.base import CSTNode

from leakcheck.lean_init import lean_init

_VALIDATE = CSTNode.__post_init__
_lock = threading.Lock()
_depth = 0
_lean: dict[type, tuple[Callable, Callable]] | None = None  # class -> (original, lean)


def _no_validation(self: CSTNode) -> None:
    return None


def node_classes() -> list[type]:
    """Every concrete libcst node class in use: slotted dataclasses (``add_slots`` makes a
    new class; the unslotted original it replaced is left out)."""
    seen: set[type] = set()
    out: list[type] = []
    todo = [CSTNode]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub in seen:
                continue
            seen.add(sub)
            todo.append(sub)
            if "__slots__" in sub.__dict__ and "__init__" in sub.__dict__ \
                    and dataclasses.is_dataclass(sub):
                out.append(sub)
    return sorted(out, key=lambda c: (c.__module__, c.__qualname__))


def _lean_inits() -> dict[type, tuple[Callable, Callable]]:
    global _lean
    if _lean is None:
        made = {}
        for cls in node_classes():
            init = lean_init(cls, hook_skipped=CSTNode)
            if init is not None:
                made[cls] = (cls.__dict__["__init__"], init)
        _lean = made
    return _lean


@contextmanager
def parser_output() -> Iterator[None]:
    """Nodes constructed meanwhile (by any thread) are neither validated nor built through
    dataclasses' ``__init__``: for parsing only. Nests; the hooks are installed by the
    outermost entry and removed when it leaves."""
    global _depth
    with _lock:
        _depth += 1
        if _depth == 1:
            CSTNode.__post_init__ = _no_validation  # type: ignore[method-assign]
            for cls, (_, lean) in _lean_inits().items():
                cls.__init__ = lean  # type: ignore[misc]
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                CSTNode.__post_init__ = _VALIDATE  # type: ignore[method-assign]
                for cls, (original, _) in _lean_inits().items():
                    cls.__init__ = original  # type: ignore[misc]
