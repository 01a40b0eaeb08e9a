"""Which files need parsing at all: a conservative byte-level decision made before libcst.

A finding is a path from a source to a sink. Taint crosses from one module to another only
where one of them names the other: an import (absolute or relative), a dotted reference
through an imported package, or a bare name the engine takes as a module it cannot see. Once
inside a module it may also leave through state any importer reads (a class's ``self``
attributes are shared by every instance, module globals by every function, callable
parameters by every caller), so a module that only *imports* a helper can receive what
another importer of the same helper put there (``tests/fixtures/prefilter/shared_state``
is such a chain: source module -> helper class <- relay module -> second helper <- sink
module, where the relay names neither end). Closing over importers and imported modules
alternately ends at the connected component, so the unit of the decision is the component of
the undirected reference graph:

- every file is read as bytes and cut into ASCII identifier runs, split into words exactly
  as :func:`leakcheck.words.split_words` splits identifiers and constant keys;
- a file *may hold a source* when its words cover one of the loaded source vocabularies
  (CoT words, parser and decoder callees, tag strings, registered-grader parameter names and
  words, attribute chains), and *may hold a sink* when they cover a sink vocabulary (grader
  call words, registration keywords, trainers, rubrics, decorator/registry/def words, reward
  store words, the user's grader patterns). Everything is derived from the loaded RuleSet, the
  user's ``[tool.leakcheck.vocabulary]`` included; a phrase counts when all its words appear
  anywhere in the file, which only over-approximates;
- references: a file whose identifier runs (or alphanumeric parts of them) hold every part
  of a project module's name (``rl``, ``team`` and ``rewards`` for ``rl.team.rewards``;
  ``open_instruct`` and ``grpo`` for ``open_instruct.grpo``) is joined to that module: code
  reaches a module only by its whole dotted name, or through re-exports, each of which names
  the next module whole. ``from .x import y`` joins the file to the module it is relative
  to and to each module under that one whose remaining parts it holds;
- a component is analyzed when it holds a file that may hold a source and a file that may hold
  a sink; any other component cannot produce a finding and is skipped.

A skipped file is still checked: CPython's parser (about a tenth of libcst's cost) must accept
it, or it is parsed by libcst after all and reported exactly as without the pre-filter; its
``@property`` names are read from that tree, since they are project-wide link input.
"""

from __future__ import annotations

import ast
import fnmatch
import posixpath
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from leakcheck.project.names import import_base, module_names
from leakcheck.ruleset import RuleSet
from leakcheck.ruleset.model import WordRule, WordSet
from leakcheck.types import PROPERTY_DECORATORS
from leakcheck.words import split_words

_IDENT = re.compile(rb"[A-Za-z0-9_]+")
# Where a word may run on from one string literal into the next: a closing quote, blanks,
# newlines or comments, a prefix, an opening quote; two literals side by side between word
# characters (``"reas""oning"``); a backslash-newline inside a word. A docstring's
# ``"""``, an empty string and a line continuation in code do not match, so most files are
# not searched again. A comment holding a quote is not crossed: a search from every quote
# could then rescan the same comment lines (quadratic on a file of such lines).
_JUNCTION = re.compile(  # (one pattern led by its quote: the search skips to quotes)
    rb"""["'](?:(?:[ \t\f]|\\?\r?\n|#[^\r\n"']*(?=\r?\n))+[rRbBuUfF]{0,2}["']"""
    rb"""|(?<=[A-Za-z0-9_]["'])[rRbBuUfF]{0,2}["'](?=[A-Za-z0-9_]))""")
_CONTINUED = re.compile(rb"\\(?<=[A-Za-z0-9_]\\)\r?\n(?=[A-Za-z0-9_])")
_ESCAPE = re.compile(rb"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}\r\n]*\}"
                     rb"|[0-7]{1,3})")
_NO_CODE = re.compile(rb"(?:[ \t\f\r\n]|#[^\r\n]*)*")  # (an empty `__init__.py`)
_RELATIVE = re.compile(rb"\bfrom(?:\s|\\\r?\n)*(\.+)([\w.]*)")  # (`from.x import y` is valid)

Need = tuple[tuple[str, ...], ...]  # alternatives, each a set of words that must all appear


def _phrases(ws: WordSet) -> list[tuple[str, ...]]:
    return [tuple(p) for p in ws.phrases]


def _rule(rule: WordRule) -> list[tuple[str, ...]]:
    return _phrases(rule.words)


