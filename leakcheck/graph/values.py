"""The abstract values the builder tracks for every expression.

A value records *which graph nodes' taint flows into it*, split by structure:
``shape`` is the value itself (its text, its length, its truth), ``elem`` the items of a
collection not covered by a constant key, ``fields`` constant keys and attributes. A batch of
completions is ``Value(elem=Value(shape={src}))``: its items are tainted, its length is not.
``info`` carries symbolic facts that make sanitizers and tag idioms recognizable through
variables (a constant string, the result of ``s.split("</think>")``, a regex match...).

``syms`` makes a value *symbolic*: a function's parameter, or the result of a call into the
project whose callee is analyzed separately. Reading part of a symbolic value yields a
token node for that access path (``("sym", base, path)``); linking later connects each
token to what the caller passed (for parameters) or to what the callee returns (for call
results), call site by call site. That is how summaries stay context-sensitive.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from leakcheck.graph.facts import FunctionRef, FunctionRefs, SinkMethod, join_refs
from leakcheck.types import Span, lean_value

NodeId = tuple[Any, ...]
Nodes = frozenset[NodeId]
NO_NODES: Nodes = frozenset()
MAX_DEPTH = 6  # nesting beyond this collapses into the shape: loops like `x = [x]` terminate
MAX_SYM_PATH = 4  # access paths into symbolic values are cut here (`p.a.b.c.d` -> `p.a.b.c`)
DEEP = "**"  # the path component meaning "everything inside"
Sym = tuple[Any, tuple[str, ...]]  # (base key, access path)


# token bases for state every function of a class or a module shares: a class's `self`
# attributes, ("self", class qualname), and a module's globals that functions write,
# ("global", module name); their paths start with the attribute or global name
SHARED_BASES = frozenset({"self", "global"})
# the last step of a shared token that stands for what writes put outside any constant
# field: a read of a key or index no write named hears it (the linker adds that edge)
REST = "*"
# constant keys a value keeps apart (``set_field``); more than real code ever writes to one
# dict, object or tuple, few enough that no copy of them costs much
MAX_FIELDS = 1024
_key_of = itemgetter(0)


def _path_limit(base: Any) -> int:
    # an attribute of `self` is a few class-wide nodes however deep it is read (its value,
    # its items, everything): writes in one method and reads in another must meet
    return 2 if base[0] in SHARED_BASES else MAX_SYM_PATH


def node_span(node: NodeId) -> Span:
    """The span of a node ``ModuleContext.node`` made: its key is (path, scope, start line,
    start column, end line, end column, tag), so its attributes need not carry a Span too
    (one object per node less to build, pickle and unpickle)."""
    return Span(node[0], node[2], node[3], node[4], node[5])


def with_sym(v: Value, base: Any, path: tuple[str, ...]) -> Value:
    """``v`` that may also be what token (base, path) stands for: its facts kept (a module
    global holding a function or an instance still resolves calls)."""
    token = sym_node(base, path)
    return Value(shape=v.shape | {token}, elem=v.elem, fields=v.fields, info=v.info,
                 from_grader=v.from_grader, syms=v.syms | {(base, path)})


def sym_node(base: Any, path: tuple[str, ...]) -> NodeId:
    return ("sym", base, path)


def sym_value(base: Any, path: tuple[str, ...] = ()) -> Value:
    return Value(shape=frozenset((sym_node(base, path),)), syms=frozenset(((base, path),)))


@lean_value
@dataclass(frozen=True, slots=True)
class Value:
    shape: Nodes = NO_NODES
    elem: Value | None = None
    fields: tuple[tuple[str, Value], ...] = ()  # sorted by key
    info: Any = None  # a frozen fact from graph/facts.py, or None
    from_grader: bool = False  # derived from a grader call's result (a judge's own reasoning)
    syms: frozenset[Sym] = frozenset()

    def field(self, key: str) -> Value | None:
        fields = self.fields
        if len(fields) > 8:  # sorted by key: a binary search
            i = bisect_left(fields, key, key=_key_of)
            return fields[i][1] if i < len(fields) and fields[i][0] == key else None
        for k, v in fields:
            if k == key:
                return v
        return None

    @property
    def is_clean(self) -> bool:
        return not deep(self)


CLEAN = Value()


def attr_key(name: str) -> str:
    return "." + name


def item_key(key: object) -> str:
    """Constant subscript keys: strings and ints live apart from attributes."""
    if isinstance(key, str):
        return "'" + key
    return "#" + repr(key)


def deep(v: Value | None) -> Nodes:
    """Every node whose taint is anywhere inside ``v``: what a sink receiving ``v`` sees."""
    if v is None:
        return NO_NODES
    if v.elem is None and not v.fields and not v.syms:
        return v.shape
    out = set(v.shape)
    for base, path in v.syms:
        out.add(sym_node(base, (*path, DEEP)[:_path_limit(base)]))
    out |= deep(v.elem)
    for _, f in v.fields:
        out |= deep(f)
    return frozenset(out)


def held_references(v: Value, depth: int = 0) -> list[FunctionRef | FunctionRefs | SinkMethod]:
    """The function references (merges of them included) and grader methods a value holds,
    itself and in its items and fields (``[accuracy_reward, format_reward]``,
    ``{"acc": judge.grade}``): what calling it, or calling one of its items, may call."""
    out: list = []
    if isinstance(v.info, (FunctionRef, FunctionRefs, SinkMethod)):
        out.append(v.info)
    if depth < MAX_DEPTH:
        for part in (v.elem, *(f for _, f in v.fields)):
            if part is not None:
                out.extend(held_references(part, depth + 1))
    return out


def whole(nodes: Nodes, info: Any = None) -> Value:
    return Value(shape=frozenset(nodes), info=info)


def collection(elem: Value | None, shape: Nodes = NO_NODES) -> Value:
    if elem is not None and elem == CLEAN:
        elem = None
    return Value(shape=shape, elem=elem)


def join(a: Value | None, b: Value | None, depth: int = 0) -> Value:
    if a is None:
        return b if b is not None else CLEAN
    if b is None or a is b or a == b:
        return a
    if depth >= MAX_DEPTH:
        return Value(shape=deep(a) | deep(b), syms=a.syms | b.syms)
    elem: Value | None
    if a.elem is None:
        elem = b.elem
    elif b.elem is None:
        elem = a.elem
    else:
        elem = join(a.elem, b.elem, depth + 1)
    fields = a.fields
    if b.fields:
        merged = dict(a.fields)
        for k, v in b.fields:
            merged[k] = join(merged[k], v, depth + 1) if k in merged else v
        fields = tuple(sorted(merged.items()))
    return Value(
        shape=a.shape | b.shape,
        elem=elem,
        fields=fields,
        info=a.info if a.info == b.info else join_refs(a.info, b.info),
        from_grader=a.from_grader and b.from_grader,
        syms=a.syms | b.syms,
    )


def join_all(values: list[Value]) -> Value:
    """The join of ``values`` (a lone value keeps its facts: a returned function), taken
    pairwise in a balanced tree: join is associative and commutative, and folding from the
    left made each step copy the whole result so far (10,000 reward functions in one list
    took 10 s in their merged references' sorted names alone)."""
    if not values:
        return CLEAN
    level = list(values)
    while len(level) > 1:
        paired = [join(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def add_shape(v: Value, nodes: Nodes) -> Value:
    if not nodes or nodes <= v.shape:
        return v
    return _reshaped(v, v.shape | nodes, v.from_grader)


def read(v: Value, key: str | None, index_taint: Nodes = NO_NODES) -> Value:
    """``v[key]`` / ``v.attr``: the item plus the container's own taint (a tainted text's
    characters are tainted) plus a tainted index (a reasoning length selecting an item)."""
    found = None
    if key is None:
        parts = [v.elem] + [f for _, f in v.fields]
        sub = join_all([p for p in parts if p is not None])
    else:
        found = v.field(key)
        sub = found if found is not None else (v.elem or CLEAN)
    if v.syms and found is None:
        # a part of a symbolic value not overwritten locally: its token for this path
        step = key if key is not None else "[]"
        for base, path in (v.syms if len(v.syms) == 1 else sorted(v.syms, key=repr)):
            sub = join(sub, sym_value(base, (*path, step)[:_path_limit(base)]))
    extra = v.shape | index_taint
    if not extra:
        return sub if not v.from_grader or sub.from_grader else _reshaped(sub, sub.shape, True)
    return _reshaped(sub, sub.shape | extra, v.from_grader or sub.from_grader)


def _reshaped(v: Value, shape: Nodes, from_grader: bool) -> Value:
    """``replace(v, shape=..., from_grader=...)`` without ``dataclasses.replace``'s field
    introspection (reads are the commonest operation of building and linking)."""
    return Value(shape=shape, elem=v.elem, fields=v.fields, info=v.info,
                 from_grader=from_grader, syms=v.syms)


def items(v: Value) -> Value | None:
    """Everything ``v`` holds — its items and fields, a symbolic value's item token included
    — without ``v``'s own shape (a slice or a concatenation keeps the items); None when it
    holds nothing."""
    if v.elem is None and not v.fields and not v.syms:
        return None
    return read(_reshaped(v, NO_NODES, v.from_grader), None)


def elements(v: Value) -> Value:
    """What iterating ``v`` yields."""
    return read(v, None)


def set_field(v: Value, key: str, item: Value) -> Value:
    """A strong update of one constant key (the container is a local value). A value keeps
    at most MAX_FIELDS keys apart: a new key past that is a weak update of the items, which
    every key not kept apart reads (a dict literal of 20,000 entries, or as many stores
    in a row, made each store copy and sort every key before it: 28 s, now 1 s)."""
    fields = v.fields
    i = bisect_left(fields, key, key=_key_of)
    if i < len(fields) and fields[i][0] == key:
        fields = (*fields[:i], (key, item), *fields[i + 1:])
    elif len(fields) >= MAX_FIELDS:
        return Value(shape=v.shape, elem=join(v.elem, item), fields=fields,
                     from_grader=v.from_grader, syms=v.syms)
    else:
        fields = (*fields[:i], (key, item), *fields[i:])
    return Value(shape=v.shape, elem=v.elem, fields=fields, from_grader=v.from_grader,
                 syms=v.syms)


def add_elem(v: Value, item: Value) -> Value:
    """A weak update: ``xs.append(item)``, ``d[k] = item`` with an unknown key. Positions
    are no longer known (``xs[-1]`` is now the new item), so positional fields fold into
    the items; string keys and attributes stay."""
    positional = [f for k, f in v.fields if k.startswith("#")]
    elem = join_all([e for e in (v.elem, item, *positional) if e is not None])
    fields = tuple((k, f) for k, f in v.fields if not k.startswith("#"))
    return Value(shape=v.shape, elem=elem, fields=fields, from_grader=v.from_grader,
                 syms=v.syms)


def relabel(v: Value, make: Callable[[str, Nodes], NodeId], path: str = "",
            depth: int = 0) -> Value:
    """Route every non-empty taint set of ``v`` through a fresh node (a step of the path),
    keeping the structure: ``d = {"answer": a, "reasoning": r}`` keeps the two keys apart."""
    shape = frozenset((make(path, v.shape),)) if v.shape else NO_NODES
    if depth >= MAX_DEPTH:
        inner = deep(v) - v.shape
        if inner:
            shape = shape | {make(path + "*", frozenset(inner))}
        return Value(shape=shape, info=v.info, from_grader=v.from_grader, syms=v.syms)
    elem = relabel(v.elem, make, path + "[]", depth + 1) if v.elem is not None else None
    fields = tuple((k, relabel(f, make, path + k, depth + 1)) for k, f in v.fields)
    return Value(shape=shape, elem=elem, fields=fields, info=v.info, from_grader=v.from_grader,
                 syms=v.syms)


# A join's taint set grows with every branch that joins in (3,000 `if`s in a row, each
# assigning `x` on one side, gave `x` 3,000 nodes and every later use of it an edge from
# each: 28 s and 1.4 GB). Past this many nodes, a merge point routes the set through one node
# of its own (``squash``), as an SSA phi would, and the next join starts small again.
MERGE_LIMIT = 32


def squash(v: Value, make: Callable[[str, Nodes], NodeId], limit: int = MERGE_LIMIT,
           path: str = "", depth: int = 0) -> Value:
    """``relabel`` for the taint sets of ``v`` with more than ``limit`` nodes only: each
    goes through one fresh node, the structure and the rest stay; a set of more than
    ``limit`` access paths is widened (``widened_syms``). ``v`` itself when none is that
    large."""
    # (every join point asks this of every value it joined: nothing is allocated unless
    # some set is that large)
    shape = v.shape
    if len(shape) > limit:
        shape = frozenset((make(path, shape),))
    syms = v.syms if len(v.syms) <= limit else widened_syms(v.syms)
    elem, fields = v.elem, v.fields
    if depth < MAX_DEPTH:
        if elem is not None:
            elem = squash(elem, make, limit, path + "[]", depth + 1)
        for i, (k, f) in enumerate(v.fields):
            g = squash(f, make, limit, path + k, depth + 1)
            if g is not f:
                if fields is v.fields:
                    fields = list(fields)
                fields[i] = (k, g)  # type: ignore[index]
    if shape is v.shape and elem is v.elem and fields is v.fields and syms is v.syms:
        return v
    return Value(shape=shape, elem=elem, fields=tuple(fields), info=v.info,
                 from_grader=v.from_grader, syms=syms)


def widened_syms(syms: frozenset[Sym]) -> frozenset[Sym]:
    """One access path per parameter or call result: the common prefix of its paths and
    then DEEP (everything under it), which reads and linking treat as a superset of each
    (a list of ``completions[0]`` … ``completions[19999]`` holds ``completions[**]``; the
    paths, one per item, made every later join copy them all). ``self`` and global paths
    stay as they are: writes of other methods are linked to them path by path."""
    paths: dict[Any, list[tuple[str, ...]]] = {}
    for base, path in syms:
        paths.setdefault(base, []).append(path)
    out: set[Sym] = set()
    for base, found in paths.items():
        if len(found) == 1 or base[0] in SHARED_BASES:
            out.update((base, p) for p in found)
            continue
        # the length of the paths' common prefix (zip stops at the shortest path)
        common = next((i for i, steps in enumerate(zip(*found, strict=False))
                       if len(set(steps)) > 1), min(map(len, found)))
        out.add((base, (*found[0][:common], DEEP)[:_path_limit(base)]))
    return frozenset(out)


def component(v: Value, path: tuple[str, ...]) -> Nodes:
    """The taint of one access path of ``v``: what a callee's token for that path stands
    for at this call site. ``**`` is everything inside; ``[]`` the items."""
    cur = v
    last = len(path) - 1
    for i, step in enumerate(path):
        if cur.elem is None and not cur.fields and not cur.syms:
            return cur.shape  # a value with no parts: every path of it is its own taint
        if step == DEEP:
            return deep(cur)
        if i == last:
            return _read_shape(cur, step)
        cur = read(cur, None if step == "[]" else step)
    return cur.shape


def _read_shape(v: Value, step: str) -> Nodes:
    """``read(v, key).shape`` for path step ``step`` without building the value read: the
    last step of ``component``, which linking asks for once per parameter token and call
    site (trl: 60,000 times, a fifth of the linker's time in making values it dropped)."""
    found = None
    if step == "[]":
        shape = v.shape
        if v.elem is not None:
            shape = shape | v.elem.shape
        for _, f in v.fields:
            shape = shape | f.shape
    else:
        found = v.field(step)
        sub = found if found is not None else v.elem
        shape = v.shape | sub.shape if sub is not None else v.shape
    if v.syms and found is None:
        shape = shape | {sym_node(base, (*path, step)[:_path_limit(base)])
                         for base, path in v.syms}
    return shape
