"""The validated, merged rule set. Frozen: it crosses into every worker process."""

from __future__ import annotations

from dataclasses import dataclass, field

from leakcheck.types import RuleInfo
from leakcheck.words import contains_phrase


@dataclass(frozen=True, slots=True)
class WordSet:
    """A vocabulary: single words and word sequences, matched word by word."""

    phrases: tuple[tuple[str, ...], ...] = ()
    # the one-word phrases as a set, the others as they are: matching is asked for every
    # call, name and attribute the builder meets, against vocabularies of hundreds of words
    _singles: frozenset[str] = field(init=False, repr=False, compare=False)
    _sequences: tuple[tuple[str, ...], ...] = field(init=False, repr=False, compare=False)
    # words -> whether they match: the same identifiers are asked about again and again
    _memo: dict[tuple[str, ...], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_singles", frozenset(
            p[0] for p in self.phrases if len(p) == 1))
        object.__setattr__(self, "_sequences", tuple(p for p in self.phrases if len(p) != 1))
        object.__setattr__(self, "_memo", {})

    def matches(self, words: tuple[str, ...]) -> bool:
        hit = self._memo.get(words)
        if hit is None:
            hit = self._memo[words] = not self._singles.isdisjoint(words) or any(
                contains_phrase(words, p) for p in self._sequences)
        return hit

    def __or__(self, other: WordSet) -> WordSet:
        return WordSet(tuple(dict.fromkeys(self.phrases + other.phrases)))


EMPTY_WORDS = WordSet()


@dataclass(frozen=True, slots=True)
class WordRule:
    """Words that must match, and words that veto the match."""

    kind: str
    words: WordSet
    unless: WordSet = EMPTY_WORDS

    def matches(self, words: tuple[str, ...]) -> bool:
        return self.words.matches(words) and not self.unless.matches(words)


@dataclass(frozen=True, slots=True)
class ParserSource:
    """A reasoning parser whose result holds the reasoning and the answer apart."""

    kind: str
    callees: frozenset[str]
    cot_items: tuple[int, ...] = ()
    clean_items: tuple[int, ...] = ()
    cot_keys: tuple[str, ...] = ()
    clean_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TagPair:
    open: str
    close: str


@dataclass(frozen=True, slots=True)
class TagSource:
    kind: str
    pairs: tuple[TagPair, ...]


@dataclass(frozen=True, slots=True)
class RegistrationSource:
    """Which parameters of a registered grader are raw completions."""

    kind: str
    params: frozenset[str]
    param_words: WordSet
    collections: frozenset[str]
    collection_last_words: frozenset[str]


@dataclass(frozen=True, slots=True)
class DecodeSource:
    kind: str
    callees: frozenset[str]
    batch_callees: frozenset[str]
    receiver_words: WordSet
    any_receiver_callees: frozenset[str]
    unless_value_words: WordSet


@dataclass(frozen=True, slots=True)
class AttributeSource:
    """An access chain such as ``outputs[].text``: attribute names and ``[]`` for subscripts."""

    kind: str
    chain: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RegistrationSinks:
    keywords: frozenset[str]
    trainers: frozenset[str]
    trainer_slot: int
    rubrics: frozenset[str]
    rubric_keywords: frozenset[str]
    add_functions: frozenset[str]
    decorator_words: WordSet
    registry_words: WordSet
    def_rule: WordRule
    callable_methods: frozenset[str] = frozenset()  # `__call__` of a grader-named class
    callable_class_rule: WordRule = WordRule("", EMPTY_WORDS)


@dataclass(frozen=True, slots=True)
class LibraryGrader:
    """Library graders known to grade the whole completion, its think section included:
    registering one (``reward_funcs=[accuracy_reward]`` imported from ``trl.rewards``) lets
    the trainer hand it raw completions, though no code in the tree passes them."""

    kind: str
    qualified_names: frozenset[str]
    note: str


@dataclass(frozen=True, slots=True)
class StoreSinks:
    rule: WordRule
    methods: frozenset[str]


@dataclass(frozen=True, slots=True)
class MaySeeReasoning:
    words: WordSet
    qualified_names: frozenset[str]


@dataclass(frozen=True, slots=True)
class AnswerExtraction:
    pairs: tuple[tuple[WordSet, WordSet], ...]
    answer_tags: tuple[TagPair, ...]
    answer_openers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PackExample:
    """A snippet embedded in a pack, with ``# expect: RULE`` markers on its sink lines (no
    marker: it must be clean). ``leakcheck --test-rules`` and the test suite run them."""

    pack: str
    name: str
    code: str
    line: int


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[RuleInfo, ...]
    name_sources: tuple[WordRule, ...]
    call_sources: tuple[WordRule, ...]
    parsers: tuple[ParserSource, ...]
    tags: tuple[TagSource, ...]
    registration_sources: tuple[RegistrationSource, ...]
    decoders: tuple[DecodeSource, ...]
    attribute_sources: tuple[AttributeSource, ...]
    call_sinks: tuple[WordRule, ...]
    may_see_reasoning: MaySeeReasoning
    registration_sinks: tuple[RegistrationSinks, ...]
    stores: tuple[StoreSinks, ...]
    answer_extraction: AnswerExtraction
    strip_pairs: tuple[tuple[WordSet, WordSet], ...]
    sanitizer_names: frozenset[str]
    files: tuple[str, ...]
    digest: str  # hash of every pack's bytes: part of any cache key
    examples: tuple[PackExample, ...] = ()
    library_graders: tuple[LibraryGrader, ...] = ()
    # the user's [tool.leakcheck.vocabulary]: qualified names or glob name patterns
    grader_names: tuple[str, ...] = ()
    sanitizer_patterns: tuple[str, ...] = ()
    may_see_patterns: tuple[str, ...] = ()

    def rule_for_kind(self, kind: str) -> RuleInfo:
        for rule in self.rules:
            if rule.kind == kind:
                return rule
        raise KeyError(kind)
