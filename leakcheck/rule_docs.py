"""Rule documentation in fixed sections, rendered once for every place that shows it:
``leakcheck --list-rules``, ``leakcheck --explain ID``, the README's rule table and SARIF
``tool.driver.rules[].help`` (ruff's layout: What it does / Why is this bad? / Example /
Use instead)."""

from __future__ import annotations

from collections.abc import Iterable

from leakcheck.types import RuleInfo

# (title, RuleDoc field, is code)
SECTIONS: tuple[tuple[str, str, bool], ...] = (
    ("What it does", "what", False),
    ("Why is this bad?", "why", False),
    ("Example", "example", True),
    ("Use instead", "fix", True),
)


def _fenced(text: str) -> str:
    text = text.strip()
    return text if "```" in text else f"```python\n{text}\n```"


def _unfenced(text: str) -> str:
    return "\n".join(line for line in text.strip().splitlines() if not line.startswith("```"))


def sections(rule: RuleInfo) -> list[tuple[str, str, bool]]:
    return [(title, getattr(rule.doc, field).strip(), code) for title, field, code in SECTIONS]


def as_text(rule: RuleInfo) -> str:
    """Plain text: the sections with their titles, code without fences."""
    return "\n\n".join(f"{title}\n{_unfenced(body) if code else body}"
                       for title, body, code in sections(rule))


def as_markdown(rule: RuleInfo, level: int = 2) -> str:
    hashes = "#" * level
    return "\n\n".join(f"{hashes} {title}\n\n{_fenced(body) if code else body}"
                       for title, body, code in sections(rule))


def explain(rule: RuleInfo) -> str:
    """What ``leakcheck --explain ID`` prints."""
    head = f"{rule.id} {rule.name} ({rule.level})\n\n{rule.full_description}\n\n"
    return head + as_text(rule) + "\n"


def listing(rules: Iterable[RuleInfo]) -> str:
    """What ``leakcheck --list-rules`` prints: one rule a line."""
    rows = sorted(rules, key=lambda r: r.id)
    width = max((len(r.name) for r in rows), default=0)
    return "".join(f"{r.id}  {r.name.ljust(width)}  {r.level:<7}  {r.short_description}\n"
                   for r in rows)


def readme_table(rules: Iterable[RuleInfo]) -> str:
    """The README's rule table (a test keeps the README in step with the packs)."""
    lines = ["| rule | name | default level | what it finds |", "|---|---|---|---|"]
    lines += [f"| {r.id} | `{r.name}` | {r.level} | {r.short_description} |"
              for r in sorted(rules, key=lambda r: r.id)]
    return "\n".join(lines) + "\n"
