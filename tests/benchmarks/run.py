"""Measure leakcheck against the libcst floor on one or more trees, side by side, in one run.

    python tests/benchmarks/run.py TREE [TREE...] [--repeat N] [--jobs-max 2]

For each tree (a synthetic one from ``generate.py`` or a real checkout kept outside the
repository, such as /tmp/trl), every figure comes from a fresh interpreter, one after the
other, so the ratios are taken under the same machine load:

- ``read``: reading every ``.py`` file's bytes;
- ``parse``: ``libcst.parse_module`` of every file (the floor leakcheck is compared with);
- ``cold j1`` / ``cold j2``: ``leakcheck --jobs 1|2`` with an empty cache directory;
- ``warm``: the same command again on the unchanged tree (cache filled by ``cold j1``);
- ``edit``: again, after adding a reward function to one file holding a grader (restored
  afterwards);
- ``peak MB``: the largest resident set of the ``cold j1`` run (its workers included);
- ``ms/kline``: cold j1 time per thousand lines (scaling across trees).

Each leakcheck run writes JSON; the script checks that cold j1, cold j2, warm and a run
with ``--no-cache`` give byte-identical output (the edited run is compared with a cold run
of the edited tree). Times are the minimum over ``--repeat`` runs. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SKIP = {".git", ".venv", "venv", "build", "dist", "__pycache__", "node_modules",
        ".leakcheck_cache", "site-packages", ".tox"}

_FLOOR = r"""
import sys, time, resource, os
sys.setrecursionlimit(50000)
files = [l for l in open(sys.argv[2]).read().split("\n") if l]
t = time.perf_counter()
data = [open(f, "rb").read() for f in files]
read = time.perf_counter() - t
if sys.argv[1] == "parse":
    import libcst
    t = time.perf_counter()
    for d in data:
        try:
            libcst.parse_module(d)
        except Exception:
            pass
    print(time.perf_counter() - t)
else:
    print(read)
