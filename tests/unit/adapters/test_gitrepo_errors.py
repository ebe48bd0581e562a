"""How a failed git command becomes an error: the explaining line survives, with a reason."""

from __future__ import annotations

import pytest

from ferryman.adapters import gitrepo
from ferryman.domain import errors

CHANGED_HOST_KEY = """\
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!
Someone could be eavesdropping on you right now (man-in-the-middle attack)!
It is also possible that a host key has just been changed.
Host key for [127.0.0.1]:2222 has changed and you have requested strict checking.
Host key verification failed.
fatal: Could not read from remote repository.

Please make sure you have the correct access rights
and the repository exists.
"""
UNKNOWN_CA = (
    "fatal: unable to access 'https://127.0.0.1:4443/acme/deploy.git/': server certificate "
    "verification failed. CAfile: /etc/ssl/certs/ca-certificates.crt CRLfile: none\n"
)


@pytest.mark.parametrize(
    ("stderr", "reason", "kept"),
    [
        pytest.param(
            CHANGED_HOST_KEY,
            "HostKeyMismatch",
            ["REMOTE HOST IDENTIFICATION HAS CHANGED", "Host key verification failed"],
            id="changed host key keeps ssh's words (item 4)",
        ),
        pytest.param(
            UNKNOWN_CA,
            "CertificateUnverifiable",
            ["server certificate verification failed", '"ca.crt"'],
            id="private CA is permanent and says ca.crt (item 1)",
        ),
    ],
)
def test_the_line_that_explains_the_failure_is_kept(
    stderr: str, reason: str, kept: list[str]
) -> None:
    """Not git's last three lines ("Could not read from remote repository") but the cause."""
    error = gitrepo.classify("git fetch", stderr, source='Secret "flux-system/git"')

    assert isinstance(error, errors.PermanentError)
    assert error.reason == reason
    for text in kept:
        assert text in str(error)
    assert 'Secret "flux-system/git"' in str(error)
    assert "Please make sure" not in str(error)


def test_an_unknown_failure_stays_temporary_with_its_last_lines() -> None:
    """A connection refused can pass: retried later, with what git said."""
    error = gitrepo.classify("git fetch", "fatal: unable to access: Connection refused\n")
    assert isinstance(error, errors.TemporaryError)
    assert "Connection refused" in str(error)
