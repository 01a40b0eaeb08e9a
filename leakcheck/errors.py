"""Setup-time errors: bad usage, configuration or rule files. Per-file failures are data."""

from __future__ import annotations


class LeakcheckError(Exception):
    """Base class; the CLI turns it into exit code 2 with its message."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 hint: str | None = None) -> None:
        self.path = path
        self.line = line
        self.hint = hint
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        text = where + message
        if hint:
            text += f" ({hint})"
        super().__init__(text)


class ConfigError(LeakcheckError):
    """An invalid ``[tool.leakcheck]`` table or command-line option."""


class RuleFileError(LeakcheckError):
    """A rule pack that cannot be read or does not match the pack schema."""


class BaselineError(LeakcheckError):
    """A ``--baseline`` file that cannot be read or is not a leakcheck baseline."""
