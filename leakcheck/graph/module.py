"""One module's graph: interpret module scope, then every function body."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import CodeRange

from leakcheck.graph.builder import FunctionBuilder, LinkIn
from leakcheck.graph.context import ModuleContext
from leakcheck.graph.regex import RegexReader
from leakcheck.graph.scan import ModuleScan, scan_module
from leakcheck.ruleset.match import Vocabulary


def build_module(module: cst.Module, path: str, positions: dict[cst.CSTNode, CodeRange],
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
    return ctx
