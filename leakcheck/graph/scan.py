"""One cheap pass over a module before dataflow: what registration and literals say.

- which functions are graders by registration (keyword, trainer slot, Rubric, add_reward_func,
  registry dict literal, decorator) — by name, and which lambdas;
- which attribute names and constant keys are only ever assigned literals in view
  (``self.cot = True``; ``sampling_args["thinking"] = {"type": "adaptive"}``): they are
  configuration, not reasoning, when read;
- the field order of classes defined here, for positional dataclass/NamedTuple construction.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import lru_cache

import libcst as cst

from leakcheck.graph.walk import walk
from leakcheck.parse import python_ast
from leakcheck.project.names import import_base
from leakcheck.ruleset.match import Vocabulary
from leakcheck.types import PROPERTY_DECORATORS


def dotted_name(node: cst.BaseExpression) -> tuple[str, ...] | None:
    """``a.b.c`` -> ("a", "b", "c"); a call or subscript base contributes its own name."""
    parts: list[str] = []
    cur: cst.BaseExpression = node
    while True:
        if type(cur) is cst.Name:
            parts.append(cur.value)
            return tuple(reversed(parts))
        if type(cur) is cst.Attribute:
            parts.append(cur.attr.value)
            cur = cur.value
        elif type(cur) is cst.Call:
            cur = cur.func
        elif type(cur) is cst.Subscript:
            cur = cur.value
        else:
            return tuple(reversed(parts)) if parts else None


def is_literal(node: cst.BaseExpression | None) -> bool:
    """Literals, and containers of literals (``{"type": "adaptive"}``, ``[1, 2]``)."""
    if node is None:
        return False
    if isinstance(node, (cst.SimpleString, cst.Integer, cst.Float, cst.Imaginary,
                         cst.ConcatenatedString, cst.Ellipsis)):
        return True
    if type(node) is cst.Name:
        return node.value in ("True", "False", "None")
    if type(node) is cst.UnaryOperation:
        return is_literal(node.expression)
    if type(node) in (cst.List, cst.Tuple, cst.Set):
        return all(type(e) is cst.Element and is_literal(e.value) for e in node.elements)
    if type(node) is cst.Dict:
        return all(type(e) is cst.DictElement and is_literal(e.key) and is_literal(e.value)
                   for e in node.elements)
    return False


@lru_cache(maxsize=32768)
def _string_literal(text: str) -> str | bytes:
    """``ast.literal_eval`` of one string token. literal_eval defines recursive closures on
    every call, which leaves reference cycles behind (tens of thousands per repository, all
    collected at once at the end of a run); this parses the token instead, and remembers
    it (the same keys and tags recur). The same values, the same errors."""
    if "\\" not in text and "\r" not in text:  # no escape, no newline to normalize: the
        start = 0  # value is the text between the quotes (most literals, at no compile)
        while text[start] not in "'\"":
            start += 1
        prefix = text[:start].lower()
        quotes = 3 if text[start:start + 3] in ('"""', "'''") and len(text) >= start + 6 else 1
        inner = text[start + quotes:len(text) - quotes]
        if "b" not in prefix:
            return inner
        if inner.isascii():
            return inner.encode()
    body = python_ast(text, mode="eval").body  # type: ignore[attr-defined]
    if not isinstance(body, ast.Constant) or not isinstance(body.value, (str, bytes)):
        raise ValueError(f"malformed string literal: {text[:40]!r}")
    return body.value


def string_value(node: cst.SimpleString | cst.ConcatenatedString) -> str | bytes | None:
    """``node.evaluated_value`` (libcst's, for a plain or implicitly concatenated string):
    None when a part is an f-string, or a literal CPython cannot evaluate (a bad escape)."""
    if type(node) is cst.SimpleString:
        try:
            return _string_literal(node.value)
        except (ValueError, SyntaxError):  # `"\x_"`: libcst takes it, CPython does not
            return None
    left, right = node.left, node.right
    if type(left) is cst.FormattedString or type(right) is cst.FormattedString:
        return None
    left_val = string_value(left)  # type: ignore[arg-type]
    right_val = string_value(right)  # type: ignore[arg-type]
    if right_val is None:
        return None
    if isinstance(left_val, bytes) and isinstance(right_val, bytes):
        return left_val + right_val
    if isinstance(left_val, str) and isinstance(right_val, str):
        return left_val + right_val
    return None


def const_key(node: cst.BaseExpression) -> str | None:
    if type(node) is cst.SimpleString:
        value = string_value(node)
        return value if isinstance(value, str) else None
    return None


def subscript_key(node: cst.Subscript) -> str | None:
    """The constant string key of ``x["key"]`` (one plain index), else None."""
    if len(node.slice) != 1 or type(node.slice[0].slice) is not cst.Index:
        return None
    return const_key(node.slice[0].slice.value)


