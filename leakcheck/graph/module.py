"""One module's graph: interpret module scope, then every function body."""

from __future__ import annotations

import libcst as cst

from leakcheck.graph.builder import FunctionBuilder, LinkIn
from leakcheck.graph.context import ModuleContext
from leakcheck.graph.edges import clear_cache
from leakcheck.graph.regex import RegexReader
from leakcheck.graph.scan import ModuleScan, dotted_name, scan_module
from leakcheck.positions import Positions
from leakcheck.ruleset.match import Vocabulary


def build_module(module: cst.Module, path: str, positions: Positions,
                 vocab: Vocabulary, regex: RegexReader, *, module_name: str = "",
                 scan: ModuleScan | None = None, link_in: LinkIn | None = None) -> ModuleContext:
    """A pure function of the module's text, its name, the rules and ``link_in``."""
    ctx = ModuleContext(module, path, positions, vocab, regex, module_name)
    if scan is None:
        scan = scan_module(module, vocab, module_name, path.endswith("__init__.py"))
    top = FunctionBuilder(ctx, scan, "", None, link_in=link_in)
    top.exec_block(list(module.body))
    # functions read module globals at call time: analyze them against the final state
    top.run_pending()
    _library_graders(ctx, scan)
    clear_cache(ctx.graph)  # edges were added on networkx's dicts directly
    return ctx


def _library_graders(ctx: ModuleContext, scan: ModuleScan) -> None:
    """A registered library grader that grades the whole completion: the trainer calls it
    with raw completions, so the registration itself is the leak."""
    graders = ctx.vocab.rules.library_graders
    if not graders:
        return
    seen: set[int] = set()
    for ref in scan.registered_refs:
        if id(ref) in seen:
            continue
        seen.add(id(ref))
        qualified = _qualified(ref, scan.imports)
        if qualified is None:
            continue
        spec = next((g for g in graders if qualified in g.qualified_names), None)
        if spec is None:
            continue
        src = ctx.node("", ref, "src:library", f"the trainer passes raw completions to "
                       f"`{ctx.code(ref)}`", step="source", source_kind=spec.kind)
        ctx.graph.nodes[src]["label"] = "completions"  # what the trainer passes, not the name
        note = f" ({spec.note})" if spec.note else ""
        ctx.sink("", ref, "library", f"`{qualified}`",
                 f"registered library grader `{qualified}`{note}", frozenset((src,)))


def _qualified(ref: cst.BaseExpression, imports: dict[str, str]) -> str | None:
    parts = dotted_name(ref)
    if not parts or parts[0] not in imports:
        return None
    return ".".join((imports[parts[0]], *parts[1:]))
