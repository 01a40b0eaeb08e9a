"""Shared test switches and fixtures.

``pytest --update-goldens`` rewrites tests/goldens/ from the current output instead of
comparing against it. The SARIF schema is the official copy in ``../shared/sarif/`` beside
the repository (CI clones the repo next to a copy of shared/); a missing schema fails the
tests that need it rather than skipping them, so a broken layout cannot pass unseen.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Strict in tests, lenient in production (pyflakes' habit): an unmodeled syntax form raises
# instead of being approximated, so new syntax cannot slip past the builder unnoticed.
# Set before leakcheck is imported: graph/exprs.py reads it once.
os.environ.setdefault("LEAKCHECK_STRICT", "1")
# Snippets of expressions are cut from the module's text by their ranges; in tests every cut
# is also checked against libcst's own code generation (graph/context.py).
os.environ.setdefault("LEAKCHECK_CHECK_SLICES", "1")
# The CLI caches per-file results in the project by default: during the tests that would be
# tests/fixtures/**/.leakcheck_cache, so the suite keeps its cache in a throwaway directory.
_CACHE = tempfile.mkdtemp(prefix="leakcheck-test-cache-")
os.environ.setdefault("LEAKCHECK_CACHE_DIR", _CACHE)
atexit.register(shutil.rmtree, _CACHE, True)

REPO = Path(__file__).resolve().parents[1]
SARIF_SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "sarif" / "sarif-schema-2.1.0.json"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite tests/goldens/ from the current output instead of comparing",
    )


@pytest.fixture(scope="session")
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


@pytest.fixture(scope="session")
def sarif_validator():
    from jsonschema import Draft4Validator

    if not SARIF_SCHEMA.is_file():
        pytest.fail(f"SARIF 2.1.0 schema not found at {SARIF_SCHEMA} (expected ../shared/sarif/)")
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def assert_valid_sarif(validator, log: dict) -> None:
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:20]
    )
