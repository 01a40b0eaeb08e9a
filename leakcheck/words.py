"""Identifier -> lower-case words: the primitive every vocabulary match is built on.

``reasoningContent`` -> ("reasoning", "content"); ``THINK_END`` -> ("think", "end");
``HTTPResponse2`` -> ("http", "response", "2"). Matching is word by word, never by
substring, so ``reason`` does not match ``finish_reason`` and ``rm`` does not match
``format``.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Lower->Upper boundaries, acronym->word boundaries (HTTPResponse), letters<->digits.
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


@lru_cache(maxsize=65536)
def split_words(identifier: str) -> tuple[str, ...]:
    words: list[str] = []
    for chunk in re.split(r"[^A-Za-z0-9]+", identifier):
        if chunk:
            words.extend(m.group(0).lower() for m in _CAMEL.finditer(chunk))
    return tuple(words)


def phrase_words(phrase: str) -> tuple[str, ...]:
    """A vocabulary entry: one word, or several separated by spaces (a sequence)."""
    return tuple(w.lower() for w in phrase.split())


def contains_phrase(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    if n == 1:
        return phrase[0] in words
    return any(words[i : i + n] == phrase for i in range(len(words) - n + 1))
