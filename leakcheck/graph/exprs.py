"""Expressions -> abstract values. Each handler says how taint moves through one form."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING

import libcst as cst

from leakcheck.graph import facts
from leakcheck.graph.nodetypes import EXPRESSIONS
from leakcheck.graph.scan import const_key, is_literal, string_value, subscript_key
from leakcheck.graph.values import (
    CLEAN,
    NO_NODES,
    Nodes,
    Value,
    add_shape,
    attr_key,
    collection,
    deep,
    elements,
    item_key,
    items,
    join,
    join_all,
    read,
    set_field,
    whole,
    with_sym,
)

if TYPE_CHECKING:
    from leakcheck.graph.builder import FunctionBuilder
    from leakcheck.ruleset.match import TagHit

# Tests set this so an unmodeled syntax form fails loudly instead of being approximated.
STRICT = os.environ.get("LEAKCHECK_STRICT") == "1"


class UnhandledSyntax(Exception):
    pass


def literal_value(node: cst.BaseExpression) -> object:
    try:
        if type(node) in (cst.SimpleString, cst.ConcatenatedString):
            return string_value(node)
        if type(node) is cst.Integer:
            return int(node.value.replace("_", ""), 0)
        if type(node) is cst.Float:
            return float(node.value.replace("_", ""))
        if type(node) is cst.UnaryOperation and type(node.operator) is cst.Minus:
            inner = literal_value(node.expression)
            if isinstance(inner, (int, float)) and not isinstance(inner, bool):
                return -inner
    except (ValueError, SyntaxError):
        pass
    if type(node) is cst.Name and node.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[node.value]
    return _NOT_CONST


_NOT_CONST = object()


class ExprMixin:
    def eval(self: FunctionBuilder, node: cst.BaseExpression) -> Value:
        handler = _HANDLERS.get(type(node))
        if handler is None:
            return self.unknown_expr(node)
        return handler(self, node)

    def unknown_expr(self: FunctionBuilder, node: cst.CSTNode) -> Value:
        """An unmodeled form: every child expression's taint flows to its value."""
        if STRICT:
            raise UnhandledSyntax(f"{type(node).__name__} at {self.ctx.span(node)}")
        return whole(self.children_taint(node))

    def children_taint(self: FunctionBuilder, node: cst.CSTNode) -> Nodes:
        out: set = set()
        for child in node.children:
            if type(child) in EXPRESSIONS:
                out |= deep(self.eval(child))
            else:
                out |= self.children_taint(child)
        return frozenset(out)

    # -- atoms ---------------------------------------------------------------------
    def e_literal(self: FunctionBuilder, node: cst.BaseExpression) -> Value:
        value = literal_value(node)
        return Value(info=facts.Const(value)) if value is not _NOT_CONST else CLEAN

    def e_name(self: FunctionBuilder, node: cst.Name) -> Value:
        if node.value in ("True", "False", "None"):
            return self.e_literal(node)
        return self.lookup(node.value)

    def e_fstring(self: FunctionBuilder,
                  node: cst.FormattedString | cst.TemplatedString) -> Value:
        out: Nodes = NO_NODES
        for part in node.parts:
            if type(part) in (cst.FormattedStringExpression, cst.TemplatedStringExpression):
                out |= deep(self.eval(part.expression))
                if part.format_spec:
                    for spec in part.format_spec:
                        if isinstance(spec, (cst.FormattedStringExpression,
                                             cst.TemplatedStringExpression)):
                            out |= deep(self.eval(spec.expression))
        return whole(out)

    def e_concat(self: FunctionBuilder, node: cst.ConcatenatedString) -> Value:
        value = literal_value(node)
        if value is not _NOT_CONST:
            return Value(info=facts.Const(value))
        return whole(deep(self.eval(node.left)) | deep(self.eval(node.right)))

    # -- attribute and subscript ------------------------------------------------
    def e_attribute(self: FunctionBuilder, node: cst.Attribute) -> Value:
        base = self.eval(node.value)
        name = node.attr.value
        if isinstance(base.info, facts.FunctionRef) and not base.syms and not deep(base):
            # `gsm8k.compute_score` (a module's function), `Manager.build`: a reference
            ref = Value(info=facts.FunctionRef(f"{base.info.qualname}.{name}"))
            shared = self.module_global(base, name)
            if shared is not None:  # `buffers.RECENT`: what code put into that global
                return with_sym(ref, ("global", shared[0]), (attr_key(shared[1]),))
            return ref
        value = read(base, attr_key(name))
        if value.info is None and self.ctx.vocab.is_grader_call_name(name):
            # a grader's method as a value: calling it later is calling the grader
            value = replace(value, info=facts.SinkMethod(self.ctx.code(node)))
        if name in self.link_in.properties:
            target = self.property_target(base, name)
            if target is not None:
                prop = self.project_call(node, target, self.no_args(), self.ctx.code(node))
                value = join(value, prop)
        return self.read_source(node, name, base, value, attr=True)

    def read_source(self: FunctionBuilder, node: cst.CSTNode, name: str, base: Value,
                    value: Value, attr: bool) -> Value:
        """A reasoning field read by name (attribute or constant key), or a chain source."""
        kind = self.ctx.vocab.name_source_kind(name)
        if kind is not None and not base.from_grader and not self.scan.literal_only(name, attr):
            src = self.ctx.node(self.scope, node, "src:field", f"`{self.ctx.code(node)}` is a "
                                "reasoning field", step="source", source_kind=kind)
            self.ctx.flow(value.shape, src)
            value = Value(shape=frozenset((src,)), elem=value.elem, fields=value.fields,
                          info=value.info)
        chain_kind = self.chain_source(node)
        if chain_kind is not None:
            src = self.ctx.node(self.scope, node, "src:chain", f"`{self.ctx.code(node)}` is raw "
                                "generated text", step="source", source_kind=chain_kind)
            self.ctx.flow(value.shape, src)
            value = add_shape(value, frozenset((src,)))
        return value

    def chain_source(self: FunctionBuilder, node: cst.CSTNode) -> str | None:
        for spec in self.ctx.vocab.rules.attribute_sources:
            if _matches_chain(node, spec.chain):
                return spec.kind
        return None

    def e_subscript(self: FunctionBuilder, node: cst.Subscript) -> Value:
        base = self.eval(node.value)
        if len(node.slice) != 1:
            idx_taint: Nodes = NO_NODES
            for el in node.slice:
                if type(el.slice) is cst.Index:
                    idx_taint |= deep(self.eval(el.slice.value))
            return read(base, None, idx_taint)
        sl = node.slice[0].slice
        if type(sl) is cst.Slice:
            return self.slice_of(node, base, sl)
        assert type(sl) is cst.Index
        idx = self.eval(sl.value)
        return self.index_of(node, base, idx)

    def index_of(self: FunctionBuilder, node: cst.CSTNode, base: Value, idx: Value) -> Value:
        info = base.info
        k = idx.info.value if isinstance(idx.info, facts.Const) else None
        if isinstance(info, facts.Split) and isinstance(k, int):
            return self.split_item(node, base, info, k)
        if isinstance(info, facts.AnswerSplit) and isinstance(k, int):
            return answer_item(base, info, k)
        if isinstance(info, facts.Match) and isinstance(k, (int, str)):
            return self.match_group(node, base, info, k)
        if isinstance(k, str):
            value = read(base, item_key(k), deep(idx) if idx.shape else NO_NODES)
            return self.read_source(node, k, base, value, attr=False)
        if isinstance(k, int) and not isinstance(k, bool):
            return read(base, item_key(k))
        return read(base, None, deep(idx))

    def slice_of(self: FunctionBuilder, node: cst.Subscript, base: Value,
                 sl: cst.Slice) -> Value:
        lower = self.eval(sl.lower) if sl.lower is not None else None
        upper = self.eval(sl.upper) if sl.upper is not None else None
        step = self.eval(sl.step) if sl.step is not None else None
        lo = lower.info if lower is not None else None
        up = upper.info if upper is not None else None
        if isinstance(up, facts.TagPos) and lower is None and up.tag.role == "close":
            return self.cot_cut(node, base, f"the text before `{up.tag.pair.close}`", up.tag.kind)
        if isinstance(lo, facts.TagPos) and lo.after and upper is None:
            if lo.tag.role == "close":
                return CLEAN
            return self.cot_cut(node, base, f"the text after `{lo.tag.pair.open}`", lo.tag.kind)
        bounds = deep(lower) | deep(upper) | deep(step)
        # a slice keeps the items (a batch stays a batch); positions shift, so keys merge
        return Value(shape=base.shape | bounds, elem=items(base), from_grader=base.from_grader)

    def cot_cut(self: FunctionBuilder, node: cst.CSTNode, base: Value, what: str,
                kind: str) -> Value:
        src = self.ctx.node(self.scope, node, "src:cut", f"`{self.ctx.code(node)}` is {what} "
                            "(reasoning)", step="source", source_kind=kind)
        self.ctx.flow(deep(base), src)
        return whole(frozenset((src,)))

    def split_item(self: FunctionBuilder, node: cst.CSTNode, base: Value, info: facts.Split,
                   k: int) -> Value:
        tag, method = info.tag, info.method
        close = tag.role == "close"
        first = k == 0
        if method in ("partition", "rpartition"):
            if k == 1:
                return Value(info=facts.Const(tag.pair.close if close else tag.pair.open))
            after = k in (2, -1)
        else:
            after = not first
        if close and after:
            return CLEAN  # the text after the closing tag: the answer
        if close and first:
            return self.cot_cut(node, base, f"the text before `{tag.pair.close}`", tag.kind)
        if not close and after:
            return self.cot_cut(node, base, f"the text after `{tag.pair.open}`", tag.kind)
        return whole(deep(base))  # before an opening tag: whatever the text was

    def match_group(self: FunctionBuilder, node: cst.CSTNode, base: Value, info: facts.Match,
                    k: int | str) -> Value:
        role = self.ctx.regex.read(info.pattern)
        if role.answer_only:
            return CLEAN
        index = k if isinstance(k, int) else dict(role.names).get(k, -1)
        if index == 0:
            if role.strips_cot:
                return self.cot_cut(node, base, "a whole think section", role.kind)
            return whole(deep(base))
        if 1 <= index <= len(role.groups):
            kind = role.groups[index - 1]
            if kind == "clean":
                return CLEAN
            if kind == "cot":
                return self.cot_cut(node, base, "captured inside the think section", role.kind)
        return whole(deep(base))

    # -- operators -----------------------------------------------------------------
    def e_binop(self: FunctionBuilder, node: cst.BinaryOperation) -> Value:
        left, right = self.eval(node.left), self.eval(node.right)
        if type(node.operator) is cst.Add:
            lt, rt = left.info, right.info
            if isinstance(lt, facts.TagPos) and not lt.after and self.is_tag_len(rt, lt.tag):
                return Value(shape=left.shape | right.shape, info=facts.TagPos(lt.tag, True))
            if isinstance(rt, facts.TagPos) and not rt.after and self.is_tag_len(lt, rt.tag):
                return Value(shape=left.shape | right.shape, info=facts.TagPos(rt.tag, True))
            ls, rs = facts.const_str(lt), facts.const_str(rt)
            if ls is not None and rs is not None:
                return Value(info=facts.Const(ls + rs))
            if type(node.left) in (cst.List, cst.Tuple) or \
                    type(node.right) in (cst.List, cst.Tuple):
                return join(_as_collection(left), _as_collection(right))
        if type(node.operator) is cst.Multiply and type(node.left) is cst.List:
            return Value(shape=deep(right), elem=elements(left))
        return whole(deep(left) | deep(right))

    def is_tag_len(self: FunctionBuilder, info: object, tag: TagHit) -> bool:
        """``len(TAG)`` of this tag, or the literal number it equals (``i + 8``)."""
        if isinstance(info, facts.TagLen):
            return info.tag == tag
        return facts.const_int(info) == len(tag.pair.close if tag.role == "close"
                                            else tag.pair.open)

    def e_unary(self: FunctionBuilder, node: cst.UnaryOperation) -> Value:
        value = literal_value(node)
        if value is not _NOT_CONST:
            return Value(info=facts.Const(value))
        value = self.eval(node.expression)
        if type(node.operator) is cst.Not:
            return whole(value.shape)  # truthiness: `not completions` asks whether it is empty
        return whole(deep(value))

    def e_boolop(self: FunctionBuilder, node: cst.BooleanOperation) -> Value:
        # `a or b` is a or b: keep structure (a default value for a missing field)
        return join(self.eval(node.left), self.eval(node.right))

    def e_compare(self: FunctionBuilder, node: cst.Comparison) -> Value:
        left = self.eval(node.left)
        out: Nodes = NO_NODES
        for comp in node.comparisons:
            right = self.eval(comp.comparator)
            if type(comp.operator) in (cst.Is, cst.IsNot):
                out |= left.shape | right.shape  # identity, not contents: `xs is None`
            else:
                out |= deep(left) | deep(right)
            left = right
        return whole(out)

    def e_ifexp(self: FunctionBuilder, node: cst.IfExp) -> Value:
        cond = self.condition(node.test)
        with self.under(cond, node):
            body, orelse = self.eval(node.body), self.eval(node.orelse)
        return add_shape(join(body, orelse), cond)

    def e_named(self: FunctionBuilder, node: cst.NamedExpr) -> Value:
        value = self.eval(node.value)
        self.bind_target(node.target, value, node, literal=is_literal(node.value))
        return self.lookup(node.target.value) if type(node.target) is cst.Name else value

    def e_await(self: FunctionBuilder, node: cst.Await) -> Value:
        return self.eval(node.expression)

    def e_yield(self: FunctionBuilder, node: cst.Yield) -> Value:
        if node.value is not None:
            value = self.eval(node.value)  # type: ignore[arg-type]
            if type(node.value) is cst.From:
                value = elements(value)
            self.record_return(node, value, yielded=True)
        return CLEAN

    def e_from(self: FunctionBuilder, node: cst.From) -> Value:
        return self.eval(node.item)

    def e_lambda(self: FunctionBuilder, node: cst.Lambda) -> Value:
        return Value(info=facts.FunctionRef(self.analyze_lambda(node)))

    # -- displays -------------------------------------------------------------------
    def e_sequence(self: FunctionBuilder, node: cst.List | cst.Tuple | cst.Set) -> Value:
        items: list[Value] = []
        spread: list[Value] = []
        for el in node.elements:
            if type(el) is cst.StarredElement:
                spread.append(self.eval(el.value))
            else:
                items.append(self.eval(el.value))
        elem = join_all(items + [elements(s) for s in spread]) if (items or spread) else None
        if elem is not None and elem == CLEAN:
            elem = None
        shape = frozenset().union(*(s.shape for s in spread)) if spread else NO_NODES
        fields: list[tuple[str, Value]] = []
        if not spread and type(node) is not cst.Set:
            # every position is known, clean ones included: `(answer, reasoning)[0]` is clean
            n = len(items)
            for i, v in enumerate(items):
                fields.append((item_key(i), v))
                fields.append((item_key(i - n), v))
        consts = tuple(v.info.value for v in items if isinstance(v.info, facts.Const))
        info = facts.Const(consts) if not spread and len(consts) == len(items) and items else None
        return Value(shape=shape, elem=elem, fields=tuple(sorted(fields)), info=info)

    def e_dict(self: FunctionBuilder, node: cst.Dict) -> Value:
        out = CLEAN
        for el in node.elements:
            if type(el) is cst.StarredDictElement:
                spread = self.eval(el.value)
                out = join(out, Value(shape=spread.shape, elem=spread.elem, fields=spread.fields))
                continue
            key = const_key(el.key)
            value = self.eval(el.value)
            if key is None:
                kt = deep(self.eval(el.key))
                out = Value(shape=out.shape | kt, elem=join(out.elem, value), fields=out.fields)
                continue
            if self.ctx.vocab.name_source_kind(key) and not is_literal(el.value) \
                    and not value.from_grader and not isinstance(value.info, facts.FunctionRef):
                value = self.read_source(el, key, CLEAN, value, attr=False)
            out = set_field(out, item_key(key), value)
        return out

    def e_comprehension(self: FunctionBuilder, node: cst.BaseComp) -> Value:
        saved = self.state
        self.state = saved.copy()
        shape: Nodes = NO_NODES
        cond_taint: Nodes = NO_NODES
        try:
            for comp in _comp_fors(node.for_in):
                iterable = self.eval(comp.iter)
                shape |= iterable.shape
                self.bind_target(comp.target, elements(iterable), comp.target, literal=False)
                for cond in comp.ifs:
                    cond_taint |= self.condition(cond.test)
            with self.under(cond_taint, node):
                if type(node) is cst.DictComp:
                    key, value = self.eval(node.key), self.eval(node.value)
                    item = Value(shape=deep(key), elem=None) if key.shape else CLEAN
                    item = join(value, item)
                elif type(node) is cst.StarredDictComp:
                    item = join(elements(self.eval(node.value)), CLEAN)  # {**d for d in ds}
                else:
                    item = self.eval(node.elt)  # type: ignore[attr-defined]
        finally:
            self.state = saved
        item = add_shape(item, cond_taint)
        return collection(item, shape | cond_taint)


