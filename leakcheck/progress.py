"""A progress bar on stderr for long runs at a terminal; nothing anywhere else.

It is a ``ProgressCallback`` (``check_paths(options, progress=bar)``): the engine reports
``(phase, done, total)`` and the bar draws. It appears only when stderr is a terminal, no
``CI`` variable is set (CI logs are files, and a bar there is noise), ``TERM`` is not
``dumb`` and ``--quiet`` is off; and only once the run has taken ``DELAY`` seconds, so quick
runs (a pre-commit hook on a few files) never flash one. It is transient: the line is erased
before the report is printed.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Mapping
from typing import IO, Any

DELAY = 0.5
_PHASES = {"prefilter": "pre-filtering", "check skipped": "checking", "parse": "parsing",
           "scan+index": "indexing", "build": "analyzing", "link": "linking calls",
           "solve": "finding paths"}


def wanted(stream: IO[str] | None = None, env: Mapping[str, str] | None = None, *,
           quiet: bool = False) -> bool:
    stream = stream if stream is not None else sys.stderr
    env = env if env is not None else os.environ
    if quiet or env.get("CI") or env.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a real stream
        return False


class ProgressBar:
    """Call it with ``(phase, done, total)``; use as a context manager so the bar is erased
    (and its refresh thread stopped) before anything else is printed."""

    def __init__(self, stream: IO[str] | None = None, *, delay: float = DELAY,
                 color: bool = True) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._delay = delay
        self._color = color
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._progress: Any = None
        self._task: Any = None
        self.shown = False  # whether the bar was ever drawn (for tests)

    def __call__(self, phase: str, done: int, total: int) -> None:
        with self._lock:
            label = _PHASES.get(phase, phase)
            if self._progress is None:
                if time.monotonic() - self._started < self._delay:
                    return
                self._start(label, done, max(total, 1))
            self._progress.update(self._task, description=label, completed=done,
                                  total=max(total, 1))

    def _start(self, label: str, done: int, total: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        console = Console(file=self._stream, no_color=not self._color, highlight=False)
        self._progress = Progress(TextColumn("{task.description:<14}"), BarColumn(),
                                  MofNCompleteColumn(), TimeElapsedColumn(),
                                  console=console, transient=True)
        self._task = self._progress.add_task(label, total=total, completed=done)
        self._progress.start()
        self.shown = True

    def close(self) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.stop()
                self._progress = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
