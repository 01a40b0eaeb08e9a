"""Calls: graders (sinks), reasoning sources, sanitizers, modeled builtins, str/re methods.

Order matters and follows SPEC §2: a process reward model is neither sink nor source; a
grader call's arguments are sinks; a sanitizer's result is clean; then sources by parser,
decoding and callee name; then Python semantics (builtins, str, re, containers); anything
else is an unknown call whose result carries the taint of every argument and the receiver.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import libcst as cst

from leakcheck.graph import facts
from leakcheck.graph.context import CallSite, Target
from leakcheck.graph.scan import const_key, dotted_name, is_literal, subscript_key
from leakcheck.graph.values import (
    CLEAN,
    NO_NODES,
    Nodes,
    Value,
    add_elem,
    attr_key,
    collection,
    deep,
    elements,
    item_key,
    join,
    read,
    set_field,
    sym_value,
    whole,
)
from leakcheck.words import split_words

if TYPE_CHECKING:
    from leakcheck.graph.builder import FunctionBuilder

RE_MODULES = ("re", "regex")
TYPE_QUERIES = frozenset({"isinstance", "issubclass", "callable", "type", "id", "hasattr"})
KEEP_ELEMENTS = frozenset({"sorted", "reversed", "list", "tuple", "iter", "set", "frozenset"})
# asyncio.run(coro) and kin give the coroutine's result, as `await coro` does
AWAIT_LIKE = frozenset({"run", "wait_for", "shield", "ensure_future", "create_task"})
RUN_UNTIL_COMPLETE = frozenset({"run_until_complete"})
STR_SPLITS = frozenset({"split", "rsplit", "partition", "rpartition"})
STR_FINDS = frozenset({"index", "find", "rindex", "rfind"})


@dataclass
class Args:
    positional: list[Value]
    keywords: dict[str, Value]
    nodes: list[cst.Arg]
    spread: Nodes  # *args / **kwargs whose arity is unknown
    star_forward: tuple | None = None  # `f(*args)` with this function's own *args
    kw_forward: tuple | None = None  # `f(**kwargs)` with this function's own **kwargs

    def all_taint(self) -> Nodes:
        out: set = set(self.spread)
        for forwarded in (self.star_forward, self.kw_forward):
            if forwarded is not None:
                out |= deep(sym_value(forwarded))
        for v in self.positional:
            out |= deep(v)
        for v in self.keywords.values():
            out |= deep(v)
        return frozenset(out)

    def any_from_grader(self) -> bool:
        return any(v.from_grader for v in self.positional) or any(
            v.from_grader for v in self.keywords.values())

    def get(self, index: int, keyword: str | None = None) -> Value | None:
        if keyword is not None and keyword in self.keywords:
            return self.keywords[keyword]
        return self.positional[index] if index < len(self.positional) else None

    def const(self, index: int, keyword: str | None = None) -> object:
        v = self.get(index, keyword)
        return v.info.value if v is not None and isinstance(v.info, facts.Const) else None


class CallMixin:
    def eval_args(self: FunctionBuilder, node: cst.Call) -> Args:
        positional: list[Value] = []
        keywords: dict[str, Value] = {}
        spread: set = set()
        star_forward = kw_forward = None
        for arg in node.args:
            value = self.eval(arg.value)
            forwarded = _own_parameter(value)
            if arg.star == "*" and forwarded is not None and star_forward is None:
                star_forward = forwarded  # linked position by position
            elif arg.star == "**" and forwarded is not None and kw_forward is None:
                kw_forward = forwarded
            elif arg.star == "*":
                spread |= deep(value)
                positional.append(elements(value))
            elif arg.star == "**":
                spread |= deep(value)
                for k, f in value.fields:
                    if k.startswith("'"):
                        keywords[k[1:]] = f
            elif arg.keyword is not None:
                keywords[arg.keyword.value] = value
            else:
                positional.append(value)
        return Args(positional, keywords, list(node.args), frozenset(spread), star_forward,
                    kw_forward)

    def e_call(self: FunctionBuilder, node: cst.Call) -> Value:
        """A call's value; a library call that returns what the function it was given
        returns (``asyncio.to_thread(f)``, ``map(f, xs)``) has that too (``call_given``)."""
        outer, self.given_result = self.given_result, None
        value = self._call(self.ray_called(node))
        given, self.given_result = self.given_result, outer
        method = _getattr_name(node)
        if method is not None and (value.info is None or isinstance(
                value.info, facts.FunctionRef)) and self.ctx.vocab.is_grader_call_name(method):
            # `getattr(judge, "grade")`: a grader's method as a value, as `judge.grade` is
            value = replace(value, info=facts.SinkMethod(
                f"{self.ctx.code(node.args[0].value)}.{method}"))
        if given is None:
            return value
        result, exact = given
        # what the function returns is all there is (`list(map(extract_answer, texts))` is
        # the answers), unless it may be a class (a constructor's value is its instance)
        return result if exact else join(value, result)

    def ray_called(self: FunctionBuilder, node: cst.Call) -> cst.Call:
        """Ray runs ``f.remote(x)``, ``actor.grade.remote(x)`` and
        ``f.options(num_cpus=1).remote(x)`` as ``f(x)`` and ``actor.grade(x)`` elsewhere:
        the call is analyzed as that call (its range and code stay the written ones).
        ``ray.remote(Cls)`` itself is not."""
        func = node.func
        if type(func) is not cst.Attribute or func.attr.value != "remote":
            return node
        inner = func.value
        if type(inner) is cst.Call and type(inner.func) is cst.Attribute and \
                inner.func.attr.value == "options":
            inner = inner.func.value
        if type(inner) not in (cst.Name, cst.Attribute):
            return node
        if type(inner) is cst.Name and self.module_alias(inner.value) == "ray":
            return node
        made = self.ctx.remote_calls.get(id(node))
        if made is None:
            made = node.with_changes(func=inner)
            self.ctx.positions.alias(made, node)
            self.ctx.remote_calls[id(node)] = made  # (kept alive: ranges are by id)
            self.ctx.written_funcs[id(made)] = func
        return made

    def _call(self: FunctionBuilder, node: cst.Call) -> Value:
        func = node.func
        dotted = dotted_name(func) or ()
        last = dotted[-1] if dotted else ""
        receiver: Value | None = None
        receiver_name: str | None = None
        if type(func) is cst.Attribute:
            receiver = self.eval(func.value)
            inner = dotted_name(func.value)
            receiver_name = inner[-1] if inner else None
        elif type(func) is not cst.Name:
            receiver = self.eval(func)
        args = self.eval_args(node)
        vocab = self.ctx.vocab
        code = self.ctx.code(self.ctx.written_funcs.get(id(node), node.func))

        ref = self.lookup(dotted[0]).info if dotted else None
        qualname = None
        if isinstance(ref, facts.FunctionRef):  # what the written name refers to
            qualname = ".".join((ref.qualname, *dotted[1:]))
        if dotted and vocab.may_see_reasoning(dotted, qualname):
            return CLEAN  # a process reward model: the sanctioned signal
        is_grader = bool(last) and (vocab.is_grader_call_name(last) or
                                    vocab.user_grader(dotted, qualname))
        held = self.lookup(func.value).info if type(func) is cst.Name else (
            receiver.info if receiver is not None and type(func) is not cst.Attribute
            else None)
        if is_grader:
            self.ctx.sink(self.scope, node, "call", f"`{code}()`",
                          f"passed to grader `{code}()`", args.all_taint())
        elif isinstance(held, facts.SinkMethod):  # `fn = judge.grade; fn(text)`
            is_grader = True
            self.ctx.sink(self.scope, node, "call", f"`{code}()` (`{held.code}`)",
                          f"passed to grader `{held.code}` as `{code}()`",
                          args.all_taint() | held.bound)
        if dotted and vocab.is_sanitizer_callee(dotted, qualname):
            return CLEAN
        target, args = self.call_target(func, receiver, args)
        if target is not None and target.kind == "param" and not is_grader:
            # a callable parameter: a grader call if some caller passes a grader's method
            self.ctx.sink(self.scope, node, "param-call", f"`{code}()`",
                          f"passed to the grader given as `{target.method}`",
                          args.all_taint(), when=(target.name, target.method or ""))
        # `Checker()(x)`, `TABLE["acc"](x)`: the callee is a value, not the class named
        names_class = type(func) in (cst.Name, cst.Attribute)
        if is_grader:
            if target is not None and _capitalized(last) and target.kind == "function" \
                    and names_class:
                return replace(self.construct(node, target, last, args, receiver, code),
                               from_grader=True)
            if target is not None:
                return self.project_call(node, target, args, code, from_grader=True,
                                         receiver=receiver)
            return self.unknown_call(node, receiver, args, code, from_grader=True)
        if (type(func) is cst.Name and last == "partial") or dotted == ("functools",
                                                                          "partial"):
            first = args.get(0)
            if first is not None and isinstance(first.info, facts.FunctionRef):
                return Value(info=facts.Partial(first.info.qualname, tuple(args.positional[1:]),
                                                tuple(sorted(args.keywords.items()))))
            if first is not None and isinstance(first.info, facts.SinkMethod):
                bound = Args(args.positional[1:], args.keywords, [], args.spread)
                return Value(info=facts.SinkMethod(first.info.code, first.info.bound
                                                  | bound.all_taint()))
        self.call_given(node, func, last, receiver, args, code)

        if type(func) is cst.Attribute and receiver is not None:
            modeled = self.method_call(node, last, receiver, receiver_name, args, dotted)
            if modeled is not None:
                return modeled
        elif type(func) is cst.Name:
            modeled = self.builtin_call(node, last, args)
            if modeled is not None:
                return modeled
        source = self.call_source(node, last, receiver_name, args, code)
        if source is not None:
            return source
        if target is not None and _capitalized(last) and target.kind == "function" and \
                names_class:
            return self.construct(node, target, last, args, receiver, code)
        constructed = self.constructor(node, last, args) if names_class else None
        if constructed is not None:
            return constructed
        if target is not None:
            return self.project_call(node, target, args, code, receiver=receiver)
        return self.unknown_call(node, receiver, args, code)

    def call_given(self: FunctionBuilder, node: cst.Call, func: cst.BaseExpression, last: str,
                   receiver: Value | None, args: Args, code: str) -> None:
        """A library call that calls a function it is given: ``map(f, texts)``,
        ``max(texts, key=f)``, ``pool.submit(f, q, a)``. A grader's method given to it is a
        grader call on what it is called with; a project function or lambda receives that
        as its arguments (a call of it here, for linking: ``max(traces, key=lambda t:
        judge.grade(t))`` leaks through the lambda), and what it returns is the library
        call's result where that call returns it (``e_call``)."""
        spec = CALLS_GIVEN_A_FUNCTION.get(last) if type(func) is cst.Attribute or (
            last in BUILTINS_GIVEN_A_FUNCTION) else None
        if spec is None:
            return
        where, how = spec
        if where == "key":
            given = args.keywords.get("key")
            rest_positional = args.positional
        elif len(args.positional) > where:
            given = args.positional[where]
            rest_positional = args.positional[:where] + args.positional[where + 1:]
        else:
            return
        if given is None:
            return
        if how == "rest":
            keywords = {k: v for k, v in args.keywords.items() if k != "key"}
            called = Args(rest_positional, keywords, [], args.spread)
        elif how == "receiver":
            called = Args([elements(receiver)] if receiver is not None else [], {}, [],
                          NO_NODES)
        else:  # the items of the iterables (`nlargest(n, texts, key=f)`: of the second)
            iterables = rest_positional[1:] if how == "items1" else rest_positional
            if not iterables and receiver is not None:
                iterables = [receiver]  # `texts.map(f)`: the receiver's items
            called = Args([elements(v) for v in iterables], {}, [], args.spread)
        if isinstance(given.info, facts.SinkMethod):
            self.ctx.sink(self.scope, node, "call", f"`{given.info.code}` ({code}())",
                          f"passed to grader `{given.info.code}` by `{code}()`",
                          called.all_taint() | given.info.bound)
            return
        if isinstance(given.info, facts.Partial):
            called = Args(list(given.info.args) + called.positional,
                          {**dict(given.info.keywords), **called.keywords}, [], called.spread)
        elif not isinstance(given.info, facts.FunctionRef):
            return
        # a call of its own (a result token apart from the library call's): what the
        # function returns is the library call's result too, where it returns that
        result = self.project_call(node, Target("function", given.info.qualname,
                                                method="<called>"), called, code)
        if last in RETURNS_WHAT_IT_CALLS:
            exact = not _capitalized(given.info.qualname.rsplit(".", 1)[-1])
            self.given_result = (Value(elem=result) if how != "rest" else result, exact)

    def construct(self: FunctionBuilder, node: cst.Call, target: Target, last: str, args: Args,
                  receiver: Value | None, code: str) -> Value:
        """A class: run its __init__ on the new instance; the value is the instance, with
        fields by keyword where known; otherwise it carries its arguments (a library class
        such as io.StringIO(text) is an unknown call)."""
        self.project_call(node, Target("method", target.name, "__init__"), args, code)
        constructed = self.constructor(node, last, args, project=True) or self.unknown_call(
            node, receiver, args, code)
        return replace(constructed, info=facts.Instance(target.name))

    # -- calls into the project ----------------------------------------------------
    def call_target(self: FunctionBuilder, func: cst.BaseExpression, receiver: Value | None,
                    args: Args) -> tuple[Target | None, Args]:
        """What a call may refer to in the project (resolved at link time), and the
        arguments it receives (a partial's bound arguments come first)."""
        if type(func) is cst.Name:
            info = self.lookup(func.value).info
            target = _reference_target(info)
            if target is not None:
                return target, args
            if isinstance(info, facts.Partial):
                bound = Args(list(info.args) + args.positional,
                             {**dict(info.keywords), **args.keywords}, args.nodes, args.spread,
                             args.star_forward, args.kw_forward)
                return Target("function", info.qualname), bound
            value = self.lookup(func.value)
            param = _own_parameter(value) or _item_of(value, "param")
            if param is not None:  # a callable parameter, or an item of one (`for f in
                # funcs: f(x)`): whatever the callers pass, or put in what they pass
                return Target("param", param[1], param[2]), args
            held = _item_of(value, "self")
            if held is not None:  # `for f in self.funcs: f(x)`: what the attribute holds
                return Target("method", held[1], held[2]), args
            made = [base for base, path in value.syms if base[0] == "ret" and path == ()]
            if len(made) == 1:  # `f = make_filter(); f(x)`: what the factory returns
                return Target("returned", "", via=made[0]), args
            return None, args
        if type(func) is not cst.Attribute and receiver is not None:
            # `REWARD_FUNCS["acc"](x)`, `REWARD_FUNCS[name](x)`, `Checker()(text)`
            target = _reference_target(receiver.info)
            if target is not None:
                return target, args
        if type(func) is not cst.Attribute or receiver is None:
            return None, args
        name = func.attr.value
        if type(func.value) is cst.Call and type(func.value.func) is cst.Name and \
                func.value.func.value == "super" and self.class_q is not None:
            return Target("super", self.class_q, name), args
        for base, path in receiver.syms:
            if base[0] == "self" and path == ():
                return Target("method", base[1], name), args
        info = receiver.info
        if not isinstance(info, facts.Instance):
            for base, path in receiver.syms:  # `self.manager.evaluate()`
                if base[0] == "self" and len(path) == 1 and path[0].startswith("."):
                    return Target("attr_method", base[1], name, attribute=path[0][1:]), args
        if isinstance(info, facts.Instance):
            return Target("method", info.qualname, name), args
        if isinstance(info, facts.FunctionRef):  # a module or a class: `utils.f()`
            return Target("function", f"{info.qualname}.{name}"), args
        return None, args

    def property_target(self: FunctionBuilder, base: Value, name: str) -> Target | None:
        for sym_base, path in base.syms:
            if sym_base[0] == "self" and path == ():
                return Target("method", sym_base[1], name, property_read=True)
        if isinstance(base.info, facts.Instance):
            return Target("method", base.info.qualname, name, property_read=True)
        return None

    def no_args(self: FunctionBuilder) -> Args:
        return Args([], {}, [], NO_NODES)

    def project_call(self: FunctionBuilder, node: cst.Call, target: Target, args: Args,
                     code: str, from_grader: bool = False,
                     receiver: Value | None = None) -> Value:
        span = self.ctx.span(node)
        base = ("ret", self.ctx.path, span.start_line, span.start_column, span.end_line,
                span.end_column, target.method or "")
        self.ctx.bases[base] = (span, f"`{code}()`")
        site = CallSite(base, span, self.scope, code, target, tuple(args.positional),
                        tuple(sorted(args.keywords.items())), args.spread,
                        receiver if target.kind in ("method", "attr_method") else None,
                        args.star_forward, args.kw_forward)
        previous = self.ctx.callsites.get(base)
        self.ctx.callsites[base] = site if previous is None else merge_sites(previous, site)
        value = sym_value(base)
        return replace(value, from_grader=True) if from_grader else value

    def unknown_call(self: FunctionBuilder, node: cst.Call, receiver: Value | None, args: Args,
                     code: str, from_grader: bool = False) -> Value:
        taint = args.all_taint() | deep(receiver)
        grader_derived = from_grader or args.any_from_grader() or bool(
            receiver is not None and receiver.from_grader)
        if not taint:
            return Value(from_grader=grader_derived)
        step = self.ctx.node(self.scope, node, "call", f"flows through `{code}()`", step="call")
        self.ctx.flow(taint, step)
        return Value(shape=frozenset((step,)), from_grader=grader_derived)

    # -- sources by call -------------------------------------------------------------
    def call_source(self: FunctionBuilder, node: cst.Call, last: str, receiver_name: str | None,
                    args: Args, code: str) -> Value | None:
        vocab = self.ctx.vocab
        parser = vocab.parser(last)
        if parser is not None:
            src = self.ctx.node(self.scope, node, "src:parser", f"`{code}()` splits out the "
                                "reasoning", step="source", source_kind=parser.kind)
            self.ctx.flow(args.all_taint(), src)
            cot = Value(shape=frozenset((src,)))
            rest = whole(args.all_taint())
            fields: dict[str, Value] = {}
            for i in parser.cot_items:
                fields[item_key(i)] = cot
            for i in parser.clean_items:
                fields[item_key(i)] = CLEAN
            for k in parser.cot_keys:
                fields[item_key(k)] = cot
            for k in parser.clean_keys:
                fields[item_key(k)] = CLEAN
            n = len(parser.cot_items) + len(parser.clean_items)
            if n:  # a fixed-size tuple: negative indices too
                for i in parser.cot_items:
                    fields[item_key(i - n)] = cot
                for i in parser.clean_items:
                    fields[item_key(i - n)] = CLEAN
            return Value(elem=join(cot, rest) if n else rest,
                         fields=tuple(sorted(fields.items())))
        decoder = vocab.decoder(last, receiver_name)
        if decoder is not None:
            decoded = node.args[0].value if node.args else None
            if decoded is not None and decoder.unless_value_words.matches(
                    split_words(own_name(decoded) or "")):
                return whole(args.all_taint())
            src = self.ctx.node(self.scope, node, "src:decode", f"`{code}()` decodes the raw "
                                "completion", step="source", source_kind=decoder.kind)
            self.ctx.flow(args.all_taint(), src)
            if last in decoder.batch_callees:
                return collection(whole(frozenset((src,))))
            return whole(frozenset((src,)))
        # a class (by convention, capitalized) builds a structure; its fields carry taint
        kind = vocab.call_source_kind(last) if last and not _capitalized(last) else None
        if kind is not None:
            src = self.ctx.node(self.scope, node, "src:call", f"`{code}()` returns reasoning",
                                step="source", source_kind=kind)
            self.ctx.flow(args.all_taint(), src)
            return whole(frozenset((src,)))
        return None

    # -- builtins --------------------------------------------------------------------
    def builtin_call(self: FunctionBuilder, node: cst.Call, name: str, args: Args) -> Value | None:
        if self.is_local(name) and not isinstance(self.lookup(name).info, facts.FunctionRef):
            return None
        first = args.get(0)
        if name == "len" and first is not None:
            tag = self.ctx.vocab.tag(facts.const_str(first.info) or "\0")
            if tag is not None:
                return Value(info=facts.TagLen(tag))
            return whole(first.shape)
        if name == "bool" and first is not None:
            return whole(first.shape)
        if name in TYPE_QUERIES:
            return CLEAN  # the Python type of a value is the program's, not the model's
        if name == "zip":
            items = tuple(sorted((item_key(i), elements(v)) for i, v in
                                 enumerate(args.positional)))
            shape = frozenset().union(*(v.shape for v in args.positional)) if args.positional \
                else NO_NODES
            return Value(shape=shape, elem=Value(fields=items))
        if name == "enumerate" and first is not None:
            return Value(shape=first.shape, elem=Value(fields=((item_key(1), elements(first)),
                                                               (item_key(-1), elements(first)))))
        if name in KEEP_ELEMENTS and first is not None:
            return Value(shape=first.shape, elem=elements(first), from_grader=first.from_grader)
        if name == "next" and first is not None:
            default = args.get(1)
            return join(elements(first), default) if default is not None else elements(first)
        if name == "getattr" and first is not None:
            key = args.const(1)
            if isinstance(key, str):  # `first.key`, as `e_attribute` reads it
                if isinstance(first.info, facts.FunctionRef) and not first.syms and \
                        not deep(first):  # a module or a class: `getattr(rewards, "acc")`
                    return Value(info=facts.FunctionRef(f"{first.info.qualname}.{key}"))
                value = read(first, attr_key(key))
                value = self.read_source(node, key, first, value, attr=True)
            else:
                value = whole(deep(first) | deep(args.get(1)))
            default = args.get(2)
            return join(value, default) if default is not None else value
        if name == "dict":
            out = Value(shape=first.shape, elem=first.elem, fields=first.fields) if first \
                else CLEAN
            for k, v in args.keywords.items():
                out = set_field(out, item_key(k), v)
            return out
        if name == "setattr" and len(args.positional) >= 3:
            return CLEAN  # returns None; the attribute itself is not tracked (SPEC §3 limits)
        return None

    # -- methods ---------------------------------------------------------------------
    def method_call(self: FunctionBuilder, node: cst.Call, method: str, receiver: Value,
                    receiver_name: str | None, args: Args,
                    dotted: tuple[str, ...]) -> Value | None:
        func = node.func
        assert type(func) is cst.Attribute
        base_expr = func.value
        if len(dotted) == 2 and self.module_alias(dotted[0]) in RE_MODULES:
            return self.regex_call(node, method, None, args)
        awaited = args.get(0)
        if awaited is not None and not args.spread and (
                method in RUN_UNTIL_COMPLETE or (len(dotted) == 2 and method in AWAIT_LIKE
                                                 and self.module_alias(dotted[0]) == "asyncio")):
            # running a coroutine gives what it returns, record fields and all
            return awaited
        if isinstance(receiver.info, facts.Pattern):
            return self.regex_call(node, method, receiver.info.pattern, args)
        if isinstance(receiver.info, facts.Match):
            if method == "group":
                k = args.const(0)
                return self.match_group(node, receiver, receiver.info,
                                        k if isinstance(k, (int, str)) else 0)
            if method == "groups":
                role = self.ctx.regex.read(receiver.info.pattern)
                fields = tuple(sorted((item_key(i), self.match_group(node, receiver,
                                                                     receiver.info, i + 1))
                                      for i in range(len(role.groups))))
                return Value(shape=NO_NODES if role.answer_only else receiver.shape,
                             fields=fields)
        if method in STR_SPLITS or method in STR_FINDS:
            sep = args.get(0, "sep")
            sep_text = facts.const_str(sep.info) if sep is not None else None
            tag = self.ctx.vocab.tag(sep_text) if sep_text is not None else None
            answer = self.ctx.vocab.answer_tag(sep_text) \
                if sep_text is not None and method in STR_SPLITS else None
            if answer is not None:
                pair, role = answer
                taint = deep(receiver)
                if isinstance(receiver.info, facts.AnswerPart) and receiver.info.pair == pair \
                        and receiver.info.role != role:
                    # the other answer tag: the part on the inner side is the answer
                    return Value(info=facts.AnswerSplit(pair, "inner-" + role, method),
                                 shape=taint, elem=whole(taint))
                return Value(shape=taint, elem=whole(taint),
                             info=facts.AnswerSplit(pair, role, method))
            if tag is not None:
                taint = deep(receiver)
                if method in STR_SPLITS:
                    return Value(shape=taint, elem=whole(taint), info=facts.Split(tag, method))
                return Value(shape=taint, info=facts.TagPos(tag, after=False))
        if method in ("get", "pop") and args.positional:
            key = args.const(0)
            default = args.get(1)
            if isinstance(key, str):
                value = self.read_source(node, key, receiver, read(receiver, item_key(key)),
                                         attr=False)
            else:
                value = read(receiver, None, deep(args.positional[0]))
            return join(value, default) if default is not None else value
        if method == "setdefault" and args.positional:
            key = args.const(0)
            default = args.get(1) or CLEAN
            if isinstance(key, str):
                current = receiver.field(item_key(key))
                value = join(current, default) if current is not None else default
                self.update_local(base_expr, set_field(receiver, item_key(key), value))
                return self.read_source(node, key, receiver,
                                        join(read(receiver, item_key(key)), value), attr=False)
            return join(read(receiver, None), default)
        if method in ("keys",):
            return Value(shape=receiver.shape)
        if method in ("values",):
            return collection(elements(receiver), receiver.shape)
        if method == "items":
            return Value(shape=receiver.shape, elem=Value(fields=(
                (item_key(1), elements(receiver)), (item_key(-1), elements(receiver)))))
        if method == "copy":
            return receiver
        if method in ("append", "add", "extend", "insert", "update"):
            return self.container_update(node, method, receiver, base_expr, args)
        if method == "join" and args.positional:
            return whole(deep(receiver) | deep(args.positional[0]))
        return None

    def container_update(self: FunctionBuilder, node: cst.Call, method: str, receiver: Value,
                         base_expr: cst.BaseExpression, args: Args) -> Value:
        if method == "insert":
            item = args.get(1) or CLEAN
        elif method == "extend":
            item = elements(args.get(0) or CLEAN)
        elif method == "update":
            other = args.get(0)
            merged = receiver
            if other is not None:
                for k, f in other.fields:
                    merged = set_field(merged, k, f)
                if other.elem is not None or other.shape:
                    merged = add_elem(merged, Value(shape=other.shape, elem=other.elem))
            for k, v in args.keywords.items():
                merged = set_field(merged, item_key(k), v)
            self.update_local(base_expr, merged)
            return CLEAN
        else:
            item = args.get(0) or CLEAN
        if method in self.ctx.vocab.store_methods and self.is_store_target(base_expr):
            name = self.ctx.code(base_expr)
            self.ctx.sink(self.scope, node, "store", f"`{name}`",
                          f"stored into reward container `{name}`",
                          deep(item) | self.pc_taint())
        self.update_local(base_expr, add_elem(receiver, self.implicit(item)))
        return CLEAN

    # -- regular expressions ---------------------------------------------------------
    def regex_call(self: FunctionBuilder, node: cst.Call, fn: str, pattern: str | None,
                   args: Args) -> Value:
        offset = 0
        if pattern is None:
            p = args.const(0, "pattern")
            pattern = p if isinstance(p, str) else None
            offset = 1
        if fn == "compile":
            return Value(info=facts.Pattern(pattern)) if pattern is not None else \
                whole(args.all_taint())
        if pattern is None:
            return whole(args.all_taint())
        role = self.ctx.regex.read(pattern)
        if fn == "sub" or fn == "subn":
            repl = args.get(offset, "repl")
            text = args.get(offset + 1, "string")
            repl_s = facts.const_str(repl.info) if repl is not None else None
            if role.strips_cot and repl_s is not None and not repl_s.strip():
                return CLEAN
            return whole(deep(text) | deep(repl))
        text = args.get(offset, "string") or CLEAN
        if fn in ("search", "match", "fullmatch"):
            if role.answer_only:
                return Value(info=facts.Match(pattern))
            return Value(shape=deep(text), info=facts.Match(pattern))
        if fn == "finditer":
            item = Value(info=facts.Match(pattern)) if role.answer_only else \
                Value(shape=deep(text), info=facts.Match(pattern))
            return Value(shape=NO_NODES if role.answer_only else deep(text), elem=item)
        if fn == "findall":
            if role.answer_only:
                return CLEAN
            if (role.groups and role.groups[0] == "cot") or (not role.groups and role.strips_cot):
                cut = self.cot_cut(node, text, "captured inside the think section", role.kind)
                return Value(shape=cut.shape, elem=cut)
            return whole(deep(text))
        return whole(args.all_taint())

    # -- constructors ----------------------------------------------------------------
    def constructor(self: FunctionBuilder, node: cst.Call, last: str, args: Args,
                    project: bool = False) -> Value | None:
        """``Record(reasoning=r, answer=a)``: keywords (and, for classes defined here,
        positional arguments) become attribute fields, so ``rec.answer`` stays clean. For a
        class of the project (``project``, or defined here) a reasoning-named field holds
        reasoning whatever it is given, as ``rec.reasoning = r`` and ``{"reasoning": r}``
        do; a library class's keywords are configuration (``thinking={...}``)."""
        if not last or not last[0].isupper() or not (args.keywords or last in
                                                      self.scan.class_fields):
            return None
        names = self.scan.class_fields.get(last, ())
        named = project or last in self.scan.class_fields
        given = {a.keyword.value if a.keyword is not None else i: a
                 for i, a in enumerate(a for a in node.args if not a.star)}
        out = Value(shape=args.spread)
        for i, v in enumerate(args.positional):
            if i < len(names):
                v = self.field_source(names[i], v, given.get(i)) if named else v
                out = set_field(out, attr_key(names[i]), v)
                out = set_field(out, item_key(i), v)  # a NamedTuple is indexable too
            else:
                out = Value(shape=out.shape | deep(v), fields=out.fields)
        for k, v in args.keywords.items():
            v = self.field_source(k, v, given.get(k)) if named else v
            out = set_field(out, attr_key(k), v)
            if k in names:
                out = set_field(out, item_key(names.index(k)), v)
        return out

    def field_source(self: FunctionBuilder, name: str, value: Value,
                     arg: cst.Arg | None) -> Value:
        """A field named with a CoT word given a value that is not a literal: a source by
        name at the argument (as for a dict literal's key). Not an object of a project
        class or a reference (``may_see_reasoning=MaySeeReasoning(...)`` is configuration,
        not reasoning text)."""
        if arg is None or not self.ctx.vocab.name_source_kind(name) or is_literal(arg.value) \
                or value.from_grader or isinstance(value.info, (facts.FunctionRef,
                                                                facts.Instance)):
            return value
        return self.read_source(arg, name, CLEAN, value, attr=True)


