"""The cheap project index: what each module defines, imports and registers, resolved
across modules before any dataflow (link stage 1). Its output for one module (a LinkIn)
is, with the module's bytes and the rule packs, everything that module's analysis needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from leakcheck.graph.builder import LinkIn
from leakcheck.graph.scan import ModuleScan

MAX_HOPS = 12  # re-export chains longer than this are cycles or pathological


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

    def add(self, primary: str, aliases: tuple[str, ...], scan: ModuleScan) -> None:
        self.scans[primary] = scan
        self.alias.setdefault(primary, primary)
        for a in aliases:
            self.alias.setdefault(a, primary)

    def module(self, name: str) -> str | None:
        return self.alias.get(name)

    def _star_closure(self, primary: str) -> tuple[frozenset[str], frozenset[str]]:
        """The modules a module's star imports reach, itself included and transitively, and
        the names ``from <module> import *`` binds: its literal ``__all__``, else the public
        names of every module reached without passing one that has an ``__all__`` (whose
        own ``__all__`` is what it passes on). Iterative; the same for a cycle's members."""
        memo: dict[str, tuple[frozenset[str], frozenset[str]]] = self.__dict__.setdefault(
            "_closures", {})
        found = memo.get(primary)
        if found is not None:
            return found
        reach = {primary}
        flowing = {primary}  # reached on a path whose names flow (a second path may flow)
        stack = [(primary, True)]  # (module, whether its names flow to `primary`)
        names: set[str] = set()
        while stack:
            mod, flows = stack.pop()
            scan = self.scans[mod]
            limited = scan.all_names is not None
            if flows and limited:
                names.update(scan.all_names or ())
            elif flows:
                names.update(n for n in (*scan.top_defs, *scan.imports, *scan.top_vars,
                                         *scan.constants,
                                         *(d.split(".")[0] for d in scan.dotted_imports))
                             if not n.startswith("_"))
            for target in scan.star_imports:
                inner = self.module(target)
                passes = flows and not limited
                if inner is not None and (inner not in reach or
                                          (passes and inner not in flowing)):
                    reach.add(inner)
                    if passes:
                        flowing.add(inner)
                    stack.append((inner, passes))
        found = (frozenset(reach), frozenset(names))
        memo[primary] = found
        return found

    def exports(self, primary: str) -> frozenset[str]:
        """The names ``from <module> import *`` binds: its literal ``__all__``, else every
        name it binds at the top level that does not start with an underscore (what it
        imports too, its own star imports included), as Python does."""
        return self._star_closure(primary)[1]

    def star_names(self, primary: str) -> dict[str, str]:
        """Names a module's star imports bind -> the dotted name each refers to (through
        the module it was imported from). A later star import wins over an earlier one,
        except one that reaches back to this module (a cycle: what it would give again is
        this module's own); a name the module binds itself wins over both (in Python the
        last binding does; a star import at the top and definitions after it is the usual
        order)."""
        memo: dict[str, dict[str, str]] = self.__dict__.setdefault("_star_names", {})
        found = memo.get(primary)
        if found is not None:
            return found
        scan = self.scans[primary]
        found = {}
        own = {*scan.top_defs, *scan.imports, *scan.top_vars, *scan.constants}
        for target in scan.star_imports:
            inner = self.module(target)
            if inner is None or inner == primary:
                continue  # a library's star import: nothing the index can name
            back = primary in self._star_closure(inner)[0]
            for name in sorted(self.exports(inner)):
                if name not in own and not (back and name in found):
                    found[name] = f"{target}.{name}"
        memo[primary] = found
        return found

    def resolve(self, dotted: str, hops: int = 0) -> Resolved | None:
        """Follow imports and re-exports (``pkg/__init__.py`` importing from ``.utils``)
        to the module that defines ``dotted``."""
        if hops > MAX_HOPS or not dotted:
            return None
        primary = self.module(dotted)
        if primary is not None and not self._rebound(dotted):
            return Resolved("module", primary)
        parts = dotted.split(".")
        for i in range(len(parts) - 1, 0, -1):
            mod = self.module(".".join(parts[:i]))
            if mod is None:
                continue
            scan = self.scans[mod]
            head, rest = parts[i], parts[i + 1:]
            if head in scan.top_defs:
                return Resolved("def", ".".join([mod, head, *rest]))
            if head in scan.imports:
                return self.resolve(".".join([scan.imports[head], *rest]), hops + 1)
            if head in scan.constants and not rest:
                return Resolved("const", f"{mod}.{head}", scan.constants[head])
            if head in scan.top_vars and not rest:
                return Resolved("var", f"{mod}.{head}")
            star = self.star_names(mod) if scan.star_imports else {}
            if head in star:
                return self.resolve(".".join([star[head], *rest]), hops + 1)
            return None
        return None

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
        result: dict[str, LinkIn] = {}
        for mod in self.scans:
            constants = []
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
                elif hit.kind == "module":
                    through += [(f"{target}.{x}", (hit.name, x))
                                for x in sorted(shared[hit.name])]
            own = mod + "."
            result[mod] = LinkIn(frozenset(q for q in registered if q.startswith(own)),
                                 frozenset(q for q in factories if q.startswith(own)),
                                 tuple(constants), frozenset(properties),
                                 frozenset(shared[mod]), tuple(imported),
                                 tuple(sorted(set(through))), self._star_link_in(mod))
        self._cache = result
        return result
