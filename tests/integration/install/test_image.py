"""The container image's recipe, followed outside Docker: wheel, clean venv, ``ferryman``.

No Docker daemon is needed (nor available in CI): the test reads the Dockerfile, copies exactly
what its build stage COPYs (minus what .dockerignore drops), runs its ``pip wheel`` step, installs
the wheel into a fresh ``python -m venv`` and runs the image's entrypoint from there.

Offline on purpose (tests talk only to 127.0.0.1): the wheel is built with
``--no-build-isolation`` against the project venv's setuptools, the venv is created
``--without-pip`` and the wheel installed into it by the project's pip with ``--no-deps
--no-index``; the dependencies come from the project venv's site-packages via ``PYTHONPATH``,
which is not a site directory, so the editable install there stays inactive and ``ferryman``
can only come from the wheel (the test checks that too).
"""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from tests.integration.install.conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    joined = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    found = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            instruction, _, rest = stripped.partition(" ")
            found.append((instruction.upper(), rest.strip()))
    return found


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction, rest in _instructions():
        if instruction == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((instruction, rest))
    return stages


def _ignored(relative: str, patterns: list[str]) -> bool:
    parts = relative.split("/")
    return any(
        fnmatch.fnmatch(relative, pattern.removeprefix("**/"))
        or any(fnmatch.fnmatch(part, pattern.removeprefix("**/")) for part in parts)
        for pattern in patterns
    )


def _copy_context(stage: list[tuple[str, str]], into: Path) -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for instruction, rest in stage:
        if instruction != "COPY" or rest.startswith("--from"):
            continue
        *sources, _ = shlex.split(rest)
        for source in sources:
            assert not _ignored(source, patterns), f".dockerignore drops {source}"
            origin = ROOT / source
            if origin.is_dir():
                shutil.copytree(
                    origin,
                    into / source,
                    ignore=lambda _d, names: [n for n in names if _ignored(n, patterns)],
                )
            else:
                shutil.copy2(origin, into / source)


def test_dockerfile_runs_unprivileged_ferryman_controller() -> None:
    """Slim Python 3.11, a non-root USER, ``ferryman controller`` as the entrypoint, stopped
    with SIGINT."""
    instructions = _instructions()
    assert any(
        instruction == "ARG" and "python:3.11-slim" in rest for instruction, rest in instructions
    )
    final = _stages()[-1]
    user = [rest for instruction, rest in final if instruction == "USER"]
    assert user and user[-1].split(":")[0] not in ("0", "root")
    entrypoint = [rest for instruction, rest in final if instruction == "ENTRYPOINT"]
    assert json.loads(entrypoint[-1]) == ["ferryman", "controller"]
    # SIGINT is the signal `ferryman controller` stops cleanly on (test_apply checks it).
    assert ("STOPSIGNAL", "SIGINT") in final


@pytest.mark.slow
def test_wheel_built_like_the_image_runs_ferryman(tmp_path: Path) -> None:
    """The Dockerfile's build steps give a wheel whose ``ferryman`` runs from a clean venv."""
    build_stage = _stages()[0]
    context = tmp_path / "context"
    context.mkdir()
    _copy_context(build_stage, context)
    wheel_steps = [rest for instruction, rest in build_stage if instruction == "RUN"]
    assert len(wheel_steps) == 1 and wheel_steps[0].startswith("pip wheel ")
    step = shlex.split(wheel_steps[0])
    subprocess.run(
        [sys.executable, "-m", *step, "--no-build-isolation", "--quiet"],
        cwd=context,
        check=True,
        timeout=180,
    )
    wheels = sorted((context / "dist").glob("ferryman-*.whl"))
    assert len(wheels) == 1
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60
    )
    python = venv / "bin" / "python"
    install = ["install", "--quiet", "--no-deps", "--no-index", str(wheels[0])]
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), *install],
        check=True,
        timeout=180,
    )
    environ = {
        **os.environ,
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    where = subprocess.run(
        [str(python), "-c", "import ferryman; print(ferryman.__file__)"],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert Path(where.strip()).is_relative_to(venv)
    version = subprocess.run(
        [str(venv / "bin" / "ferryman"), "version"],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert version.stdout.strip().startswith("ferryman ")
    help_text = subprocess.run(
        [str(venv / "bin" / "ferryman"), "controller", "--help"],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "--leader-elect" in help_text