def _matches_chain(node: cst.CSTNode, chain: tuple[str, ...]) -> bool:
    """``outputs[0].text`` against ``("outputs", "[]", "text")``, read from the end; the
    chain may start at a plain name or at an attribute of anything. ``["text"]`` is a
    subscript by that constant key (SGLang ``output["text"]``)."""
    cur = node
    for i, part in enumerate(reversed(chain)):
        subscript = type(cur) is cst.Subscript and (
            part == "[]" or (part.startswith("[") and subscript_key(cur) == part[2:-2]))
        attribute = type(cur) is cst.Attribute and cur.attr.value == part
        if subscript or attribute:
            cur = cur.value  # type: ignore[union-attr]
            continue
        return type(cur) is cst.Name and cur.value == part and i == len(chain) - 1
    return True


def answer_item(base: Value, info: facts.AnswerSplit, k: int) -> Value:
    """One part of a string split at an answer tag. Cut at both tags, the inner part is the
    answer (SPEC §2 answer extraction, as a capture inside the tags): `s.split("<answer>")[-1]
    .split("</answer>")[0]` or the reverse order. One cut alone keeps the text's taint."""
    partition = info.method in ("partition", "rpartition")
    if partition and k == 1:
        return Value(info=facts.Const(info.pair.close if info.role.endswith("close")
                                      else info.pair.open))
    after = k in (2, -1) if partition else k != 0
    if info.role == "inner-close" and not after:  # (after the opener) ... before the closer
        return CLEAN
    if info.role == "inner-open" and after:  # (before the closer) ... after the opener
        return CLEAN
    taint = deep(base)
    if info.role == "open" and after:
        return Value(shape=taint, info=facts.AnswerPart(info.pair, "open"))
    if info.role == "close" and not after:
        return Value(shape=taint, info=facts.AnswerPart(info.pair, "close"))
    return whole(taint)




