"""Module names from file paths, the way imports spell them.

The primary name walks up through packages (directories with ``__init__.py``):
``src/open_r1/rewards.py`` is ``open_r1.rewards``. Namespace-package layouts without
``__init__.py`` are reached too: every file also answers to its root-relative dotted path
(``rollout.worker``) and to that path without a leading ``src``.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath


def module_names(rel_path: str, root: Path) -> tuple[str, tuple[str, ...]]:
    """(primary name, aliases) of the module at ``rel_path`` (POSIX, relative to root)."""
    pure = PurePosixPath(rel_path)
    parts = list(pure.with_suffix("").parts)
    is_package = parts and parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    directory = (root / pure).parent
    depth = 0  # how many enclosing directories are packages
    cur = directory
    while depth < len(pure.parts) - 1 and (cur / "__init__.py").is_file():
        depth += 1
        cur = cur.parent
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
