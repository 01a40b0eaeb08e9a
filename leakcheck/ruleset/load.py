"""TOML rule packs -> one validated, merged RuleSet.

Every pack is checked against a schema: unknown sections or keys, wrong types and duplicate
rule ids are RuleFileErrors naming the file and line. ``tomllib`` reports lines only for
syntax errors, so semantic errors find their line with a small key lookup over the raw text.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from leakcheck.errors import RuleFileError
from leakcheck.ruleset.model import (
    AnswerExtraction,
    AttributeSource,
    DecodeSource,
    LibraryGrader,
    MaySeeReasoning,
    PackExample,
    ParserSource,
    RegistrationSinks,
    RegistrationSource,
    RuleSet,
    StoreSinks,
    TagPair,
    TagSource,
    WordRule,
    WordSet,
)
from leakcheck.types import RuleDoc, RuleInfo
from leakcheck.words import phrase_words

STR, INT, STRS, INTS, PAIRS = "string", "integer", "list of strings", "list of integers", "pairs"

# section -> key -> type. "[[x]]" sections are arrays of tables.
SCHEMA: dict[str, dict[str, str]] = {
    "pack": {"name": STR, "version": INT, "description": STR},
    "[[rule]]": {"id": STR, "name": STR, "kind": STR, "level": STR, "priority": INT,
                 "short": STR, "full": STR, "message": STR, "doc": "table"},
    "rule.doc": {"what": STR, "why": STR, "example": STR, "fix": STR},
    "words": {},  # any key: a list of strings
    "sources.name": {"kind": STR, "words": STRS, "unless": STRS},
    "sources.call": {"kind": STR, "words": STRS, "unless": STRS},
    "[[sources.parser]]": {"kind": STR, "callees": STRS, "cot-items": INTS,
                           "clean-items": INTS, "cot-keys": STRS, "clean-keys": STRS},
    "sources.tags": {"kind": STR, "pairs": PAIRS},
    "sources.registration": {"kind": STR, "params": STRS, "param-words": STRS,
                             "collections": STRS, "collection-last-words": STRS},
    "[[sources.decode]]": {"kind": STR, "callees": STRS, "batch-callees": STRS,
                           "receiver-words": STRS, "any-receiver-callees": STRS,
                           "unless-value-words": STRS},
    "[[sources.attribute]]": {"kind": STR, "chain": STRS},
    "sinks.call": {"words": STRS, "unless": STRS},
    "sinks.may-see-reasoning": {"words": STRS, "qualified-names": STRS},
    "sinks.registration": {"keywords": STRS, "trainers": STRS, "trainer-slot": INT,
                           "rubrics": STRS, "rubric-keywords": STRS, "add-functions": STRS,
                           "decorator-words": STRS, "registry-words": STRS, "def-words": STRS,
                           "def-unless": STRS, "callable-methods": STRS,
                           "callable-class-words": STRS, "callable-class-unless": STRS},
    "sinks.store": {"words": STRS, "unless": STRS, "methods": STRS},
    "sanitizers.answer-extraction": {"pairs": PAIRS, "answer-tags": PAIRS,
                                     "answer-openers": STRS},
    "sanitizers.strip": {"pairs": PAIRS},
    "sanitizers.names": {"qualified-names": STRS},
    "[[sinks.library]]": {"kind": STR, "qualified-names": STRS, "note": STR},
    "[[example]]": {"name": STR, "code": STR},
}
TOP_LEVEL = {"pack", "rule", "words", "sources", "sinks", "sanitizers", "example"}
LEVELS = {"error", "warning", "note"}
DOC_SECTIONS = ("what", "why", "example", "fix")


def builtin_rules_dir() -> Path:
    """The packs shipped in the wheel (leakcheck/rules), or the checkout's rules/."""
    packaged = Path(str(resources.files("leakcheck"))) / "rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "rules"


def builtin_pack_paths() -> tuple[Path, ...]:
    return tuple(sorted(builtin_rules_dir().glob("*.toml")))