def _names(names: Iterable[str]) -> list[tuple[str, ...]]:
    return [split_words(n) for n in names if split_words(n)]


@dataclass(frozen=True, slots=True)
class Vocab:
    """What the loaded rules make a file a possible source or sink holder."""

    sources: Need
    sinks: Need
    sink_globs: tuple[str, ...]  # user grader patterns, matched against word runs

    @classmethod
    def from_rules(cls, rules: RuleSet) -> Vocab:
        src: list[tuple[str, ...]] = []
        for r in (*rules.name_sources, *rules.call_sources):
            src += _rule(r)
        for p in rules.parsers:
            src += _names(p.callees)
        for t in rules.tags:
            for pair in t.pairs:
                src += _names((pair.open, pair.close))
        for reg in rules.registration_sources:
            src += _names(reg.params) + _phrases(reg.param_words) + _names(reg.collections)
        for d in rules.decoders:
            src += _names(d.callees | d.batch_callees | d.any_receiver_callees)
        for a in rules.attribute_sources:
            words = tuple(w for part in a.chain if part != "[]" for w in split_words(part))
            if words:
                src.append(words)
        snk: list[tuple[str, ...]] = []
        for r in rules.call_sinks:
            snk += _rule(r)
        for reg in rules.registration_sinks:
            snk += _names(reg.keywords | reg.trainers | reg.rubrics | reg.rubric_keywords
                          | reg.add_functions)
            snk += (_phrases(reg.decorator_words) + _phrases(reg.registry_words)
                    + _rule(reg.def_rule) + _rule(reg.callable_class_rule))
        for s in rules.stores:
            snk += _rule(s.rule)
        globs = tuple(p.rsplit(".", 1)[-1] for p in rules.grader_names)
        return cls(tuple(dict.fromkeys(src)), tuple(dict.fromkeys(snk)), globs)


def _covered(need: Need, words: set[str]) -> bool:
    return any(all(w in words for w in alt) for alt in need)


@dataclass(frozen=True, slots=True)
class FileFacts:
    source: bool
    sink: bool
    runs: frozenset[bytes]
    relative: tuple[tuple[int, str], ...]  # (dots, module) of `from .x import`
    empty: bool = False  # blank lines and comments only: a module with nothing in it


def file_facts(data: bytes, vocab: Vocab) -> FileFacts:
    idents = set(_IDENT.findall(data))
    words: set[str] = set()
    # the runs a module head is looked for in: whole identifiers (`open_instruct`,
    # `reward_utils`: a head with `_` in it is never one alphanumeric run) and their
    # alphanumeric parts, as before
    parts: set[bytes] = set()
    for ident in idents:
        if b"_" in ident:
            parts.update(ident.split(b"_"))
        else:
            parts.add(ident)
    parts.discard(b"")
    for part in parts:  # (the words of an identifier are those of its parts)
        words.update(split_words(part.decode("ascii")))
    runs = frozenset(idents | parts)
    source = _covered(vocab.sources, words)
    sink = _covered(vocab.sinks, words)
    if not (source and sink) and (_JUNCTION.search(data) or _CONTINUED.search(data)
                                  or _ESCAPE.search(data)):
        words |= _literal_words(data)
        source = source or _covered(vocab.sources, words)
        sink = sink or _covered(vocab.sinks, words)
    if not sink and vocab.sink_globs:  # user patterns: word runs and whole identifiers
        names = {r.decode("ascii") for r in runs}
        sink = any(fnmatch.fnmatchcase(n, g) for g in vocab.sink_globs for n in names)
    relative = tuple((len(m.group(1)), m.group(2).decode("ascii", "replace"))
                     for m in _RELATIVE.finditer(data))
    return FileFacts(source, sink, runs, relative, _NO_CODE.fullmatch(data) is not None)


def _unescape(m: re.Match[bytes]) -> bytes:
    """An escape sequence as the character it stands for, when that is part of a word."""
    code = m.group(0)[1:]
    try:
        if code[:1] == b"N":
            char = unicodedata.lookup(code[2:-1].decode("ascii", "replace"))
        elif code[:1] in b"xuU":
            char = chr(int(code[1:], 16))
        else:
            char = chr(int(code, 8))
    except (KeyError, ValueError, OverflowError):  # no such name or code point
        return b" "
    return char.encode() if char.isascii() and (char.isalnum() or char == "_") else b" "


