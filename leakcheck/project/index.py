"""The cheap project index: what each module defines, imports and registers, resolved
across modules before any dataflow (link stage 1). Its output for one module (a LinkIn)
is, with the module's bytes and the rule packs, everything that module's analysis needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from leakcheck.graph.builder import LinkIn
from leakcheck.graph.scan import ModuleScan

MAX_HOPS = 12  # re-export chains longer than this are cycles or pathological
_CUT = 1 << 30  # (ProjectIndex._resolve) hops: more than were allowed


@dataclass(frozen=True, slots=True)
class Resolved:
    kind: str  # "def" | "const" | "var" (another top-level assignment) | "module"
    name: str  # qualified name of the def or module
    value: object = None  # the constant


class ProjectIndex:
    def __init__(self) -> None:
        self.scans: dict[str, ModuleScan] = {}  # primary module name -> scan
        self.alias: dict[str, str] = {}  # any module name -> primary
        # @property names of modules that are not analyzed (the pre-filter skipped them):
        # properties are project-wide link input
        self.extra_properties: set[str] = set()
        # computed once the modules are in (``_stars``, ``star_names``)
        self._star_info: tuple[dict[str, frozenset[str]], dict[str, int]] | None = None
        self._star_names: dict[str, dict[str, str]] = {}
        self._resolved: dict[str, tuple[Resolved | None, int]] = {}  # by ``_resolve``

    def add(self, primary: str, aliases: tuple[str, ...], scan: ModuleScan) -> None:
        self.scans[primary] = scan
        self.alias.setdefault(primary, primary)
        for a in aliases:
            self.alias.setdefault(a, primary)

    def module(self, name: str) -> str | None:
        return self.alias.get(name)

    def _stars(self) -> tuple[dict[str, frozenset[str]], dict[str, int]]:
        """What each star-imported module exports, and each module's strongly connected
        component of the star imports, computed once for the project in linear time (a web
        of modules that all star-import each other stays cheap).

        ``from <module> import *`` binds the module's literal ``__all__``; else every name
        it binds at the top level that does not start with an underscore, and, through its
        own star imports, what those export (Python's rule, followed transitively). So the
        exports of a module are the *base* names of every module reachable from it along
        star imports of modules without an ``__all__``: a module's base is its ``__all__``,
        or its public names."""
        if self._star_info is not None:
            return self._star_info
        every = nx.DiGraph()  # all star imports: for cycles
        flows = nx.DiGraph()  # those whose names flow back to the importer
        for mod, scan in self.scans.items():
            for target in scan.star_imports:
                inner = self.module(target)
                if inner is None or inner == mod:
                    continue
                every.add_edge(mod, inner)
                if scan.all_names is None:
                    flows.add_edge(mod, inner)
                else:
                    flows.add_node(mod)
                flows.add_node(inner)
        cycle_of = {m: i for i, members in enumerate(
            sorted(sorted(c) for c in nx.strongly_connected_components(every)))
            for m in members}
        condensed = nx.condensation(flows)
        members = condensed.graph["mapping"]
        names: dict[int, set[str]] = {}
        for c in reversed(list(nx.topological_sort(condensed))):
            found: set[str] = set()
            for mod in condensed.nodes[c]["members"]:
                found |= self._base_names(mod)
            for after in condensed.successors(c):
                found |= names[after]
            names[c] = found
        exports = {mod: frozenset(names[c]) for mod, c in members.items()}
        self._star_info = (exports, cycle_of)
        return self._star_info

    def _base_names(self, mod: str) -> set[str]:
        scan = self.scans[mod]
        if scan.all_names is not None:
            return set(scan.all_names)
        return {n for n in (*scan.top_defs, *scan.imports, *scan.top_vars, *scan.constants,
                            *(d.split(".")[0] for d in scan.dotted_imports))
                if not n.startswith("_")}

    def exports(self, primary: str) -> frozenset[str]:
        """The names ``from <module> import *`` binds (see ``_stars``)."""
        found = self._stars()[0].get(primary)
        return found if found is not None else frozenset(self._base_names(primary))

    def star_names(self, primary: str) -> dict[str, str]:
        """Names a module's star imports bind -> the dotted name each refers to (through
        the module it was imported from). A later star import wins over an earlier one,
        except one that reaches back to this module (a cycle: what it would give again is
        this module's own); a name the module binds itself wins over both (in Python the
        last binding does; a star import at the top and definitions after it is the usual
        order)."""
        found = self._star_names.get(primary)
        if found is not None:
            return found
        scan = self.scans[primary]
        via: dict[str, str] = {}  # name -> the star import's module
        own = {*scan.top_defs, *scan.imports, *scan.top_vars, *scan.constants}
        for target in scan.star_imports:  # (set operations: a web of modules that all
            inner = self.module(target)   # star-import each other stays fast)
            if inner is None or inner == primary:
                continue  # a library's star import: nothing the index can name
            names = self.exports(inner) - own
            cycle_of = self._stars()[1]
            if cycle_of.get(inner) == cycle_of.get(primary):  # (both have star imports)
                names = names - via.keys()
            via.update(dict.fromkeys(names, target))
        found = {name: f"{via[name]}.{name}" for name in sorted(via)}
        self._star_names[primary] = found
        return found

    def resolve(self, dotted: str, hops: int = 0) -> Resolved | None:
        """Follow imports and re-exports (``pkg/__init__.py`` importing from ``.utils``)
        to the module that defines ``dotted``; None past MAX_HOPS hops in all."""
        return self._resolve(dotted, MAX_HOPS - hops)[0]

    def _resolve(self, dotted: str, budget: int) -> tuple[Resolved | None, int]:
        """What ``dotted`` resolves to with ``budget`` more hops allowed, and how many hops
        its resolution takes (``_CUT``: more than were allowed, not known how many). Kept
        by name with that count, exact for any budget: every module binding the names its
        star imports re-export (``from utils import *``) resolves each again, and a chain
        of them resolves the same names through each link (1,000 of them: 6 s)."""
        if budget < 0:
            return None, _CUT
        hit = self._resolved.get(dotted)
        if hit is not None:
            return hit if hit[1] <= budget else (None, hit[1])
        result, needed = self._resolve_step(dotted, budget)
        if needed != _CUT:
            self._resolved[dotted] = (result, needed)
        return result, needed

    def _resolve_step(self, dotted: str, budget: int) -> tuple[Resolved | None, int]:
        if not dotted:
            return None, 0
        primary = self.module(dotted)
        if primary is not None and not self._rebound(dotted):
            return Resolved("module", primary), 0
        parts = dotted.split(".")
        for i in range(len(parts) - 1, 0, -1):
            mod = self.module(".".join(parts[:i]))
            if mod is None:
                continue
            scan = self.scans[mod]
            head, rest = parts[i], parts[i + 1:]
            if head in scan.top_defs:
                return Resolved("def", ".".join([mod, head, *rest])), 0
            if head in scan.imports:
                return self._hop(".".join([scan.imports[head], *rest]), budget)
            if head in scan.constants and not rest:
                return Resolved("const", f"{mod}.{head}", scan.constants[head]), 0
            if head in scan.top_vars and not rest:
                return Resolved("var", f"{mod}.{head}"), 0
            star = self.star_names(mod) if scan.star_imports else {}
            if head in star:
                return self._hop(".".join([star[head], *rest]), budget)
            return None, 0
        return None, 0

    def _hop(self, dotted: str, budget: int) -> tuple[Resolved | None, int]:
        result, needed = self._resolve(dotted, budget - 1)
        return result, (needed + 1 if needed != _CUT else _CUT)

    def _star_link_in(self, mod: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """For the builder: each star import's module, as written, -> the names it binds."""
        scan = self.scans[mod]
        if not scan.star_imports:
            return ()
        by_target: dict[str, list[str]] = {}
        for name, dotted in self.star_names(mod).items():
            by_target.setdefault(dotted.rsplit(".", 1)[0], []).append(name)
        return tuple(sorted((t, tuple(sorted(names))) for t, names in by_target.items()))

    def _rebound(self, dotted: str) -> bool:
        """Whether the package of module ``dotted`` binds its last name to something else:
        ``from .rate import rate`` in ``scoring/__init__.py`` makes ``scoring.rate`` the
        function, as Python does (the submodule's import sets the attribute first)."""
        package, _, name = dotted.rpartition(".")
        owner = self.module(package) if package else None
        if owner is None:
            return False
        scan = self.scans[owner]
        if name in scan.imports:
            return scan.imports[name] != dotted  # (`from . import rate`: the module itself)
        if name in scan.top_defs or name in scan.top_vars or name in scan.constants:
            return True
        star = self.star_names(owner) if scan.star_imports else {}
        return name in star and star[name] != dotted

    def link_in(self, primary: str) -> LinkIn:
        return self._link_ins()[primary]

    def _link_ins(self) -> dict[str, LinkIn]:
        cached = getattr(self, "_cache", None)
        if cached is not None:
            return cached
        registered: set[str] = set()
        factories: set[str] = set()
        properties: set[str] = set(self.extra_properties)
        for mod, scan in self.scans.items():
            properties |= scan.properties
            for names, out in ((scan.registered_names, registered),
                               (scan.registered_factories, factories)):
                for name in names:
                    hit = self.resolve(f"{mod}.{name}")
                    if hit is not None and hit.kind == "def":
                        out.add(hit.name)
        # a module global is shared state when code changes it in place: its own module's
        # functions, or a module importing it (`from m import G; G.append(v)`, or `import m`
        # and `m.G.append(v)`)
        hits = {mod: [(local, target, self.resolve(target))
                      for local, target in sorted({**self.star_names(mod), **scan.imports}
                                                  .items())]
                + [("", dotted, self.resolve(dotted)) for dotted in sorted(scan.dotted_imports)]
                for mod, scan in self.scans.items()}
        shared: dict[str, set[str]] = {mod: scan.written_globals & scan.top_vars
                                       for mod, scan in self.scans.items()}
        for mod, scan in self.scans.items():
            for local, _target, hit in hits[mod]:
                if hit is not None and hit.kind == "var" and local in scan.written_globals:
                    owner, name = hit.name.rsplit(".", 1)
                    shared[owner].add(name)
            # `import m as x` then `x.G.append(v)`; `import pkg.m` then `pkg.m.G.append(v)`:
            # modules by the name they are reached through (`x`; `pkg.m`)
            modules = {local or target: hit.name for local, target, hit in hits[mod]
                       if hit is not None and hit.kind == "module"}
            for chain in scan.written_chains:
                for i in range(1, len(chain)):
                    owner = modules.get(".".join(chain[:i]))
                    if owner is not None and chain[i] in self.scans[owner].top_vars:
                        shared[owner].add(chain[i])
        # each module's registered functions and factories: those under its name (a
        # package's include its submodules'), found by their dotted prefixes (asking each
        # module about every name was quadratic: 3,000 one-function modules, 9M tests)
        under: dict[str, tuple[set[str], set[str]]] = {}
        for which, found in ((0, registered), (1, factories)):
            for q in found:
                parts = q.split(".")
                for i in range(1, len(parts)):
                    under.setdefault(".".join(parts[:i]), (set(), set()))[which].add(q)
        nothing: tuple[set[str], set[str]] = (set(), set())
        every_property = frozenset(properties)
        result: dict[str, LinkIn] = {}
        for mod in self.scans:
            constants = []
            tables = []  # `from m import CHECKS` of a container of function references
            imported = []  # `from m import G` of such a global
            through = []  # `import m` (or `from pkg import m`): `m.G`, as the import is written
            for local, target, hit in hits[mod]:
                if hit is None:
                    continue
                if hit.kind == "const":
                    constants.append((local, hit.value))
                elif hit.kind == "var":
                    owner, name = hit.name.rsplit(".", 1)
                    if name in shared[owner]:
                        imported.append((local, (owner, name)))
                    table = self.scans[owner].function_tables.get(name)
                    if table:
                        tables.append((local, tuple(sorted({f"{owner}.{r}" for r in table}))))
                elif hit.kind == "module":
                    through += [(f"{target}.{x}", (hit.name, x))
                                for x in sorted(shared[hit.name])]
            mine = under.get(mod, nothing)
            result[mod] = LinkIn(frozenset(mine[0]), frozenset(mine[1]),
                                 tuple(constants), every_property,
                                 frozenset(shared[mod]), tuple(imported),
                                 tuple(sorted(set(through))), self._star_link_in(mod),
                                 tuple(tables))
        self._cache = result
        return result
