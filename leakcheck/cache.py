"""On-disk cache of per-module results, keyed by what they are a pure function of.

Keys hash the engine (every source file of the leakcheck package, so an upgrade or a local
edit never reads stale entries), the rule set's digest (packs plus user vocabulary), and the
inputs of the entry (a file's path, module name and bytes; for a built module also its LinkIn).

Per-file entries of one kind live together in a *pack* per analyzed root (pickled dicts of
key -> pickled entry, in one or a few segment files): a run over thousands of files opens a
handful of files instead of tens of thousands. At the end of a run, a few new entries (a file
edited) are written as a new segment; many, or a kind with MAX_SEGMENTS already, rewrite the
pack as one segment holding what this run used or made, then older entries up to as many
again (so switching between two states of a tree stays warm). Whole-run entries are files of
their own. Everything is written to a temporary file in the same directory and renamed into
place, so concurrent runs never see half a segment (each writes its own; a compaction removes
only the segments it read, so the worst case is a recomputation later); a segment or entry
that cannot be read (truncated, corrupted, from an incompatible build) counts as a miss and
is recomputed. A directory that cannot be created or written disables the cache for the run
instead of failing it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path

CACHE_DIR_NAME = ".leakcheck_cache"
ENV_CACHE_DIR = "LEAKCHECK_CACHE_DIR"
FORMAT = "2"
PACKED_KINDS = frozenset({"facts", "check", "parse", "scan", "build", "directives", "component"})
MAX_SEGMENTS = 4
# whole-run entries kept (one per tree state and options seen): the least recently used
# go, so a long-lived cache does not grow with every edit ever analyzed
MAX_RUN_ENTRIES = 64


@lru_cache(maxsize=1)
def engine_digest() -> str:
    root = Path(__file__).resolve().parent
    # strict mode (the test suite's) raises where production approximates: never share
    h = hashlib.sha256(f"{FORMAT}\0{sys.version_info[:2]}\0"
                       f"{os.environ.get('LEAKCHECK_STRICT', '')}\0".encode())
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    try:  # by its metadata: importing libcst here would cost a warm run a third of its time
        from importlib.metadata import version

        h.update(version("libcst").encode())
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
    """``get``/``put`` by (kind, key), ``flush`` at the end of a run. ``Cache(None)`` is
    the disabled cache; ``scope`` names the packs' owner (the analyzed root)."""

    def __init__(self, directory: Path | None, scope: str = "") -> None:
        self.directory = directory
        self.enabled = directory is not None
        self._root = directory.as_posix() if directory is not None else ""
        self._scope = key("scope", scope)[:16]
        self._packs: dict[str, dict[str, bytes]] = {}  # kind -> entries read from disk
        self._used: dict[str, dict[str, bytes]] = {}  # kind -> entries this run read or made
        self._loaded: dict[str, list[str]] = {}  # kind -> the segment files read
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
        # plain strings: pathlib's joining costs more than small reads
        assert self.directory is not None
        return f"{self._root}/{kind}/{k[:2]}/{k}"

    def _segments(self, kind: str) -> list[str]:
        """This root's pack files of ``kind``, oldest first (names sort by creation)."""
        prefix = f"{kind}-{self._scope}."
        try:
            names = os.listdir(f"{self._root}/packs")
        except OSError:
            return []
        return sorted(f"{self._root}/packs/{n}" for n in names
                      if n.startswith(prefix) and n.endswith(".pack"))

    def _pack(self, kind: str) -> dict[str, bytes]:
        pack = self._packs.get(kind)
        if pack is None:
            pack = {}
            segments = self._segments(kind)
            for path in segments:
                try:
                    with open(path, "rb") as fh:
                        loaded = pickle.load(fh)
                except Exception:  # gone, corrupted, truncated, incompatible: skip it
                    continue
                if isinstance(loaded, dict):
                    pack.update(loaded)
            self._packs[kind] = pack
            self._loaded[kind] = segments
            self._used[kind] = {}
        return pack

    def get(self, kind: str, k: str) -> object | None:
        if not self.enabled:
            return None
        try:
            if kind in PACKED_KINDS:
                data = self._pack(kind).get(k)
                if data is None:
                    self.misses += 1
                    return None
                value = pickle.loads(data)
                self._used[kind][k] = data
            else:
                path = self._path(kind, k)
                with open(path, "rb") as fh:
                    value = pickle.load(fh)
                with contextlib.suppress(OSError):
                    os.utime(path)  # used: the last to be evicted
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
            if kind in PACKED_KINDS:
                self._pack(kind)
                self._used[kind][k] = data
                return
            path = Path(self._path(kind, k))
            path.parent.mkdir(parents=True, exist_ok=True)
            self._atomic_write(path, data)
            self._evict(kind, MAX_RUN_ENTRIES)
        except (OSError, pickle.PicklingError, RecursionError, TypeError, AttributeError):
            self.enabled = False  # unwritable or unpicklable: run on without the cache

    def flush(self) -> None:
        """Write what this run added. Few new entries beside many old ones (one file
        edited) go to a new segment of their own; otherwise, or once a kind has
        MAX_SEGMENTS, the pack is rewritten as one segment: this run's entries first, then
        older ones up to as many again, and the segments it replaces are removed."""
        if not self.enabled:
            return
        for kind, used in self._used.items():
            old = self._packs.get(kind, {})
            new = {k: data for k, data in used.items() if k not in old}
            if not new:
                continue  # a pack is rewritten only when it gains entries
            loaded = self._loaded.get(kind, [])
            compact = len(loaded) + 1 > MAX_SEGMENTS or \
                sum(map(len, new.values())) * 4 > sum(map(len, old.values()))
            if compact:
                pack = dict(used)
                for k, data in old.items():
                    if len(pack) >= 2 * len(used):
                        break
                    pack.setdefault(k, data)
            else:
                pack = new
            try:
                directory = Path(f"{self._root}/packs")
                directory.mkdir(parents=True, exist_ok=True)
                name = f"{kind}-{self._scope}.{time.time_ns():020d}-{os.getpid()}.pack"
                self._atomic_write(directory / name,
                                   pickle.dumps(pack, protocol=pickle.HIGHEST_PROTOCOL))
            except OSError:
                self.enabled = False
                return
            if compact:
                for path in loaded:  # a concurrent run's newer segment is left alone
                    with contextlib.suppress(OSError):
                        os.unlink(path)

    def _evict(self, kind: str, keep: int) -> None:
        """Remove all but the ``keep`` most recently used entries of an unpacked kind (a
        concurrent run's entry removed here is a miss for it, recomputed)."""
        entries: list[tuple[int, str]] = []
        try:
            with os.scandir(f"{self._root}/{kind}") as subdirs:
                for sub in subdirs:
                    if not sub.is_dir():
                        continue
                    with os.scandir(sub.path) as files:
                        entries.extend((e.stat().st_mtime_ns, e.path) for e in files
                                       if e.is_file() and not e.name.startswith(".tmp-"))
        except OSError:
            return
        if len(entries) <= keep:
            return
        entries.sort()
        for _, path in entries[:-keep]:
            with contextlib.suppress(OSError):
                os.unlink(path)

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