# methods that put a value into the container they are called on (as the builder models)
MUTATORS = frozenset({"append", "extend", "insert", "add", "update", "setdefault"})


@dataclass
class ModuleScan:
    registered_names: set[str] = field(default_factory=set)
    registered_lambdas: set[int] = field(default_factory=set)  # id() of Lambda nodes
    registered_factories: set[str] = field(default_factory=set)  # their returned closures
    # every registered function reference by name or attribute, in source order: a library
    # grader among them (`reward_funcs=[accuracy_reward]` from `trl.rewards`) is a sink
    registered_refs: list[cst.BaseExpression] = field(default_factory=list)
    # ("." + attribute) or ("'" + key) -> was it ever assigned a literal / a non-literal
    literal_assigned: set[str] = field(default_factory=set)
    nonliteral_assigned: set[str] = field(default_factory=set)
    class_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # the module's top level, for linking the project: names it defines, what it imports
    # (local name -> absolute dotted target, resolved by project/names.import_base), its
    # constants, and attribute names that are properties anywhere in it
    top_defs: set[str] = field(default_factory=set)
    imports: dict[str, str] = field(default_factory=dict)
    constants: dict[str, object] = field(default_factory=dict)
    properties: set[str] = field(default_factory=set)
    # names that code may write as module globals: declared `global`, or the root of a
    # container mutated or stored into (`G.append(v)`, `G["k"] = v`, `G.x = v`), wherever
    # it is (a superset: what matters is a module global among them, read in a function)
    written_globals: set[str] = field(default_factory=set)
    # names bound at the top level by an assignment (what an importer may change in place)
    top_vars: set[str] = field(default_factory=set)
    # `import pkg.m` (no alias: it binds `pkg`, and the module is reached as `pkg.m`)
    dotted_imports: set[str] = field(default_factory=set)
    # the name and attributes leading to a container changed in place (`m.G.append(v)`:
    # ("m", "G"); `pkg.m.G[k] = v`: ("pkg", "m", "G")): a module's global when what comes
    # before its last part is an imported module
    written_chains: set[tuple[str, ...]] = field(default_factory=set)
    # `from m import *` at the top level: the modules, absolute, in source order; and the
    # module's own `__all__` when it is a literal list or tuple of strings (None: not
    # given, or not literal: then every public name is exported)
    star_imports: list[str] = field(default_factory=list)
    all_names: tuple[str, ...] | None = None
    # top-level containers of function references (`CHECKS = {"a": check_a, "b": m.f}`):
    # name -> the references as written, for an importer calling `CHECKS[name](x)`
    function_tables: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def literal_only(self, name: str, attr: bool) -> bool:
        """Attributes and keys are apart: ``sampling_args["thinking"] = {...}`` says nothing
        about ``block.thinking``."""
        key = ("." if attr else "'") + name
        return key in self.literal_assigned and key not in self.nonliteral_assigned


