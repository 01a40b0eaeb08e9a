"""Positions and the read-only walk are performance rewrites of libcst machinery: they must
give exactly what libcst gives, on every fixture file and on leakcheck's own source."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from leakcheck.graph import scan
from leakcheck.positions import TRIVIA, measuring, positions
from leakcheck.raw_nodes import node_classes
from leakcheck.ruleset import load_ruleset
from leakcheck.ruleset.match import Vocabulary

REPO = Path(__file__).resolve().parents[1]
FILES = sorted([*(REPO / "tests" / "fixtures").rglob("*.py"), *(REPO / "leakcheck").rglob(
    "*.py")])


def _modules() -> list[tuple[Path, cst.Module]]:
    out = []
    for f in FILES:
        try:
            out.append((f, cst.parse_module(f.read_bytes())))
        except Exception:  # the deliberately broken fixtures
            continue
    return out


MODULES = _modules()


def test_there_are_many_files() -> None:
    assert len(MODULES) > 100


@pytest.mark.parametrize("path,module", MODULES, ids=[str(p.relative_to(REPO))
                                                     for p, _ in MODULES])
def test_positions_equal_libcst(path: Path, module: cst.Module) -> None:
    """Every node's range but trivia's (whitespace, comments, punctuation, operators: no
    graph node is made of them, and skipping them is a third of the pass)."""
    everything = dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider))
    expected = {n: r for n, r in everything.items() if type(n) not in TRIVIA}
    mine = positions(module)
    assert len(mine) == len(expected)
    assert all(mine.get(node) == rng for node, rng in expected.items())
    assert all(mine[node] == rng for node, rng in list(expected.items())[:50])
    assert module.code == mine.text(module) or not module.code  # the text it measured


def test_trivia_are_whitespace_and_punctuation_only() -> None:
    assert {cst.SimpleWhitespace, cst.Comma, cst.Dot, cst.Add, cst.EmptyLine, cst.Comment,
            cst.LeftParen, cst.AssignEqual} <= TRIVIA
    # what a graph node or a statement's range may be made of keeps its range
    assert not TRIVIA & {cst.Name, cst.RightParen, cst.ImportStar, cst.Arg, cst.Param,
                         cst.Element, cst.SimpleString, cst.Integer, cst.Ellipsis}


def test_positions_leave_libcst_as_it_was() -> None:
    """The pass speeds up libcst's code generation only while it runs and only for itself:
    code generation and libcst's own positions afterwards are what they were."""
    from libcst._nodes.base import CSTNode

    before = CSTNode._codegen
    module = cst.parse_module("x = (a  ,b)[0]  # c\n")
    positions(module)
    assert CSTNode._codegen is before
    # no node class keeps the pass's own code generation (each gets one while it runs)
    assert not [c for c in node_classes() if "_codegen" in c.__dict__]
    assert module.code == "x = (a  ,b)[0]  # c\n"
    ranges = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    comma = module.body[0].body[0].value.value.elements[0].comma
    assert ranges[comma].start.column == 8  # libcst still records trivia for itself


def test_libcsts_own_code_generation_is_unchanged_while_a_pass_is_installed() -> None:
    """Inside a batch of passes (the hooks installed), code generation for any other state
    (``.code``, ``code_for_node``, libcst's own PositionProvider) takes libcst's path."""
    source = "def f(a ,  b):\n    return (a  ,b)[0]  # c\n"
    module = cst.parse_module(source)
    with measuring():
        assert module.code == source
        ret = module.body[0].body.body[0].body[0]
        assert module.code_for_node(ret) == "return (a  ,b)[0]"
        ranges = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        comma = ret.value.value.elements[0].comma
        assert ranges[comma].start.column == 15  # trivia recorded, as libcst does
        assert positions(module).raw(ret) == (2, 4, 2, 21)


