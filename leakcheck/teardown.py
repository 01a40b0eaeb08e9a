"""No teardown of a run's data when the process ends right after the run.

A run's graphs, summaries and values are millions of small objects. Freeing them one by one
as the analysis returns, and a garbage collection walking those still alive, cost 0.3 s of a
2.6 s re-run after one file of trl was edited. The ``leakcheck`` command ends its process
right after writing the report, so it asks for them to be kept (:func:`defer`) and leaves
through ``os._exit`` once its output is flushed (:func:`exit_now`), as mypy does. Nothing is
kept unless the process asked: the API and the tests free everything as usual.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from typing import NoReturn

_kept: list[tuple[object, ...]] = []
_deferring = False


def defer() -> None:
    """From now on, :func:`keep` keeps what it is given until the process ends."""
    global _deferring
    _deferring = True


def keep(*objects: object) -> None:
    """Keep ``objects`` alive until the process ends, if it asked (:func:`defer`); they, and
    everything else alive now, are left out of later garbage collections (nothing kept is
    ever freed, so walking it again only costs)."""
    if _deferring:
        _kept.append(objects)
        gc.freeze()


def exit_now(code: int) -> NoReturn:
    """End the process with ``code`` after flushing standard output and error, without
    freeing what is kept (or anything else). A reader that closed the pipe early (``|
    head``) leaves the code as it is."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe, a closed stream
            stream.flush()
    os._exit(code)
