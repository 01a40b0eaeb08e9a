"""Paths -> the sorted list of Python files to analyze, and the project root.

The project root is the nearest directory at or above the analyzed paths holding a
``pyproject.toml`` or ``.git``; with neither, the analyzed directory itself. Reported paths
are POSIX and relative to it (GitHub code scanning resolves them against the repository).
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".git", ".hg", ".svn", ".bzr", ".venv", "venv", ".env", "__pypackages__", "build", "dist",
    "_build", "buck-out", "node_modules", "site-packages", "__pycache__", ".tox", ".nox",
    ".eggs", "*.egg-info", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".pytype",
    ".ipynb_checkpoints", ".direnv", ".leakcheck_cache",
)
PROJECT_MARKERS = ("pyproject.toml", ".git")


@dataclass(frozen=True, slots=True)
class Discovered:
    root: Path
    files: tuple[Path, ...]  # absolute, sorted by relative path
    missing: tuple[str, ...]  # given paths that do not exist


def find_root(paths: Iterable[Path]) -> Path:
    resolved = [p.resolve() for p in paths]
    if not resolved:
        resolved = [Path.cwd().resolve()]
    common = Path(os.path.commonpath([str(p) for p in resolved]))
    start = common if common.is_dir() else common.parent
    for candidate in (start, *start.parents):
        if any((candidate / marker).exists() for marker in PROJECT_MARKERS):
            return candidate
    return start


@functools.lru_cache(maxsize=64)
def _matchers(patterns: tuple[str, ...]) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """The patterns as two regular expressions (fnmatchcase semantics): those matched against
    every path part, and those (holding a ``/``) matched against the whole relative path."""
    part = [fnmatch.translate(p.rstrip("/")) for p in patterns if "/" not in p.rstrip("/")]
    whole = [fnmatch.translate(x) for p in patterns if "/" in p.rstrip("/")
             for x in (p.rstrip("/"), p.rstrip("/") + "/*")]
    return (re.compile("|".join(part)) if part else None,
            re.compile("|".join(whole)) if whole else None)


def _excluded(rel_parts: tuple[str, ...], rel: str, patterns: tuple[str, ...]) -> bool:
    part, whole = _matchers(tuple(patterns))
    if whole is not None and whole.match(rel):
        return True
    return part is not None and any(part.match(p) for p in rel_parts)


def _excluded_slow(rel_parts: tuple[str, ...], rel: str, patterns: tuple[str, ...]) -> bool:
    """The reference definition (tests compare it with ``_excluded``)."""
    for pat in patterns:
        if "/" in pat.rstrip("/"):
            if fnmatch.fnmatchcase(rel, pat.rstrip("/")) or fnmatch.fnmatchcase(
                    rel, pat.rstrip("/") + "/*"):
                return True
        elif any(fnmatch.fnmatchcase(part, pat.rstrip("/")) for part in rel_parts):
            return True
    return False


def discover(paths: Iterable[str | os.PathLike[str]], *, exclude: Iterable[str] = (),
             use_default_excludes: bool = True, skip_nested_projects: bool = False) -> Discovered:
    """``skip_nested_projects``: directories below a path that hold their own
    ``pyproject.toml`` are other projects (used when resolving the project of a file)."""
    given = [Path(p) for p in paths] or [Path(".")]
    existing = [p for p in given if p.exists() or p.is_symlink()]
    missing = tuple(str(p) for p in given if p not in existing)
    root = find_root(existing or [Path(".")])
    patterns = (DEFAULT_EXCLUDES if use_default_excludes else ()) + tuple(exclude)
    found: dict[str, Path] = {}
    for path in existing:
        absolute = path.resolve() if not path.is_symlink() else path.absolute()
        if path.is_dir() and not path.name.endswith(".py"):
            for dirpath, dirnames, filenames in os.walk(absolute):
                base = Path(dirpath)
                kept = []
                for d in sorted(dirnames):
                    rel = _relative(base / d, root)
                    full = base / d
                    if d.endswith(".py"):
                        # a directory named like a module: reported as unreadable, not skipped
                        if not _excluded(Path(rel).parts, rel, patterns):
                            found[rel] = full
                        continue
                    if skip_nested_projects and (full / "pyproject.toml").is_file():
                        continue
                    if not _excluded(Path(rel).parts, rel, patterns):
                        kept.append(d)
                dirnames[:] = kept
                for f in filenames:
                    if f.endswith(".py"):
                        rel = _relative(base / f, root)
                        if not _excluded(Path(rel).parts, rel, patterns):
                            found[rel] = base / f
        else:
            # a file given by name is analyzed even if an exclude pattern matches it
            found[_relative(absolute, root)] = absolute
    files = tuple(found[k] for k in sorted(found))
    return Discovered(root, files, missing)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def relative(path: Path, root: Path) -> str:
    return _relative(path, root)


def printable(path: str) -> str:
    """``path`` as text every output format can carry: bytes of a file name that are not
    UTF-8 (which Python keeps as lone surrogates) are shown as ``\\xff`` escapes."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
