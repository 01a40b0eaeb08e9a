"""``[tool.leakcheck]`` in the nearest pyproject.toml above the analyzed paths (or
``--config FILE``), validated into a frozen Config. Unknown keys, wrong types and bad globs
are ConfigErrors naming the file, the key and its line.

```toml
[tool.leakcheck]
select = ["LC101", "LC102"]        # rules to report (default: all)
ignore = ["LC102"]                 # rules never to report
exclude = ["build", "gen/*"]       # replaces the default excludes
extend-exclude = ["scripts/*"]     # adds to them
per-file-ignores = { "tests/*" = ["LC102"] }
rules = ["lint/leak-pack.toml"]    # extra rule packs, relative to this file

[tool.leakcheck.vocabulary]
cot = ["musing"]                   # more words that name reasoning
graders = ["mypkg.scoring.check", "*_checker"]        # qualified names or name patterns
sanitizers = ["mypkg.text.answer_only", "strip_*"]
may-see-reasoning = ["mypkg.prm.score", "format_*"]   # graders meant to see reasoning
```
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leakcheck.errors import ConfigError

KEYS = {"select": "rules", "ignore": "rules", "exclude": "globs", "extend-exclude": "globs",
        "per-file-ignores": "table", "rules": "paths", "vocabulary": "vocabulary"}
VOCABULARY_KEYS = ("cot", "graders", "sanitizers", "may-see-reasoning")
_FIELD = {"cot": "cot_fields", "graders": "graders", "sanitizers": "sanitizers",
          "may-see-reasoning": "sanctioned_graders"}
_RULE_ID = re.compile(r"^[A-Z]+[0-9]*$")


@dataclass(frozen=True, slots=True)
class Vocabulary:
    # user words naming reasoning (values of these names are sources)
    cot_fields: tuple[str, ...] = ()
    graders: tuple[str, ...] = ()
    sanitizers: tuple[str, ...] = ()
    sanctioned_graders: tuple[str, ...] = ()  # may see reasoning (process reward models)

    def __bool__(self) -> bool:
        return bool(self.cot_fields or self.graders or self.sanitizers
                    or self.sanctioned_graders)


@dataclass(frozen=True, slots=True)
class Config:
    path: str | None = None  # the file it came from
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] | None = None  # None: the defaults
    extend_exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    rules: tuple[str, ...] = ()  # absolute paths
    vocabulary: Vocabulary = field(default_factory=Vocabulary)


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start`` that has a [tool.leakcheck] table."""
    start = start.resolve()
    for directory in (start if start.is_dir() else start.parent, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue  # not ours to judge unless it is the one we use
            if "leakcheck" in data.get("tool", {}):
                return candidate
    return None


def _line(lines: list[str], key: str) -> int | None:
    pat = re.compile(r'^\s*"?' + re.escape(key) + r'"?\s*=')
    for i, line in enumerate(lines):
        if pat.match(line):
            return i + 1
    return None


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read configuration: {exc.strerror}", path=str(path)) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ConfigError(f"invalid TOML: {exc}", path=str(path),
                          line=int(m.group(1)) if m else None) from exc
    table = data.get("tool", {}).get("leakcheck", {}) if path.name == "pyproject.toml" \
        else data.get("tool", {}).get("leakcheck", data)
    lines = text.splitlines()

    def fail(key: str, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError(f"[tool.leakcheck] `{key}`: {message}", path=str(path),
                           line=_line(lines, key.split(".")[-1]), hint=hint)

    if not isinstance(table, dict):
        raise ConfigError("[tool.leakcheck] must be a table", path=str(path))
    for key in table:
        if key not in KEYS:
            raise fail(key, "unknown key", hint="expected one of: " + ", ".join(sorted(KEYS)))

    def strings(key: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(key, "must be a list of strings")
        return tuple(value)

    def globs(key: str, value: Any) -> tuple[str, ...]:
        out = strings(key, value)
        for g in out:
            if not g.strip() or g.count("[") != g.count("]"):
                raise fail(key, f"bad glob {g!r}")
        return out

    def rule_ids(key: str, value: Any) -> tuple[str, ...]:
        out = strings(key, value)
        for r in out:
            if not _RULE_ID.match(r):
                raise fail(key, f"{r!r} is not a rule id (like LC101)")
        return out

    kwargs: dict[str, Any] = {"path": str(path)}
    base = path.parent
    for key, value in table.items():
        if key in ("select", "ignore"):
            kwargs[key] = rule_ids(key, value)
        elif key == "exclude":
            kwargs["exclude"] = globs(key, value)
        elif key == "extend-exclude":
            kwargs["extend_exclude"] = globs(key, value)
        elif key == "rules":
            kwargs["rules"] = tuple(str((base / p).resolve()) for p in strings(key, value))
        elif key == "per-file-ignores":
            if not isinstance(value, dict):
                raise fail(key, "must be a table of glob = [rule ids]")
            kwargs["per_file_ignores"] = tuple(
                (globs(key, [g])[0], rule_ids(f"{key}.{g}", ids)) for g, ids in value.items())
        elif key == "vocabulary":
            if not isinstance(value, dict):
                raise fail(key, "must be a table")
            vocab: dict[str, tuple[str, ...]] = {}
            for vkey, words in value.items():
                if vkey not in VOCABULARY_KEYS:
                    raise fail(f"vocabulary.{vkey}", "unknown key",
                               hint="expected one of: " + ", ".join(VOCABULARY_KEYS))
                entries = strings(f"vocabulary.{vkey}", words)
                for entry in entries:
                    if not re.fullmatch(r"[A-Za-z0-9_.*?\[\]! ]+", entry) or \
                            entry.count("[") != entry.count("]"):
                        raise fail(f"vocabulary.{vkey}", f"bad name or pattern {entry!r}")
                vocab[_FIELD[vkey]] = entries
            kwargs["vocabulary"] = Vocabulary(**vocab)
    return Config(**kwargs)