def expand_rule_paths(paths: Iterable[str | Path]) -> tuple[Path, ...]:
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(sorted(p.glob("*.toml")))
        elif p.is_file():
            out.append(p)
        else:
            raise RuleFileError("rule file not found", path=str(raw))
    return tuple(out)


class _Pack:
    """One parsed pack with a key -> line lookup for error messages."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.raw = path.read_bytes()
        except OSError as exc:
            raise RuleFileError(f"cannot read rule file: {exc.strerror}", path=str(path)) from exc
        try:
            text = self.raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RuleFileError("rule file is not UTF-8", path=str(path)) from exc
        self.lines = text.splitlines()
        try:
            self.data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"line (\d+)", str(exc))
            raise RuleFileError(f"invalid TOML: {exc}", path=str(path),
                                line=int(m.group(1)) if m else None) from exc

    def line_of(self, key: str, section: str | None = None) -> int | None:
        """Best-effort line of ``key`` (inside ``[section]`` when given)."""
        start = 0
        if section:
            header = re.compile(r"^\s*\[\[?\s*" + re.escape(section) + r"\s*\]\]?\s*$")
            for i, line in enumerate(self.lines):
                if header.match(line):
                    start = i
                    break
        pat = re.compile(r'^\s*"?' + re.escape(key) + r'"?\s*=')
        for i in range(start, len(self.lines)):
            if pat.match(self.lines[i]):
                return i + 1
        return start + 1 if section else None

    def error(self, message: str, key: str, section: str | None = None,
              hint: str | None = None) -> RuleFileError:
        return RuleFileError(message, path=str(self.path), line=self.line_of(key, section),
                             hint=hint)


# An access-chain part: an attribute or name, any subscript, or a subscript by a constant key.
_CHAIN_PART = re.compile(r'[A-Za-z_][A-Za-z0-9_]*|\[\]|\["[^"\\]*"\]')


def _check_type(pack: _Pack, section: str, key: str, value: Any, typ: str) -> None:
    ok = {
        STR: isinstance(value, str),
        INT: isinstance(value, int) and not isinstance(value, bool),
        STRS: isinstance(value, list) and all(isinstance(v, str) for v in value),
        INTS: isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool)
                                              for v in value),
        PAIRS: isinstance(value, list) and all(
            isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v)
            for v in value),
        "table": isinstance(value, dict),
    }[typ]
    if not ok:
        raise pack.error(f"`{section}.{key}` must be a {typ}", key, section.split(".")[-1])


def _validate_table(pack: _Pack, section: str, table: Any) -> None:
    schema_key = section if section in SCHEMA else f"[[{section}]]"
    schema = SCHEMA[schema_key]
    if not isinstance(table, dict):
        raise pack.error(f"`{section}` must be a table", section.split(".")[-1])
    for key, value in table.items():
        if section == "words":
            _check_type(pack, section, key, value, STRS)
            continue
        if key not in schema:
            known = ", ".join(sorted(schema))
            raise pack.error(f"unknown key `{key}` in [{section}]", key, section,
                             hint=f"expected one of: {known}")
        if section == "rule" and key == "doc":
            _validate_table(pack, "rule.doc", value)
            continue
        _check_type(pack, section, key, value, schema[key])


def _validate(pack: _Pack) -> None:
    for top, value in pack.data.items():
        if top not in TOP_LEVEL:
            raise pack.error(f"unknown section [{top}]", top, hint="expected one of: "
                             + ", ".join(sorted(TOP_LEVEL)))
        if top in ("sources", "sinks", "sanitizers"):
            if not isinstance(value, dict):
                raise pack.error(f"`{top}` must be a table", top)
            for sub, table in value.items():
                name = f"{top}.{sub}"
                if name in SCHEMA:
                    _validate_table(pack, name, table)
                elif f"[[{name}]]" in SCHEMA:
                    if not isinstance(table, list):
                        raise pack.error(f"`{name}` must be an array of tables ([[{name}]])",
                                         sub)
                    for item in table:
                        _validate_table(pack, name, item)
                else:
                    known = sorted(k.strip("[]") for k in SCHEMA if k.strip("[]")
                                   .startswith(top + "."))
                    raise pack.error(f"unknown section [{name}]", sub,
                                     hint="expected one of: " + ", ".join(known))
        elif top in ("rule", "example"):
            if not isinstance(value, list):
                raise pack.error(f"`{top}` must be an array of tables ([[{top}]])", top)
            for item in value:
                _validate_table(pack, top, item)
                if top == "example" and not {"name", "code"} <= set(item):
                    raise pack.error("an [[example]] needs `name` and `code`", top)
        else:
            _validate_table(pack, top, value)


class _Merger:
    """Collects the packs' declarations; word-list references resolve after merging."""

    def __init__(self) -> None:
        self.words: dict[str, list[tuple[str, ...]]] = {}
        self.rules: dict[str, RuleInfo] = {}
        self.sections: list[tuple[_Pack, str, dict[str, Any]]] = []
        self.examples: list[PackExample] = []

    def add(self, pack: _Pack) -> None:
        for name, entries in pack.data.get("words", {}).items():
            bucket = self.words.setdefault(name, [])
            for entry in entries:
                phrase = phrase_words(entry)
                if not phrase:
                    raise pack.error(f"empty word in [words] `{name}`", name, "words")
                if phrase not in bucket:
                    bucket.append(phrase)
        headers = [i + 1 for i, line in enumerate(pack.lines)
                   if line.strip() == "[[example]]"]
        for n, item in enumerate(pack.data.get("example", [])):
            line = headers[n] if n < len(headers) else 1
            self.examples.append(PackExample(str(pack.path), item["name"], item["code"], line))
        for item in pack.data.get("rule", []):
            rule = _rule_info(pack, item)
            if rule.id in self.rules:
                raise pack.error(f"duplicate rule id `{rule.id}`", "id", "rule")
            self.rules[rule.id] = rule
        for top in ("sources", "sinks", "sanitizers"):
            for sub, table in pack.data.get(top, {}).items():
                items = table if isinstance(table, list) else [table]
                for item in items:
                    self.sections.append((pack, f"{top}.{sub}", item))

    def wordset(self, pack: _Pack, section: str, key: str, refs: Sequence[str]) -> WordSet:
        phrases: list[tuple[str, ...]] = []
        for ref in refs:
            if ref not in self.words:
                raise pack.error(f"`{section}.{key}` names unknown word list `{ref}`", key,
                                 section, hint="declare it under [words]")
            phrases.extend(self.words[ref])
        return WordSet(tuple(dict.fromkeys(phrases)))

    def literal_words(self, refs: Sequence[str]) -> WordSet:
        return WordSet(tuple(dict.fromkeys(phrase_words(r) for r in refs if r.strip())))


