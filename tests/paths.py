"""Where tests find files: the repository root, and the read-only reference in ``../shared``.

Paths are relative to this checkout, never to a development machine, so a clone anywhere
runs the same suite. A test that needs ``../shared`` and cannot find it is skipped with a
message naming the missing folder rather than failing with a bare ``FileNotFoundError``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """``../shared/<parts>``, or skip the calling test (or module) when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is missing: the reference material in ../shared must sit beside the repository",
                    allow_module_level=True)
    return path
