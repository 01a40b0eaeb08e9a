"""``__init__``s for slotted dataclasses that store each field through its slot directly.

The ``__init__`` dataclasses generate for a frozen class sets every field with
``object.__setattr__``, looked up on each call: 0.9 us for a ``Value`` of six fields, where
calling each slot's descriptor, bound once, takes 0.57 us. Built graphs are hundreds of
thousands of such values, made while building and again while unpickling (cached modules,
a worker's results). :func:`lean_init` writes the same ``__init__`` (parameters, defaults,
default factories) the faster way; :func:`lean` installs it on a class for good.
"""

from __future__ import annotations

import dataclasses
import inspect
import keyword
from collections.abc import Callable
from typing import TypeVar

_C = TypeVar("_C", bound=type)


def _slot_setter(cls: type, name: str) -> Callable | None:
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is not None:
            return descriptor.__set__ if inspect.ismemberdescriptor(descriptor) else None
    return None


def lean_init(cls: type, *, hook_skipped: type | None = None) -> Callable | None:
    """An ``__init__`` for the slotted dataclass ``cls`` equivalent to the one dataclasses
    generated, except that ``hook_skipped``'s ``__post_init__`` is not called. None when
    ``cls`` is not the plain case this handles: a field that is not an ``__init__``
    parameter, is keyword-only, has no slot or a name starting with ``_`` (the generated
    code's own names are), an ``__init__`` whose parameters are not the fields, or a
    ``__post_init__`` other than ``hook_skipped``'s."""
    if any("__post_init__" in k.__dict__ for k in cls.__mro__ if k is not hook_skipped):
        return None  # (a hook of its own: not what this replaces)
    fields = dataclasses.fields(cls)
    original = cls.__dict__["__init__"]
    try:
        names = list(inspect.signature(original).parameters)
    except (TypeError, ValueError):
        return None
    if names != ["self", *(f.name for f in fields)]:
        return None
    namespace: dict[str, object] = {"_MISSING": dataclasses.MISSING}
    params: list[str] = []
    body: list[str] = []
    for i, f in enumerate(fields):
        setter = _slot_setter(cls, f.name)
        if not f.init or getattr(f, "kw_only", False) or setter is None \
                or not f.name.isidentifier() or keyword.iskeyword(f.name) \
                or f.name.startswith("_"):
            return None
        namespace[f"_set{i}"] = setter
        if f.default is not dataclasses.MISSING:
            namespace[f"_default{i}"] = f.default
            params.append(f"{f.name}=_default{i}")
        elif f.default_factory is not dataclasses.MISSING:
            namespace[f"_factory{i}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            body.append(f"    if {f.name} is _MISSING:\n        {f.name} = _factory{i}()")
        else:
            params.append(f.name)
        body.append(f"    _set{i}(self, {f.name})")
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body or ["    pass"])
    exec(compile(source, f"<leakcheck lean init of {cls.__qualname__}>", "exec"), namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"  # type: ignore[attr-defined]
    return init  # type: ignore[return-value]


def lean(cls: _C) -> _C:
    """Give the slotted dataclass ``cls`` its :func:`lean_init` (a class that is not the
    plain case keeps dataclasses' ``__init__``)."""
    init = lean_init(cls)
    if init is not None:
        cls.__init__ = init  # type: ignore[misc]
    return cls
