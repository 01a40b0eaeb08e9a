"""On-disk cache of per-module results, keyed by what they are a pure function of.

Keys hash the engine (every source file of the leakcheck package, so an upgrade or a local
edit never reads stale entries), the rule set's digest (packs plus user vocabulary), and the
inputs of the entry (a file's path, module name and bytes; for a built module also its LinkIn).
Entries are pickles written to a temporary file in the same directory and renamed into place,
so concurrent runs never see half an entry; an entry that cannot be read (truncated,
corrupted, from an incompatible build) counts as a miss and is recomputed. A directory that
cannot be created or written disables the cache for the run instead of failing it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

CACHE_DIR_NAME = ".leakcheck_cache"
ENV_CACHE_DIR = "LEAKCHECK_CACHE_DIR"
FORMAT = "1"


@lru_cache(maxsize=1)
def engine_digest() -> str:
    root = Path(__file__).resolve().parent
    # strict mode (the test suite's) raises where production approximates: never share
    h = hashlib.sha256(f"{FORMAT}\0{sys.version_info[:2]}\0"
                       f"{os.environ.get('LEAKCHECK_STRICT', '')}\0".encode())
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    try:
        import libcst

        h.update(getattr(libcst, "__version__", "?").encode())
    except Exception:  # pragma: no cover - libcst is a dependency
        pass
    return h.hexdigest()


def key(*parts: object) -> str:
    h = hashlib.blake2b(digest_size=20)
    for p in parts:
        h.update(p if isinstance(p, bytes) else repr(p).encode())
        h.update(b"\0")
    return h.hexdigest()


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


class Cache:
    """``get``/``put`` by (kind, key). ``Cache(None)`` is the disabled cache."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.enabled = directory is not None
        self._root = directory.as_posix() if directory is not None else ""
        self.hits = 0
        self.misses = 0
        if directory is not None:
            try:
                directory.mkdir(parents=True, exist_ok=True)
                ignore = directory / ".gitignore"
                if not ignore.exists():
                    self._atomic_write(ignore, b"# written by leakcheck\n*\n")
                probe = directory / "CACHEDIR.TAG"
                if not probe.exists():
                    self._atomic_write(probe, b"Signature: 8a477f597d28d172789f06886806bc55\n"
                                       b"# leakcheck cache: safe to delete\n")
            except OSError:
                self.enabled = False

    def _path(self, kind: str, k: str) -> str:
        # plain strings: a warm run opens tens of thousands of entries, and pathlib's
        # joining cost more than the reads
        assert self.directory is not None
        return f"{self._root}/{kind}/{k[:2]}/{k}"

    def get(self, kind: str, k: str) -> object | None:
        if not self.enabled:
            return None
        try:
            with open(self._path(kind, k), "rb") as fh:
                value = pickle.load(fh)
        except FileNotFoundError:
            self.misses += 1
            return None
        except Exception:  # corrupted, truncated, incompatible: recompute
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, kind: str, k: str, value: object, data: bytes | None = None) -> None:
        """``data``: ``value`` already pickled (by a worker process)."""
        if not self.enabled:
            return
        try:
            if data is None:
                data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            path = Path(self._path(kind, k))
            path.parent.mkdir(parents=True, exist_ok=True)
            self._atomic_write(path, data)
        except (OSError, pickle.PicklingError, RecursionError, TypeError, AttributeError):
            self.enabled = False  # unwritable or unpicklable: run on without the cache

    @staticmethod
    def _atomic_write(path: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def default_cache_dir(root: Path) -> Path:
    env = os.environ.get(ENV_CACHE_DIR)
    if env:
        return Path(env)
    return root / CACHE_DIR_NAME