"""

_RUN = r"""
import resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.call(sys.argv[1:])
wall = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(wall, peak, rc)
"""


def py_files(tree: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP and not d.endswith(
            ".egg-info"))
        out.extend(Path(dirpath) / f for f in sorted(filenames) if f.endswith(".py"))
    return out


def floor(kind: str, listing: Path) -> float:
    out = subprocess.run([sys.executable, "-c", _FLOOR, kind, str(listing)], check=True,
                         capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def leakcheck(tree: Path, out: Path, *extra: str) -> tuple[float, float]:
    """(wall seconds, peak RSS MB of the run, workers included)."""
    cmd = [sys.executable, "-m", "leakcheck", str(tree), "--format", "json", "-o", str(out),
           "--exit-zero", *extra]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    res = subprocess.run([sys.executable, "-c", _RUN, *cmd], check=True, capture_output=True,
                         text=True, env=env)
    wall, peak, rc = res.stdout.split()
    if int(rc) != 0:
        raise SystemExit(f"leakcheck failed ({rc}) on {tree}: {res.stderr}")
    return float(wall), int(peak) / 1024


def normalized(path: Path) -> str:
    """The JSON output without its timing field (the only part allowed to differ)."""
    data = json.loads(path.read_text())
    data.pop("elapsed_seconds", None)
    data.get("summary", {}).pop("elapsed_seconds", None)
    return json.dumps(data, sort_keys=True)


def best(fn, repeat: int):
    results = [fn() for _ in range(repeat)]
    return min(results, key=lambda r: r[0] if isinstance(r, tuple) else r)


def measure(tree: Path, repeat: int, jobs_max: int) -> dict:
    files = py_files(tree)
    lines = sum(f.read_bytes().count(b"\n") for f in files)
    work = Path(tempfile.mkdtemp(prefix="lcbench-"))
    listing = work / "files.txt"
    listing.write_text("\n".join(str(f) for f in files))
    row: dict = {"tree": str(tree), "files": len(files), "lines": lines}
    row["read"] = best(lambda: floor("read", listing), repeat)
    row["parse"] = best(lambda: floor("parse", listing), repeat)

    def cold(jobs: int, name: str) -> tuple[float, float]:
        def once() -> tuple[float, float]:
            cache = work / f"cache-{name}-{time.monotonic_ns()}"
            return leakcheck(tree, work / f"{name}.json", "--jobs", str(jobs),
                             "--cache-dir", str(cache))
        return best(once, repeat)

    row["cold_j1"], row["peak_mb"] = cold(1, "j1")
    for j in range(2, jobs_max + 1):
        row[f"cold_j{j}"], _ = cold(j, f"j{j}")
    cache = work / "cache-warm"
    leakcheck(tree, work / "fill.json", "--jobs", "1", "--cache-dir", str(cache))
    row["warm"], _ = best(lambda: leakcheck(tree, work / "warm.json", "--cache-dir",
                                            str(cache)), repeat)
    _, _ = leakcheck(tree, work / "nocache.json", "--no-cache")
    same = {normalized(work / f"{n}.json") for n in
            ["j1", *[f"j{j}" for j in range(2, jobs_max + 1)], "warm", "nocache"]}
    row["identical"] = len(same) == 1
    # one file edited: the largest file holding a grader, else the largest file
    target = max(files, key=lambda f: (b"reward" in f.read_bytes(), f.stat().st_size))
    original = target.read_bytes()
    times = []
    try:
        for k in range(repeat):
            # a real change: a new function with a flow of its own, so the edited module's
            # graph, its summaries and the findings change
            target.write_bytes(original + (
                f"\n\ndef bench_edit_reward_{k}(completions, **kwargs):\n"
                f"    return [len(c) + {k} for c in completions]\n").encode())
            times.append(leakcheck(tree, work / "edit.json", "--cache-dir", str(cache))[0])
        leakcheck(tree, work / "edit_cold.json", "--no-cache")
        row["identical"] &= normalized(work / "edit.json") == normalized(
            work / "edit_cold.json")
    finally:
        target.write_bytes(original)
    row["edit"] = min(times)
    return row


def table(rows: list[dict], jobs_max: int) -> str:
    head = ["tree", "files", "lines", "read s", "parse s", "cold j1 s", "x parse"]
    for j in range(2, jobs_max + 1):
        head += [f"cold j{j} s", f"j1/j{j}"]
    head += ["warm s", "warm %", "edit s", "edit %", "peak MB", "ms/kline", "same out"]
    out = [head]
    for r in rows:
        cells = [Path(r["tree"]).name, str(r["files"]), str(r["lines"]), f"{r['read']:.2f}",
                 f"{r['parse']:.2f}", f"{r['cold_j1']:.2f}",
                 f"{r['cold_j1'] / r['parse']:.2f}"]
        for j in range(2, jobs_max + 1):
            cells += [f"{r[f'cold_j{j}']:.2f}", f"{r['cold_j1'] / r[f'cold_j{j}']:.2f}"]
        cells += [f"{r['warm']:.2f}", f"{100 * r['warm'] / r['cold_j1']:.1f}",
                  f"{r['edit']:.2f}", f"{100 * r['edit'] / r['cold_j1']:.1f}",
                  f"{r['peak_mb']:.0f}", f"{1000 * r['cold_j1'] / max(1, r['lines']) * 1000:.3f}"
                  .rstrip("0").rstrip("."), "yes" if r["identical"] else "NO"]
        out.append(cells)
    widths = [max(len(row[i]) for row in out) for i in range(len(head))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
             for row in out]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description="leakcheck benchmark (see module docstring)")
    ap.add_argument("trees", nargs="+", type=Path)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--jobs-max", type=int, default=2)
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    rows = []
    for tree in args.trees:
        rows.append(measure(tree.resolve(), args.repeat, args.jobs_max))
        print(json.dumps(rows[-1]), flush=True)
    print()
    print(table(rows, args.jobs_max))
    synthetic = sorted((r for r in rows if Path(r["tree"]).name.startswith("synth")),
                       key=lambda r: r["lines"])
    if len(synthetic) >= 2:  # scaling: time per line, each synthetic size vs the next smaller
        print()
        for a, b in itertools.pairwise(synthetic):
            pa = a["cold_j1"] / a["lines"]
            pb = b["cold_j1"] / b["lines"]
            print(f"time per line, {Path(b['tree']).name} vs {Path(a['tree']).name}: "
                  f"{pb / pa:.2f}x")
    print(f"load at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
