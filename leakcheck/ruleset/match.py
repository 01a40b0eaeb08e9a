"""Questions the graph builder asks of the rule set, answered from declared data only."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from functools import lru_cache

from leakcheck.ruleset.model import DecodeSource, ParserSource, RuleSet, TagPair
from leakcheck.words import split_words


@dataclass(frozen=True, slots=True)
class TagHit:
    role: str  # "open" | "close"
    kind: str
    pair: TagPair


def user_match(patterns: tuple[str, ...], dotted: tuple[str, ...],
               qualname: str | None) -> bool:
    """A user entry names a callee by qualified name (``pkg.mod.f``, also as written at the
    call) or by a glob over its last name (``*_checker``)."""
    if not patterns or not dotted:
        return False
    written = ".".join(dotted)
    for p in patterns:
        if "." in p:
            if fnmatch.fnmatchcase(written, p) or (qualname and fnmatch.fnmatchcase(qualname, p)):
                return True
        elif fnmatch.fnmatchcase(dotted[-1], p):
            return True
    return False


class Vocabulary:
    """Memoized matchers over one RuleSet (cheap to build; one per worker)."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self._tags: dict[str, TagHit] = {}
        for src in rules.tags:
            for pair in src.pairs:
                self._tags.setdefault(pair.open, TagHit("open", src.kind, pair))
                self._tags.setdefault(pair.close, TagHit("close", src.kind, pair))
        self.tag_strings = tuple(self._tags)
        self.answer_tags = rules.answer_extraction.answer_tags
        self._answer_tags: dict[str, tuple[TagPair, str]] = {}  # first pair wins, as tags
        for pair in self.answer_tags:
            self._answer_tags.setdefault(pair.open, (pair, "open"))
            self._answer_tags.setdefault(pair.close, (pair, "close"))
        self.answer_openers = rules.answer_extraction.answer_openers
        reg = rules.registration_sinks
        self.registration_keywords = frozenset().union(*(r.keywords for r in reg))
        self.trainers = frozenset().union(*(r.trainers for r in reg))
        self.trainer_slots = {r.trainer_slot for r in reg}
        self.rubrics = frozenset().union(*(r.rubrics for r in reg))
        self.rubric_keywords = frozenset().union(*(r.rubric_keywords for r in reg))
        self.add_functions = frozenset().union(*(r.add_functions for r in reg))
        self.store_methods = frozenset().union(*(s.methods for s in rules.stores))
        # memoize the word-level questions: identifiers repeat a lot
        self.name_source_kind = lru_cache(maxsize=None)(self._name_source_kind)
        self.call_source_kind = lru_cache(maxsize=None)(self._call_source_kind)
        self.is_sanitizer_name = lru_cache(maxsize=None)(self._is_sanitizer_name)
        self.is_grader_call_name = lru_cache(maxsize=None)(self._is_grader_call_name)
        self.is_store_words = lru_cache(maxsize=None)(self._is_store_words)

    # -- sources -------------------------------------------------------------
    def _name_source_kind(self, name: str) -> str | None:
        words = split_words(name)
        for rule in self.rules.name_sources:
            if rule.matches(words):
                return rule.kind
        return None

    def _call_source_kind(self, callee: str) -> str | None:
        words = split_words(callee)
        for rule in self.rules.call_sources:
            if rule.matches(words):
                return rule.kind
        return None

    def parser(self, callee: str) -> ParserSource | None:
        for p in self.rules.parsers:
            if callee in p.callees:
                return p
        return None

    def tag(self, text: str) -> TagHit | None:
        return self._tags.get(text)

    def answer_tag(self, text: str) -> tuple[TagPair, str] | None:
        """(pair, "open" | "close") when ``text`` is an answer tag (``<answer>``)."""
        return self._answer_tags.get(text)

    def registration_param(self, name: str) -> tuple[str, bool] | None:
        """(kind, is_collection) when ``name`` is a completion parameter of a grader."""
        words = split_words(name)
        for src in self.rules.registration_sources:
            if name in src.params or src.param_words.matches(words):
                collection = name in src.collections or (
                    bool(words) and words[-1] in src.collection_last_words)
                return src.kind, collection
        return None

    def decoder(self, callee: str, receiver: str | None) -> DecodeSource | None:
        for dec in self.rules.decoders:
            if callee not in dec.callees:
                continue
            if callee in dec.any_receiver_callees:
                return dec
            if receiver is not None and dec.receiver_words.matches(split_words(receiver)):
                return dec
        return None

    # -- sinks ---------------------------------------------------------------
    def _is_grader_call_name(self, last: str) -> bool:
        words = split_words(last)
        return any(rule.matches(words) for rule in self.rules.call_sinks)

    def user_grader(self, dotted: tuple[str, ...], qualname: str | None = None) -> bool:
        return user_match(self.rules.grader_names, dotted, qualname)

    def may_see_reasoning(self, dotted: tuple[str, ...], qualname: str | None = None) -> bool:
        if user_match(self.rules.may_see_patterns, dotted, qualname):
            return True
        msr = self.rules.may_see_reasoning
        if ".".join(dotted) in msr.qualified_names or (dotted and dotted[-1] in
                                                        msr.qualified_names):
            return True
        return any(msr.words.matches(split_words(part)) for part in dotted)

    def is_grader_def(self, name: str) -> bool:
        words = split_words(name)
        return any(r.def_rule.matches(words) for r in self.rules.registration_sinks)

    def is_grader_method(self, method: str, class_name: str) -> bool:
        """``GSM8KVerifier.__call__``: calling an instance of a grader-named class grades."""
        words = split_words(class_name)
        return any(method in r.callable_methods and r.callable_class_rule.matches(words)
                   for r in self.rules.registration_sinks)

    def is_grader_decorator(self, dotted: tuple[str, ...]) -> bool:
        return any(r.decorator_words.matches(split_words(part))
                   for r in self.rules.registration_sinks for part in dotted)

    def is_registry_name(self, name: str) -> bool:
        words = split_words(name)
        return any(r.registry_words.matches(words) for r in self.rules.registration_sinks)

    def _is_store_words(self, words: tuple[str, ...]) -> bool:
        return any(s.rule.matches(words) for s in self.rules.stores)

    def is_logging_words(self, words: tuple[str, ...]) -> bool:
        """Words that make a reward-named target bookkeeping (the stores' `unless`)."""
        return any(s.rule.unless.matches(words) for s in self.rules.stores)

    # -- sanitizers ----------------------------------------------------------
    def _is_sanitizer_name(self, callee: str) -> bool:
        if callee in self.rules.sanitizer_names:
            return True
        words = split_words(callee)
        pairs = self.rules.answer_extraction.pairs + self.rules.strip_pairs
        return any(a.matches(words) and b.matches(words) for a, b in pairs)

    def is_sanitizer_callee(self, dotted: tuple[str, ...], qualname: str | None = None) -> bool:
        if ".".join(dotted) in self.rules.sanitizer_names or user_match(
                self.rules.sanitizer_patterns, dotted, qualname):
            return True
        return bool(dotted) and self.is_sanitizer_name(dotted[-1])