def _literal_words(data: bytes) -> set[str]:
    """The words of string literals as the engine reads their values: adjacent literals
    joined (``"reas" "oning_content"``, also across lines and a backslash), escapes
    decoded (``"\\x72easoning"``). An over-approximation: junctions are found in bytes,
    without knowing which quotes open a string, so more text may be joined than Python
    joins; the words are added to the file's own."""
    text = _ESCAPE.sub(_unescape, _JUNCTION.sub(b"", _CONTINUED.sub(b"", data)))
    words: set[str] = set()
    for ident in set(_IDENT.findall(text)):
        words.update(split_words(ident.decode("ascii")))
    return words


class _Components:
    def __init__(self) -> None:
        self.parent: dict[object, object] = {}

    def find(self, x: object) -> object:
        parent = self.parent
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: object, b: object) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:  # which root wins does not matter: only membership is ever read
            self.parent[ra] = rb


def module_heads(rel: str, root: Path,
                 names: tuple[str, tuple[str, ...]] | None = None) -> tuple[str, ...]:
    """Every name a file answers to as a module (what ``analyze_project`` may give it);
    ``names``: its ``module_names``, when the caller has them already."""
    primary, aliases = names if names is not None else module_names(rel, root)
    full = posixpath.splitext(rel)[0].replace("/", ".")  # `rel` is POSIX and normalized
    return (primary, *aliases, full)


def components(facts: dict[str, FileFacts | object], names: dict[str, tuple[str, ...]]
               ) -> dict[str, str]:
    """Each file of every component that holds a possible source and a possible sink,
    with the component it is in (named by its first file):
    no taint crosses from one component to another, so each can be linked and solved on
    its own and its findings kept until one of its files changes. ``facts`` values have
    ``source``, ``sink``, ``relative`` and ``named`` (or ``runs``)."""
    comps = _Components()
    # A module with no code (an empty package `__init__.py`) holds nothing taint could
    # pass through: it joins no one, neither its importers (`import rl.common.text` names
    # `rl`) nor what it would seem to name itself
    empty = {rel for rel, f in facts.items() if getattr(f, "empty", False)}
    parts = _ModuleParts({rel: mods for rel, mods in names.items() if rel not in empty})
    everything: frozenset[bytes] | None = None  # (for facts that hold all their runs)
    for rel, mods in names.items():
        comps.find(("file", rel))
        if rel in empty:
            continue
        for mod in mods:
            comps.union(("file", rel), ("module", mod))
    for rel, f in facts.items():
        if rel in empty:
            continue
        named = getattr(f, "named", None)
        if named is None:
            everything = everything if everything is not None else name_words(names)
            named = f.runs & everything  # type: ignore[union-attr]
        words = frozenset(named)
        for mod in parts.named_by(words):
            comps.union(("file", rel), ("module", mod))
        if f.relative:  # type: ignore[union-attr]
            primary = names[rel][0] if rel in names else ""
            is_pkg = rel.endswith("__init__.py")
            for dots, module in f.relative:  # type: ignore[union-attr]
                base = import_base(primary, is_pkg, dots, tuple(module.split(".")) if module
                                   else None)
                for mod in parts.under(base, words):
                    comps.union(("file", rel), ("module", mod))
    has_source: set[object] = set()
    has_sink: set[object] = set()
    for rel, f in facts.items():
        c = comps.find(("file", rel))
        if f.source:  # type: ignore[union-attr]
            has_source.add(c)
        if f.sink:  # type: ignore[union-attr]
            has_sink.add(c)
    keep = has_source & has_sink
    first: dict[object, str] = {}
    for rel in sorted(facts):
        c = comps.find(("file", rel))
        if c in keep:
            first.setdefault(c, rel)
    return {rel: first[c] for rel in facts if (c := comps.find(("file", rel))) in keep}


_ASCII_IDENT = re.compile(r"[A-Za-z0-9_]+")


@lru_cache(maxsize=65536)
def _required(name: str) -> frozenset[bytes] | None:
    """The parts of a dotted name a file's bytes must hold to name it: every part, as the
    identifier run it is. A part no ASCII run can spell (``données``) is not required:
    without it the rule only joins more. None: no code can name it (``run-eval``, ``1st``
    are no identifiers, so no import statement or attribute spells them)."""
    parts = name.split(".")
    if not all(p.isidentifier() for p in parts):
        return None
    return frozenset(p.encode() for p in parts if _ASCII_IDENT.fullmatch(p))


