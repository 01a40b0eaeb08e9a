"""``json.dumps(obj, indent=2, ensure_ascii=False)`` (``sort_keys`` as asked), the same text
in a third of the time: with an indent, the json module encodes through its pure-Python
generators (its C encoder only writes compact output), which took 0.65 s for the 1M-line
benchmark tree's 8 MB report (now 0.22 s) — a quarter of a warm run. Strings still go
through the json module's C escaping.
Anything but the JSON types (a str key, dict, list, tuple, str, int, float, bool, None, the
exact types) hands the whole document back to ``json.dumps``."""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any

_INF = float("inf")


class _NotPlain(Exception):
    pass


def dumps(obj: Any, *, sort_keys: bool = False) -> str:
    out: list[str] = []
    try:
        _write(obj, out, "\n", sort_keys)
    except _NotPlain:
        return json.dumps(obj, indent=2, sort_keys=sort_keys, ensure_ascii=False)
    return "".join(out)


def _write(obj: Any, out: list[str], newline: str, sort_keys: bool) -> None:
    kind = type(obj)
    if kind is str:
        out.append(encode_basestring(obj))
    elif kind is dict:
        if not obj:
            out.append("{}")
            return
        inner = newline + "  "
        sep = "{" + inner
        for key, value in (sorted(obj.items()) if sort_keys else obj.items()):
            if type(key) is not str:
                raise _NotPlain
            out.append(sep)
            out.append(encode_basestring(key))
            out.append(": ")
            _write(value, out, inner, sort_keys)
            sep = "," + inner
        out.append(newline + "}")
    elif kind is list or kind is tuple:
        if not obj:
            out.append("[]")
            return
        inner = newline + "  "
        sep = "[" + inner
        for value in obj:
            out.append(sep)
            _write(value, out, inner, sort_keys)
            sep = "," + inner
        out.append(newline + "]")
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif kind is int:
        out.append(int.__repr__(obj))
    elif kind is float:
        if obj != obj:
            out.append("NaN")
        elif obj == _INF:
            out.append("Infinity")
        elif obj == -_INF:
            out.append("-Infinity")
        else:
            out.append(float.__repr__(obj))
    else:
        raise _NotPlain
