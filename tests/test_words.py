"""SPEC §2: names are compared word by word (snake_case and camelCase)."""

import pytest

from leakcheck.words import contains_phrase, split_words


@pytest.mark.parametrize(
    ("identifier", "words"),
    [
        ("reasoningContent", ("reasoning", "content")),
        ("reasoning_content", ("reasoning", "content")),
        ("THINK_END", ("think", "end")),
        ("HTTPResponse", ("http", "response")),
        ("_strip_chain_of_thought", ("strip", "chain", "of", "thought")),
        ("ProcessRewardModel", ("process", "reward", "model")),
        ("completion_ids", ("completion", "ids")),
        ("gt_cot", ("gt", "cot")),
        ("x2y", ("x", "2", "y")),
        ("", ()),
    ],
)
def test_split_words(identifier: str, words: tuple[str, ...]) -> None:
    assert split_words(identifier) == words


def test_words_not_substrings() -> None:
    # `reason` is not a CoT word, and word matching must not see it inside `finish_reason`
    assert "reason" in split_words("finish_reason")
    assert "reasoning" not in split_words("finish_reason")
    assert "rm" not in split_words("format")


def test_sequences() -> None:
    assert contains_phrase(("remove", "chain", "of", "thought"), ("chain", "of", "thought"))
    assert not contains_phrase(("chain", "thought", "of"), ("chain", "of", "thought"))
    assert contains_phrase(("sample", "reason", "content"), ("reason", "content"))
    assert not contains_phrase(("reason",), ("reason", "content"))
