"""Issue 16, item 3: another local user must not read the demo's Secrets.

The review read the Git password and the HMAC key as ``nobody``: ``.ferryman/`` was 0755 and
``apiserver.db``, ``-wal``, ``-shm`` 0644. The attack is repeated as ``nobody`` (uid 65534) against
the state directory of ``ferryman up``, whose parent any user may traverse; a control file beside
it proves the uid switch and the path work, so the test cannot pass for the wrong reason.
"""

from __future__ import annotations

import base64
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from tests.security import demo

from ferryman.embedded.apiserver import testing

NOBODY = 65534
MARKER = "item3-hmac-key-only-the-owner-may-read"


def as_another_user(*argv: str) -> subprocess.CompletedProcess[bytes]:
    """Run ``argv`` as uid/gid 65534 with no supplementary groups; fail loudly when impossible."""
    if os.geteuid() != 0:
        pytest.fail(
            "this test must switch to another uid (65534) to read the files as that user, which "
            "needs root; run it as root (CI does)",
            pytrace=False,
        )
    setpriv = shutil.which("setpriv")
    if setpriv is not None:
        prefix = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        return subprocess.run([*prefix, *argv], capture_output=True, timeout=30, check=False)

    def drop() -> None:  # no setpriv: switch in the forked child before exec
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)

    return subprocess.run(list(argv), capture_output=True, timeout=30, check=False, preexec_fn=drop)


def test_item3_another_user_cannot_read_the_state_directory(up: demo.Up) -> None:
    """With a Secret stored, another user can neither list the state directory nor read the
    database, its WAL and shared memory, the admin token or the demo tokens."""
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "item3-webhook", "namespace": "default"},
        "data": {"hmac-key": base64.b64encode(MARKER.encode()).decode()},
    }
    with demo.kube_client(up.admin_kubeconfig) as admin:
        created = admin.post("/api/v1/namespaces/default/secrets", json=secret)
        assert created.status_code in (201, 409), created.text
    control = up.root / "control.txt"
    control.write_text("readable by anyone\n")
    control.chmod(0o644)
    assert as_another_user("cat", str(control)).stdout == b"readable by anyone\n"

    state = up.state_dir
    database = [state / name for name in ("apiserver.db", "apiserver.db-wal", "apiserver.db-shm")]
    targets = [*database, state / "admin-token", state / "demo-users.csv", state / "kubeconfig"]
    read = as_another_user("cat", *map(str, targets))
    assert MARKER.encode() not in read.stdout
    assert base64.b64encode(MARKER.encode()) not in read.stdout
    assert read.returncode != 0 and read.stdout == b""
    listing = as_another_user("ls", str(state))
    assert listing.returncode != 0 and b"Permission denied" in listing.stderr
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for path in database:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_item3_an_old_world_readable_state_directory_is_tightened(tmp_path: Path) -> None:
    """A state directory an older version left 0755 with a 0644 database becomes 0700/0600."""
    data = tmp_path / "api"
    with testing.serve(data):
        pass
    data.chmod(0o755)
    for path in data.glob("apiserver.db*"):
        path.chmod(0o644)
    with testing.serve(data):
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        found = sorted(data.glob("apiserver.db*"))
        assert found and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in found), found


def test_item3_a_shared_directory_is_refused(tmp_path: Path) -> None:
    """A sticky directory (like /tmp) is never made private: the server refuses to use it."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    with pytest.raises(OSError, match="shared with other users"):
        testing.start(shared)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
