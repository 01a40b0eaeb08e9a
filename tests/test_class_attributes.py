"""SPEC §3 "attributes of `self` across methods, inheritance inside the project": what a
sibling subclass writes into `self` never reaches another subclass's instances, unless the
attribute is a mutable class attribute — one container, bound in a class body, that every
instance of the hierarchy changes in place."""

from __future__ import annotations

from pathlib import Path

import pytest
import report_factories as rf

_BASE = '''import collections
from dataclasses import field

from judge_sdk import Judge

JUDGE = Judge("m")
KEYS = ("k",)


class Base:
{body}
'''
_WRITER = '''from base import Base


class Writer(Base):
    def step(self, message):
        {write}
'''
_READER = '''from base import JUDGE, Base


class Reader(Base):
    def look(self):
        return JUDGE.grade({read})
'''
_APPEND = ("self.cache.append(message.reasoning_content)", "self.cache[-1]")
_STORE = ('self.cache["k"] = message.reasoning_content', 'self.cache["k"]')

SHARED = [  # the class body binds one container for every instance
    ("    cache = []", *_APPEND),
    ("    cache: list = list()", *_APPEND),
    ("    cache: dict = {}", *_STORE),
    ("    cache = dict()", *_STORE),
    ("    cache = collections.defaultdict(list)", *_STORE),
    ("    cache = {k: None for k in KEYS}", *_STORE),
]
PER_INSTANCE = [  # no container in the class body: each instance has its own
    ("    def __init__(self):\n        self.cache = {}", *_STORE),
    ("    def __init__(self):\n        self.cache = []", *_APPEND),
    ("    cache = None", "self.cache = message.reasoning_content", "self.cache"),
    ('    cache: str = ""', "self.cache = message.reasoning_content", "self.cache"),
    ("    cache: dict = field(default_factory=dict)", *_STORE),
]


def _case(tmp_path: Path, body: str, write: str, read: str) -> set[tuple[str, int, str]]:
    return rf.project_findings(tmp_path, {"base.py": _BASE.format(body=body),
                                          "writer.py": _WRITER.format(write=write),
                                          "reader.py": _READER.format(read=read)})


@pytest.mark.parametrize(("body", "write", "read"), SHARED, ids=[c[0].strip() for c in SHARED])
def test_a_sibling_changing_a_mutable_class_attribute_reaches_the_others(
        tmp_path: Path, body: str, write: str, read: str) -> None:
    assert _case(tmp_path, body, write, read) == {("reader.py", 6, "LC101")}


@pytest.mark.parametrize(("body", "write", "read"), PER_INSTANCE,
                         ids=[c[0].strip().splitlines()[-1].strip() for c in PER_INSTANCE])
def test_a_siblings_own_attribute_never_reaches_the_others(
        tmp_path: Path, body: str, write: str, read: str) -> None:
    assert _case(tmp_path, body, write, read) == set()


def test_a_long_inheritance_chain_is_analyzed_whole(tmp_path: Path) -> None:
    """1,500 classes, each a subclass of the one before: every one is a subclass of the
    first, so what the last writes into `self.x` is what the first's method reads. (The
    classes an instance combines were the union of every subclass's MRO, walked whole for
    each class, and MROs were built with a list's `in`: cubic, minutes here.)"""
    lines = ["from judge_sdk import Judge", "", 'JUDGE = Judge("m")', "", "",
             "class C0:", "    def look(self):", "        return JUDGE.grade(self.x)"]
    for i in range(1, 1500):
        lines += [f"class C{i}(C{i - 1}):", f"    def step{i}(self, message):",
                  "        self.x = message.content"]
    lines += ["    def last(self, message):", "        self.x = message.reasoning_content"]
    assert rf.project_findings(tmp_path, {"chain.py": "\n".join(lines) + "\n"}) == {
        ("chain.py", 8, "LC101")}