def _comp_fors(first: cst.CompFor) -> list[cst.CompFor]:
    out = []
    cur: cst.CompFor | None = first
    while cur is not None:
        out.append(cur)
        cur = cur.inner_for_in
    return out


def _as_collection(v: Value) -> Value:
    return Value(shape=v.shape, elem=items(v))



_HANDLERS = {
    cst.Name: ExprMixin.e_name,
    cst.SimpleString: ExprMixin.e_literal,
    cst.Integer: ExprMixin.e_literal,
    cst.Float: ExprMixin.e_literal,
    cst.Imaginary: ExprMixin.e_literal,
    cst.Ellipsis: ExprMixin.e_literal,
    cst.ConcatenatedString: ExprMixin.e_concat,
    cst.FormattedString: ExprMixin.e_fstring,
    cst.TemplatedString: ExprMixin.e_fstring,
    cst.Attribute: ExprMixin.e_attribute,
    cst.Subscript: ExprMixin.e_subscript,
    cst.BinaryOperation: ExprMixin.e_binop,
    cst.UnaryOperation: ExprMixin.e_unary,
    cst.BooleanOperation: ExprMixin.e_boolop,
    cst.Comparison: ExprMixin.e_compare,
    cst.IfExp: ExprMixin.e_ifexp,
    cst.NamedExpr: ExprMixin.e_named,
    cst.Await: ExprMixin.e_await,
    cst.Yield: ExprMixin.e_yield,
    cst.From: ExprMixin.e_from,
    cst.Lambda: ExprMixin.e_lambda,
    cst.List: ExprMixin.e_sequence,
    cst.Tuple: ExprMixin.e_sequence,
    cst.Set: ExprMixin.e_sequence,
    cst.Dict: ExprMixin.e_dict,
    cst.ListComp: ExprMixin.e_comprehension,
    cst.SetComp: ExprMixin.e_comprehension,
    cst.GeneratorExp: ExprMixin.e_comprehension,
    cst.DictComp: ExprMixin.e_comprehension,
    cst.StarredDictComp: ExprMixin.e_comprehension,
}
