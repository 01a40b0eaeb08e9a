"""Baselines: ``--write-baseline FILE`` records the current findings, ``--baseline FILE``
hides the findings it records, so an existing codebase adopts leakcheck and sees only new
leaks (SPEC §5).

Matching is by fingerprint, never by line: a fingerprint hashes the rule, the file, the
enclosing function and the normalized text of the sink and of the source (solve.py), so it
survives lines inserted above and edits to other functions, and stops matching when the
leaking code itself changes. Matching is a multiset: two identical leaks in one function
need two entries, and a third copy is new. (When a copy is added, which of the identical
findings is reported as new is decided by source order: the last ones are.)

A JSON report (``--format json``) is accepted as a baseline too; its suppressed findings are
not entries (their comments already acknowledge them).

Baselined findings stay in the result, marked ``baselined``: they do not count for the exit
code, text output counts them, JSON lists them, and SARIF gives them ``baselineState:
"unchanged"`` and an ``external`` suppression.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from leakcheck import __version__
from leakcheck.errors import BaselineError
from leakcheck.types import BaselineUse, CheckResult, Finding

BASELINE_VERSION = 1
KIND = "leakcheck-baseline"


@dataclass(frozen=True, slots=True)
class BaselineEntry:
    fingerprint: str  # as in the reports (``<hash>:<n>``); matched without ``:<n>``
    rule_id: str
    path: str


@dataclass(frozen=True, slots=True)
class Baseline:
    path: str
    entries: tuple[BaselineEntry, ...]


def identity(fingerprint: str) -> str:
    """A fingerprint without its occurrence number: what identical leaks share."""
    return fingerprint.rsplit(":", 1)[0]


def document(result: CheckResult) -> dict[str, Any]:
    """The baseline of a run: every finding that is not suppressed by a comment."""
    entries = sorted(
        ({"fingerprint": f.fingerprint, "rule_id": f.rule_id, "path": f.sink.path,
          "message": f.message} for f in result.findings if not f.suppressed),
        key=lambda e: (e["path"], e["rule_id"], e["fingerprint"]))
    return {"kind": KIND, "version": BASELINE_VERSION,
            "tool": {"name": "leakcheck", "version": __version__}, "findings": entries}


def write_baseline(result: CheckResult, path: str | os.PathLike[str]) -> Baseline:
    """Write the baseline of ``result`` to ``path`` (atomically); returns it, as
    ``load_baseline`` would read it back."""
    doc = document(result)
    text = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".",
                                   prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        raise BaselineError(f"cannot write baseline: {exc.strerror or exc}",
                            path=str(path)) from exc
    return Baseline(str(path), tuple(BaselineEntry(e["fingerprint"], e["rule_id"], e["path"])
                                     for e in doc["findings"]))


def load_baseline(path: str | os.PathLike[str]) -> Baseline:
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise BaselineError(f"cannot read baseline: {reason}", path=where) from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"not valid JSON: {exc.msg}", path=where, line=exc.lineno) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("findings"), list):
        raise BaselineError("not a leakcheck baseline (no `findings` list)", path=where,
                            hint="write one with --write-baseline FILE")
    if doc.get("kind", KIND) == KIND and doc.get("version", 1) != BASELINE_VERSION:
        raise BaselineError(f"unsupported baseline version {doc.get('version')!r}", path=where,
                            hint="rewrite it with --write-baseline FILE")
    entries = []
    for i, item in enumerate(doc["findings"]):
        if not isinstance(item, dict) or not isinstance(item.get("fingerprint"), str):
            raise BaselineError(f"`findings[{i}]` has no fingerprint", path=where,
                                hint="write the file with --write-baseline FILE")
        if item.get("suppressed") is True:  # a JSON report's suppressed finding
            continue
        sink = item.get("sink")
        file = item.get("path") or (sink.get("path") if isinstance(sink, dict) else None)
        entries.append(BaselineEntry(item["fingerprint"], str(item.get("rule_id", "")),
                                     str(file or "")))
    return Baseline(where, tuple(entries))


def apply_baseline(result: CheckResult, baseline: Baseline) -> CheckResult:
    """Mark the findings ``baseline`` records as baselined (suppressed ones are left alone)."""
    remaining = Counter(identity(e.fingerprint) for e in baseline.entries)
    marked: list[Finding] = []
    for f in result.findings:
        key = identity(f.fingerprint)
        if not f.suppressed and remaining[key] > 0:
            remaining[key] -= 1
            marked.append(replace(f, baselined=True))
        else:
            marked.append(f)
    # Entries left over are fixed or changed leaks: counted for files this run looked at, or
    # that are gone, so a partial run (pre-commit's files) does not call the rest stale.
    analyzed = set(result.files)
    root = Path(result.root)
    unmatched = 0
    for entry in baseline.entries:
        key = identity(entry.fingerprint)
        if remaining[key] > 0 and (entry.path in analyzed or not (root / entry.path).exists()):
            remaining[key] -= 1
            unmatched += 1
    return replace(result, findings=tuple(marked),
                   baseline=BaselineUse(baseline.path, len(baseline.entries), unmatched))
