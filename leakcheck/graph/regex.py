"""What a regular expression does to a think section, read from its pattern text.

No regex is compiled or run: the pattern is scanned for capturing groups and for the tag
strings the packs declare, which is enough for the idioms training code uses
(``<think>(.*?)</think>``, ``</think>(.*)``, ``<answer>(.*?)</answer>``, ``\\boxed{(.*)}``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from leakcheck.ruleset.match import Vocabulary
from leakcheck.types import lean_value

COT, CLEAN, INHERIT = "cot", "clean", "inherit"
_UNESCAPE = re.compile(r"\\([^A-Za-z0-9])")
# the part of a pattern before a closing tag that matches "anything from the start"
_WILDCARD_HEAD = re.compile(r"^\^?(?:\(\?[a-zA-Z]+\))?(?:\\s\*)?"
                            r"(?:\.\*\??|\[\\s\\S\]\*\??|\[\\S\\s\]\*\??|\(\.\|\\n\)\*\??)$")
_WHITESPACE_TAIL = re.compile(r"^(?:\\s[*+]|\\n[*+]?|\s)*\$?$")
_NAMED_GROUP = re.compile(r"\(\?P?<([A-Za-z_]\w*)>")


@lean_value
@dataclass(frozen=True, slots=True)
class RegexRole:
    groups: tuple[str, ...]  # role of capturing groups 1..n
    names: tuple[tuple[str, int], ...]  # named group -> index
    answer_only: bool  # every capture is an answer capture: the match object is clean
    strips_cot: bool  # re.sub(pattern, "", s) removes the think section
    kind: str  # taint kind of a COT group
    whole_cot: bool  # no captures and the whole match lies inside a think section


def _groups(pattern: str) -> list[tuple[int, int, str | None]]:
    """(start, end, name) of each capturing group, in group-number order."""
    out: list[tuple[int, int, str | None]] = []
    stack: list[tuple[int, bool, str | None, int]] = []
    i, n, in_class = 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern.startswith("[]", i) or pattern.startswith("[^]", i):
                i += 2
        elif c == "(":
            name = None
            capturing = True
            if pattern.startswith("(?", i):
                m = _NAMED_GROUP.match(pattern, i)  # at i: no copy of the rest per group
                if m:
                    name = m.group(1)
                else:
                    capturing = False
            slot = len(out)
            if capturing:
                out.append((i, -1, name))
            stack.append((i, capturing, name, slot))
        elif c == ")" and stack:
            start, capturing, name, slot = stack.pop()
            if capturing:
                out[slot] = (start, i, name)
        i += 1
    return out


class RegexReader:
    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self.read = lru_cache(maxsize=4096)(self._read)

    def _last_tag(self, text: str) -> tuple[int, str, str] | None:
        best: tuple[int, str, str] | None = None
        for tag in self.vocab.tag_strings:
            pos = text.rfind(tag)
            if pos >= 0:
                hit = self.vocab.tag(tag)
                assert hit is not None
                end = pos + len(tag)
                if best is None or end > best[0] or (end == best[0] and len(tag) > 0):
                    best = (end, hit.role, hit.kind)
        return best

    def _answer_before(self, before: str, after: str, think_end: int) -> bool:
        for pair in self.vocab.answer_tags:
            pos = before.rfind(pair.open)
            if pos >= 0 and pos >= think_end and pair.close in after:
                return True
        return any(o in before[think_end:] for o in self.vocab.answer_openers)

    def _read(self, pattern: str) -> RegexRole:
        groups = _groups(pattern)
        roles: list[str] = []
        names: list[tuple[str, int]] = []
        kind = "cot"
        for index, (start, end, name) in enumerate(groups, 1):
            before = _UNESCAPE.sub(r"\1", pattern[:start])
            after = _UNESCAPE.sub(r"\1", pattern[end + 1:]) if end >= 0 else ""
            last = self._last_tag(before)
            think_end = last[0] if last else 0
            after_close = last is not None and last[1] == "close"
            if after_close or self._answer_before(before, after, think_end):
                role = CLEAN
            elif last is not None and last[1] == "open":
                role, kind = COT, last[2]
            elif any(self.vocab.tag(t) and self.vocab.tag(t).role == "close"  # type: ignore[union-attr]
                     and t in after for t in self.vocab.tag_strings):
                role = COT
            else:
                role = INHERIT
            roles.append(role)
            if name:
                names.append((name, index))
        text = _UNESCAPE.sub(r"\1", pattern)
        strips = any(self._spans_section(text, tag) for tag in self.vocab.tag_strings)
        whole_cot = False
        answer_only = bool(roles) and all(r == CLEAN for r in roles)
        return RegexRole(tuple(roles), tuple(names), answer_only, strips, kind, whole_cot)


    def _spans_section(self, text: str, tag: str) -> bool:
        """Deleting a match removes everything up to and including the closing tag, and
        nothing after it but whitespace: ``<think>.*?</think>\\s*``, ``^.*?</think>``."""
        hit = self.vocab.tag(tag)
        if hit is None or hit.role != "close":
            return False
        pos = text.find(tag)
        if pos < 0:
            return False
        head, tail = text[:pos], text[pos + len(tag):]
        if not _WHITESPACE_TAIL.match(tail):
            return False
        return hit.pair.open in head or bool(_WILDCARD_HEAD.match(head))

