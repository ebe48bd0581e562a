"""Fixtures of the issue-16 attack tests (see ``demo``)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.security import demo


@pytest.fixture(scope="session")
def up() -> Iterator[demo.Up]:
    """``ferryman up`` for the whole session (see ``demo``'s docstring)."""
    root = Path(tempfile.mkdtemp(prefix="ferryman-security-"))
    root.chmod(0o755)  # any local user may traverse it: the permission test needs a real path
    running = demo.Up(root=root, state_dir=root / "state")
    running.tokens = demo.seed_users(running.state_dir)
    try:
        demo.start(running)
        yield running
    finally:
        demo.stop(running)
        shutil.rmtree(root, ignore_errors=True)
