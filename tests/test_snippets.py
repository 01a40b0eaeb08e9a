"""The code a report shows for a node (``ModuleContext.code``): cut from the module's text by
the node's range where that is the same as libcst's code generation, which it replaces."""

from __future__ import annotations

import libcst as cst

from leakcheck.graph.context import ModuleContext
from leakcheck.graph.regex import RegexReader
from leakcheck.parse import Parsed, parse_source
from leakcheck.ruleset import load_ruleset
from leakcheck.ruleset.match import Vocabulary

SOURCE = b'''\
def reward(completions, **kwargs):
    scores = [judge.grade(c)  # the whole completion
              for c in completions]; total = 0
    total += len(scores);
    best: float = max(scores, default=0.0)
    judge.log(best) ; print(total)
    return [s
            for s in scores];
    return scores  # unreachable, kept

def answer_only(c):
    return c.split("</think>")[-1]
'''


class _Collect(cst.CSTVisitor):
    def __init__(self) -> None:
        self.nodes: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.BaseSmallStatement, cst.BaseExpression)):
            self.nodes.append(node)
        return True


def test_snippets_of_statements_and_expressions_are_libcsts_code() -> None:
    """Small statements with and without semicolons, with comments and line breaks inside,
    and every expression: the snippet is libcst's code for the node, spaces normalized."""
    parsed = parse_source("rewards.py", SOURCE)
    assert isinstance(parsed, Parsed)
    vocab = Vocabulary(load_ruleset())
    ctx = ModuleContext(parsed.module, "rewards.py", parsed.positions, vocab,
                        RegexReader(vocab))
    collect = _Collect()
    parsed.module.visit(collect)
    kinds = {type(n) for n in collect.nodes}
    assert {cst.Return, cst.Assign, cst.AugAssign, cst.AnnAssign, cst.Expr} <= kinds
    for node in collect.nodes:
        expected = " ".join(parsed.module.code_for_node(node).split())
        assert ctx.code(node, limit=10_000) == expected, node
    semicolons = [n for n in collect.nodes if isinstance(getattr(n, "semicolon", None),
                                                         cst.Semicolon)]
    assert semicolons and all(ctx.code(n, 10_000).endswith(";") for n in semicolons)
