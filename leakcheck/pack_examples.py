"""Run the examples embedded in rule packs (Fixit's VALID/INVALID cases, in TOML): each
snippet is analyzed with the loaded packs and its findings must equal its markers."""

from __future__ import annotations

from dataclasses import dataclass

from leakcheck.api import Analyzer
from leakcheck.ruleset.model import PackExample, RuleSet
from leakcheck.testing import MarkerError, parse_expectations


@dataclass(frozen=True, slots=True)
class ExampleResult:
    example: PackExample
    missing: tuple[tuple[int, str], ...]
    unexpected: tuple[tuple[int, str], ...]
    error: str | None = None

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unexpected and self.error is None


def run_examples(rules: RuleSet) -> list[ExampleResult]:
    analyzer = Analyzer(rules)
    out = []
    for example in rules.examples:
        try:
            expected = parse_expectations(example.code).expected
        except MarkerError as exc:
            out.append(ExampleResult(example, (), (), str(exc)))
            continue
        findings, error = analyzer.analyze("example.py", example.code.encode())
        if error is not None:
            out.append(ExampleResult(example, (), (), error.message))
            continue
        got = {(f.sink.start_line, f.rule_id) for f in findings if not f.suppressed}
        out.append(ExampleResult(example, tuple(sorted(expected - got)),
                                 tuple(sorted(got - expected))))
    return out


def report(results: list[ExampleResult]) -> str:
    lines = []
    for r in results:
        status = "ok" if r.ok else "FAIL"
        lines.append(f"{status}  {r.example.pack}:{r.example.line}  {r.example.name}")
        if r.error:
            lines.append(f"      error: {r.error}")
        lines += [f"      missing    {rule} on line {line}" for line, rule in r.missing]
        lines += [f"      unexpected {rule} on line {line}" for line, rule in r.unexpected]
    failed = sum(not r.ok for r in results)
    lines.append(f"{len(results) - failed} passed, {failed} failed")
    return "\n".join(lines) + "\n"
