"""SPEC §6: the ``leakcheck`` hook of ``.pre-commit-hooks.yaml``, run by the real pre-commit.

A temporary git repository uses this checkout as a hook repository the way a user's project
would (``repo:`` + ``rev:`` in ``.pre-commit-config.yaml``) and commits through the hook that
``pre-commit install`` puts in ``.git/hooks``. pre-commit clones the hook repository and
``pip install``s it into its own virtualenv (dependencies come from PyPI), in a temporary
``PRE_COMMIT_HOME``; that install is most of this module's run time.

The hook repository is a snapshot of this working tree (tracked and untracked, not ignored
files) committed into a scratch git repository, so the test checks the code as it is, in a
clean clone in CI as well as with uncommitted edits.

The project has a helper module committed earlier and a staged file calling it: the hook is
given the staged file only, and must still follow the call into the helper to see the leak.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PRE_COMMIT = Path(sys.executable).with_name("pre-commit")

pytestmark = pytest.mark.precommit

HELPER = '''\
def answer_text(msg):
    """Meant to return the final answer; returns the reasoning field by mistake."""
    return msg.reasoning_content
'''
LEAKY = '''\
from helpers import answer_text


def judge_reward(client, msg):
    return client.judge(answer_text(msg))
'''
CLEAN = '''\
def judge_reward(client, msg):
    return client.judge(msg.content)
'''


def _git(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=True, timeout=120)


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("home")
    gitconfig = home / "gitconfig"
    gitconfig.write_text("[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n")
    out = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "GIT_",
                                                                      "PRE_COMMIT"))}
    out.update({
        "PRE_COMMIT_HOME": str(home / "pre-commit"),
        "GIT_CONFIG_GLOBAL": str(gitconfig),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1",
        "NO_COLOR": "1",
    })
    return out


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory, env) -> tuple[Path, str]:
    """This working tree, committed into a scratch repository: (path, commit)."""
    assert PRE_COMMIT.is_file(), f"pre-commit is not installed beside {sys.executable}"
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True, timeout=60).stdout.decode()
    dest = tmp_path_factory.mktemp("hook-repo")
    for rel in filter(None, listing.split("\0")):
        src = REPO / rel
        if src.is_file():
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    _git("init", "-q", cwd=dest, env=env)
    _git("add", "-A", cwd=dest, env=env)
    _git("commit", "-q", "-m", "snapshot", cwd=dest, env=env)
    rev = _git("rev-parse", "HEAD", cwd=dest, env=env).stdout.strip()
    return dest, rev


@pytest.fixture
def project(tmp_path, env, hook_repo) -> Path:
    repo, rev = hook_repo
    root = tmp_path / "project"
    root.mkdir()
    (root / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repo.as_posix()}\n    rev: {rev}\n    hooks:\n"
        "      - id: leakcheck\n")
    (root / "helpers.py").write_text(HELPER)
    _git("init", "-q", cwd=root, env=env)
    _git("add", "-A", cwd=root, env=env)
    _git("commit", "-q", "-m", "helpers", cwd=root, env=env)
    subprocess.run([str(PRE_COMMIT), "install"], cwd=root, env=env, check=True,
                   capture_output=True, timeout=120)
    return root


def _commit(root: Path, env: dict[str, str], text: str) -> subprocess.CompletedProcess[str]:
    (root / "reward.py").write_text(text)
    _git("add", "reward.py", cwd=root, env=env)
    return subprocess.run(["git", "commit", "-m", "reward"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=900)


def test_the_manifest_is_valid(env):
    proc = subprocess.run([str(PRE_COMMIT), "validate-manifest", ".pre-commit-hooks.yaml"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_commit_with_a_leak_through_an_unstaged_helper_fails(project, env):
    proc = _commit(project, env, LEAKY)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "leakcheck" in out and "Failed" in out
    # the finding, at the sink in the staged file, with the path through the helper
    assert "reward.py:5:12: LC101 reasoning from `msg.reasoning_content`" in out
    assert "helpers.py:3:12" in out
    # nothing was committed
    log = _git("log", "--format=%s", cwd=project, env=env).stdout.split()
    assert log == ["helpers"]


def test_commit_of_a_clean_file_passes(project, env):
    proc = _commit(project, env, CLEAN)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "leakcheck" in out and "Passed" in out
    log = _git("log", "--format=%s", cwd=project, env=env).stdout.split()
    assert log == ["reward", "helpers"]