def name_words(names: dict[str, tuple[str, ...]]) -> frozenset[bytes]:
    """Every part of every module name: the identifier runs the pre-filter reads of a file
    (its ``named``)."""
    return frozenset(p for mods in names.values() for m in mods for p in _required(m) or ())


class _ModuleParts:
    """Which project modules a file may name. Code reaches another module only by its
    whole dotted name (``import a.b.c``, ``from a.b import c``, ``a.b.c.f()`` after
    ``import a``, or a chain of re-exports, each of which names the next module whole), so
    a file whose identifier runs hold every part of a module's name may reach it; a
    relative import names its base module and what is under it by the rest."""

    def __init__(self, names: dict[str, tuple[str, ...]]) -> None:
        self.required: dict[str, frozenset[bytes]] = {}
        for mods in names.values():
            for mod in mods:
                need = _required(mod)
                if need is not None:  # (one no code can name is joined to its file only)
                    self.required[mod] = need
        # each module under its rarest required part: a file is checked against only the
        # modules of the words it holds (``rl.team417.rewards`` under ``team417``)
        count: dict[bytes, int] = {}
        for need in self.required.values():
            for part in need:
                count[part] = count.get(part, 0) + 1
        self.by_part: dict[bytes, list[str]] = {}
        self.anywhere: list[str] = []  # no part an ASCII run spells: any file may name it
        self.below: dict[str, list[str]] = {}  # package name -> every module under it
        for mod in sorted(self.required):
            need = self.required[mod]
            if need:
                self.by_part.setdefault(min(need, key=lambda p: (count[p], p)), []).append(mod)
            else:
                self.anywhere.append(mod)
            pieces = mod.split(".")
            for i in range(1, len(pieces)):
                self.below.setdefault(".".join(pieces[:i]), []).append(mod)

    def named_by(self, words: frozenset[bytes]) -> list[str]:
        found = list(self.anywhere)
        for word in words:
            for mod in self.by_part.get(word, ()):
                if self.required[mod] <= words:
                    found.append(mod)
        return found

    def under(self, base: str | None, words: frozenset[bytes]) -> list[str]:
        """``base`` itself and each module under it whose remaining parts ``words`` hold."""
        if not base:
            return []
        found = [base] if base in self.required else []
        cut = len(base) + 1
        for mod in self.below.get(base, ()):
            rest = _required(mod[cut:])
            if rest is not None and rest <= words:
                found.append(mod)
        return found


def needed_files(root: Path, sources: list[tuple[str, bytes]], rules: RuleSet) -> set[str]:
    """The files (relative paths) of every component that may hold a finding."""
    vocab = Vocab.from_rules(rules)
    facts = {rel: file_facts(data, vocab) for rel, data in sources}
    packages: dict[str, bool] = {}
    names = {rel: module_heads(rel, root, module_names(rel, root, packages))
             for rel, _ in sources}
    return set(components(facts, names))


def _dotted(node: ast.expr) -> tuple[str, ...] | None:
    """leakcheck.graph.scan.dotted_name over CPython's tree."""
    parts: list[str] = []
    cur: ast.expr = node
    while True:
        if isinstance(cur, ast.Name):
            parts.append(cur.id)
            return tuple(reversed(parts))
        if isinstance(cur, ast.Attribute):
            parts.append(cur.attr)
            cur = cur.value
        elif isinstance(cur, ast.Call):
            cur = cur.func
        elif isinstance(cur, ast.Subscript):
            cur = cur.value
        else:
            return tuple(reversed(parts)) if parts else None


def check_skipped(data: bytes) -> frozenset[str] | None:
    """The ``@property`` names of a file that is not analyzed, or None when CPython's
    parser does not accept it (the caller then parses it the usual way, for its error)."""
    from leakcheck.parse import (  # (libcst: only where files are skipped)
        check_python_syntax,
        python_ast,
        refused_up_front,
    )

    if refused_up_front(data):
        return None  # parse_source decides, as it would without the pre-filter
    try:
        if b"property" not in data:  # only CPython's verdict is needed
            check_python_syntax(data)
            return frozenset()
        tree = python_ast(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError, UnicodeError, LookupError):
        return None
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                name = _dotted(dec)
                if name and name[-1] in PROPERTY_DECORATORS:
                    found.add(node.name)
    return frozenset(found)
