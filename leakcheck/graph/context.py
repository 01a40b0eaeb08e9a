"""Per-module building state: the networkx graph, node keys and positions, recorded sinks.

Graph nodes are plain tuples ``(scope, start_line, start_col, end_line, end_col, tag)``,
never CST objects, so the graph is stable across runs and processes. Node attributes carry
what the report needs: ``span``, ``message``, ``step`` (the kind of step) and, for sources,
``source_kind``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import libcst as cst
import networkx as nx

from leakcheck.graph.edges import add_edges
from leakcheck.graph.nodetypes import EXPRESSIONS
from leakcheck.graph.regex import RegexReader
from leakcheck.graph.values import NodeId, Nodes, Value
from leakcheck.positions import Positions
from leakcheck.ruleset.match import Vocabulary
from leakcheck.types import Span, lean_value

SNIPPET_LIMIT = 60
# small statements whose syntactic range is all of their code but a semicolon
_SLICED_STATEMENTS = frozenset({cst.Return, cst.Assign, cst.AugAssign, cst.AnnAssign, cst.Expr})
_CHECK_SLICES = bool(os.environ.get("LEAKCHECK_CHECK_SLICES"))  # tests: slice == codegen


@lean_value
@dataclass(frozen=True, slots=True)
class SinkRecord:
    node: NodeId
    span: Span
    scope: str
    description: str  # e.g. "`verify()`", "`rewards`", "return of `accuracy_reward`"
    code: str  # normalized source text of the sink, for fingerprints
    # (function, parameter): a call of that callable parameter, a sink only when some caller
    # passes a grader's method for it (``apply(judge.grade, text)``), as linking finds
    when: tuple[str, str] | None = None


@lean_value
@dataclass(frozen=True, slots=True)
class Target:
    """What a call into the project refers to, resolved at link time."""

    kind: str  # "function" (a qualified name) | "method" (class, name) | "super" |
    # "functions" (each of ``names``: a merge of references)
    name: str  # function qualname, or the class qualname for methods
    method: str | None = None
    property_read: bool = False  # `obj.prop`: a call only if `prop` is a @property
    attribute: str | None = None  # "attr_method": `self.<attribute>.<method>()`
    via: tuple | None = None  # "returned": the result base of the call that made the callee
    names: tuple[str, ...] = ()  # "functions": the qualified names


@lean_value
@dataclass(frozen=True, slots=True)
class CallSite:
    """A call whose callee is linked later: the arguments as this caller saw them, and the
    base key of the symbolic result (``("ret", site)``)."""

    base: tuple
    span: Span
    scope: str
    code: str
    target: Target
    positional: tuple[Value, ...]
    keywords: tuple[tuple[str, Value], ...]
    spread: Nodes  # taint of *args / **kwargs whose arity is unknown here
    receiver: Value | None = None  # `obj` of `obj.m()`: what a library method sees
    star_forward: tuple | None = None  # caller's own *args passed on as `*args`
    kw_forward: tuple | None = None  # caller's own **kwargs passed on as `**kwargs`


@lean_value
@dataclass(frozen=True, slots=True)
class Param:
    name: str
    kind: str  # "positional" | "keyword" | "star" | "kwstar" | "self"


@lean_value
@dataclass(frozen=True, slots=True)
class FunctionData:
    qualname: str
    params: tuple[Param, ...]
    ret: Value  # join of every return (a generator: a collection of what it yields)
    class_qualname: str | None  # the class a method belongs to
    is_property: bool
    decorators: tuple[str, ...] = ()  # qualnames of plain-name decorators, outermost first
    # no body to speak of (`...`, `pass`, `raise NotImplementedError`) or `@abstractmethod`:
    # what a call of it runs is a subclass's override
    abstract: bool = False


@dataclass
class ClassData:
    qualname: str
    bases: tuple[str, ...]  # qualified names as written (resolved at link time)
    methods: dict[str, str]  # name -> function qualname
    attr_functions: dict[str, set[str]]  # `self.fn = f`: attribute -> function qualnames
    # `self.manager = manager` where manager is a known class: attribute -> class qualnames
    attr_types: dict[str, set[str]] = field(default_factory=dict)
    # `self.reward_fn = reward_fn` (a parameter): attribute -> (function, parameter)
    attr_params: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    # `self.fn = judge.grade` (also a partial of it): attribute -> (how the grader is
    # written, the taint a partial bound); `self.fn(text)` is a grader call (linking)
    attr_graders: dict[str, set[tuple[str, frozenset]]] = field(default_factory=dict)
    # names the class body binds to a mutable container (`history = []`): one object that
    # every instance of the class and of its subclasses changes in place
    shared_attrs: frozenset[str] = frozenset()


class ModuleContext:
    def __init__(self, module: cst.Module, path: str, positions: Positions,
                 vocab: Vocabulary, regex: RegexReader, module_name: str = "") -> None:
        self.module = module
        self.path = path
        self.module_name = module_name
        self.positions = positions
        self.vocab = vocab
        self.regex = regex
        self.graph: nx.DiGraph = nx.DiGraph()
        self.sinks: dict[NodeId, SinkRecord] = {}
        self.callsites: dict[tuple, CallSite] = {}
        self.functions: dict[str, FunctionData] = {}
        self.classes: dict[str, ClassData] = {}
        # base key of a symbolic value -> (span, description) for its token nodes' steps
        self.bases: dict[tuple, tuple[Span, str]] = {}
        self.decorators: dict[str, tuple[str, ...]] = {}
        self._code_cache: dict[int, str] = {}
        self.remote_calls: dict[int, cst.Call] = {}  # `f.remote(x)` -> `f(x)` (calls.py)
        self.written_funcs: dict[int, cst.BaseExpression] = {}  # and back: `f.remote`

    def qualname(self, scope: str) -> str:
        return f"{self.module_name}.{scope}" if scope else self.module_name

    # -- positions and text ----------------------------------------------------
    def span(self, node: cst.CSTNode) -> Span:
        r = self.positions.raw(node)  # the tuple, without a CodeRange
        if r is None:
            return Span(self.path, 1, 1, 1, 1)
        return Span(self.path, r[0], r[1] + 1, r[2], r[3] + 1)

    def code(self, node: cst.CSTNode, limit: int = SNIPPET_LIMIT) -> str:
        key = id(node)
        text = self._code_cache.get(key)
        if text is None:
            sliced = self._sliced(node)
            if sliced is not None:
                text = sliced
            else:
                try:
                    text = self.module.code_for_node(node)
                except Exception:  # a node libcst cannot render alone: keep the report going
                    text = type(node).__name__
            if _CHECK_SLICES and sliced is not None and key not in self.written_funcs:
                # the same once spaces are normalized (a rewritten Ray call shows as written)
                assert sliced.split() == self.module.code_for_node(node).split(), sliced
            text = " ".join(text.split())
            self._code_cache[key] = text
        if len(text) > limit:
            return text[: limit - 1] + "…"
        return text

    def _sliced(self, node: cst.CSTNode) -> str | None:
        """An expression's code cut from the module's text by its range, instead of a code
        generation pass per snippet (most of them are expressions). Only where the two are
        the same: an expression without parentheses of its own (the range is inside them)
        and not a starred element (its comma is outside), or one of the small statements
        that become sinks' snippets (``return [judge(c) for c in completions]``) without a
        semicolon of its own (libcst writes it, the range ends before it)."""
        kind = type(node)
        if kind in _SLICED_STATEMENTS:
            if type(node.semicolon) is cst.Semicolon:  # type: ignore[attr-defined]
                return None
        elif kind not in EXPRESSIONS or getattr(node, "lpar", None) or \
                kind is cst.StarredElement:
            return None
        return self.positions.text(node)

    # -- graph -------------------------------------------------------------------
    def node(self, scope: str, at: cst.CSTNode, tag: str, message: str, step: str = "flow",
             source_kind: str | None = None) -> NodeId:
        span = self.span(at)
        key: NodeId = (self.path, scope, span.start_line, span.start_column, span.end_line,
                       span.end_column, tag)
        if key not in self.graph:
            attrs: dict[str, object] = {"message": message, "step": step}  # span: node_span
            if source_kind is not None:
                attrs["source_kind"] = source_kind
                attrs["label"] = self.code(at, 40)
            self.graph.add_node(key, **attrs)
        return key

    def flow(self, sources: Nodes, target: NodeId) -> None:
        """An edge from each of ``sources`` into ``target`` (``build_module`` clears the
        graph's cache once when it is done)."""
        add_edges(self.graph, sources, target)

    def sink(self, scope: str, at: cst.CSTNode, tag: str, description: str, message: str,
             tainted: Nodes, when: tuple[str, str] | None = None) -> None:
        node = self.node(scope, at, "sink:" + tag, message, step="sink")
        self.flow(tainted, node)
        if node not in self.sinks:
            self.sinks[node] = SinkRecord(node, self.span(at), scope, description,
                                          self.code(at, limit=200), when)
