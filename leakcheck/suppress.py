"""Which findings are reported: inline ``# leakcheck: ignore[LC101] -- reason`` comments,
``select`` / ``ignore`` / ``per-file-ignores``, and the comments that suppress nothing.

A suppressed finding is kept, with its reason, so every acknowledged flow of reasoning into
a grader stays auditable (SPEC §5). Only real comments count: the text inside a string
literal does not suppress anything.

An ignore comment that matches no finding is reported as rule LC001 (ruff's RUF100): a stale
comment would silently hide the next leak written on that line. It is judged against every
finding the engine found, before ``select``/``ignore`` hid any, so turning a rule off does not
make its comments look stale; and a comment is only judged for rules that are on in its file
(a comment about a rule the user turned off is not ours to call unused).
"""

from __future__ import annotations

import fnmatch
import io
import re
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass, replace

from leakcheck.types import Finding, RuleDoc, RuleInfo, Span, Suppression, UnusedSuppression

UNUSED_SUPPRESSION_ID = "LC001"
# Anything that starts like a directive; what follows must then parse as one.
_DIRECTIVE = re.compile(r"#\s*leakcheck\s*:", re.IGNORECASE)
# The rest of the comment after the directive: nothing, another comment, or `-- reason`.
_IGNORE = re.compile(
    r"#\s*leakcheck\s*:\s*ignore(?:\[(?P<rules>[^\]]*)\])?"
    r"(?:\s*--\s*(?P<reason>.*\S)?|\s*(?:#.*)?)\s*$",
    re.IGNORECASE)
_RULE_ID = re.compile(r"^[A-Z]+[0-9]+$")
SYNTAX_HINT = "write `# leakcheck: ignore[LC101] -- reason` or a bare `# leakcheck: ignore`"