# calls that call the function they are given with the rest of their arguments (or with
# the items of them), by the function's position: a grader's method given to one is called
CALLS_GIVEN_A_FUNCTION: dict[str, tuple[int | str, str]] = {
    **dict.fromkeys(("map", "starmap", "imap", "imap_unordered", "map_async", "starmap_async",
                     "filter", "apply"), (0, "items")),
    **dict.fromkeys(("submit", "apply_async", "to_thread"), (0, "rest")),
    "run_in_executor": (1, "rest"),
    **dict.fromkeys(("max", "min", "sorted", "groupby"), ("key", "items")),
    **dict.fromkeys(("nlargest", "nsmallest"), ("key", "items1")),
    "sort": ("key", "receiver"),
}
# of those: the ones whose result is what the function returns (or their items)
RETURNS_WHAT_IT_CALLS = frozenset({"map", "starmap", "imap", "imap_unordered", "map_async",
                                   "starmap_async", "apply", "submit", "apply_async",
                                   "to_thread", "run_in_executor"})
BUILTINS_GIVEN_A_FUNCTION = frozenset({"map", "filter", "starmap", "to_thread", "max", "min",
                                       "sorted", "nlargest", "nsmallest", "groupby"})


def _own_parameter(value: Value) -> tuple | None:
    """The parameter base when ``value`` is exactly a parameter as received (``*args``)."""
    if value.elem is None and not value.fields and len(value.syms) == 1:
        (base, path), = value.syms
        if base[0] == "param" and path == ():
            return base
    return None