def test_positions_of_tricky_text() -> None:
    code = 'x = (1,\r\n  2)\r\ny = """a\nb"""; z = f"{x!r:>{y}}"\n\n@d\nclass C:\n    pass\n'
    module = cst.parse_module(code)
    expected = dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider))
    mine = positions(module)
    assert {n: mine.get(n) for n in expected if type(n) not in TRIVIA} == {
        n: r for n, r in expected.items() if type(n) not in TRIVIA}
    assert mine.get(cst.Name("unrelated")) is None


def _old_scan(module: cst.Module, vocab: Vocabulary) -> scan.ModuleScan:
    scanner = scan._Scanner(vocab)
    module.visit(scanner)
    out = scanner.finish()
    scan._top_level(module, out, "m", False)
    return out


def test_walk_scan_equals_visitor_scan() -> None:
    vocab = Vocabulary(load_ruleset(()))
    for _path, module in MODULES:
        assert scan.scan_module(module, vocab, "m") == _old_scan(module, vocab)


def _visitor(*names: str) -> tuple[cst.CSTVisitor, type]:
    """A libcst visitor recording the nodes of the given types it meets, in order, and a
    plain class with the same handlers for ``walk``."""
    def record(self, node: cst.CSTNode) -> None:
        self.seen.append(node)

    handlers = {f"visit_{n}": record for n in names}
    return (type("Libcst", (cst.CSTVisitor,), dict(handlers)),
            type("Plain", (), dict(handlers)))


# statement and expression nodes (what the scanner and the builder look for), leaves (names,
# strings), and trivia (commas, whitespace): walk prunes trivia and leaves unless asked for them
WALK_CASES = [("Call", "Assign", "FunctionDef", "Return", "Dict", "Lambda", "ClassDef"),
              ("Name", "SimpleString", "Attribute", "Subscript", "FormattedString"),
              ("Comma", "SimpleWhitespace", "Name"), ("Param", "Arg", "Index", "Decorator"),
              ("SimpleWhitespace", "Comment")]


@pytest.mark.parametrize("names", WALK_CASES, ids="-".join)
def test_walk_meets_every_node_libcst_visits(names: tuple[str, ...]) -> None:
    libcst_visitor, plain = _visitor(*names)
    for _path, module in MODULES[::3]:
        expected = libcst_visitor()
        expected.seen = []
        module.visit(expected)
        for kind in (libcst_visitor, plain):  # a CSTVisitor subclass too (the scanner is)
            mine = kind()
            mine.seen = []
            scan.walk(module, mine)
            # the same nodes, each once (walk goes by field order, libcst by source order)
            assert sorted(map(id, mine.seen)) == sorted(map(id, expected.seen))


STRING_CASES = [
    '"plain"', "'single'", '"""triple\nquoted"""', "r'\\d+\\s'", "b'bytes\\x00'", "rb'\\n'",
    '"esc\\t\\u00e9\\N{BULLET}"', "u'unicode'", '"a" "b"', '"a" \'b\' """c"""', "b'a' b'b'",
    '"a" f"{x}"', 'f"{x}" "a"', '"</think>"', "'<answer>' '</answer>'",
]


@pytest.mark.parametrize("code", STRING_CASES)
def test_string_values_equal_libcst(code: str) -> None:
    """``scan.string_value`` replaces libcst's ``evaluated_value`` (which calls
    ``ast.literal_eval`` and leaves reference cycles behind on every call)."""
    node = cst.parse_expression(code)
    assert scan.string_value(node) == node.evaluated_value


def test_every_string_in_the_fixtures_and_the_package_evaluates_as_libcst_does() -> None:
    class Strings:
        def __init__(self) -> None:
            self.found: list[cst.SimpleString | cst.ConcatenatedString] = []

        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            self.found.append(node)

        def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> None:
            self.found.append(node)

    seen = 0
    for _, module in MODULES:
        strings = Strings()
        scan.walk(module, strings)
        for node in strings.found:
            try:
                expected = node.evaluated_value
            except (ValueError, SyntaxError, AttributeError) as exc:
                with pytest.raises(type(exc)):
                    scan.string_value(node)
                continue
            assert scan.string_value(node) == expected
            seen += 1
    assert seen > 1000
