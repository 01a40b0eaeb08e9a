"""Symbolic facts a value can carry, so tag idioms hold through variables and constants.

``parts = s.split(THINK_END)`` gives ``parts`` the fact ``Split(close tag)``; reading
``parts[-1]`` later is then recognized as the text after the closing tag.
"""

from __future__ import annotations

from dataclasses import dataclass

from leakcheck.ruleset.match import TagHit
from leakcheck.ruleset.model import TagPair
from leakcheck.types import lean_value


@lean_value
@dataclass(frozen=True, slots=True)
class Const:
    value: object  # str, int, float, bool, None, or a tuple of constants


@lean_value
@dataclass(frozen=True, slots=True)
class Split:
    tag: TagHit
    method: str  # split | rsplit | partition | rpartition


@lean_value
@dataclass(frozen=True, slots=True)
class AnswerSplit:
    """``s.split("<answer>")`` (role "open") or ``s.split("</answer>")`` (role "close")."""

    pair: TagPair
    role: str
    method: str


@lean_value
@dataclass(frozen=True, slots=True)
class AnswerPart:
    """Text after an answer opener (role "open") or before an answer closer ("close"): cut
    at the other tag, what is left is inside the answer tags."""

    pair: TagPair
    role: str


@lean_value
@dataclass(frozen=True, slots=True)
class TagPos:
    """An index into a string at a tag: ``s.index(TAG)`` (after=False), ``+ len(TAG)``."""

    tag: TagHit
    after: bool


@lean_value
@dataclass(frozen=True, slots=True)
class TagLen:
    tag: TagHit


@lean_value
@dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled regex: ``P = re.compile(p)``."""

    pattern: str


@lean_value
@dataclass(frozen=True, slots=True)
class Match:
    """A match object (or an iterator/list of them) of ``pattern``."""

    pattern: str


@lean_value
@dataclass(frozen=True, slots=True)
class FindAll:
    pattern: str


@lean_value
@dataclass(frozen=True, slots=True)
class FunctionRef:
    """A name bound by def, class or import (never a source by name), by qualified name."""

    qualname: str


@lean_value
@dataclass(frozen=True, slots=True)
class FunctionRefs:
    """One of several functions or classes, as merging gives it: a branch assigned each
    (``fn = a if c else b``), the items of a list of functions (``for f in (a, b)``), a
    registry dict read with a key not known here (``REWARD_FUNCS[name]``). Calling it calls
    each; qualified names sorted."""

    qualnames: tuple[str, ...]


def join_refs(a: object, b: object) -> FunctionRefs | None:
    """What a merge of two references is (None: not both references)."""
    names: set[str] = set()
    for info in (a, b):
        if isinstance(info, FunctionRef):
            names.add(info.qualname)
        elif isinstance(info, FunctionRefs):
            names.update(info.qualnames)
        else:
            return None
    return FunctionRefs(tuple(sorted(names)))


@lean_value
@dataclass(frozen=True, slots=True)
class ParserResult:
    """The whole result of a reasoning parser, before a field is picked."""

    callee: str


def const_str(info: object) -> str | None:
    if isinstance(info, Const) and isinstance(info.value, str):
        return info.value
    return None


def const_int(info: object) -> int | None:
    if isinstance(info, Const) and isinstance(info.value, int) and not isinstance(
            info.value, bool):
        return info.value
    return None


@lean_value
@dataclass(frozen=True, slots=True)
class SinkMethod:
    """A grader's method taken as a value, not called (``fn = judge.grade``,
    ``partial(judge.grade, q)``, ``map(judge.grade, texts)``): calling it is a grader call.
    ``code``: how the grader is written; ``bound``: the taint of arguments a partial bound."""

    code: str
    bound: frozenset = frozenset()


@lean_value
@dataclass(frozen=True, slots=True)
class Partial:
    """``functools.partial(f, *args, **keywords)``."""

    qualname: str
    args: tuple
    keywords: tuple


@lean_value
@dataclass(frozen=True, slots=True)
class Instance:
    """An instance of a class defined in the project (``obj = Manager(...)``)."""

    qualname: str