def _reference_target(info: object) -> Target | None:
    """What calling a value that refers to code calls: a function or class, each of a
    merge of them, or an instance's ``__call__`` (``checker(text)``)."""
    if isinstance(info, facts.FunctionRef):
        return Target("function", info.qualname)
    if isinstance(info, facts.FunctionRefs):
        return Target("functions", "", names=info.qualnames)
    if isinstance(info, facts.Instance):
        return Target("method", info.qualname, "__call__")
    return None


def _getattr_name(node: cst.Call) -> str | None:
    """``name`` of ``getattr(obj, "name")`` (a constant name, nothing starred)."""
    if type(node.func) is not cst.Name or node.func.value != "getattr" or \
            len(node.args) < 2 or node.args[0].star or node.args[1].star or \
            node.args[0].keyword is not None or node.args[1].keyword is not None:
        return None
    return const_key(node.args[1].value)


def _item_of(value: Value, kind: str) -> tuple | None:
    """The base of a parameter (``kind`` "param": the parameter's base) or of a ``self``
    attribute (``kind`` "self": the base plus the attribute name) that ``value`` is an item
    or a constant field of, as read from it (``for f in funcs``, ``funcs["acc"]``,
    ``self.funcs[0]``)."""
    if value.elem is not None or value.fields or len(value.syms) != 1:
        return None
    (base, path), = value.syms
    if base[0] != kind:
        return None
    if kind == "self":
        if len(path) < 2 or not path[0].startswith("."):
            return None
        steps, base = path[1:], (*base, path[0][1:])
    else:
        steps = path
    if steps and all(s == "[]" or s[:1] in ("'", "#") for s in steps):
        return base
    return None


