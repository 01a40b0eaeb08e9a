"""Abstract interpretation of one scope (module body, class body, function) over libcst.

Flow-sensitive: statements run in order over a State; branches copy and merge; loops
iterate to a fixed point; early exits under a tainted condition taint the rest of the
block. Every binding routes its value through a graph node, so each witness path reads
as the assignments, calls and conditions it went through.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import libcst as cst

from leakcheck.graph import facts
from leakcheck.graph.calls import CallMixin
from leakcheck.graph.context import ClassData, FunctionData, ModuleContext
from leakcheck.graph.exprs import _HANDLERS, ExprMixin
from leakcheck.graph.scan import ModuleScan, const_key, dotted_name, string_value, subscript_key
from leakcheck.graph.state import EXIT, PC, Squash, State
from leakcheck.graph.stmts import StmtMixin
from leakcheck.graph.values import (
    CLEAN,
    DEEP,
    MERGE_LIMIT,
    NO_NODES,
    REST,
    Nodes,
    Value,
    add_elem,
    add_shape,
    attr_key,
    deep,
    elements,
    held_references,
    item_key,
    join,
    join_all,
    read,
    relabel,
    set_field,
    squash,
    sym_node,
    with_sym,
)
from leakcheck.words import split_words

_HANDLERS[cst.Call] = CallMixin.e_call


@dataclass(frozen=True, slots=True)
class LinkIn:
    """What the rest of the project tells one module before it is analyzed (from the cheap
    project index): part of the module's cache key, with its bytes and the rule packs."""

    registered: frozenset[str] = frozenset()  # qualnames of graders registered anywhere
    factories: frozenset[str] = frozenset()  # qualnames whose returned closures are graders
    constants: tuple[tuple[str, object], ...] = ()  # imported name -> constant value
    properties: frozenset[str] = frozenset()  # attribute names that are @property somewhere
    # module globals of this module that importers change in place (`from m import G`,
    # then `G.append(v)`): functions here read what they wrote
    shared_globals: frozenset[str] = frozenset()
    # imported name -> (module, name) of another module's global that code changes in
    # place somewhere: reading or changing it here is reading or changing that global
    imported_globals: tuple[tuple[str, tuple[str, str]], ...] = ()
    # `m.G` as an imported module's attribute (dotted as imported) -> (module, name), for
    # such globals
    module_globals: tuple[tuple[str, tuple[str, str]], ...] = ()
    # `from m import *` (m in the project, absolute as written) -> the names it binds here
    star_names: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # imported name -> the functions another module's container of function references
    # holds (``from checks import CHECKS``, then ``CHECKS[name](x)``), dotted
    function_tables: tuple[tuple[str, tuple[str, ...]], ...] = ()


