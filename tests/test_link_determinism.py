"""Linking does not depend on the order sets iterate in. Tokens first met while linking
(access paths only a callee reads, which recursion multiplies) used to be linked in set
order, so the linked graph of a recursive project changed with the hash seed, and with
pickling between worker processes: seeds 1 and 4 gave 2,098 and 1,989 edges here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROJECT = REPO / "tests" / "fixtures" / "projects" / "recursive_helpers"

_DIGEST = r"""
import hashlib, sys
from leakcheck.api import Options, check_paths
from leakcheck.project import link

run = link.Linker.run

def digest(self, *args):
    graph = run(self, *args)
    edges = sorted(f"{u!r} -> {v!r} {sorted(d.items())!r}" for u, v, d in graph.edges(data=True))
    print(len(edges), hashlib.sha256("\n".join(edges).encode()).hexdigest())
    return graph

link.Linker.run = digest
check_paths(Options(paths=(sys.argv[1],), jobs=1))
"""


def test_the_linked_graph_is_the_same_under_every_hash_seed() -> None:
    digests = {subprocess.run([sys.executable, "-c", _DIGEST, str(PROJECT)], cwd=REPO,
                              env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin",
                                   "PYTHONPATH": str(REPO)},
                              check=True, capture_output=True, text=True,
                              timeout=120).stdout for seed in ("1", "4", "7", "11")}
    assert len(digests) == 1, digests