UNUSED_SUPPRESSION_RULE = RuleInfo(
    id=UNUSED_SUPPRESSION_ID,
    name="unused-suppression",
    kind="suppression",
    level="warning",
    short_description="A `# leakcheck: ignore` comment suppresses nothing",
    full_description=(
        "An inline `# leakcheck: ignore` comment matches no finding on its line (the flow it "
        "acknowledged is gone, the rule id is wrong or unknown), or a `# leakcheck:` comment "
        "is malformed and suppresses nothing."
    ),
    message="{message}",
    doc=RuleDoc(
        what=(
            "Reports `# leakcheck:` comments that suppress nothing: an `ignore[...]` whose "
            "rules have no finding on the commented line (or on the sink it starts), a bare "
            "`ignore` on a line without findings, an unknown rule id, or a malformed "
            "directive. Only rules that are selected for the file are judged."
        ),
        why=(
            "A stale suppression hides the next leak written on that line without anyone "
            "deciding to, and a malformed one suppresses nothing while looking as if it did. "
            "Suppressions are an audit trail of deliberate flows of reasoning into graders; "
            "that trail is only worth reading if every entry is live."
        ),
        example=(
            "def format_reward(completions, **kwargs):\n"
            "    texts = [strip_think(c) for c in completions]\n"
            "    return [1.0 if t else 0.0 for t in texts]  # leakcheck: ignore[LC102]"
        ),
        fix=(
            "def format_reward(completions, **kwargs):\n"
            "    texts = [strip_think(c) for c in completions]\n"
            "    return [1.0 if t else 0.0 for t in texts]"
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class RuleFilter:
    """``select`` (empty: every rule), ``ignore`` and ``per-file-ignores`` as one predicate."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def enabled(self, rule_id: str, path: str) -> bool:
        if (self.select and rule_id not in self.select) or rule_id in self.ignore:
            return False
        return not any(rule_id in ids and _glob_match(path, glob)
                       for glob, ids in self.per_file_ignores)


def _glob_match(path: str, glob: str) -> bool:
    # "tests/" and "tests" cover the files below the directory, as ruff's globs do.
    return fnmatch.fnmatchcase(path, glob) or fnmatch.fnmatchcase(
        path, glob.rstrip("/") + "/*")


@dataclass(frozen=True, slots=True)
class Directives:
    """The ``# leakcheck:`` comments of one file."""

    valid: dict[int, Suppression]  # by line
    malformed: tuple[Span, ...]


NO_DIRECTIVES = Directives({}, ())


def _comments(data: bytes) -> list[tuple[int, int, str]]:
    """(line, column, text) of every comment; a tokenizer failure falls back to lines."""
    try:
        tokens = tokenize.tokenize(io.BytesIO(data).readline)
        return [(t.start[0], t.start[1], t.string) for t in tokens
                if t.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, LookupError):
        out = []
        for i, raw in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            pos = raw.find("#")
            if pos >= 0:
                out.append((i, pos, raw[pos:]))
        return out


def has_marker(data: bytes) -> bool:
    """Whether ``data`` may hold a directive, case-insensitively (ASCII letters, as the
    directive's own pattern): a lowered copy searched in C is 7x cheaper than an
    ``IGNORECASE`` pattern (0.04 s against 0.33 s over the 1M-line benchmark tree, every
    file of which is asked)."""
    return b"leakcheck" in data.lower()


def directives(path: str, data: bytes) -> Directives:
    if not has_marker(data):  # the common case costs one byte search
        return NO_DIRECTIVES
    valid: dict[int, Suppression] = {}
    malformed: list[Span] = []
    for line, col, text in _comments(data):
        start = _DIRECTIVE.search(text)
        if start is None:
            continue
        text = text.rstrip()
        span = Span(path, line, col + 1 + start.start(), line, col + 1 + len(text))
        m = _IGNORE.match(text, start.start())
        rules: tuple[str, ...] = ()
        if m is not None and m.group("rules") is not None:
            parts = [r.strip().upper() for r in m.group("rules").split(",")]
            if not parts or not all(parts):  # `ignore[]`, `ignore[LC101,]`
                m = None
            else:
                rules = tuple(sorted(set(parts)))
        if m is None:
            malformed.append(span)
            continue
        valid[line] = Suppression(span, rules, m.group("reason"))
    return Directives(valid, tuple(malformed))


def apply_suppressions(findings: list[Finding],
                       suppressions: dict[int, Suppression]) -> list[Finding]:
    """A comment on any line of the sink's span (its first line included, for a sink that
    spans several lines) suppresses the finding if it names its rule or no rule."""
    if not suppressions:
        return findings
    out = []
    for f in findings:
        match = None
        for line in range(f.sink.start_line, f.sink.end_line + 1):
            s = suppressions.get(line)
            if s is not None and (not s.rules or f.rule_id in s.rules):
                match = s
                break
        out.append(replace(f, suppression=match) if match else f)
    return out


def unused_suppressions(files: Iterable[str], findings: Iterable[Finding],
                        rule_filter: RuleFilter, known_rules: Iterable[str],
                        read: dict[str, Directives]) -> tuple[UnusedSuppression, ...]:
    """The comments of ``files`` that suppress nothing, given every finding of the run with
    its suppression applied (before ``select``/``ignore`` filtering). ``read``: the
    directives of every file that has any (the analysis reads them once)."""
    used: dict[Span, set[str]] = {}
    for f in findings:
        if f.suppression is not None:
            used.setdefault(f.suppression.span, set()).add(f.rule_id)
    known = set(known_rules) | {UNUSED_SUPPRESSION_ID}
    out: list[UnusedSuppression] = []
    for path in files:
        if not rule_filter.enabled(UNUSED_SUPPRESSION_ID, path):
            continue
        found = read.get(path, NO_DIRECTIVES)
        for span in found.malformed:
            out.append(UnusedSuppression(
                span, (), f"malformed suppression comment suppresses nothing; {SYNTAX_HINT}"))
        for s in found.valid.values():
            hit = used.get(s.span, set())
            if not s.rules:
                if not hit:
                    out.append(UnusedSuppression(
                        s.span, (), "unused suppression: no finding on this line"))
                continue
            unknown = [r for r in s.rules if r not in known or not _RULE_ID.match(r)]
            stale = [r for r in s.rules if r not in unknown and r != UNUSED_SUPPRESSION_ID
                     and r not in hit and rule_filter.enabled(r, path)]
            reasons = []
            if stale:
                reasons.append(f"no {_ids(stale)} finding on this line")
            if unknown:
                reasons.append(f"unknown rule {_ids(unknown)}")
            if reasons:
                out.append(UnusedSuppression(s.span, tuple(sorted(stale + unknown)),
                                             "unused suppression: " + "; ".join(reasons)))
    return tuple(sorted(out, key=lambda u: u.span))


def _ids(ids: list[str]) -> str:
    return " or ".join(f"`{i}`" for i in ids)