class FunctionBuilder(ExprMixin, CallMixin, StmtMixin):
    def __init__(self, ctx: ModuleContext, scan: ModuleScan, scope: str,
                 globals_env: dict[str, Value] | None, closure: dict[str, Value] | None = None,
                 grader: str | None = None, link_in: LinkIn | None = None) -> None:
        self.ctx = ctx
        self.scan = scan
        self.scope = scope
        self.qualname = ctx.qualname(scope)
        self.globals = globals_env  # None: this *is* module scope
        self.closure = closure or {}
        self.grader = grader  # name of the registered grader this function is, if any
        self.link_in = link_in or LinkIn()
        self.imported_globals = dict(self.link_in.imported_globals)
        self.star_names = dict(self.link_in.star_names)
        self.function_tables = dict(self.link_in.function_tables)
        self._module_globals = dict(self.link_in.module_globals)
        # modules with shared globals as imported (`pkg.m`), and the packages above them
        self._global_modules = {dotted.rsplit(".", 1)[0].rsplit(".", k)[0]
                                for dotted in self._module_globals
                                for k in range(dotted.count("."))}
        self.state = State()
        self.pc: Nodes = NO_NODES
        self.returns: list[Value] = []
        self.yields: list[Value] = []
        self.class_data: ClassData | None = None
        self.self_name: str | None = None
        self.class_q: str | None = None  # the class whose method this is
        self.loop_exits: list[tuple[list[State], list[State]]] = []
        self.pending_defs: list[tuple[cst.CSTNode, dict[str, Value] | None, str]] = []
        # what the function given to the library call being evaluated returns, where that
        # call returns it (``CallMixin.call_given``)
        self.given_result: tuple[Value, bool] | None = None  # (result, all of the result)
        self.class_scope = False
        self.fn_node: cst.FunctionDef | None = None
        self.grader_factory = False
        # module globals this function writes: declared `global`, or mutated in place
        self.declared_globals: set[str] = set()
        self.written_globals: set[str] = set()

    # -- names -----------------------------------------------------------------------
    def lookup(self, name: str) -> Value:
        env = self.state.env
        if name in env:
            return env[name]
        if name in self.closure:
            return self.closure[name]
        if self.globals is not None and name in self.globals:
            value = self.globals[name]
            if name in self.imported_globals:  # (the import's value has its token)
                return value
            if (name in self.scan.written_globals or name in self.link_in.shared_globals) \
                    and not self.is_module_with_globals(value):
                # what functions, or importers, wrote into it, too
                return with_sym(value, self.global_base, (attr_key(name),))
            return value
        return CLEAN

    def is_global_here(self, expr: cst.BaseExpression) -> bool:
        """Whether ``expr`` names a module global in this function (declared ``global``,
        already written, or bound at module level and not here)."""
        if self.globals is None or type(expr) is not cst.Name:
            return False
        name = expr.value
        return name in self.declared_globals or name in self.written_globals or (
            name in self.globals and name not in self.state.env and name not in self.closure)

    @property
    def global_base(self) -> tuple[str, str]:
        return ("global", self.ctx.module_name or self.ctx.path)

    def store_global(self, name: str, value: Value, at: cst.CSTNode) -> None:
        """A function writes module global ``name``: every function reading it (at link
        time, whatever the order they were analyzed in) sees what was written, as methods
        see each other's ``self`` attributes. A global imported from another module is
        that module's (``from m import G; G.append(v)``)."""
        module, remote = self.imported_globals.get(name, (None, name))
        base = ("global", module) if module is not None else self.global_base
        described = (self.ctx.span(at), f"`{module or self.ctx.module_name}`")
        self.ctx.bases.setdefault(base, described)
        # where this global was first written, for the witness step that names it
        self.ctx.bases.setdefault((base, attr_key(remote)), described)
        self.store_shared(base, attr_key(remote), value)

    def store_shared(self, base: tuple, key: str, value: Value) -> None:
        """What a write puts into a shared attribute or global ``key``, by the paths a read
        asks for: the value itself, its elements (iteration), everything (a whole read), each
        constant field, and the rest (``REST``: what a read of any other key or index may
        get, which the linker hands to those reads)."""
        flow = self.ctx.flow
        flow(value.shape, sym_node(base, (key,)))
        flow(deep(elements(value)), sym_node(base, (key, "[]")))
        flow(deep(value), sym_node(base, (key, DEEP)))
        for field_key, field_value in value.fields:
            flow(deep(field_value), sym_node(base, (key, field_key)))
        rest = value.shape | deep(value.elem)
        # what came from elsewhere; not the attribute's own old content (`self.d["k"] = v`
        # reads `self.d` first), which its own tokens already hold field by field
        others = frozenset(s for s in value.syms if s[0] != base or s[1][:1] != (key,))
        if others:
            rest = rest | deep(Value(syms=others))
        flow(rest, sym_node(base, (key, REST)))

    def module_alias(self, name: str) -> str | None:
        """The module a name refers to: ``import re`` / ``import regex as re`` -> its
        dotted name; an unbound name is taken as itself (a module we cannot see)."""
        if not self.is_local(name):
            return name
        info = self.lookup(name).info
        if isinstance(info, facts.FunctionRef):
            return info.qualname
        return None

    def is_local(self, name: str) -> bool:
        return name in self.state.env or name in self.closure or (
            self.globals is not None and name in self.globals)

    # -- implicit flows --------------------------------------------------------------
    def pc_taint(self) -> Nodes:
        return self.pc | self.state.exit_taint

    def implicit(self, value: Value) -> Value:
        return add_shape(value, self.pc_taint())

    def condition(self, test: cst.BaseExpression) -> Nodes:
        """Evaluate a branch condition; a tainted one becomes a graph node the branch's
        assignments, stores and returns depend on."""
        # a value's truth is its shape: `if completions:` asks whether the batch is empty,
        # `if text:` whether the (tainted) text is
        taint = self.eval(test).shape
        if not taint:
            return NO_NODES
        node = self.ctx.node(self.scope, test, "cond", f"condition `{self.ctx.code(test)}` "
                             "depends on it", step="flow")
        self.ctx.flow(taint, node)
        return frozenset((node,))

    @contextmanager
    def under(self, cond: Nodes, at: cst.CSTNode | None = None) -> Iterator[None]:
        """Code under a condition: its taint joins the implicit flow. Conditions nest (an
        `elif` is an `if` inside the `else`), so a chain of 5,000 grew it to 5,000 nodes, an
        edge from each into every assignment below: past MERGE_LIMIT it goes through one
        node at ``at``, as a join's set does."""
        saved = self.pc
        self.pc = saved | cond if at is None else self.joined_nodes(at, "pc", PC, saved | cond)
        try:
            yield
        finally:
            self.pc = saved

    def merger(self, at: cst.CSTNode, role: str) -> Squash:
        """What the merge point of ``at`` (``role``: which of its joins) does with a joined
        value: a taint set grown past MERGE_LIMIT goes through one node, ``merge:`` tagged,
        which traces leave out (solve.py)."""
        def squash_value(name: str, value: Value) -> Value:
            def make(path: str, nodes: Nodes) -> tuple:
                node = self.ctx.node(self.scope, at, f"merge:{role}:{name}{path}",
                                     f"`{name}` joined")
                self.ctx.flow(nodes, node)
                return node

            return squash(value, make)

        return squash_value

    def joined_nodes(self, at: cst.CSTNode, role: str, name: str, nodes: Nodes) -> Nodes:
        """A plain taint set at a join point, squashed as a joined value's would be."""
        if len(nodes) <= MERGE_LIMIT:
            return nodes
        return self.merger(at, role)(name, Value(shape=nodes)).shape

    def exit_taint_with(self, at: cst.CSTNode, cond: Nodes) -> Nodes:
        """The exit taint once ``cond`` decided an early exit at ``at`` (a run of `if c:
        return` or `assert c` grows it by one condition each: squashed as a join is)."""
        return self.joined_nodes(at, "exit", EXIT, self.state.exit_taint | cond)

    # -- bindings --------------------------------------------------------------------
    def bind_name(self, name: str, value: Value, at: cst.CSTNode, literal: bool) -> None:
        value = self.implicit(value)
        kind = self.ctx.vocab.name_source_kind(name)

        def make(path: str, nodes: Nodes) -> tuple:
            node = self.ctx.node(self.scope, at, f"bind:{name}{path}",
                                 f"assigned to `{name}`{_describe_part(path)}")
            self.ctx.flow(nodes, node)
            return node

        value = relabel(value, make)
        if kind is not None and not literal and not value.from_grader:
            src = self.ctx.node(self.scope, at, f"src:name:{name}", f"`{name}` holds reasoning "
                                "(by its name)", step="source", source_kind=kind)
            self.ctx.flow(value.shape, src)  # the source step follows the assignment step
            value = Value(shape=frozenset((src,)), elem=value.elem, fields=value.fields,
                          info=value.info)
        self.state.env[name] = value
        if name in self.declared_globals:
            self.store_global(name, value, at)

    def bind_target(self, target: cst.BaseExpression, value: Value, at: cst.CSTNode,
                    literal: bool) -> None:
        if type(target) is cst.Name:
            self.bind_name(target.value, value, target, literal)
        elif type(target) in (cst.Tuple, cst.List):
            elements_ = target.elements
            n = len(elements_)
            star = next((i for i, e in enumerate(elements_) if type(e) is cst.StarredElement), None)
            for i, el in enumerate(elements_):
                if type(el) is cst.StarredElement:
                    self.bind_target(el.value, Value(shape=value.shape, elem=elements(value)),
                                     el, literal)
                    continue
                key = i if star is None or i < star else i - n
                self.bind_target(el.value, self.index_value(value, key, el.value), el.value,
                                 literal)
        elif type(target) is cst.StarredElement:
            self.bind_target(target.value, Value(shape=value.shape, elem=elements(value)), at,
                             literal)
        elif type(target) in (cst.Attribute, cst.Subscript):
            self.store(target, value, at, literal)
        else:
            self.unknown_expr(target)

    def index_value(self, value: Value, key: int, at: cst.CSTNode) -> Value:
        """Element ``key`` of an unpacked value: ``before, _, after = s.partition(TAG)``
        follows the same tag rules as ``s.partition(TAG)[0]``."""
        if isinstance(value.info, facts.Split):
            return self.split_item(at, value, value.info, key)
        return read(value, item_key(key))

    # -- stores ----------------------------------------------------------------------
    def store_words(self, target: cst.BaseExpression) -> tuple[str, ...]:
        """The words of a store target: the container it is reached through (its last
        name) and every constant key on the way (``data.batch["token_level_scores"]``)."""
        words: list[str] = []
        cur: cst.BaseExpression = target
        while type(cur) is cst.Subscript:
            for el in cur.slice:
                if type(el.slice) is cst.Index:
                    key = const_key(el.slice.value)
                    if key is not None:
                        words[:0] = split_words(key)
            cur = cur.value
        if type(cur) is cst.Attribute:
            words[:0] = split_words(cur.attr.value)
        elif type(cur) is cst.Name:
            words[:0] = split_words(cur.value)
        elif type(cur) is cst.Call:
            name = dotted_name(cur.func)
            if name:
                words[:0] = split_words(name[-1])
        return tuple(words)

    def is_store_target(self, target: cst.BaseExpression) -> bool:
        return self.ctx.vocab.is_store_words(self.store_words(target))

    def store(self, target: cst.Attribute | cst.Subscript, value: Value, at: cst.CSTNode,
              literal: bool) -> None:
        value = self.implicit(value)
        if self.is_store_target(target):
            name = self.ctx.code(target)
            self.ctx.sink(self.scope, at, "store", f"`{name}`",
                          f"stored into reward container `{name}`", deep(value))
        # a reasoning-named key or attribute holds reasoning whatever is stored in it
        if type(target) is cst.Attribute:
            key_name: str | None = target.attr.value
        else:
            key_name = subscript_key(target)
        if key_name is not None and not literal and self.ctx.vocab.name_source_kind(key_name):
            value = self.read_source(target, key_name, CLEAN, value,
                                     attr=type(target) is cst.Attribute)
        base_expr = target.value
        base = self.eval(base_expr)
        if type(target) is cst.Attribute:
            self.store_on_class(base, target.attr.value, value)
            updated = set_field(base, attr_key(target.attr.value), value)
        else:
            sl = target.slice[0].slice if len(target.slice) == 1 else None
            if type(sl) is cst.Index:
                idx = self.eval(sl.value)
                from leakcheck.graph import facts

                k = idx.info.value if isinstance(idx.info, facts.Const) else None
                if isinstance(k, (str, int)) and not isinstance(k, bool):
                    updated = set_field(base, item_key(k), value)
                else:
                    updated = add_elem(base, add_shape(value, deep(idx)))
            else:
                for el in target.slice:
                    if type(el.slice) is cst.Index:
                        self.eval(el.slice.value)
                updated = add_elem(base, value)
        self.update_local(base_expr, updated)

    def is_module_with_globals(self, value: Value) -> bool:
        """Whether ``value`` refers to an imported module that has shared globals, or to a
        package above one (``pkg`` of ``import pkg.m``): changing ``pkg.m.G`` changes that
        module's ``G``, not a global of this module named ``pkg``."""
        return isinstance(value.info, facts.FunctionRef) and \
            value.info.qualname in self._global_modules

    def module_global(self, base: Value, attr: str) -> tuple[str, str] | None:
        """(module, name) when ``base.attr`` is an imported module's shared global."""
        if not isinstance(base.info, facts.FunctionRef) or not self._module_globals:
            return None
        return self._module_globals.get(f"{base.info.qualname}.{attr}")

    def store_on_class(self, base: Value, attr: str, value: Value) -> None:
        """``self.x = v``: the attribute is shared by every method of the class (and, at link
        time, its subclasses); a function stored there is what ``self.x()`` calls. An
        imported module's global (``m.G``) is that module's."""
        shared = self.module_global(base, attr)
        if shared is not None:
            self.store_shared(("global", shared[0]), attr_key(shared[1]), value)
            return
        for sym_base, path in base.syms:
            if sym_base[0] != "self" or path != ():
                continue
            self.store_shared(sym_base, attr_key(attr), value)
            data = self.ctx.classes.get(sym_base[1])
            if data is None:
                continue
            if isinstance(value.info, facts.Partial):
                data.attr_functions.setdefault(attr, set()).add(value.info.qualname)
            if isinstance(value.info, facts.Instance):
                data.attr_types.setdefault(attr, set()).add(value.info.qualname)
            # functions and graders' methods, also in a list or dict (`[a, b]`,
            # `[judge.grade]`): what `self.x()` or an item of it calls
            for held in held_references(value):
                if isinstance(held, facts.FunctionRef):
                    data.attr_functions.setdefault(attr, set()).add(held.qualname)
                elif isinstance(held, facts.FunctionRefs):
                    data.attr_functions.setdefault(attr, set()).update(held.qualnames)
                else:
                    data.attr_graders.setdefault(attr, set()).add((held.code, held.bound))
            param = _own_param_of(value)
            if param is not None:
                data.attr_params.setdefault(attr, set()).add((param[1], param[2]))

    def annotation_class(self, annotation: cst.Annotation | None) -> str | None:
        """``manager: RewardManager`` (also ``X | None``, ``Optional[X]``, a string):
        the class a value is known to be, by qualified name."""
        if annotation is None:
            return None
        expr = annotation.annotation
        if type(expr) is cst.SimpleString:
            try:
                expr = cst.parse_expression(str(string_value(expr)))
            except Exception:
                return None
        for node in _walk_expr(expr):
            if type(node) in (cst.Name, cst.Attribute):
                dotted = dotted_name(node)
                if not dotted or dotted[-1] in ("Optional", "Union", "None"):
                    continue
                info = self.lookup(dotted[0]).info
                if isinstance(info, facts.FunctionRef) and dotted[-1][:1].isupper():
                    rest = ".".join(dotted[1:])
                    return f"{info.qualname}.{rest}" if rest else info.qualname
        return None

    def update_local(self, base_expr: cst.BaseExpression, updated: Value,
                     through_attribute: bool = False) -> None:
        """Write back a mutated container reached through local names (``x``, ``self.d``).
        A container that is a ``self`` attribute or a module global, or an item of one
        (``self.buf.append(v)``, ``self.d["k"] = v``, ``G[k].append(v)``), changes for every
        method and function too; one reached through another attribute
        (``self.state.env[k] = v``: an object's state, not a container of the class) is
        written back here only (``through_attribute``)."""
        elem = updated.elem
        if elem is not None and (len(elem.shape) > MERGE_LIMIT or len(elem.syms) > MERGE_LIMIT):
            # items added one statement after another (20,000 `out.append(x)`, or stores
            # past MAX_FIELDS keys) grow the items' taint set by one node (and access path)
            # each, which every later store copied: past MERGE_LIMIT it goes through one node
            # and the paths widen, as a join's do (``squash``)
            updated = Value(shape=updated.shape, fields=updated.fields, info=updated.info,
                            elem=self.merger(base_expr, "items")("[]", elem),
                            from_grader=updated.from_grader, syms=updated.syms)
        if type(base_expr) is cst.Name:
            name = base_expr.value
            if not through_attribute and self.is_global_here(base_expr):
                self.written_globals.add(name)  # a module global mutated in place
                self.store_global(name, updated, base_expr)
            if self.globals is None or name in self.state.env or name in self.closure or (
                    name in self.globals):
                self.state.env[name] = updated
        elif type(base_expr) is cst.Attribute:
            owner = self.eval(base_expr.value)
            if not through_attribute:
                self.store_on_class(owner, base_expr.attr.value, updated)
            # one attribute hop is still the shared object's own (`G.items.append(v)`, as
            # `self.items.append(v)`); a second one is another object's
            self.update_local(base_expr.value, set_field(owner, attr_key(base_expr.attr.value),
                                                         updated),
                              through_attribute=through_attribute or not self.is_global_here(
                                  base_expr.value))
        elif type(base_expr) is cst.Subscript and len(base_expr.slice) == 1:
            key = subscript_key(base_expr)
            owner = self.eval(base_expr.value)
            if key is not None:
                self.update_local(base_expr.value, set_field(owner, item_key(key), updated),
                                  through_attribute)
            else:
                self.update_local(base_expr.value, add_elem(owner, updated), through_attribute)

    # -- returns ---------------------------------------------------------------------
    def result_value(self) -> Value:
        """What a call returns: the join of every return; a generator's items are what it
        yields."""
        out = join_all(self.returns)
        if self.yields:
            out = join(out, Value(elem=join_all(self.yields)))
        return out

    def record_return(self, at: cst.CSTNode, value: Value, yielded: bool = False) -> None:
        value = self.implicit(value)
        (self.yields if yielded else self.returns).append(value)
        if self.grader is not None:
            what = "yielded" if yielded else "returned"
            self.ctx.sink(self.scope, at, "return", f"`{self.grader}` ({what} reward)",
                          f"{what} by registered grader `{self.grader}`",
                          self.reward_part(value))

    def reward_part(self, value: Value) -> Nodes:
        """What a registered grader returns as its reward: the whole value, except, in a
        record with reward-named fields (`{"score": s, "reasoning": r}`,
        `VerificationResult(score=s, reasoning=r)`), the fields named as reasoning or as
        logging: a judge's own explanation or the text kept for the logs rides beside the
        reward, it is not what training optimizes. Every other field stays in the sink, and
        so does the part of the record that came from elsewhere (``record = helper(c);
        record["score"] = 1.0``: its fields are not known here, so all of it counts)."""
        vocab = self.ctx.vocab
        # a record's positions ("#0") alias its named fields (a dataclass's): names only
        named = [(key[1:], split_words(key[1:]), v) for key, v in value.fields
                 if key[:1] in ("'", ".")]
        if not any(vocab.is_store_words(words) for _, words, _ in named):
            return deep(value)
        out = set(value.shape)
        for name, words, v in named:
            beside = not vocab.is_store_words(words) and (
                vocab.name_source_kind(name) is not None or vocab.is_logging_words(words))
            if not beside:
                out |= deep(v)
        if value.elem is not None:
            out |= deep(value.elem)
        if value.syms:
            out |= deep(Value(syms=value.syms))
        return frozenset(out)

    # -- nested functions ------------------------------------------------------------
    def analyze_lambda(self, node: cst.Lambda) -> str:
        registered = id(node) in self.scan.registered_lambdas
        span = self.ctx.span(node)
        scope = f"{self.scope}.<lambda@{span.start_line}:{span.start_column}>".lstrip(".")
        sub = FunctionBuilder(self.ctx, self.scan, scope,
                              self.globals if self.globals is not None else self.state.env,
                              closure={**self.closure, **self.state.env}
                              if self.globals is not None else {},
                              grader="<lambda>" if registered else None, link_in=self.link_in)
        params = sub.bind_params(node.params, "<lambda>" if registered else None)
        sub.record_return(node.body, sub.eval(node.body))
        self.ctx.functions[sub.qualname] = FunctionData(sub.qualname, params, sub.result_value(),
                                                        None, False)
        return sub.qualname


def _own_param_of(value: Value) -> tuple | None:
    """The parameter a value still is (after an assignment step), if any."""
    params = [base for base, path in value.syms if base[0] == "param" and path == ()]
    return params[0] if len(params) == 1 else None


def _walk_expr(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    yield node
    if type(node) is cst.Attribute:
        return  # a dotted name is one reference
    for child in node.children:
        yield from _walk_expr(child)


def _describe_part(path: str) -> str:
    """Which part of a structured value a binding step carries: `` (its items)``,
    `` (key 'reasoning')``, `` (attribute answer)``."""
    if not path:
        return ""
    if path.startswith("[]"):
        return " (its items)"
    head = path[1:].split("[]", 1)[0]
    for sep in (".", "'", "#"):
        head = head.split(sep, 1)[0]
    if path[0] == ".":
        return f" (attribute `{head}`)"
    if path[0] == "'":
        return f" (key `{head}`)"
    if path[0] == "#":
        return f" (item {head})"
    return ""