def _capitalized(name: str) -> bool:
    return bool(name) and name[0].isupper()


def merge_sites(a: CallSite, b: CallSite) -> CallSite:
    """The same call evaluated again (a loop's next round): arguments only grow."""
    n = max(len(a.positional), len(b.positional))
    pa, pb = list(a.positional), list(b.positional)
    positional = tuple(join(pa[i] if i < len(pa) else None, pb[i] if i < len(pb) else None)
                       for i in range(n))
    kw = dict(a.keywords)
    for k, v in b.keywords:
        kw[k] = join(kw.get(k), v)
    return replace(a, positional=positional, keywords=tuple(sorted(kw.items())),
                   spread=a.spread | b.spread)


def own_name(node: cst.BaseExpression) -> str | None:
    """The name a decoded value goes by: ``prompt_ids``, ``batch["prompts"]`` -> prompts,
    ``out[:, n:]`` -> out, ``ids.tolist()`` -> ids."""
    if type(node) is cst.Name:
        return node.value
    if type(node) is cst.Attribute:
        return node.attr.value
    if type(node) is cst.Subscript:
        key = subscript_key(node)
        return key if key is not None else own_name(node.value)
    if type(node) is cst.Call and type(node.func) is cst.Attribute:
        return own_name(node.func.value)
    return None


