"""Statements: control flow (branches, loops, try, with, match), bindings, defs and classes."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING

import libcst as cst

from leakcheck.graph import facts
from leakcheck.graph.nodetypes import SMALL_STATEMENTS
from leakcheck.graph.scan import dotted_name, is_literal
from leakcheck.graph.state import State, merge
from leakcheck.graph.values import (
    CLEAN,
    Value,
    attr_key,
    deep,
    elements,
    join,
    sym_value,
    whole,
    with_sym,
)
from leakcheck.graph.walk import walk
from leakcheck.project.names import import_base
from leakcheck.types import PROPERTY_DECORATORS

if TYPE_CHECKING:
    from leakcheck.graph.builder import FunctionBuilder

MAX_LOOP_ROUNDS = 12  # the domain converges in 2-3 rounds; this only bounds pathological code
FLAG_DEFAULTS = (cst.Integer, cst.Float)


class StmtMixin:
    # -- blocks ----------------------------------------------------------------------
    def exec_block(self: FunctionBuilder, body: cst.BaseSuite | list) -> bool:
        """Run statements on self.state; False when control cannot fall through."""
        stmts = body.body if type(body) in (cst.IndentedBlock, cst.SimpleStatementSuite) \
            else body
        return all(self.exec_stmt(stmt) for stmt in stmts)

    def exec_stmt(self: FunctionBuilder, stmt: cst.CSTNode) -> bool:
        if type(stmt) is cst.SimpleStatementLine:
            return all(self.exec_small(small) for small in stmt.body)
        if type(stmt) in SMALL_STATEMENTS:  # the body of `def f(): ...`
            return self.exec_small(stmt)
        handler = getattr(self, "s_" + type(stmt).__name__, None)
        if handler is None:
            self.unknown_expr(stmt)
            return True
        return bool(handler(stmt))

    def exec_small(self: FunctionBuilder, node: cst.BaseSmallStatement) -> bool:
        if type(node) is cst.Expr:
            self.eval(node.value)
        elif type(node) is cst.Assign:
            value = self.eval(node.value)
            literal = is_literal(node.value)
            for t in node.targets:
                self.bind_target(t.target, value, node, literal)
        elif type(node) is cst.AnnAssign:
            if node.value is not None:
                value = self.eval(node.value)
                known = self.annotation_class(node.annotation)
                if known is not None and value.info is None:
                    value = replace(value, info=facts.Instance(known))
                self.bind_target(node.target, value, node, is_literal(node.value))
        elif type(node) is cst.AugAssign:
            current = self.eval(node.target)
            value = self.eval(node.value)
            if type(node.target) is cst.Name:
                combined = join(current, value) if (current.elem or value.elem) else \
                    whole(deep(current) | deep(value))
            else:
                combined = whole(deep(current) | deep(value))
            self.bind_target(node.target, combined, node, literal=False)
        elif type(node) is cst.Return:
            value = self.eval(node.value) if node.value is not None else CLEAN
            self.record_return(node, value)
            return False
        elif type(node) is cst.Raise:
            if node.exc is not None:
                self.eval(node.exc)
            return False
        elif type(node) in (cst.Break, cst.Continue):
            if self.loop_exits:
                breaks, continues = self.loop_exits[-1]
                (breaks if type(node) is cst.Break else continues).append(self.state.copy())
            return False
        elif type(node) is cst.Assert:
            cond = self.condition(node.test)
            if node.msg is not None:
                self.eval(node.msg)
            # `assert c` is `if not c: raise`: reaching past it depends on c
            self.state.exit_taint = self.exit_taint_with(node, cond)
        elif type(node) is cst.Del:
            self.delete(node.target)
        elif type(node) in (cst.Import, cst.ImportFrom):
            self.bind_imports(node)
        elif type(node) is cst.Global:
            if self.globals is not None:  # (at module level it says nothing)
                self.declared_globals.update(n.name.value for n in node.names)
        elif type(node) in (cst.Pass, cst.Nonlocal, cst.TypeAlias):
            pass
        else:
            self.unknown_expr(node)
        return True

    def delete(self: FunctionBuilder, target: cst.BaseExpression) -> None:
        if type(target) is cst.Name:
            self.state.env.pop(target.value, None)
        elif type(target) in (cst.Tuple, cst.List):
            for el in target.elements:
                self.delete(el.value)

    def bind_imports(self: FunctionBuilder, node: cst.Import | cst.ImportFrom) -> None:
        """Imported names are references by absolute qualified name (never sources by
        name); an imported module constant (``THINK_END``) keeps its value."""
        names = node.names
        constants = dict(self.link_in.constants)
        prefix = ""
        if type(node) is cst.ImportFrom:
            prefix = import_base(self.ctx.module_name, self.ctx.path.endswith("__init__.py"),
                                 len(node.relative), dotted_name(node.module)
                                 if node.module is not None else None) or ""
        if type(names) is cst.ImportStar:  # the public names the project index found
            self.bind_star(prefix, self.star_names.get(prefix, ()), constants)
            return
        for alias in names:
            dotted = ".".join(dotted_name(alias.name) or ())
            target = f"{prefix}.{dotted}".lstrip(".") if type(node) is cst.ImportFrom \
                else dotted
            ref = Value(info=facts.FunctionRef(target))
            if alias.asname is not None and type(alias.asname.name) is cst.Name:
                local = alias.asname.name.value
            elif type(alias.name) is cst.Name or type(node) is cst.ImportFrom:
                local = dotted
            else:  # `import a.b` binds `a`
                local = dotted.split(".")[0]
                ref = Value(info=facts.FunctionRef(local))
            self.bind_import(local, ref, constants)

    def bind_star(self: FunctionBuilder, prefix: str, names: tuple[str, ...],
                  constants: dict[str, object]) -> None:
        """``bind_import`` of every name a star import binds, as one update: the plain
        references first, in order, then the few names a constant, a function table or a
        shared global gives another value (500 modules each star-importing 1,000 names
        bound half a million names one by one)."""
        refs = star_refs(prefix, names)
        env = self.state.env
        env.update(refs)
        others = refs.keys() & (self.function_tables.keys() | self.imported_globals.keys())
        if others:
            for local in (n for n in names if n in others):
                self.bind_import(local, refs[local], constants)
        if refs.keys() & constants.keys():  # (names in `others` have had their constant)
            Const = facts.Const
            for local in (n for n in names if n in constants and n not in others):
                env[local] = Value(info=Const(constants[local]))

    def bind_import(self: FunctionBuilder, local: str, ref: Value,
                    constants: dict[str, object]) -> None:
        if local in constants:
            ref = Value(info=facts.Const(constants[local]))
        table = self.function_tables.get(local)
        if table is not None:  # its items: what `CHECKS[name](x)` may call
            ref = Value(elem=Value(info=facts.FunctionRefs(table)), info=ref.info)
        shared = self.imported_globals.get(local)
        if shared is not None:  # another module's global changed in place somewhere
            ref = with_sym(ref, ("global", shared[0]), (attr_key(shared[1]),))
        self.state.env[local] = ref

    # -- branches --------------------------------------------------------------------
    def branch(self: FunctionBuilder, body: cst.BaseSuite | list, cond: frozenset,
               start: State, at: cst.CSTNode) -> State | None:
        self.state = start.copy()
        with self.under(cond, at):
            falls = self.exec_block(body)
        return self.state if falls else None

    def s_If(self: FunctionBuilder, node: cst.If) -> bool:
        cond = self.condition(node.test)
        start = self.state.copy()
        then = self.branch(node.body, cond, start, node)
        orelse_node = node.orelse
        if type(orelse_node) is cst.If:
            self.state = start.copy()
            with self.under(cond, node):
                falls = self.s_If(orelse_node)
            other = self.state if falls else None
        elif type(orelse_node) is cst.Else:
            other = self.branch(orelse_node.body, cond, start, node)
        else:
            other = start.copy()
        merged = merge([then, other], self.merger(node, "if"))
        if merged is None:
            self.state = start
            return False
        self.state = merged
        if cond and (then is None or other is None):  # an early exit decided we got here
            merged.exit_taint = self.exit_taint_with(node, cond)
        return True

    def s_Match(self: FunctionBuilder, node: cst.Match) -> bool:
        subject = self.eval(node.subject)
        start = self.state.copy()
        outcomes: list[State | None] = [start.copy()]
        cond = frozenset(deep(subject))
        for case in node.cases:
            self.state = start.copy()
            self.bind_pattern(case.pattern, subject, case)
            case_cond = cond
            if case.guard is not None:
                case_cond = case_cond | self.condition(case.guard)
            with self.under(case_cond, case):
                outcomes.append(self.state if self.exec_block(case.body) else None)
        merged = merge(outcomes, self.merger(node, "match"))
        self.state = merged if merged is not None else start
        return merged is not None

    def bind_pattern(self: FunctionBuilder, pattern: cst.MatchPattern, subject: Value,
                     at: cst.CSTNode) -> None:
        for sub in _walk(pattern):
            if type(sub) in (cst.MatchAs, cst.MatchStar) and sub.name is not None:
                self.bind_name(sub.name.value, whole(deep(subject)), sub.name, False)
            elif type(sub) is cst.MatchMapping and sub.rest is not None:
                self.bind_name(sub.rest.value, whole(deep(subject)), sub.rest, False)

    # -- loops -----------------------------------------------------------------------
    def loop(self: FunctionBuilder, run_body, orelse: cst.Else | None,
             at: cst.CSTNode) -> bool:
        # states are only read once kept here (each round runs on a copy of the head), so
        # none is copied to be kept: a copy costs every variable of the function, and a
        # function of 5,000 variables and 5,000 loops made 18 such passes per loop
        entry = self.state
        head = entry
        exits: list[State | None] = [entry]
        breaks: list[State] = []
        for _ in range(MAX_LOOP_ROUNDS):
            self.state = head.copy()
            breaks, continues = [], []
            self.loop_exits.append((breaks, continues))
            try:
                falls = run_body()
            finally:
                self.loop_exits.pop()
            if falls and not continues:  # (merge would copy the one state)
                end: State | None = self.state
            else:
                end = merge([self.state if falls else None, *continues],
                            self.merger(at, "end"))
            new_head = merge([head, end], self.merger(at, "head"))
            assert new_head is not None
            if new_head.same_as(head):
                exits.append(end)
                break
            head = new_head
            exits.append(end)
        after = merge([head, *exits], self.merger(at, "after"))
        assert after is not None
        if orelse is not None:
            self.state = after
            after = self.state if self.exec_block(orelse.body) else None
        final = after if not breaks else merge([after, *breaks], self.merger(at, "final"))
        self.state = final if final is not None else entry
        return final is not None

    def s_For(self: FunctionBuilder, node: cst.For) -> bool:
        iterable = self.eval(node.iter)

        def body() -> bool:
            self.bind_target(node.target, elements(iterable), node.target, literal=False)
            return self.exec_block(node.body)

        return self.loop(body, node.orelse, node)

    def s_While(self: FunctionBuilder, node: cst.While) -> bool:
        def body() -> bool:
            cond = self.condition(node.test)
            with self.under(cond, node):
                return self.exec_block(node.body)

        return self.loop(body, node.orelse, node)

    # -- try / with ------------------------------------------------------------------
    def s_Try(self: FunctionBuilder, node: cst.Try | cst.TryStar) -> bool:
        start = self.state.copy()
        body_falls = self.exec_block(node.body)
        after_body = self.state if body_falls else None
        # a handler can start anywhere in the body: join the entry and the end
        handler_start = merge([start, after_body], self.merger(node, "handler")) or start
        outcomes: list[State | None] = []
        if node.orelse is not None and after_body is not None:
            self.state = after_body
            outcomes.append(self.state if self.exec_block(node.orelse.body) else None)
        else:
            outcomes.append(after_body)
        for handler in node.handlers:
            self.state = handler_start.copy()
            if handler.type is not None:
                self.eval(handler.type)
            if handler.name is not None and type(handler.name.name) is cst.Name:
                self.state.env[handler.name.name.value] = CLEAN
            outcomes.append(self.state if self.exec_block(handler.body) else None)
        merged = merge(outcomes, self.merger(node, "try"))
        if node.finalbody is not None:
            self.state = merged if merged is not None else handler_start.copy()
            falls = self.exec_block(node.finalbody.body)
            return falls and merged is not None
        self.state = merged if merged is not None else handler_start
        return merged is not None

    s_TryStar = s_Try

    def s_With(self: FunctionBuilder, node: cst.With) -> bool:
        for item in node.items:
            value = self.eval(item.item)
            if item.asname is not None:
                self.bind_target(item.asname.name, value, item.asname.name, literal=False)
        return self.exec_block(node.body)

    # -- definitions -----------------------------------------------------------------
    def s_FunctionDef(self: FunctionBuilder, node: cst.FunctionDef) -> bool:
        qualname = self.ctx.qualname(qualify(self.scope, node.name.value))
        refs = []
        for dec in node.decorators:
            info = self.eval(dec.decorator).info
            if isinstance(info, facts.FunctionRef):
                refs.append(info.qualname)
        self.ctx.decorators[qualname] = tuple(refs)
        # a decorated name still calls the function: a forwarding wrapper keeps the flow
        self.state.env[node.name.value] = Value(info=facts.FunctionRef(qualname))
        if self.class_data is not None:
            self.class_data.methods[node.name.value] = qualname
        if self.globals is None or self.class_scope:
            self.pending_defs.append((node, None, self.scope))
        else:
            # nested: analyze now, closing over the enclosing function's current state
            self.analyze_def(node, {**self.closure, **self.state.env}, self.scope)
        return True

    def s_ClassDef(self: FunctionBuilder, node: cst.ClassDef) -> bool:
        from leakcheck.graph.builder import FunctionBuilder as FB
        from leakcheck.graph.context import ClassData

        bases: list[str] = []
        for base in node.bases:
            value = self.eval(base.value)
            if isinstance(value.info, facts.FunctionRef):
                bases.append(value.info.qualname)
        for dec in node.decorators:
            self.eval(dec.decorator)
        scope = qualify(self.scope, node.name.value)
        data = ClassData(self.ctx.qualname(scope), tuple(bases), {}, {})
        self.ctx.classes[data.qualname] = data
        body = FB(self.ctx, self.scan, scope,
                  self.globals if self.globals is not None else self.state.env,
                  closure=self.closure)
        body.class_scope = True
        body.class_data = data
        body.exec_block(node.body)
        data.shared_attrs = _mutable_class_attributes(node)
        for pending in body.pending_defs:
            self.pending_defs.append((*pending[:2], pending[2], data))  # type: ignore[arg-type]
        self.state.env[node.name.value] = Value(info=facts.FunctionRef(data.qualname))
        return True

    def grader_name(self: FunctionBuilder, node: cst.FunctionDef, qualname: str,
                    class_q: str | None = None) -> str | None:
        name = node.name.value
        vocab = self.ctx.vocab
        if class_q is not None:
            class_name = class_q.rsplit(".", 1)[-1]
            if vocab.is_grader_method(name, class_name):
                return f"{class_name}.{name}"
        if name in self.scan.registered_names or qualname in self.link_in.registered or \
                vocab.is_grader_def(name) or vocab.user_grader((name,), qualname):
            return name
        for dec in node.decorators:
            dotted = dotted_name(dec.decorator)
            if dotted and vocab.is_grader_decorator(dotted):
                return name
        return None

    def analyze_def(self: FunctionBuilder, node: cst.FunctionDef,
                    closure: dict[str, Value] | None, scope_prefix: str,
                    class_data: object = None) -> FunctionBuilder:
        from leakcheck.graph.builder import FunctionBuilder as FB
        from leakcheck.graph.context import FunctionData

        scope = qualify(scope_prefix, node.name.value)
        qualname = self.ctx.qualname(scope)
        class_q = getattr(class_data, "qualname", None)
        grader = self.grader_name(node, qualname, class_q)
        if grader is None and self.grader_factory and _returns_name(self.fn_node,
                                                                     node.name.value):
            grader = node.name.value
        globals_env = self.globals if self.globals is not None else self.state.env
        sub = FB(self.ctx, self.scan, scope, globals_env, closure=closure, grader=grader,
                 link_in=self.link_in)
        sub.fn_node = node
        sub.qualname = qualname
        sub.grader_factory = node.name.value in self.scan.registered_factories or \
            qualname in self.link_in.factories
        is_static = any(dotted_name(d.decorator) in (("staticmethod",),) for d in node.decorators)
        params = sub.bind_params(node.params, grader, class_q if not is_static else None)
        sub.exec_block(node.body)
        sub.run_pending()
        is_property = any((dotted_name(d.decorator) or ("",))[-1] in PROPERTY_DECORATORS
                          for d in node.decorators)
        self.ctx.functions[qualname] = FunctionData(qualname, params, sub.result_value(),
                                                    class_q, is_property,
                                                    self.ctx.decorators.get(qualname, ()),
                                                    class_q is not None and _is_abstract(node))
        return sub

    def run_pending(self: FunctionBuilder) -> None:
        pending, self.pending_defs = self.pending_defs, []
        for item in pending:
            node, closure, prefix = item[0], item[1], item[2]
            class_data = item[3] if len(item) > 3 else None
            assert type(node) is cst.FunctionDef
            self.analyze_def(node, closure, prefix, class_data)

    def bind_params(self: FunctionBuilder, params: cst.Parameters, grader: str | None,
                    class_q: str | None = None) -> tuple:
        from leakcheck.graph.context import Param

        vocab = self.ctx.vocab
        ordered: list[tuple[cst.Param, str]] = []
        ordered += [(p, "positional") for p in [*params.posonly_params, *params.params]]
        if type(params.star_arg) is cst.Param:
            ordered.append((params.star_arg, "star"))
        ordered += [(p, "keyword") for p in params.kwonly_params]
        if type(params.star_kwarg) is cst.Param:
            ordered.append((params.star_kwarg, "kwstar"))
        out: list[Param] = []
        for i, (param, kind) in enumerate(ordered):
            name = param.name.value
            if i == 0 and class_q is not None and kind == "positional":
                # `self` (or `cls`): attributes live on the class, shared by its methods
                self.self_name = name
                self.class_q = class_q
                self.state.env[name] = sym_value(("self", class_q))
                self.ctx.bases[("self", class_q)] = (self.ctx.span(param.name),
                                                     f"`{name}` of `{class_q}`")
                out.append(Param(name, "self"))
                continue
            out.append(Param(name, kind))
            base = ("param", self.qualname, name)
            self.ctx.bases[base] = (self.ctx.span(param.name),
                                    f"parameter `{name}` of `{self.qualname.rsplit('.', 1)[-1]}()`")
            value = sym_value(base)
            if param.default is not None:
                default = self.eval(param.default)
                value = join(value, default)
            known = self.annotation_class(param.annotation)
            if known is not None:
                value = replace(value, info=facts.Instance(known))
            reg = vocab.registration_param(name) if grader is not None else None
            if reg is not None and kind != "kwstar":
                src_kind, is_collection = reg
                src = self.ctx.node(self.scope, param.name, f"src:param:{name}",
                                    f"`{name}` is the completion parameter of registered "
                                    f"grader `{grader}`", step="source", source_kind=src_kind)
                # An entry source: the framework's completion when it calls the grader. It
                # does not escape through the return into project callers, who pass their
                # own arguments (the parameter token carries those, context-sensitively).
                self.ctx.graph.nodes[src]["entry"] = self.qualname
                item = whole(frozenset((src,)))
                self.state.env[name] = join(value, Value(elem=item) if is_collection else item)
                continue
            flag = isinstance(param.default, FLAG_DEFAULTS) or (
                type(param.default) is cst.Name and param.default.value in ("True",
                                                                                "False"))
            kind_ = vocab.name_source_kind(name) if not flag else None
            if kind_ is not None:
                src = self.ctx.node(self.scope, param.name, f"src:param:{name}",
                                    f"`{name}` holds reasoning (by its name)", step="source",
                                    source_kind=kind_)
                self.ctx.flow(value.shape, src)
                value = replace(value, shape=frozenset((src,)))
            self.state.env[name] = value
        return tuple(out)


@lru_cache(maxsize=256)
def star_refs(prefix: str, names: tuple[str, ...]) -> dict[str, Value]:
    """The plain reference each name of ``from <prefix> import *`` binds, made once per
    worker for all the modules importing the same names (values are never changed in
    place, so modules may share them; callers must not change the dict)."""
    return {local: Value(info=facts.FunctionRef(f"{prefix}.{local}")) for local in names}


def qualify(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _returns_name(fn: cst.FunctionDef | None, name: str) -> bool:
    if fn is None:
        return False
    found = False

    class V:
        def visit_Return(self, node: cst.Return) -> None:
            nonlocal found
            if type(node.value) is cst.Name and node.value.value == name:
                found = True

    walk(fn.body, V())  # read-only: ``CSTNode.visit`` would rebuild the whole body
    return found


def _walk(node: cst.CSTNode):
    yield node
    for child in node.children:
        yield from _walk(child)


def _is_abstract(node: cst.FunctionDef) -> bool:
    """A method a subclass is meant to supply: ``@abstractmethod``, or a body of nothing
    but a docstring, ``pass``, ``...`` and ``raise NotImplementedError``."""
    if any((dotted_name(d.decorator) or ("",))[-1] == "abstractmethod"
           for d in node.decorators):
        return True
    body = node.body.body if type(node.body) is cst.IndentedBlock else [node.body]
    for stmt in body:
        smalls = stmt.body if type(stmt) in (cst.SimpleStatementLine,
                                             cst.SimpleStatementSuite) else None
        if smalls is None:
            return False
        for small in smalls:
            if type(small) is cst.Pass:
                continue
            if type(small) is cst.Expr and type(small.value) in (
                    cst.Ellipsis, cst.SimpleString, cst.ConcatenatedString):
                continue
            if type(small) is cst.Raise and small.exc is not None and (
                    dotted_name(small.exc) or ("",))[-1] == "NotImplementedError":
                continue
            return False
    return True


# what makes a new container each time it is evaluated, here once, for the whole class
_CONTAINER_CALLS = frozenset({"list", "dict", "set", "defaultdict", "OrderedDict", "deque",
                              "Counter"})
_CONTAINER_DISPLAYS = (cst.List, cst.Dict, cst.Set, cst.ListComp, cst.DictComp, cst.SetComp)


def _mutable_class_attributes(node: cst.ClassDef) -> frozenset[str]:
    """Names the class body binds to a new mutable container (``history = []``,
    ``cache: dict = {}``, ``seen = set()``): a class attribute that methods change in place
    through ``self`` is one object for every instance of the class and of its subclasses."""
    body = node.body
    if not isinstance(body, cst.IndentedBlock):
        return frozenset()
    found: set[str] = set()
    for stmt in body.body:
        if type(stmt) is not cst.SimpleStatementLine:
            continue
        for small in stmt.body:
            if type(small) is cst.Assign:
                targets = [t.target for t in small.targets]
                value = small.value
            elif type(small) is cst.AnnAssign and small.value is not None:
                targets, value = [small.target], small.value
            else:
                continue
            if not _makes_container(value):
                continue
            found.update(t.value for t in targets if type(t) is cst.Name)
    return frozenset(found)


def _makes_container(value: cst.BaseExpression) -> bool:
    if isinstance(value, _CONTAINER_DISPLAYS):
        return True
    if type(value) is cst.Call:
        func = value.func
        name = func.value if type(func) is cst.Name else (
            func.attr.value if type(func) is cst.Attribute else None)
        return name in _CONTAINER_CALLS
    return False
