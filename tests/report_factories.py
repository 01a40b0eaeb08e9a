"""Hand-made CheckResults for reporter and CLI tests: they pin the output contract without
depending on what the engine happens to find."""

from __future__ import annotations

import json
from pathlib import Path

from leakcheck.api import Options, check_paths
from leakcheck.report.json import JsonReporter
from leakcheck.testing import project_triples
from leakcheck.types import (
    CheckResult,
    FileError,
    Finding,
    RuleDoc,
    RuleInfo,
    Span,
    Step,
    Suppression,
)

DOC = RuleDoc(
    what="Finds reasoning text that reaches a grader.",
    why="Graders must see only the final answer.",
    example='```python\nreturn judge(prompt, msg.reasoning_content)  # LC101\n```',
    fix='```python\nreturn judge(prompt, msg.content)\n```',
)

RULES = (
    RuleInfo(
        id="LC101",
        name="cot-reaches-grader",
        kind="cot",
        level="error",
        short_description="Reasoning text reaches a grader",
        full_description="Text known to be reasoning flows into a grader.",
        message="reasoning from {source} reaches grader {sink}",
        doc=DOC,
        priority=2,
    ),
    RuleInfo(
        id="LC102",
        name="unstripped-completion-reaches-grader",
        kind="completion",
        level="warning",
        short_description="Raw completion with its reasoning reaches a grader",
        full_description=(
            "Raw model output that still contains its think section flows into a grader."
        ),
        message="unstripped completion from {source} reaches grader {sink}",
        doc=DOC,
        priority=1,
    ),
)

REWARD_PY = '''\
def judge_reward(client, prompt, response):
    msg = response.choices[0].message
    thinking = msg.reasoning_content
    return judge(prompt, thinking)
'''
# Columns of REWARD_PY, 1-based, end exclusive.
SOURCE = Span("pkg/reward.py", 3, 16, 3, 37)  # msg.reasoning_content
SINK = Span("pkg/reward.py", 4, 26, 4, 34)  # thinking, the argument of judge()


def finding(
    *,
    rule_id: str = "LC101",
    sink: Span = SINK,
    source: Span = SOURCE,
    steps: tuple[Step, ...] | None = None,
    suppression: Suppression | None = None,
    fingerprint: str = "5f2c0d9a41b7e3c8",
    message: str | None = None,
) -> Finding:
    rule = next(r for r in RULES if r.id == rule_id)
    if steps is None:
        steps = (
            Step(source, "`msg.reasoning_content` is reasoning", "source"),
            Step(Span(sink.path, 3, 5, 3, 13), "assigned to `thinking`", "flow"),
            Step(sink, "passed to `judge()`", "sink"),
        )
    args = (("sink", "`judge()`"), ("source", "`msg.reasoning_content`"))
    return Finding(
        rule_id=rule.id,
        rule_name=rule.name,
        level=rule.level,
        kind=rule.kind,
        kinds=(rule.kind,),
        message=message or rule.message.format(**dict(args)),
        message_template=rule.message,
        message_args=args,
        sink=sink,
        sink_description="passed to `judge()`",
        source=source,
        source_description="`msg.reasoning_content` is reasoning",
        path=steps,
        fingerprint=fingerprint,
        suppression=suppression,
    )


def suppressed_finding() -> Finding:
    return finding(
        rule_id="LC102",
        fingerprint="a11ce0ffee000001",
        suppression=Suppression(
            span=Span("pkg/reward.py", 4, 40, 4, 80),
            rules=("LC102",),
            reason="format reward reads the think tags on purpose",
        ),
    )


def file_error() -> FileError:
    return FileError("pkg/broken.py", 2, 41, "syntax", "invalid syntax: expected ':'")


def result(
    root: str | Path = "/project",
    *,
    findings: tuple[Finding, ...] = (),
    file_errors: tuple[FileError, ...] = (),
    files: tuple[str, ...] = ("pkg/broken.py", "pkg/reward.py"),
) -> CheckResult:
    return CheckResult(
        root=Path(root).as_posix(),
        files=files,
        findings=findings,
        file_errors=file_errors,
        rules=RULES,
        elapsed_seconds=0.123,
    )


def write_project(root: Path) -> Path:
    """The files the spans above point into, so text frames can quote them."""
    (root / "pkg").mkdir(parents=True, exist_ok=True)
    (root / "pkg" / "reward.py").write_text(REWARD_PY, encoding="utf-8")
    return root


def project_findings(root: Path, files: dict[str, str]) -> set[tuple[str, int, str]]:
    """Write a small project (its own ``pyproject.toml`` and ``files``, path -> source),
    analyze it in one process, and give its findings as (file, line, rule); it must have
    no file error."""
    (root / "pyproject.toml").write_text('[project]\nname = "case"\n')
    for rel, source in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(source)
    result = check_paths(Options(paths=(str(root),), jobs=1))
    assert result.file_errors == ()
    return set(project_triples(result, root))


def without_time(report: dict) -> dict:
    """A JSON report without its run time (the only part that may differ between runs)."""
    report.pop("elapsed_seconds", None)
    report.get("summary", {}).pop("elapsed_seconds", None)
    return report


def timeless_json(result: CheckResult) -> str:
    """A result as JSON text without its run time, for comparing runs."""
    report = json.loads(JsonReporter().render(result, color=False))
    return json.dumps(without_time(report), sort_keys=True, indent=1)
