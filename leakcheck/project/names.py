"""Module names from file paths, the way imports spell them.

The primary name walks up through packages (directories with ``__init__.py``):
``src/open_r1/rewards.py`` is ``open_r1.rewards``. Namespace-package layouts without
``__init__.py`` are reached too: every file also answers to its root-relative dotted path
(``rollout.worker``) and to that path without a leading ``src``.
"""

from __future__ import annotations

import posixpath
from pathlib import Path


def module_names(rel_path: str, root: Path,
                 packages: dict[str, bool] | None = None) -> tuple[str, tuple[str, ...]]:
    """(primary name, aliases) of the module at ``rel_path`` (POSIX, relative to root).
    ``packages`` caches, per directory, whether it holds an ``__init__.py`` (one dict per
    run: every file of a directory asks the same question)."""
    parts = [p for p in posixpath.splitext(rel_path)[0].split("/") if p and p != "."]
    dirs = [p for p in rel_path.split("/") if p and p != "."][:-1]
    is_package = bool(parts) and parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    depth = 0  # how many enclosing directories are packages
    base = root.as_posix().rstrip("/")
    while depth < len(dirs):
        directory = "/".join([base, *dirs[:len(dirs) - depth]])
        known = packages.get(directory) if packages is not None else None
        if known is None:
            known = Path(directory, "__init__.py").is_file()
            if packages is not None:
                packages[directory] = known
        if not known:
            break
        depth += 1
    own = 0 if is_package else 1
    primary_parts = parts[len(parts) - depth - own:] if depth + own <= len(parts) else parts
    if is_package and depth == 0:
        primary_parts = parts[-1:]
    primary = ".".join(primary_parts) or "__main__"
    aliases = {".".join(parts)}
    if parts and parts[0] == "src":
        aliases.add(".".join(parts[1:]))
    aliases.discard(primary)
    aliases.discard("")
    return primary, tuple(sorted(aliases))


def import_base(module: str, is_package: bool, level: int, name: tuple[str, ...] | None) -> str:
    """The absolute module a ``from ... import`` reads from."""
    if level == 0:
        return ".".join(name or ())
    parts = module.split(".") if module else []
    if not is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: max(0, len(parts) - (level - 1))]
    return ".".join([*parts, *(name or ())])
