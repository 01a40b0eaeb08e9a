"""The JSON and SARIF reports are ``json.dumps(doc, indent=2, ensure_ascii=False)`` text
(sorted keys for JSON), byte for byte, whichever encoder writes them
(``leakcheck.report.pretty``)."""

from __future__ import annotations

import json
import random

import pytest

from leakcheck.report.pretty import dumps

_STRINGS = ["", "plain", 'quote " and \\ backslash', "tab\tnew\nline\r", "\x00\x1f\x7f",
            "é 🤔 \u2028 \u2029", "\ud800", "</think>", "a" * 300]
_SCALARS = [None, True, False, 0, -1, 2**70, 1.5, -0.0, 1e300, 0.1 + 0.2, 1 / 3, 1e-7,
            float("nan"), float("inf"),
            float("-inf"), *_STRINGS]


def _doc(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth > 4 or roll < 0.35:
        return rng.choice(_SCALARS)
    if roll < 0.65:
        return {rng.choice(_STRINGS) + str(rng.randint(0, 9)): _doc(rng, depth + 1)
                for _ in range(rng.randint(0, 4))}
    items = [_doc(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return tuple(items) if rng.random() < 0.3 else items


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("sort_keys", [True, False])
def test_the_text_is_json_dumps_text(seed: int, sort_keys: bool) -> None:
    doc = _doc(random.Random(seed))
    assert dumps(doc, sort_keys=sort_keys) == json.dumps(doc, indent=2, sort_keys=sort_keys,
                                                         ensure_ascii=False)


def _either(fn):
    try:
        return fn()
    except TypeError as exc:
        return type(exc)


@pytest.mark.parametrize("doc", [{1: "int key"}, {"k": {True: 1, None: 2}}, {"a": 1.5, 2: "b"},
                                 {"x": 3.0, "n": [1, (2, {"z": None})]}])
@pytest.mark.parametrize("sort_keys", [True, False])
def test_keys_json_converts_are_converted_as_json_does(doc, sort_keys: bool) -> None:
    """(No report has such keys; the whole document then goes to json itself.)"""
    assert _either(lambda: dumps(doc, sort_keys=sort_keys)) == _either(
        lambda: json.dumps(doc, indent=2, sort_keys=sort_keys, ensure_ascii=False))


def test_a_type_json_refuses_is_refused_as_json_refuses() -> None:
    with pytest.raises(TypeError):
        dumps({"x": {1, 2}})
