"""Link stage 2: connect every module's graph into one project graph through summaries.

Each function was analyzed once with symbolic parameters. Its *summary* for an access path
of its return value is the set of roots that reach it: its own parameter tokens and the
sources inside it. At each call site the caller's symbolic result token for that path gets
an edge from what this caller passed for each parameter root — so a helper taints its result
only where its argument is tainted (context sensitivity) — and from each internal source.
Separately, every parameter token receives what every caller passes, so a sink inside a
helper is reached from any tainted call site. Only what a sink can be reached from is
linked: a backward search from the sinks links each token it meets, and a summary is
computed when a call's result token first needs it, callees before callers; a recursion's
SCC is linked whole and iterates to a fixed point.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable

import networkx as nx

from leakcheck.graph.context import CallSite, FunctionData, ModuleContext, Param, SinkRecord
from leakcheck.graph.edges import add_edges, clear_cache
from leakcheck.graph.facts import FunctionRef, FunctionRefs, SinkMethod
from leakcheck.graph.values import (
    DEEP,
    REST,
    SHARED_BASES,
    Value,
    component,
    deep,
    held_references,
    item_key,
    join,
    sym_node,
    sym_value,
)
from leakcheck.project.index import ProjectIndex
from leakcheck.types import Span

MAX_SCC_ROUNDS = 8
Summary = tuple[frozenset, frozenset]  # (roots, the roots that are not the own parameters)
HUB_MIN = 4  # an argument of this many nodes reaches a call's result tokens through a hub


def _absorb(graph: nx.DiGraph, part: nx.DiGraph) -> None:
    """``graph.update(part)`` for a module graph that is not used on its own afterwards
    (its dicts are changed): its node, adjacency and attribute dicts move over as they are
    (networkx's update copies them one entry at a time, a third of the linker's time on a
    large tree). Nodes keep networkx's order; a node two modules share has its entries
    merged as update does."""
    nodes, succ, pred = graph._node, graph._succ, graph._pred
    # the few nodes modules share (tokens of a class's attributes, of a global) merge into
    # the graph's own entries, which then stand in for the part's; everything else moves
    # over in three dict updates (a loop per node was a tenth of the linker's time)
    for n in sorted(part._node.keys() & nodes.keys(), key=repr):
        nodes[n].update(part._node[n])
        for own, theirs in ((succ[n], part._succ[n]), (pred[n], part._pred[n])):
            for other, data in theirs.items():
                edge = own.get(other)
                if edge is None:
                    own[other] = data
                else:
                    edge.update(data)
        part._node[n], part._succ[n], part._pred[n] = nodes[n], succ[n], pred[n]
    nodes.update(part._node)
    succ.update(part._succ)
    pred.update(part._pred)
    clear_cache(graph)


class Linker:
    def __init__(self, index: ProjectIndex, modules: list[ModuleContext]) -> None:
        self.index = index
        self.graph: nx.DiGraph = nx.DiGraph()
        self.functions: dict[str, FunctionData] = {}
        self.classes: dict = {}
        self.bases: dict[tuple, tuple] = {}
        self.sites: list[tuple[str, CallSite]] = []  # (caller qualname, site)
        self.caller_of: dict[tuple, str] = {}
        for ctx in modules:
            _absorb(self.graph, ctx.graph)
            self.functions.update(ctx.functions)
            self.classes.update(ctx.classes)
            for base, described in ctx.bases.items():
                if isinstance(base[0], tuple):  # (global base, name): its first write
                    self.bases.setdefault(base, described)
                else:
                    self.bases[base] = described
            for site in ctx.callsites.values():
                self.sites.append((ctx.qualname(site.scope), site))
                self.caller_of[site.base] = ctx.qualname(site.scope)
        self.tokens: dict[tuple, list[tuple[tuple[str, ...], tuple]]] = defaultdict(list)
        self.known: set[tuple] = set()
        for node in self.graph.nodes:
            if node[0] == "sym":
                self.known.add(node)
                self.tokens[node[1]].append((node[2], node))
        # in a fixed order: the builder adds a value's tokens in set order, and what a token
        # brings depends on what was linked before it (as in ``_ensure_tokens``)
        for found in self.tokens.values():
            found.sort(key=lambda t: repr(t[0]))
        self.site_by_base = {site.base: site for _, site in self.sites}
        self.sites_of: dict[str, list[CallSite]] = defaultdict(list)
        for caller, site in self.sites:
            self.sites_of[caller].append(site)
        self._targets: dict[tuple, list[str] | None] = {}
        self._callables: dict[tuple[str, str], set[str]] | None = None
        self._callables_ready = False
        self._graders_passed: frozenset[tuple[str, str]] = frozenset()  # by callables()
        self.linked: set[tuple] = set()
        # function -> access path -> (roots, the roots that are not its own parameters);
        # by function, so an SCC round drops a member's summaries in one step
        self._summaries: dict[str, dict[tuple[str, ...], Summary]] = defaultdict(dict)
        # function -> start nodes -> its summary: access paths whose components are the same
        # nodes share one search
        self._by_start: dict[str, dict[frozenset, Summary]] = defaultdict(dict)
        self._root_order: dict[frozenset, tuple] = {}
        # A summary's roots other than the callee's own parameters are the same for every
        # call site: instead of an edge from each such root to each call's result token
        # (trl: 930,000 edges), one hub node per distinct root set takes them and each token
        # gets one edge from its hub, marked with the (callee, path) it stands for. The
        # solver reads a hub's roots as the token's own predecessors, so reachability and
        # witnesses are those of the direct edges.
        self._hubs: dict[frozenset, tuple] = {}
        self._bound: dict[tuple, dict[str, Value]] = {}  # (site, callee) -> bind()
        self._shared: dict[tuple, frozenset] = {}  # self attribute token -> _shared_roots
        self._arguments: dict[tuple, frozenset] = {}  # (site, callee, param token) -> nodes
        self._edges_added = 0  # by _add_edge: whether an SCC round changed the graph
        # callee -> every call into it: its parameter tokens hear them all
        self._calls_into: dict[str, list[CallSite]] = defaultdict(list)
        self.library_sites: set[tuple] = set()  # result bases of calls outside the project
        # tokens whose edges from calls are made (``_materialize``): only those a search
        # from the sinks, a summary or a witness meets
        self._materialized: set[tuple] = set()
        # recursive SCCs of the call graph: member -> SCC number, and SCC -> its members
        self._scc_of: dict[str, int] = {}
        self._scc_members: list[list[str]] = []
        self._scc_started: set[int] = set()  # SCCs whose rounds run or ran
        # class -> the other classes whose methods may run on its instances (``sharers_of``)
        self._sharers: dict[str, tuple[str, ...]] = {}  # by sharers_of, on demand
        self._class_attr_sharers: dict[tuple[str, str], tuple[str, ...]] = {}
        self._shared_attrs_of: dict[str, frozenset[str]] = {}  # by _sharers_of
        self._bases_of: dict[str, list[str]] = {}  # by _direct_bases
        # a materialized self token -> the edges into it before (its own class's writes)
        self._own_writes: dict[tuple, tuple] = {}
        self._mro: dict[str, tuple[str, ...]] = {}
        self._subs: dict[str, tuple[str, ...]] = {}  # by _subclasses_of, on demand
        self._children: dict[str, list[str]] | None = None  # by _subclasses_of
        # members of recursive SCCs whose rounds are done; while a late summary of one is
        # iterated (``_late_summary``): the summaries it computed of such members, and the
        # call result tokens met meanwhile
        self._recursive_done: set[str] = set()
        self._late: list[tuple[str, tuple[str, ...], frozenset]] | None = None
        self._late_tokens: list[tuple[CallSite, tuple[str, ...], tuple]] = []
        # reads of a shared attribute's or global's keys hear what writes left unnamed
        for base in sorted((b for b in self.tokens if b[0] in SHARED_BASES), key=repr):
            for path, token in list(self.tokens[base]):
                self._hear_rest(base, path, token)

    # -- resolution ----------------------------------------------------------------
    def resolve_name(self, dotted: str) -> str | None:
        if dotted in self.functions or dotted in self.classes:
            return dotted
        hit = self.index.resolve(dotted)
        if hit is None or hit.kind != "def":
            return None
        return hit.name if (hit.name in self.functions or hit.name in self.classes) else None

    def mro(self, cls: str) -> tuple[str, ...]:
        if cls in self._mro:
            return self._mro[cls]
        self._mro[cls] = (cls,)  # cycles in bases terminate here
        bases = self._direct_bases(cls)
        if len(bases) == 1 and cls not in (only := self.mro(bases[0])):
            # one base: its MRO after the class, copied at C speed (4,000 classes in a chain
            # have 8M entries in their MROs)
            self._mro[cls] = (cls, *only)
            return self._mro[cls]
        out: dict[str, None] = {cls: None}  # (ordered; a list's `in` made a long chain cubic)
        for resolved in bases:  # (a class already in keeps its place)
            out.update(dict.fromkeys(self.mro(resolved)))
        self._mro[cls] = tuple(out)
        return self._mro[cls]

    def _direct_bases(self, cls: str) -> list[str]:
        """The project classes ``cls`` names as its bases, in order (memoized: ``mro``,
        ``_subclasses_of`` and ``sharers_of`` ask)."""
        out = self._bases_of.get(cls)
        if out is None:
            data = self.classes.get(cls)
            out = self._bases_of[cls] = [
                r for r in (self.resolve_name(b) for b in (data.bases if data else ()))
                if r is not None and r in self.classes]
        return out

    def method(self, cls: str, name: str, skip_first: bool = False) -> list[str]:
        """What calling ``name`` on an instance of ``cls`` may run: the method its MRO
        finds; when that one is abstract (``...``, ``raise NotImplementedError``,
        ``@abstractmethod``), every override in a subclass of ``cls`` in the project too (the
        instance is one of them: ``self.compute()`` in a base's method, ``agg(x)`` with
        ``agg: Aggregator``). ``super()`` (``skip_first``) and a constructor's ``__init__``
        run exactly the method found."""
        order = self.mro(cls)[1:] if skip_first else self.mro(cls)
        for c in order:
            data = self.classes[c]
            if name in data.methods:
                first = data.methods[name]
                if skip_first or name == "__init__" or not self._abstract(first):
                    return [first]
                found = [first]
                for sub in self._subclasses_of(cls):
                    own = self.classes[sub].methods.get(name)
                    if own is not None and own not in found:
                        found.append(own)
                return found
        found: set[str] = set()
        for c in order:
            for q in self.classes[c].attr_functions.get(name, ()):
                f = self.resolve_name(q)
                if f:
                    found.add(f)
            for func, param in self.classes[c].attr_params.get(name, ()):
                found |= self.callables(func, param)
            for q in self.classes[c].attr_types.get(name, ()):  # `self.checker(text)`
                owner = self.resolve_name(q)
                if owner in self.classes and owner != cls:
                    found.update(self.method(owner, "__call__"))
        return sorted(self.decorated(f) for f in found)

    def _abstract(self, func: str) -> bool:
        data = self.functions.get(func)
        return data is not None and data.abstract

    def _subclasses_of(self, cls: str) -> tuple[str, ...]:
        """Every project class that has ``cls`` as a base, transitively, sorted; found when
        first asked (a chain of N classes has N^2/2 such pairs, and a search asks about
        the few classes whose attributes it meets)."""
        hit = self._subs.get(cls)
        if hit is None:
            if self._children is None:  # each class's direct subclasses, once
                self._children = defaultdict(list)
                for c in self.classes:  # (the subclasses found are sorted)
                    for b in dict.fromkeys(self._direct_bases(c)):
                        self._children[b].append(c)
            children = self._children
            seen: set[str] = set()
            stack = [cls]
            while stack:
                for c in children.get(stack.pop(), ()):
                    if c not in seen:
                        seen.add(c)
                        stack.append(c)
            seen.discard(cls)  # (a cycle of bases leads back)
            hit = self._subs[cls] = tuple(sorted(seen))
        return hit

    def callables(self, func: str, param: str) -> set[str]:
        """Functions that may be bound to a callable parameter: passed by a caller (also
        through the caller's own parameter, ``super().__init__(tok, reward_fn)``), or the
        function a decorator is applied to (its first parameter)."""
        if self._callables is None:
            self._callables = {}  # while computing: attribute calls resolve to methods only
            found: dict[tuple[str, str], set[str]] = defaultdict(set)
            passes: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
            for q, data in self.functions.items():
                for deco in data.decorators:
                    d = self.resolve_name(deco)
                    if d in self.functions:
                        first = next((p.name for p in self.functions[d].params
                                      if p.kind == "positional"), None)
                        if first is not None:
                            found[(d, first)].add(q)
            graders: set[tuple[str, str]] = set()
            for _caller, site in self.sites:
                if site.target.kind in ("param", "returned"):
                    continue
                for callee in self.targets(site) or ():
                    if callee not in self.functions:
                        continue
                    for name, value in self._actual(site, callee).items():
                        # a function, or functions in a list or dict it passes
                        for held in held_references(value):
                            if isinstance(held, SinkMethod):
                                graders.add((callee, name))
                                continue
                            for q in (held.qualnames if isinstance(held, FunctionRefs)
                                      else (held.qualname,)):
                                ref = self.resolve_name(q)
                                if ref in self.functions:
                                    found[(callee, name)].add(ref)
                        for base, path in value.syms:
                            if base[0] == "param" and path == ():
                                passes[(base[1], base[2])].add((callee, name))
            changed = True
            while changed:  # what a parameter receives, it passes on
                changed = False
                for src, dsts in passes.items():
                    for dst in dsts:
                        before = len(found[dst])
                        found[dst] |= found.get(src, set())
                        changed |= len(found[dst]) != before
                        if src in graders and dst not in graders:
                            graders.add(dst)
                            changed = True
            self._graders_passed = frozenset(graders)
            self._callables = dict(found)
            self._callables_ready = True
        return self._callables.get((func, param), set())

    def sink_applies(self, record: SinkRecord) -> bool:
        """A sink, or a call of a callable parameter that some caller gives a grader's
        method (directly, or through parameters of its own)."""
        if record.when is None:
            return True
        self.callables("", "")
        return record.when in self._graders_passed

    def attribute_sinks(self, taken: set[Span]) -> list[SinkRecord]:
        """Calls of a grader's method kept on an object: ``self.fn = judge.grade`` (or a
        parameter some caller gives a grader's method, ``self.fn = fn``), then
        ``self.fn(text)`` or ``obj.fn(text)`` in code that knows the class. The attribute
        may be set in the class, a base or a subclass (``self`` in a base's method may be
        the subclass's). Each such call is a sink of every argument, and of what a partial
        bound; a node of its own is added to the graph (before linking, which searches
        back from it). ``taken``: the spans of calls that are sinks already (``self.grade``
        is a grader by its name)."""
        self.callables("", "")
        # class -> attribute -> (what the message calls the grader, the description's
        # note, the taint a partial bound)
        held: dict[str, dict[str, list[tuple[str, str, frozenset]]]] = defaultdict(dict)
        for cls in sorted(self.classes):
            data = self.classes[cls]
            for attr, graders in data.attr_graders.items():
                for code, bound in sorted(graders, key=repr):
                    held[cls].setdefault(attr, []).append(
                        (f"grader `{code}`", f" (`{code}`)", bound))
            for attr, params in data.attr_params.items():
                for func, param in sorted(params):
                    if (func, param) in self._graders_passed:
                        held[cls].setdefault(attr, []).append(
                            (f"the grader given as `{param}`", "", frozenset()))
        if not held:
            return []
        out: dict[tuple, SinkRecord] = {}
        for _caller, site in self.sites:
            t = site.target
            if t.kind != "method" or t.property_read or not t.method:
                continue
            cls = self.resolve_name(t.name)
            if cls is None or cls not in self.classes:
                continue
            found = [g for c in (cls, *self.sharers_of(cls)) for g in
                     held.get(c, {}).get(t.method, ())]
            if not found:
                continue
            span = site.span
            if span in taken:
                continue
            node = (span.path, site.scope, span.start_line, span.start_column, span.end_line,
                    span.end_column, "sink:attr-call")
            taint = self._argument_taint(site)
            for _, _, bound in found:
                taint |= bound
            grader, note, _ = found[0]
            if node not in self.graph:
                self.graph.add_node(node, message=f"passed to {grader} as `{site.code}()`",
                                    step="sink")
            for token in taint:  # as if the module graph had them (``__init__``)
                if token[0] == "sym" and token not in self.known:
                    self.known.add(token)
                    self.tokens[token[1]].append((token[2], token))
                    self.tokens[token[1]].sort(key=lambda t: repr(t[0]))
            add_edges(self.graph, taint, node)
            out.setdefault(node, SinkRecord(node, span, site.scope, f"`{site.code}()`{note}",
                                            site.code))
        clear_cache(self.graph)
        return list(out.values())

    def forwards(self, wrapper: str, decorator: str) -> bool:
        """A wrapper that only passes its own ``*args, **kwargs`` on to the decorated
        function behaves as that function."""
        data = self.functions[wrapper]
        star = next((p.name for p in data.params if p.kind == "star"), None)
        kwstar = next((p.name for p in data.params if p.kind == "kwstar"), None)
        for site in self.sites_of.get(wrapper, ()):
            if site.target.kind == "param" and site.target.name == decorator:
                return (not site.positional and not site.keywords
                        and (site.star_forward or (None, None, None))[2] == star
                        and (site.kw_forward or (None, None, None))[2] == kwstar)
        return False

    def decorated(self, func: str) -> str:
        """What calling a decorated function runs: the wrapper a project decorator returns
        (``@timed`` -> ``timed.<locals>.wrapper``), or the function itself when the
        decorator returns it unchanged or is outside the project."""
        current = func
        data = self.functions.get(func)
        for deco in reversed(data.decorators if data is not None else ()):
            d = self.resolve_name(deco)
            ret = self.functions[d].ret.info if d in self.functions else None
            wrapper = self.resolve_name(ret.qualname) if isinstance(ret, FunctionRef) else None
            if wrapper is not None and wrapper in self.functions and wrapper != d and \
                    not self.forwards(wrapper, d):
                current = wrapper
        return current

    def targets(self, site: CallSite) -> list[str] | None:
        """Callee qualnames; None when the callee is outside the project (a library).
        Memoized once callable parameters are known: the class and module structure does
        not change while linking."""
        if site.base in self._targets:
            return self._targets[site.base]
        found = self._resolve_targets(site)
        if self._callables is not None and self._callables_ready:
            self._targets[site.base] = found
        return found

    def _resolve_targets(self, site: CallSite) -> list[str] | None:
        t = site.target
        if t.kind == "returned":
            maker = self.site_by_base.get(t.via)
            found = []
            for f in (self.targets(maker) or ()) if maker is not None else ():
                info = self.functions[f].ret.info if f in self.functions else None
                made = self.resolve_name(info.qualname) if isinstance(info, FunctionRef) else None
                if made in self.functions:
                    found.append(self.decorated(made))
            return found or None
        if t.kind == "param":
            found = sorted(self.callables(t.name, t.method or ""))
            return [self.decorated(f) for f in found] or None
        if t.kind == "function":
            q = self.resolve_name(t.name)
            if q is None:
                return None
            if q in self.classes:
                return self.method(q, "__init__") or []
            return [self.decorated(q)]
        if t.kind == "functions":  # each of a merge of references, all project functions
            found = []
            for name in t.names:  # (one outside the project, or a class: the call is an
                q = self.resolve_name(name)  # unknown one, its result every argument's)
                if q is None or q in self.classes:
                    return None
                found.append(self.decorated(q))
            return list(dict.fromkeys(found))
        cls = self.resolve_name(t.name)
        if cls is None or cls not in self.classes:
            return None if not t.property_read else []
        if t.kind == "attr_method":
            found = []
            for c in self.mro(cls):
                for q in sorted(self.classes[c].attr_types.get(t.attribute or "", ())):
                    owner = self.resolve_name(q)
                    if owner in self.classes:
                        found.extend(self.method(owner, t.method or ""))
            return found or None
        found = self.method(cls, t.method or "", skip_first=t.kind == "super")
        if t.property_read:
            return [f for f in found if self.functions.get(f) and self.functions[f].is_property]
        return found if found else None

    # -- binding -------------------------------------------------------------------
    @staticmethod
    def bind(params: tuple[Param, ...], site: CallSite) -> dict[str, Value]:
        """What each parameter receives at this call site."""
        out: dict[str, Value] = {}
        positional = list(site.positional)
        keywords = dict(site.keywords)
        names = [p for p in params if p.kind != "self"]
        star = next((p.name for p in names if p.kind == "star"), None)
        kwstar = next((p.name for p in names if p.kind == "kwstar"), None)
        slots = [p.name for p in names if p.kind == "positional"]
        for i, value in enumerate(positional):
            if i < len(slots):
                out[slots[i]] = value
            elif star is not None:
                extra = out.get(star, Value())
                fields = dict(extra.fields)
                fields[item_key(i - len(slots))] = value
                out[star] = Value(elem=join(extra.elem, value),
                                  fields=tuple(sorted(fields.items())))
        rest: dict[str, Value] = {}
        for k, value in keywords.items():
            if any(p.name == k and p.kind in ("positional", "keyword") for p in names):
                out[k] = join(out.get(k), value)
            else:
                rest[item_key(k)] = value
        if site.star_forward is not None:  # f(*args): position j is the caller's args[k]
            base = site.star_forward
            for k, slot in enumerate(slots[len(positional):]):
                out[slot] = join(out.get(slot), sym_value(base, (item_key(k),)))
            if star is not None:
                out[star] = join(out.get(star), sym_value(base))
        if site.kw_forward is not None:  # f(**kwargs): each unbound name may come through
            base = site.kw_forward
            for p in names:
                if p.kind in ("positional", "keyword") and p.name not in out:
                    out[p.name] = sym_value(base, (item_key(p.name),))
            if kwstar is not None:
                out[kwstar] = join(out.get(kwstar), sym_value(base))
        if kwstar is not None and rest:
            out[kwstar] = join(out.get(kwstar), Value(fields=tuple(sorted(rest.items()))))
        if site.spread:  # *args / **kwargs of unknown arity: any parameter may receive them
            for p in names:
                out[p.name] = join(out.get(p.name), Value(shape=site.spread))
        return out

    # -- summaries -----------------------------------------------------------------
    def summary(self, func: str, path: tuple[str, ...]) -> frozenset:
        """Roots reaching access path ``path`` of ``func``'s return value: its parameter
        tokens and the sources anywhere upstream (through self attributes, globals)."""
        hit = self._summaries[func].get(path)
        if hit is not None:
            return hit[0]
        if self._ensure_scc(func):  # its rounds first, as if its callers came after it
            hit = self._summaries[func].get(path)
            if hit is not None:
                return hit[0]
        if func in self._recursive_done and self._late is None:
            return self._late_summary(func, path)
        return self._summary(func, path)

    def _late_summary(self, func: str, path: tuple[str, ...]) -> frozenset:
        """A summary of a recursive function asked for only after its SCC's rounds (by a
        caller, for an access path no member asked for): the result tokens of the calls
        inside the recursion for that path are met only now, each linked with the summary
        as it stood when it was met. Iterate as the rounds do: link them again with the
        summaries just computed, until that adds no edge. What was summarized before stays
        true: tokens met now only gain edges into them, and no earlier search reaches a new
        token."""
        self._late = []
        self._late_tokens = []
        try:
            result = frozenset()
            for _ in range(MAX_SCC_ROUNDS):
                edges = self._edges_added
                for site, p, token in list(self._late_tokens):
                    self.link_result(site, p, token)
                result = self._summary(func, path)
                if self._edges_added == edges:
                    break
                for f, p, start in self._late:  # may have grown: search again
                    self._summaries[f].pop(p, None)
                    self._by_start[f].pop(start, None)
                self._late.clear()
            return result
        finally:
            self._late = None
            self._late_tokens = []

    def _summary(self, func: str, path: tuple[str, ...]) -> frozenset:
        known = self._summaries[func]
        data = self.functions[func]
        start = component(data.ret, path)
        self._ensure_tokens(start)  # a result token met only in the return value: its edges
        if path in known:  # asked for again while its new tokens were linked
            return known[path][0]
        if self._late is not None and func in self._recursive_done:
            self._late.append((func, path, start))
        same = self._by_start[func].get(start)
        if same is not None:  # another access path of the same nodes (about half of them)
            known[path] = same
            return same[0]
        roots: set = set()
        params: set = set()
        seen = set(start)
        queue = deque(start)
        # networkx's own adjacency and attribute dicts, read directly: this loop is the
        # linker's hot spot and the view objects cost more than the walk (same graph)
        preds = self.graph._pred
        attrs = self.graph._node
        caller_of = self.caller_of
        while queue:
            node = queue.popleft()
            if node[0] == "sym":
                base = node[1]
                kind = base[0]
                if kind == "param":
                    if base[1] == func:
                        params.add(node)
                        continue  # callers' arguments are not this function's business
                    # another function's parameter or call result (met through a self
                    # attribute or a global): a root as it stands; what reaches it is found
                    # by the solver, not by every summary again
                    roots.add(node)
                    continue
                if kind == "ret":
                    if caller_of.get(base) != func:
                        roots.add(node)  # (as another function's parameter, above)
                        continue
                    self._materialize(node)  # a call in this function: what it returns
                if kind in SHARED_BASES:  # shared state: what is upstream is known already
                    for found in self._shared_roots(node):
                        if found in seen and found != node:
                            continue
                        seen.add(found)
                        if found[0] != "sym" or found == node:  # a source: its own upstream
                            if attrs[found].get("entry") != func:  # is in the set already
                                roots.add(found)
                        else:
                            queue.append(found)  # judged as if met here
                    continue
            node_preds = preds.get(node)
            if node_preds is None:
                continue
            data = attrs[node]
            if "source_kind" in data and data.get("entry") != func:
                roots.add(node)  # (a grader's own entry source stays inside it)
            fresh = node_preds.keys() - seen  # (the order of the search is not observable)
            if fresh:
                seen |= fresh
                queue.extend(fresh)
        outer = frozenset(roots)
        result = outer | params if params else outer
        known[path] = self._by_start[func][start] = (result, outer)
        return result

    def _shared_roots(self, start: tuple) -> frozenset:
        """What a ``self`` attribute token is made of: the parameter and call-result tokens
        and the sources upstream of it, searched through everything else (other attributes
        included). Summaries of every method of a class used to search the same attribute
        web again (trl: half of all the summary searches). The same for every function and
        for the whole run: only parameter and result tokens gain edges while linking, and
        the search stops at them."""
        hit = self._shared.get(start)
        if hit is not None:
            return hit
        preds = self.graph._pred
        attrs = self.graph._node
        found: set = set()
        seen = {start}
        queue = deque(seen)
        while queue:
            node = queue.popleft()
            if node[0] == "sym":
                kind = node[1][0]
                if kind == "param" or kind == "ret":
                    found.add(node)
                    continue
                done = self._shared.get(node) if node != start else None
                if done is not None:
                    found |= done
                    continue
                self._materialize(node)  # (the same attribute of related classes)
            node_preds = preds.get(node)
            if node_preds is None:
                continue
            if "source_kind" in attrs[node]:
                found.add(node)
            for pred in node_preds:
                if pred not in seen:
                    seen.add(pred)
                    queue.append(pred)
        hit = self._shared[start] = frozenset(found)
        return hit

    def _hub_edge(self, func: str, path: tuple[str, ...], token: tuple) -> bool:
        """An edge from the hub of ``func``'s non-parameter roots for ``path`` into
        ``token`` (see ``_hubs``); call after ``summary(func, path)``."""
        roots = self._summaries[func][path][1]
        if not roots:
            return False
        return self._via_hub(roots, token, via=(func, path))

    def _via_hub(self, nodes: frozenset, token: tuple, **attrs: tuple) -> bool:
        """``token`` hears every node of ``nodes`` through their shared hub. ``via``:
        (callee, path), each node is its own summary root; ``through``: the summary root
        all of them stand for (a parameter token)."""
        hub = self._hubs.get(nodes)
        if hub is None:
            hub = self._hubs[nodes] = ("hub", len(self._hubs))
            self._edge(self._sorted_roots(nodes), hub)
        out = self.graph._succ.get(hub)
        if out is not None and token in out:
            return False
        self._add_edge(hub, token, dict(attrs))
        return True

    def _sorted_roots(self, roots: frozenset) -> tuple:
        """``sorted(roots, key=repr)``, memoized by value (performance only)."""
        out = self._root_order.get(roots)
        if out is None:
            out = self._root_order[roots] = tuple(sorted(roots, key=repr))
        return out

    # -- linking -------------------------------------------------------------------
    def _edge(self, sources: Iterable, target: tuple, through: tuple | None = None) -> bool:
        if not isinstance(sources, (tuple, list)):
            sources = tuple(sources)
        known = self.known
        for n in sources:
            if n[0] == "sym" and n not in known:
                self._ensure_tokens(sources)
                break
        added = add_edges(self.graph, sources, target, through)  # (the linker's hot path)
        self._edges_added += added
        return added > 0

    def _add_edge(self, u: tuple, v: tuple, data: dict) -> None:
        """``graph.add_edge(u, v, **data)`` for an edge that is not there yet, on networkx's
        dicts directly (half a million edges on a large repository; ``run`` clears the
        graph's cached views once at the end)."""
        graph = self.graph
        succ, pred = graph._succ, graph._pred
        for n in (u, v):
            if n not in succ:
                succ[n] = {}
                pred[n] = {}
                graph._node[n] = {}
        succ[u][v] = data
        pred[v][u] = data
        self._edges_added += 1

    def _ensure_tokens(self, nodes: Iterable) -> None:
        """``ensure_token`` for the new tokens among ``nodes``, in a fixed order: what a new
        token's edges bring depends on what is linked before it, so a set's iteration order
        (which pickling between processes and hash seeds change) must not decide it."""
        known = self.known
        new = [n for n in nodes if n[0] == "sym" and n not in known]
        if len(new) > 1:
            new.sort(key=repr)
        for token in new:
            self.ensure_token(token)

    def ensure_token(self, token: tuple) -> None:
        """A token first met while linking (an access path only a callee reads). A
        parameter token, or the result token of a call outside a recursion, gets its edges
        when a search first needs them (``_materialize``); a result token of a call inside
        a recursion whose rounds have linked that call gets them now, as the rounds gave
        the others (they iterate on them)."""
        if token in self.known:
            return
        self.known.add(token)
        base, path = token[1], token[2]
        self.tokens[base].append((path, token))
        if base[0] in SHARED_BASES:
            self._hear_rest(base, path, token)
            return
        site = self.site_by_base.get(base) if base[0] != "param" else None
        if site is not None and base in self.linked:
            if self._late is not None:
                self._late_tokens.append((site, path, token))
            self.link_result(site, path, token)

    def _materialize(self, token: tuple) -> None:
        """Give a token the edges linking gives it, once, before a search reads what reaches
        it: a parameter token hears every call into its function; a call's result token
        hears that call's arguments through the callee's summary. A call inside a recursion
        is linked by its SCC's rounds (``_link_scc``), all of its tokens at once. Edges
        into other nodes are never made here, so a node a search has read is complete."""
        if token in self._materialized:
            return
        self._materialized.add(token)
        base, path = token[1], token[2]
        if base[0] == "param":
            func = base[1]
            for site in self._calls_into.get(func, ()):
                value = self._actual(site, func).get(base[2])
                if value is not None:
                    self._edge(component(value, path), token)
            return
        if base[0] == "self":  # what the other classes of an instance write there
            self._own_writes[token] = self._writes_of(token)  # (before any edge from others)
            for other in self._sharers_of(base[1], path[0] if path else ""):
                writes = self._writes_of(sym_node(("self", other), path))
                if writes:
                    self._edge(self._as_seen_by(writes, other, base), token)
            return
        site = self.site_by_base.get(base)
        if site is None:
            return
        if self.caller_of[base] in self._scc_of:  # its SCC's rounds link it
            self._ensure_scc(self.caller_of[base])
            return
        if self._late is not None:
            self._late_tokens.append((site, path, token))
        self.link_result(site, path, token)

    def _hear_rest(self, base: tuple, path: tuple[str, ...], token: tuple) -> None:
        """A read of a shared attribute's or global's key or index (``self.d["k"]``,
        ``self.buf[-1]``) gets what writes put there outside their constant fields."""
        if len(path) == 2 and path[1] not in (REST, DEEP, "[]"):
            self._edge((sym_node(base, (path[0], REST)),), token)

    @staticmethod
    def _argument_taint(site: CallSite) -> set:
        """Every argument's taint, ``*args``/``**kwargs`` included (not the receiver's)."""
        taint: set = set(site.spread)
        for v in site.positional:
            taint |= deep(v)
        for _, v in site.keywords:
            taint |= deep(v)
        for forwarded in (site.star_forward, site.kw_forward):
            if forwarded is not None:
                taint |= deep(sym_value(forwarded))
        return taint

    def _library_taint(self, site: CallSite) -> set:
        taint = self._argument_taint(site)
        if site.receiver is not None:
            taint |= deep(site.receiver)
        return taint

    def link_result(self, site: CallSite, path: tuple[str, ...], token: tuple) -> bool:
        """Edges into one access path of a call's result, from this call's arguments only."""
        callees = self.targets(site)
        if callees is None:  # a library call: the result carries every argument's taint
            self.library_sites.add(site.base)
            return self._edge(self._library_taint(site), token)
        added = False
        for callee in callees:
            data = self.functions.get(callee)
            if data is None:
                continue
            hubbed = False
            for root in self._sorted_roots(self.summary(callee, path)):
                if root[0] == "sym" and root[1][:2] == ("param", callee):
                    # a witness through this call walks inside the callee from this root:
                    # it must hear its callers, as a search reaching it would
                    self._materialize(root)
                    nodes = self._argument(site, callee, root)
                    if len(nodes) >= HUB_MIN:
                        added |= self._via_hub(nodes, token, through=(root, callee, path))
                    else:
                        added |= self._edge(nodes, token, (root, callee, path))
                elif not hubbed:  # where the first such root's edge would go
                    hubbed = True
                    added |= self._hub_edge(callee, path, token)
        return added

    def _argument(self, site: CallSite, callee: str, root: tuple) -> frozenset:
        """What this call passes for one parameter token of ``callee`` (memoized: a call's
        result tokens for different access paths ask for the same parameters)."""
        k = (site.base, callee, root)
        nodes = self._arguments.get(k)
        if nodes is None:
            value = self._actual(site, callee).get(root[1][2])
            nodes = self._arguments[k] = frozenset(
                component(value, root[2]) if value is not None else ())
        return nodes

    def _actual(self, site: CallSite, callee: str) -> dict[str, Value]:
        """``bind`` of this call to ``callee``, once (parameter tokens, result tokens and
        callable parameters all ask for it)."""
        k = (site.base, callee)
        actual = self._bound.get(k)
        if actual is None:
            actual = self._bound[k] = self.bind(self.functions[callee].params, site)
        return actual

    def link_site(self, site: CallSite) -> bool:
        """Every result token of a call inside a recursion, for one of its SCC's rounds
        (parameter tokens hear their calls when a search needs them)."""
        added = False
        self.linked.add(site.base)
        for path, token in list(self.tokens.get(site.base, [])):
            added |= self.link_result(site, path, token)
        return added

    def _ensure_scc(self, func: str) -> bool:
        """Link the recursive SCC ``func`` is in, unless its rounds are running or done;
        whether they ran now."""
        scc = self._scc_of.get(func)
        if scc is None or scc in self._scc_started:
            return False
        self._link_scc(scc)
        return True

    def _link_scc(self, scc: int) -> None:
        """The rounds of a recursive SCC: link every call of its members again, with their
        summaries searched again, until a round adds no edge (or ``MAX_SCC_ROUNDS``)."""
        self._scc_started.add(scc)
        members = self._scc_members[scc]
        for _ in range(MAX_SCC_ROUNDS):
            for m in members:  # summaries of this SCC may grow with each round
                self._summaries.pop(m, None)
                self._by_start.pop(m, None)
            # a round changed something when the graph gained any edge, including those a
            # token met on the way gets (``ensure_token``), not only what the sites' own
            # calls report: else a recursion could stop short of its fixed point, at a
            # point that depended on the order sets happen to iterate in
            edges = self._edges_added
            for m in members:
                for site in self.sites_of.get(m, ()):
                    self.link_site(site)
            if self._edges_added == edges:
                break
        self._recursive_done.update(members)

    def _writes_of(self, token: tuple) -> tuple:
        """What one class's own methods put into its ``self`` attribute token (and what
        writes with unknown keys leave there, ``_hear_rest``): its edges before it was
        materialized. Only materializing a token adds edges into it from other classes, so
        a token not materialized yet has only its own."""
        own = self._own_writes.get(token)
        if own is not None:
            return own
        preds = self.graph._pred.get(token)
        return tuple(preds) if preds is not None else ()

    @staticmethod
    def _as_seen_by(writes: tuple, other: str, base: tuple) -> tuple:
        """Another class's writes of an attribute, for an instance whose attributes are
        ``base``'s: what that class's method read from ``self`` while writing (``self.x =
        self.y``, or what writes with unknown keys left, ``self.x[REST]``) is the same
        instance's attribute, as ``base`` sees it, not as the other class's own methods
        see it (which would bring its other subclasses' writes in)."""
        mine = ("self", other)
        if not any(w[0] == "sym" and w[1] == mine for w in writes):
            return writes
        return tuple(sym_node(base, w[2]) if w[0] == "sym" and w[1] == mine else w
                     for w in writes)

    def _sharers_of(self, cls: str, step: str) -> tuple[str, ...]:
        """The classes whose writes of ``self`` attribute ``step`` a ``cls`` instance may see:
        ``sharers_of``, and for a mutable class attribute (``history = []`` in a class body of
        ``cls``'s MRO) the defining class's whole hierarchy, whose every instance changes that
        one object in place (siblings included)."""
        found = self.sharers_of(cls)
        shared = self._shared_attrs_of.get(cls)
        if shared is None:  # the mutable class attributes of cls's MRO, once per class
            shared = self._shared_attrs_of[cls] = frozenset().union(
                *(self.classes[c].shared_attrs for c in self.mro(cls)))
        if not step.startswith(".") or step[1:] not in shared:
            return found
        k = (cls, step)
        hit = self._class_attr_sharers.get(k)
        if hit is None:
            more: dict[str, None] = dict.fromkeys(found)
            for owner in self.mro(cls):
                if step[1:] in self.classes[owner].shared_attrs:
                    more.update(dict.fromkeys((owner, *self.sharers_of(owner))))
            more.pop(cls, None)
            hit = self._class_attr_sharers[k] = tuple(more)
        return hit

    def sharers_of(self, cls: str) -> tuple[str, ...]:
        """The other classes whose methods may run on the same instance as ``cls``'s own
        (found when first asked: a chain of N classes has N^2 such pairs): the classes in
        the MRO of the class and of each of its subclasses (``self.x`` read in a base's
        method may be what a subclass wrote, or a mixin of a subclass; a sibling subclass's
        writes never reach it). A ``self`` attribute token hears these classes' own writes of
        that attribute, not what reaches their tokens from their own relatives, so a
        sibling's writes do not come in through a shared base."""
        hit = self._sharers.get(cls)
        if hit is None:
            # the MROs of cls and of its subclasses, without walking each subclass's MRO
            # (a chain of N classes made that N^3): a subclass's MRO is itself, its bases
            # and their MROs; a base that is cls or a subclass is walked as one, and any
            # other one (a mixin) brings its MRO, unless it is already in
            found: dict[str, None] = dict.fromkeys(self.mro(cls))
            below = self._subclasses_of(cls)
            found.update(dict.fromkeys(below))
            for d in below:
                for b in self._direct_bases(d):
                    if b not in found:
                        found.update(dict.fromkeys(self.mro(b)))
            del found[cls]
            hit = self._sharers[cls] = tuple(found)
        return hit

    def run(self, targets: Iterable[tuple] | None = None) -> nx.DiGraph:
        """Link what reaches ``targets`` (the sink nodes), or every token when None.

        Linking is driven by demand: a backward search from the targets gives each token it
        meets its edges before reading them (``_materialize``), computing the summaries they
        need, callees before callers as the search goes down the call graph; a recursion's
        SCC is linked whole, in rounds, the first time any of it is needed. What no sink can
        be reached from is never linked: most of a repository's calls (trl: four in five of
        its nodes are upstream of no sink)."""
        self.callables("", "")  # resolve callable parameters once, before any linking
        calls: nx.DiGraph = nx.DiGraph()
        for caller, site in self.sites:
            calls.add_node(caller)
            for callee in dict.fromkeys(self.targets(site) or ()):
                calls.add_edge(caller, callee)
                if callee in self.functions:
                    self._calls_into[callee].append(site)
        condensed = nx.condensation(calls)
        for scc in sorted(condensed.nodes):
            members = sorted(condensed.nodes[scc]["members"])
            if len(members) > 1 or calls.has_edge(members[0], members[0]):
                number = len(self._scc_members)
                self._scc_members.append(members)
                for m in members:
                    self._scc_of[m] = number
        if targets is None:
            self._link_everything()
        else:
            self._link_upstream(targets)
        clear_cache(self.graph)  # edges were added on networkx's dicts directly
        return self.graph

    def _link_upstream(self, targets: Iterable[tuple]) -> None:
        """A backward search from ``targets`` that links each token before reading what
        reaches it."""
        preds = self.graph._pred
        order = sorted((t for t in targets if t in preds), key=repr)
        seen = set(order)
        queue = deque(order)
        while queue:
            node = queue.popleft()
            if node[0] == "sym":
                self._materialize(node)
            for pred in preds[node]:
                if pred not in seen:
                    seen.add(pred)
                    queue.append(pred)

    def _link_everything(self) -> None:
        """Every token, also those met while linking, until none is left."""
        done: set[tuple] = set()
        while True:
            todo = sorted((n for n in self.known if n not in done), key=repr)
            if not todo:
                return
            for token in todo:
                done.add(token)
                self._materialize(token)
