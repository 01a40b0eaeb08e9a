"""One module's graph: scan, then interpret module scope, then every function body."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import CodeRange

from leakcheck.graph.builder import FunctionBuilder
from leakcheck.graph.context import ModuleContext
from leakcheck.graph.regex import RegexReader
from leakcheck.graph.scan import scan_module
from leakcheck.ruleset.match import Vocabulary


def build_module(module: cst.Module, path: str, positions: dict[cst.CSTNode, CodeRange],
                 vocab: Vocabulary, regex: RegexReader) -> ModuleContext:
    ctx = ModuleContext(module, path, positions, vocab, regex)
    scan = scan_module(module, vocab)
    top = FunctionBuilder(ctx, scan, "", None)
    top.exec_block(list(module.body))
    # functions read module globals at call time: analyze them against the final state
    top.run_pending()
    return ctx
