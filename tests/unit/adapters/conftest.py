"""Adapter unit tests: ``tests/`` goes on ``sys.path`` so the ``fakes`` package imports."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
