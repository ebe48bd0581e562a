"""Rules about the shape of the code that no linter here checks, kept true by a test.

- Outside ``embedded/apiserver/`` (a Kubernetes-compatible server whose handlers follow the API
  server's own long request flows), no function in ``src/`` is longer than 60 lines: a function
  that long hides states that deserve names.
- ``src/`` ships no test doubles: fakes live in ``tests/fakes``.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "ferryman"
MAX_FUNCTION_LINES = 60
EXEMPT = ("embedded/apiserver/",)


def _functions(path: Path) -> list[tuple[str, int, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.name, node.lineno, node.end_lineno or node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def test_no_function_outside_the_embedded_api_server_is_longer_than_60_lines() -> None:
    """Each function in src/ (but embedded/apiserver/) spans at most 60 lines, decorators aside."""
    too_long = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith(EXEMPT):
            continue
        for name, first, last in _functions(path):
            if last - first + 1 > MAX_FUNCTION_LINES:
                too_long.append(f"{relative}:{first} {name} ({last - first + 1} lines)")
    assert too_long == []


def test_src_ships_no_fakes() -> None:
    """No module under src/ is a test double."""
    shipped = [p.relative_to(SRC).as_posix() for p in SRC.rglob("*fake*.py")]
    assert shipped == []