class _Scanner(cst.CSTVisitor):
    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self.out = ModuleScan()
        # name -> expressions put into the container it names (`funcs = [f]`,
        # `funcs.append(g)`, `funcs += [h]`): registering `reward_funcs=funcs` registers them
        self.members: dict[str, list[cst.BaseExpression]] = {}

    def _member(self, name: str, expr: cst.BaseExpression) -> None:
        self.members.setdefault(name, []).append(expr)

    def finish(self) -> ModuleScan:
        done: set[str] = set()
        pending = [n for n in self.out.registered_names if n in self.members]
        while pending:
            name = pending.pop()
            if name in done:
                continue
            done.add(name)
            before = set(self.out.registered_names)
            for expr in self.members[name]:
                self._register(expr)
            pending.extend(n for n in self.out.registered_names - before if n in self.members)
        return self.out

    # -- registration ---------------------------------------------------------
    def _register(self, expr: cst.BaseExpression) -> None:
        if type(expr) is cst.Name:
            self.out.registered_names.add(expr.value)
            self.out.registered_refs.append(expr)
        elif type(expr) is cst.Attribute:
            self.out.registered_names.add(expr.attr.value)
            self.out.registered_refs.append(expr)
        elif type(expr) is cst.Lambda:
            self.out.registered_lambdas.add(id(expr))
        elif type(expr) in (cst.List, cst.Tuple, cst.Set):
            for el in expr.elements:
                self._register(el.value)
        elif type(expr) is cst.Dict:
            for el in expr.elements:
                if type(el) is cst.DictElement:
                    self._register(el.value)
        elif type(expr) is cst.Call:
            callee = dotted_name(expr.func)
            if callee and callee[-1] == "partial" and expr.args:
                self._register(expr.args[0].value)
            elif callee:
                self.out.registered_factories.add(callee[-1])

    def visit_Call(self, node: cst.Call) -> None:
        callee = dotted_name(node.func) or ()
        last = callee[-1] if callee else ""
        positional = [a for a in node.args if a.keyword is None and not a.star]
        for arg in node.args:
            if arg.keyword is None:
                continue
            key = arg.keyword.value
            if key in self.vocab.registration_keywords or (
                    last in self.vocab.rubrics and key in self.vocab.rubric_keywords):
                self._register(arg.value)
            # a non-literal keyword fills a field (dataclass construction, dict(k=v)); a
            # literal one configures a call (`thinking={"type": "enabled"}`) and says
            # nothing about what `block.thinking` holds
            if not is_literal(arg.value):
                self._assigned("." + key, arg.value)
                self._assigned("'" + key, arg.value)
        if last in self.vocab.trainers:
            for slot in self.vocab.trainer_slots:
                if slot < len(positional):
                    self._register(positional[slot].value)
        if last in self.vocab.add_functions and positional:
            self._register(positional[0].value)
        if type(node.func) is cst.Attribute and type(node.func.value) is cst.Name \
                and node.func.attr.value in ("append", "extend", "insert", "add") and positional:
            self._member(node.func.value.value, positional[-1].value)
        if type(node.func) is cst.Attribute and node.func.attr.value in MUTATORS:
            self._written_root(node.func.value)
        if last in ("setdefault", "setattr") and len(positional) >= 2:
            idx = 1 if last == "setattr" else 0
            key = const_key(positional[idx].value) if idx < len(positional) else None
            if key is not None and idx + 1 < len(positional):
                prefix = "." if last == "setattr" else "'"
                self._assigned(prefix + key, positional[idx + 1].value)

    def _registry(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        name = dotted_name(target)
        if name and type(value) is cst.Dict and self.vocab.is_registry_name(name[-1]):
            self._register(value)

    # -- literal-only names ----------------------------------------------------
    def _assigned(self, key: str, value: cst.BaseExpression | None) -> None:
        (self.out.literal_assigned if is_literal(value) else
         self.out.nonliteral_assigned).add(key)

    def _target(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if type(target) in (cst.Attribute, cst.Subscript):
            self._written_root(target)
        if type(target) is cst.Attribute:
            self._assigned("." + target.attr.value, value)
        elif type(target) is cst.Subscript:
            key = subscript_key(target)
            if key is not None:
                self._assigned("'" + key, value)
        elif type(target) in (cst.Tuple, cst.List):
            for el in target.elements:
                self._target(el.value, None)

    def _written_root(self, target: cst.BaseExpression) -> None:
        root = target
        chain: list[str] = []  # the attributes from the root, outermost first
        while type(root) in (cst.Attribute, cst.Subscript):
            if type(root) is cst.Attribute:
                chain.append(root.attr.value)
            else:
                chain.clear()  # only what leads to the first subscript names a module
            root = root.value
        if type(root) is cst.Name:
            self.out.written_globals.add(root.value)
            if chain:
                self.out.written_chains.add((root.value, *reversed(chain)))

    def visit_Global(self, node: cst.Global) -> None:
        self.out.written_globals.update(n.name.value for n in node.names)

    def visit_Assign(self, node: cst.Assign) -> None:
        for t in node.targets:
            self._target(t.target, node.value)
            self._registry(t.target, node.value)
            if type(t.target) is cst.Name:
                self._member(t.target.value, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._target(node.target, node.value)
            self._registry(node.target, node.value)
            if type(node.target) is cst.Name:
                self._member(node.target.value, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._target(node.target, None)
        if type(node.target) is cst.Name:
            self._member(node.target.value, node.value)

    def visit_Dict(self, node: cst.Dict) -> None:
        for el in node.elements:
            if type(el) is cst.DictElement:
                key = const_key(el.key)
                if key is not None:
                    self._assigned("'" + key, el.value)

    # -- classes -----------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        for dec in node.decorators:
            name = dotted_name(dec.decorator)
            if name and name[-1] in PROPERTY_DECORATORS:
                self.out.properties.add(node.name.value)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        names: list[str] = []
        for stmt in node.body.body:
            if type(stmt) is cst.SimpleStatementLine:
                for small in stmt.body:
                    if type(small) is cst.AnnAssign and type(small.target) is cst.Name:
                        names.append(small.target.value)
        self.out.class_fields[node.name.value] = tuple(names)


def _strings(expr: cst.BaseExpression) -> tuple[str, ...] | None:
    """A literal list or tuple of strings (``__all__ = ["a", "b"]``); None otherwise."""
    from leakcheck.graph.exprs import literal_value

    if type(expr) not in (cst.List, cst.Tuple):
        return None
    out = []
    for el in expr.elements:
        value = literal_value(el.value) if type(el) is cst.Element else None
        if not isinstance(value, str):
            return None
        out.append(value)
    return tuple(out)


def _references(expr: cst.BaseExpression) -> tuple[str, ...] | None:
    """The dotted names a literal list, tuple, set or dict (its values) holds when each
    item is a plain name or dotted reference; None otherwise."""
    if type(expr) in (cst.List, cst.Tuple, cst.Set):
        items = [el.value for el in expr.elements if type(el) is cst.Element]
        if len(items) != len(expr.elements):
            return None
    elif type(expr) is cst.Dict:
        items = [el.value for el in expr.elements if type(el) is cst.DictElement]
        if len(items) != len(expr.elements):
            return None
    else:
        return None
    out = []
    for item in items:
        dotted = dotted_name(item) if type(item) in (cst.Name, cst.Attribute) else None
        if not dotted:
            return None
        out.append(".".join(dotted))
    return tuple(out) or None


def _top_level(module: cst.Module, out: ModuleScan, module_name: str, is_package: bool) -> None:
    from leakcheck.graph.exprs import _NOT_CONST, literal_value

    all_names: tuple[str, ...] | None = None
    dynamic_all = False  # `__all__` changed in a way not read here: every public name
    for stmt in module.body:
        if type(stmt) in (cst.FunctionDef, cst.ClassDef):
            out.top_defs.add(stmt.name.value)
            continue
        if type(stmt) in (cst.If, cst.Try):  # `if TYPE_CHECKING:`, try-imports
            inner = stmt.body.body if type(stmt.body) is cst.IndentedBlock else []
        else:
            inner = [stmt]
        for line in inner:
            if type(line) is not cst.SimpleStatementLine:
                if type(line) in (cst.FunctionDef, cst.ClassDef):
                    out.top_defs.add(line.name.value)
                continue
            for small in line.body:
                if type(small) is cst.ImportFrom and type(small.names) is cst.ImportStar:
                    out.star_imports.append(import_base(
                        module_name, is_package, len(small.relative),
                        dotted_name(small.module) if small.module is not None else None)
                        or "")
                    continue
                if type(small) in (cst.Import, cst.ImportFrom):
                    prefix = ""
                    if type(small) is cst.ImportFrom:
                        prefix = import_base(module_name, is_package, len(small.relative),
                                             dotted_name(small.module)
                                             if small.module is not None else None)
                    for alias in small.names:
                        dotted = ".".join(dotted_name(alias.name) or ())
                        target = f"{prefix}.{dotted}".lstrip(".") \
                            if type(small) is cst.ImportFrom else dotted
                        if alias.asname is not None and type(alias.asname.name) is cst.Name:
                            out.imports[alias.asname.name.value] = target
                        elif type(small) is cst.ImportFrom or "." not in dotted:
                            out.imports[dotted] = target
                        else:  # `import pkg.m`: reached as `pkg.m.x`
                            out.dotted_imports.add(dotted)
                elif type(small) in (cst.Assign, cst.AnnAssign) and small.value is not None:
                    targets = [t.target for t in small.targets] \
                        if type(small) is cst.Assign else [small.target]
                    table = _references(small.value)
                    for t in targets:
                        if type(t) is cst.Name and table:
                            out.function_tables[t.value] = table
                        if type(t) is cst.Name and t.value == "__all__":
                            # (a second assignment, in an `if` or `try` perhaps: not read)
                            dynamic_all = dynamic_all or all_names is not None
                            all_names = _strings(small.value)
                            dynamic_all = dynamic_all or all_names is None
                        if type(t) is cst.Name:
                            out.top_vars.add(t.value)
                            value = literal_value(small.value)
                            if value is not _NOT_CONST and isinstance(value, (str, int, float)):
                                out.constants[t.value] = value
                        elif type(t) is cst.Tuple and type(small.value) is cst.Tuple:
                            for el, v in zip(t.elements, small.value.elements, strict=False):
                                value = literal_value(v.value)
                                if type(el.value) is cst.Name and value is not _NOT_CONST \
                                        and isinstance(value, (str, int, float)):
                                    out.constants[el.value.value] = value
                elif type(small) is cst.AugAssign and type(small.target) is cst.Name and \
                        small.target.value == "__all__":
                    more = _strings(small.value)
                    if more is None or all_names is None:
                        dynamic_all = True
                    else:
                        all_names = all_names + more
    if all_names is not None and not dynamic_all and "__all__" not in out.written_globals:
        out.all_names = all_names  # (`__all__.append(...)` is in written_globals)


def scan_module(module: cst.Module, vocab: Vocabulary, module_name: str = "",
                is_package: bool = False) -> ModuleScan:
    scanner = _Scanner(vocab)
    walk(module, scanner)  # a read-only pass: module.visit would rebuild every node
    out = scanner.finish()
    _top_level(module, out, module_name, is_package)
    return out
