"""leakcheck: find chain-of-thought text reaching graders in Python RL training code.

Public API::

    from leakcheck import Options, check_paths, check_source
    result = check_paths(Options(paths=("src",)))
    for finding in result.active_findings:
        print(finding.sink, finding.rule_id, finding.message)

The engine entry points load on first use, so ``import leakcheck`` stays cheap and the
value types are usable on their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from leakcheck.types import CheckResult, Finding

if TYPE_CHECKING:
    from leakcheck.api import Options, check_paths, check_source

__version__ = "0.1.0"

__all__ = ["CheckResult", "Finding", "Options", "__version__", "check_paths", "check_source"]

_FROM_API = frozenset({"Options", "check_paths", "check_source"})


def __getattr__(name: str) -> Any:
    if name in _FROM_API:
        from leakcheck import api

        return getattr(api, name)
    raise AttributeError(f"module 'leakcheck' has no attribute {name!r}")
