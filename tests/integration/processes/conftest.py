"""One ``ferryman apiserver`` process per module, with the approvers' token file.

Each test builds its own ``stage.Stage`` on it (its own namespaces, repository, Git server and
fake GitHub), so the API server's start-up is paid once per module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.rig import cluster, processes


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[processes.ApiServer]:
    """The API server as a child process on a fixed port (restartable after ``kill``)."""
    root: Path = tmp_path_factory.mktemp("apiserver")
    server = processes.ApiServer(
        root / "data", token_file=cluster.write_token_file(root / "users.csv")
    )
    server.start()
    try:
        yield server
    finally:
        server.terminate()