def _rule_info(pack: _Pack, item: dict[str, Any]) -> RuleInfo:
    for key in ("id", "name", "kind", "level", "short", "message", "doc"):
        if key not in item:
            raise pack.error(f"rule is missing `{key}`", "id", "rule")
    if item["level"] not in LEVELS:
        raise pack.error(f"rule level `{item['level']}` is not one of error, warning, note",
                         "level", "rule")
    doc = item["doc"]
    for section in DOC_SECTIONS:
        if not str(doc.get(section, "")).strip():
            raise pack.error(f"rule `{item['id']}` doc is missing the `{section}` section",
                             "doc", "rule")
    return RuleInfo(
        id=item["id"], name=item["name"], kind=item["kind"], level=item["level"],
        short_description=item["short"], full_description=item.get("full", item["short"]),
        message=item["message"],
        doc=RuleDoc(*(str(doc[s]).strip() for s in DOC_SECTIONS)),
        priority=int(item.get("priority", 0)),
    )


def _require(pack: _Pack, section: str, item: dict[str, Any], *keys: str) -> None:
    for key in keys:
        if key not in item:
            raise pack.error(f"[{section}] is missing `{key}`", section.split(".")[-1])


def with_vocabulary(rules: RuleSet, cot_fields: Sequence[str] = (), graders: Sequence[str] = (),
                    sanitizers: Sequence[str] = (),
                    sanctioned: Sequence[str] = ()) -> RuleSet:
    """The user's own vocabulary on top of the packs (SPEC §5)."""
    from dataclasses import replace

    extra = WordSet(tuple(phrase_words(w) for w in cot_fields if w.strip()))
    names = tuple(WordRule(r.kind, r.words | extra, r.unless) if r.kind == "cot" else r
                  for r in rules.name_sources)
    calls = tuple(WordRule(r.kind, r.words | extra, r.unless) if r.kind == "cot" else r
                  for r in rules.call_sources)
    digest = hashlib.sha256((rules.digest + repr((cot_fields, graders, sanitizers,
                                                  sanctioned))).encode()).hexdigest()
    return replace(rules, name_sources=names, call_sources=calls,
                   grader_names=rules.grader_names + tuple(graders),
                   sanitizer_patterns=rules.sanitizer_patterns + tuple(sanitizers),
                   may_see_patterns=rules.may_see_patterns + tuple(sanctioned),
                   digest=digest)


