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
builtin-rules = false              # use only `rules` (replace the shipped packs)

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
        "per-file-ignores": "table", "rules": "paths", "builtin-rules": "bool",
        "vocabulary": "vocabulary"}
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
    builtin_rules: bool = True  # False: only `rules` (the user's packs replace the shipped)
    vocabulary: Vocabulary = field(default_factory=Vocabulary)


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start`` that has a [tool.leakcheck] table.

    A pyproject.toml that is not valid TOML is skipped (it is some other tool's problem)
    unless it mentions ``tool.leakcheck``: then it is ours, and an error names it.
    """
    start = start.resolve()
    for directory in (start if start.is_dir() else start.parent, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            try:
                text = candidate.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError:
                if "tool.leakcheck" in text:
                    return candidate  # load_config reports the syntax error with its line
                continue
            if "leakcheck" in data.get("tool", {}):
                return candidate
    return None


_HEADER = re.compile(r"^\s*\[\[?\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")


def _table_name(header: str) -> str:
    return ".".join(part.strip().strip('"').strip("'") for part in header.split("."))


def key_line(lines: list[str], table: str, parts: tuple[str, ...]) -> int | None:
    """The line of key ``parts`` (``("vocabulary", "graders")``) of ``table``
    (``"tool.leakcheck"``, or ``""`` for a file's top level), for error messages.

    tomllib gives no positions for valid documents, so this reads the text: a key is looked
    for in its own table (``[tool.leakcheck.vocabulary]``) and then as a key of the parent
    (``vocabulary = {...}``); only lines of the right table count, so ``select`` of
    ``[tool.ruff.lint]`` is never taken for ours.
    """
    for depth in range(len(parts), 0, -1):
        owner = ".".join(p for p in (table, *parts[: depth - 1]) if p)
        key = parts[depth - 1]
        pat = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
        current = ""
        for i, line in enumerate(lines):
            header = _HEADER.match(line)
            if header:
                current = _table_name(header.group(1))
                if depth == len(parts) and current == ".".join(p for p in (table, *parts) if p):
                    return i + 1  # `[tool.leakcheck.vocabulary]` itself
                continue
            if current == owner and pat.match(line):
                return i + 1
    for i, line in enumerate(lines):  # at least the table
        header = _HEADER.match(line)
        if header and table and _table_name(header.group(1)) == table:
            return i + 1
    return None


def _table(data: dict[str, Any], path: Path) -> tuple[Any, str]:
    """The leakcheck table of a parsed file and its dotted name: ``[tool.leakcheck]`` of a
    pyproject.toml; in another file given to --config, ``[tool.leakcheck]`` if it has one,
    else its top level (a ``leakcheck.toml`` holding just the keys)."""
    tool = data.get("tool", {})
    if path.name == "pyproject.toml" or (isinstance(tool, dict) and "leakcheck" in tool):
        return tool.get("leakcheck", {}) if isinstance(tool, dict) else {}, "tool.leakcheck"
    return data, ""


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
    table, where = _table(data, path)
    lines = text.splitlines()

    def fail(key: str, message: str, hint: str | None = None,
             parts: tuple[str, ...] | None = None) -> ConfigError:
        return ConfigError(f"[tool.leakcheck] `{key}`: {message}", path=str(path),
                           line=key_line(lines, where, parts or tuple(key.split("."))),
                           hint=hint)

    if not isinstance(table, dict):
        raise ConfigError("[tool.leakcheck] must be a table", path=str(path))
    for key in table:
        if key not in KEYS:  # (a quoted dotted key is looked up as written)
            raise fail(key, "unknown key", parts=(key,),
                       hint="expected one of: " + ", ".join(sorted(KEYS)))

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

    def rule_ids(key: str, value: Any, parts: tuple[str, ...] | None = None
                 ) -> tuple[str, ...]:
        out = strings(key, value)
        for r in out:
            if not _RULE_ID.match(r):
                raise fail(key, f"{r!r} is not a rule id (like LC101)", parts=parts)
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
        elif key == "builtin-rules":
            if not isinstance(value, bool):
                raise fail(key, "must be true or false")
            kwargs["builtin_rules"] = value
        elif key == "per-file-ignores":
            if not isinstance(value, dict):
                raise fail(key, "must be a table of glob = [rule ids]")
            pairs = []
            for g, ids in value.items():
                sub = f"{key}.{g}"
                if not g.strip() or g.count("[") != g.count("]"):
                    raise fail(sub, f"bad glob {g!r}", parts=(key, g))
                if not isinstance(ids, list) or not all(isinstance(v, str) for v in ids):
                    raise fail(sub, "must be a list of rule ids", parts=(key, g))
                pairs.append((g, rule_ids(sub, ids, parts=(key, g))))
            kwargs["per_file_ignores"] = tuple(pairs)
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


def check_rule_ids(config: Config, known: set[str]) -> None:
    """Rule ids in ``select``, ``ignore`` and ``per-file-ignores`` must name loaded rules: a
    typo would otherwise silently report nothing (or everything)."""
    fields: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
        ("select", config.select, ("select",)), ("ignore", config.ignore, ("ignore",))]
    fields += [(f"per-file-ignores.{g}", ids, ("per-file-ignores", g))
               for g, ids in config.per_file_ignores]
    for key, ids, parts in fields:
        unknown = [r for r in ids if r not in known]
        if unknown and config.path is not None:
            path = Path(config.path)
            lines = path.read_text(encoding="utf-8").splitlines()
            where = _table(tomllib.loads("\n".join(lines)), path)[1]
            raise ConfigError(f"[tool.leakcheck] `{key}`: unknown rule {unknown[0]!r}",
                              path=str(path), line=key_line(lines, where, parts),
                              hint="known rules: " + ", ".join(sorted(known)))


def check_option_rule_ids(option: str, ids: tuple[str, ...] | None, known: set[str]) -> None:
    unknown = [r for r in ids or () if r not in known]
    if unknown:
        raise ConfigError(f"{option}: unknown rule {unknown[0]!r}",
                          hint="known rules: " + ", ".join(sorted(known)))
