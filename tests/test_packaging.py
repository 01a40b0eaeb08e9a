"""The sdist and wheel ship the rule packs: rules/*.toml -> leakcheck/rules/*.toml.

Builds once per session with ``python -m build --no-isolation`` (the test extra installs
hatchling, so no network is needed). ``build`` makes the sdist first and the wheel from the
unpacked sdist, so this also proves the sdist carries rules/.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.packaging


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def repo_packs() -> list[str]:
    return sorted(p.name for p in (REPO / "rules").glob("*.toml"))


def test_the_repository_has_rule_packs():
    assert repo_packs(), "rules/ holds no *.toml rule pack"


def test_wheel_ships_every_rule_pack_inside_the_package(dist):
    (wheel,) = dist.glob("leakcheck-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = sorted(n.removeprefix("leakcheck/rules/") for n in names
                     if n.startswith("leakcheck/rules/") and n.endswith(".toml"))
    assert shipped, "no leakcheck/rules/*.toml in the wheel"
    assert shipped == repo_packs()
    assert not any(n.startswith("rules/") for n in names), "rules/ must not be a top-level package"
    assert "leakcheck/__init__.py" in names and "leakcheck/cli.py" in names


def test_wheel_declares_the_console_script_and_dependencies(dist):
    (wheel,) = dist.glob("leakcheck-*.whl")
    zf = zipfile.ZipFile(wheel)
    info = next(n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt"))
    assert "leakcheck = leakcheck.cli:run" in zf.read(info).decode()
    meta = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    assert "Requires-Python: >=3.11" in meta
    for dep in ("libcst>=1.4", "networkx>=3.0", "click>=8.2", "rich>=13"):
        assert f"Requires-Dist: {dep}" in meta


def test_sdist_carries_rules_and_tests(dist):
    (sdist,) = dist.glob("leakcheck-*.tar.gz")
    with tarfile.open(sdist) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    assert {f"rules/{p}" for p in repo_packs()} <= names
    assert "pyproject.toml" in names and "README.md" in names
    assert "tests/fixtures/examples/leaky_reward.py" in names


def test_readme_opens_with_the_setup_and_test_commands():
    first, second = (REPO / "README.md").read_text(encoding="utf-8").splitlines()[:2]
    assert "pip install -e '.[test]'" in first and "leakcheck tests/fixtures/examples/" in first
    example = first.rsplit("leakcheck ", 1)[1].strip()
    assert (REPO / example).is_file()
    assert second.strip() == ".venv/bin/python -m pytest"
    # CI runs the same test command, with its own virtualenv's python
    assert '"$venv/bin/python" -m pytest' in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_pre_commit_hook_manifest():
    import yaml  # comes with pre-commit (test extra)

    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "leakcheck"
    assert hook["entry"] == "leakcheck"
    assert hook["language"] == "python"
    assert hook["types"] == ["python"]
    assert hook["require_serial"] is True