def load_ruleset(extra: Iterable[str | Path] = (), *, builtin: bool = True) -> RuleSet:
    paths = (builtin_pack_paths() if builtin else ()) + expand_rule_paths(extra)
    if not paths and not builtin:
        raise RuleFileError("no rule packs: with the built-in packs off, give --rules PATH "
                            "(or `rules` in [tool.leakcheck])")
    if not paths:
        raise RuleFileError("no rule packs found", path=str(builtin_rules_dir()))
    merger = _Merger()
    digest = hashlib.sha256()
    for path in paths:
        pack = _Pack(path)
        _validate(pack)
        merger.add(pack)
        digest.update(path.name.encode() + b"\0" + pack.raw + b"\0")
    return _build(merger, tuple(str(p) for p in paths), digest.hexdigest())


def _build(m: _Merger, files: tuple[str, ...], digest: str) -> RuleSet:
    kinds = {r.kind for r in m.rules.values()}
    out: dict[str, list[Any]] = {}
    answer_pairs: list[tuple[WordSet, WordSet]] = []
    answer_tags: list[TagPair] = []
    openers: list[str] = []
    strip_pairs: list[tuple[WordSet, WordSet]] = []
    may_words, may_names, sanitizer_names = WordSet(), set(), set()

    for pack, section, item in m.sections:
        def ws(key: str, item: dict[str, Any] = item, section: str = section,
               pack: _Pack = pack) -> WordSet:
            return m.wordset(pack, section, key, item.get(key, []))

        def pairs(key: str, item: dict[str, Any] = item, section: str = section,
                  pack: _Pack = pack) -> list[tuple[WordSet, WordSet]]:
            return [(m.wordset(pack, section, key, [a]), m.wordset(pack, section, key, [b]))
                    for a, b in item.get(key, [])]

        kind = item.get("kind")
        if section.startswith("sources.") or section == "sinks.library":
            _require(pack, section, item, "kind")
            if kind not in kinds:
                raise pack.error(f"[{section}] kind `{kind}` has no rule", "kind", section,
                                 hint="declare a [[rule]] with this kind")
        if section in ("sources.name", "sources.call"):
            _require(pack, section, item, "words")
            out.setdefault(section, []).append(WordRule(kind, ws("words"), ws("unless")))
        elif section == "sources.parser":
            out.setdefault(section, []).append(ParserSource(
                kind, frozenset(item.get("callees", [])), tuple(item.get("cot-items", [])),
                tuple(item.get("clean-items", [])), tuple(item.get("cot-keys", [])),
                tuple(item.get("clean-keys", []))))
        elif section == "sources.tags":
            tag_pairs = tuple(TagPair(a, b) for a, b in item.get("pairs", []))
            out.setdefault(section, []).append(TagSource(kind, tag_pairs))
        elif section == "sources.registration":
            out.setdefault(section, []).append(RegistrationSource(
                kind, frozenset(item.get("params", [])),
                m.literal_words(item.get("param-words", [])),
                frozenset(item.get("collections", [])),
                frozenset(item.get("collection-last-words", []))))
        elif section == "sources.decode":
            out.setdefault(section, []).append(DecodeSource(
                kind, frozenset(item.get("callees", [])),
                frozenset(item.get("batch-callees", [])),
                m.literal_words(item.get("receiver-words", [])),
                frozenset(item.get("any-receiver-callees", [])),
                m.wordset(pack, section, "unless-value-words",
                          item.get("unless-value-words", []))))
        elif section == "sources.attribute":
            _require(pack, section, item, "chain")
            for part in item["chain"]:
                if not _CHAIN_PART.fullmatch(part):
                    raise pack.error(f"[{section}] chain part `{part}` is not a name, `[]` or "
                                     "`[\"key\"]`", "chain", section)
            out.setdefault(section, []).append(AttributeSource(kind, tuple(item["chain"])))
        elif section == "sinks.call":
            out.setdefault(section, []).append(WordRule("", ws("words"), ws("unless")))
        elif section == "sinks.may-see-reasoning":
            may_words = may_words | ws("words")
            may_names.update(item.get("qualified-names", []))
        elif section == "sinks.registration":
            out.setdefault(section, []).append(RegistrationSinks(
                frozenset(item.get("keywords", [])), frozenset(item.get("trainers", [])),
                int(item.get("trainer-slot", 1)), frozenset(item.get("rubrics", [])),
                frozenset(item.get("rubric-keywords", [])),
                frozenset(item.get("add-functions", [])), ws("decorator-words"),
                ws("registry-words"), WordRule("", ws("def-words"), ws("def-unless")),
                frozenset(item.get("callable-methods", [])),
                WordRule("", ws("callable-class-words"),
                         ws("def-unless") | ws("callable-class-unless"))))
        elif section == "sinks.library":
            _require(pack, section, item, "qualified-names")
            out.setdefault(section, []).append(LibraryGrader(
                kind, frozenset(item["qualified-names"]), item.get("note", "")))
        elif section == "sinks.store":
            out.setdefault(section, []).append(StoreSinks(
                WordRule("", ws("words"), ws("unless")), frozenset(item.get("methods", []))))
        elif section == "sanitizers.answer-extraction":
            answer_pairs.extend(pairs("pairs"))
            answer_tags.extend(TagPair(a, b) for a, b in item.get("answer-tags", []))
            openers.extend(item.get("answer-openers", []))
        elif section == "sanitizers.strip":
            strip_pairs.extend(pairs("pairs"))
        elif section == "sanitizers.names":
            sanitizer_names.update(item.get("qualified-names", []))

    rules = tuple(sorted(m.rules.values(), key=lambda r: r.id))
    return RuleSet(
        rules=rules,
        name_sources=tuple(out.get("sources.name", [])),
        call_sources=tuple(out.get("sources.call", [])),
        parsers=tuple(out.get("sources.parser", [])),
        tags=tuple(out.get("sources.tags", [])),
        registration_sources=tuple(out.get("sources.registration", [])),
        decoders=tuple(out.get("sources.decode", [])),
        attribute_sources=tuple(out.get("sources.attribute", [])),
        call_sinks=tuple(out.get("sinks.call", [])),
        may_see_reasoning=MaySeeReasoning(may_words, frozenset(may_names)),
        registration_sinks=tuple(out.get("sinks.registration", [])),
        stores=tuple(out.get("sinks.store", [])),
        answer_extraction=AnswerExtraction(tuple(answer_pairs), tuple(answer_tags),
                                           tuple(openers)),
        strip_pairs=tuple(strip_pairs),
        sanitizer_names=frozenset(sanitizer_names),
        files=files,
        digest=digest,
        examples=tuple(m.examples),
        library_graders=tuple(out.get("sinks.library", [])),
    )
