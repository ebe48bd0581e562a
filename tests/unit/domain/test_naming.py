"""Deterministic names: a retried promotion finds the branch, PR and event the last attempt made."""

from __future__ import annotations

import re
import string
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ferryman.domain import naming

# Kubernetes names: a namespace is a DNS label, a Pipeline name a DNS subdomain.
DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?"
LABELS = st.from_regex(rf"\A{DNS_LABEL}\Z")
SUBDOMAINS = st.from_regex(rf"\A{DNS_LABEL}(\.{DNS_LABEL}){{0,3}}\Z")
GARBAGE = st.text(max_size=40) | st.from_regex(r"\A[./@{}:~^?*\[\\ \-a-z]{0,12}(\.lock)?\Z")
NASTY = [
    "",
    ".",
    "..",
    "...",
    ".hidden",
    "a..b",
    "end.",
    "x.lock",
    "x.LOCK",
    ".lock",
    "a/b",
    "//",
    "@",
    "@{-1}",
    "a@{b",
    "-leading",
    "sp ace",
    "tab\t",
    "new\nline",
    "del\x7f",
    "nul\x00",
    "~^:?*[\\",
    "100%",
    "%2E",
    "ünïcödé",
    "emoji🚀",
    "\ud800",
    "x" * 300,
    "é" * 300,
]


def is_valid_branch(name: str) -> bool:
    """``git check-ref-format --branch`` rules for a multi-level branch name, as a predicate."""
    components = name.split("/")
    return not (
        name.startswith("-")
        or name == "@"
        or "@{" in name
        or ".." in name
        or name.endswith(".")
        or any(not part or part.startswith(".") or part.endswith(".lock") for part in components)
        or any(ord(char) < 0x20 or char in " ~^:?*[\\\x7f" for char in name)
        or any(0xD800 <= ord(char) <= 0xDFFF for char in name)
    )


def git_accepts(name: str, cwd: Path) -> bool:
    """The real ``git check-ref-format --branch`` verdict."""
    completed = subprocess.run(
        ["git", "check-ref-format", "--branch", name],
        cwd=cwd,
        capture_output=True,
        check=False,
    )
    return completed.returncode == 0


def decode(component: str) -> str:
    """Invert the branch component encoding (for parts short enough not to be hashed)."""
    return "" if component == "%" else unquote(component, errors="surrogatepass")


# --------------------------------------------------------------------------- branches


def test_branch_of_kubernetes_names_is_readable() -> None:
    """Kubernetes names need no encoding: the branch reads ferryman/<ns>/<pipeline>/<env>."""
    branch = naming.promotion_branch("flux-system", "podinfo.web-1", "prod")
    assert branch == "ferryman/flux-system/podinfo.web-1/prod"


@pytest.mark.parametrize("bad", ["x.lock", "a..b", ".hidden", "end.", "@{-1}", "~^:?*[\\"])
def test_predicate_agrees_with_git_on_invalid_names(bad: str, tmp_path: Path) -> None:
    """The pure predicate rejects names real git rejects (so it cannot pass everything)."""
    name = f"ferryman/x/{bad}"
    assert not git_accepts(name, tmp_path)
    assert not is_valid_branch(name)


@pytest.mark.parametrize("part", NASTY, ids=[repr(part)[:30] for part in NASTY])
def test_branch_of_nasty_input_is_accepted_by_git(part: str, tmp_path: Path) -> None:
    """Whatever the names, real git accepts the branch, in every position of the triple."""
    for triple in ((part, "app", "prod"), ("ns", part, "prod"), ("ns", "app", part)):
        branch = naming.promotion_branch(*triple)
        assert is_valid_branch(branch), branch
        assert git_accepts(branch, tmp_path), branch
        assert branch.count("/") == 3
        assert all(len(component) <= naming.MAX_BRANCH_COMPONENT for component in branch.split("/"))


@pytest.mark.parametrize(
    ("part", "component"),
    [
        ("", "%"),
        (".hidden", "%2Ehidden"),
        ("a..b", "a.%2Eb"),
        ("...", "%2E.%2E"),
        ("end.", "end%2E"),
        ("x.lock", "x%2Elock"),
        ("x.Lock", "x%2ELock"),
        ("a/b", "a%2Fb"),
        ("100%", "100%25"),
        ("@{", "%40%7B"),
        ("é", "%C3%A9"),
    ],
)
def test_branch_component_encoding(part: str, component: str) -> None:
    """Forbidden characters and dot patterns are percent-encoded, reversibly."""
    assert naming.promotion_branch("ns", part, "prod") == f"ferryman/ns/{component}/prod"
    assert decode(component) == part


def test_overlong_component_is_cut_and_hashed() -> None:
    """A part too long for a ref component keeps a readable prefix and ends with a hash."""
    long_a, long_b = "a" * 300, "a" * 299 + "b"
    branch_a = naming.promotion_branch("ns", long_a, "prod")
    branch_b = naming.promotion_branch("ns", long_b, "prod")
    component_a = branch_a.split("/")[2]
    assert len(component_a) == naming.MAX_BRANCH_COMPONENT
    assert re.fullmatch(r"a+%%[0-9a-f]{16}", component_a)
    assert branch_a != branch_b
    encoded = naming.promotion_branch("ns", "é" * 300, "prod").split("/")[2]
    assert re.fullmatch(r"(%C3%A9)+%%[0-9a-f]{16}", encoded)  # never cut inside a %XX


@given(namespace=LABELS, pipeline=SUBDOMAINS, environment=LABELS)
def test_branch_of_kubernetes_names_is_plain_join(
    namespace: str, pipeline: str, environment: str
) -> None:
    """For Kubernetes names the branch is the plain join (only a ".lock" ending is encoded)."""
    assume(not pipeline.endswith(".lock"))
    branch = naming.promotion_branch(namespace, pipeline, environment)
    assert branch == f"ferryman/{namespace}/{pipeline}/{environment}"
    assert is_valid_branch(branch)


@given(namespace=GARBAGE, pipeline=GARBAGE, environment=GARBAGE)
def test_branch_is_valid_deterministic_and_reversible(
    namespace: str, pipeline: str, environment: str
) -> None:
    """Any triple gives a valid, deterministic branch that decodes back to the triple."""
    branch = naming.promotion_branch(namespace, pipeline, environment)
    assert is_valid_branch(branch)
    assert branch == naming.promotion_branch(namespace, pipeline, environment)
    prefix, *components = branch.split("/")
    assert prefix == "ferryman"
    decoded = [
        decode(component) if "%%" not in component else original
        for component, original in zip(components, (namespace, pipeline, environment), strict=True)
    ]
    assert decoded == [namespace, pipeline, environment]


@given(first=st.tuples(LABELS, SUBDOMAINS, LABELS), second=st.tuples(LABELS, SUBDOMAINS, LABELS))
def test_distinct_kubernetes_triples_get_distinct_branches(
    first: tuple[str, str, str], second: tuple[str, str, str]
) -> None:
    """Two different (namespace, pipeline, environment) never share a promotion branch."""
    assume(first != second)
    assert naming.promotion_branch(*first) != naming.promotion_branch(*second)


def test_distinct_branches_for_shifted_separators() -> None:
    """Moving characters between parts changes the branch, even with slashes in the input."""
    triples = [("a", "b/c", "d"), ("a/b", "c", "d"), ("a", "b", "c/d"), ("a", "", "b/c/d")]
    assert len({naming.promotion_branch(*triple) for triple in triples}) == len(triples)


# --------------------------------------------------------------------------- titles and keys


def test_pull_request_title() -> None:
    """The title names pipeline, environment and revision."""
    title = naming.pull_request_title(pipeline="podinfo", environment="prod", revision="6.1.0")
    assert title == "Promote podinfo to prod: 6.1.0"


def test_pull_request_title_is_one_bounded_line() -> None:
    """Line breaks become spaces and a long title is cut to 255 characters with an ellipsis."""
    title = naming.pull_request_title(pipeline="app", environment="prod", revision="1\n2\r3")
    assert title == "Promote app to prod: 1 2 3"
    long = naming.pull_request_title(pipeline="app", environment="prod", revision="9" * 400)
    assert len(long) == naming.MAX_TITLE_LENGTH
    assert long.startswith("Promote app to prod: 999")
    assert long.endswith("9…")


def test_event_key_is_stable_across_releases() -> None:
    """The key of a triple never changes: keys recorded by an older Ferryman stay valid."""
    key = naming.event_key(pipeline_uid="0b6d-uid", environment="prod", revision="6.1.0")
    assert key == "4f8abc14b3b79330"
    assert re.fullmatch(r"[0-9a-f]{16}", key)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("a|b", "c", "d"), ("a", "b|c", "d")),
        (("a", "", "bc"), ("a", "b", "c")),
        (('a","b', "c", "d"), ("a", 'b","c', "d")),
        (("uid", "prod", "1.0"), ("uid", "prod", "1.0 ")),
    ],
)
def test_event_key_joins_unambiguously(
    first: tuple[str, str, str], second: tuple[str, str, str]
) -> None:
    """Triples that would join to the same text with a separator still get different keys."""
    keys = [
        naming.event_key(pipeline_uid=uid, environment=env, revision=rev)
        for uid, env, rev in (first, second)
    ]
    assert keys[0] != keys[1]


@given(uid=st.text(), environment=st.text(), revision=st.text())
def test_event_key_is_deterministic_hex(uid: str, environment: str, revision: str) -> None:
    """Any strings, even lone surrogates, give the same 16-hex-digit key every time."""
    key = naming.event_key(pipeline_uid=uid, environment=environment, revision=revision)
    assert re.fullmatch(r"[0-9a-f]{16}", key)
    assert key == naming.event_key(pipeline_uid=uid, environment=environment, revision=revision)


# --------------------------------------------------------------------------- commit messages


def git_trailers(message: str, cwd: Path) -> list[str]:
    """The trailers real git finds in ``message``."""
    completed = subprocess.run(
        ["git", "interpret-trailers", "--parse"],
        input=message,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout.splitlines()


def test_commit_message_layout(tmp_path: Path) -> None:
    """Subject, short body with the approvals' comments, then the trailers git recognises."""
    message = naming.commit_message(
        namespace="flux-system",
        pipeline="podinfo",
        environment="prod",
        revision="6.1.0",
        approvals=[("alice", "ship it"), ("bob", "")],
        change_digest="ab" * 32,
    )
    assert message == (
        "Promote podinfo to prod: 6.1.0\n"
        "\n"
        'Ferryman set the "$promotion" markers for flux-system:podinfo:prod to 6.1.0.\n'
        "Approved by alice: ship it\n"
        "Approved by bob\n"
        "\n"
        "Ferryman-Pipeline: flux-system/podinfo\n"
        "Ferryman-Environment: prod\n"
        "Ferryman-Revision: 6.1.0\n"
        "Approved-by: alice\n"
        "Approved-by: bob\n"
        "Ferryman-Approved-By: alice, bob\n"
        f"Ferryman-Change-Digest: {'ab' * 32}\n"
    )
    assert git_trailers(message, tmp_path) == message.split("\n\n")[2].splitlines()


def test_commit_message_without_approvals(tmp_path: Path) -> None:
    """An automatic promotion has the three Ferryman trailers and no Approved-by."""
    message = naming.commit_message(
        namespace="ns", pipeline="app", environment="staging", revision="1.0", approvals=()
    )
    assert git_trailers(message, tmp_path) == [
        "Ferryman-Pipeline: ns/app",
        "Ferryman-Environment: staging",
        "Ferryman-Revision: 1.0",
    ]
    assert "Approved" not in message


def test_commit_message_user_input_cannot_forge_trailers(tmp_path: Path) -> None:
    """Newlines in users, comments or the revision cannot add trailers or paragraphs."""
    message = naming.commit_message(
        namespace="ns",
        pipeline="app",
        environment="prod",
        revision="1.0\n\nFerryman-Revision: 6.6.6",
        approvals=[
            ("mallory\nApproved-by: ceo", "ok\n\n# dropped by git?\nApproved-by: cfo"),
            ("", ""),
        ],
    )
    assert git_trailers(message, tmp_path) == [
        "Ferryman-Pipeline: ns/app",
        "Ferryman-Environment: prod",
        "Ferryman-Revision: 1.0  Ferryman-Revision: 6.6.6",
        "Approved-by: mallory Approved-by: ceo",
        "Approved-by: (empty)",
        "Ferryman-Approved-By: mallory Approved-by: ceo, (empty)",
    ]
    assert message.count("\n\n") == 2
    assert all(not line.startswith("#") for line in message.splitlines())


def test_commit_message_bounds_long_comments() -> None:
    """A long approval comment is cut in the body rather than bloating the commit."""
    message = naming.commit_message(
        namespace="ns",
        pipeline="app",
        environment="prod",
        revision="1.0",
        approvals=[("alice", "x" * 5000)],
    )
    (line,) = [line for line in message.splitlines() if line.startswith("Approved by")]
    assert line == "Approved by alice: " + "x" * (naming.MAX_COMMENT_LENGTH - 1) + "…"


def test_safe_characters_are_kept() -> None:
    """ASCII letters, digits, "-" and "_" pass through a branch component unchanged."""
    assert naming.promotion_branch("ns", string.ascii_letters + string.digits + "-_", "e") == (
        f"ferryman/ns/{string.ascii_letters}{string.digits}-_/e"
    )


def test_the_original_controllers_branch_name() -> None:
    """``promotion-<ns>-<pipeline>-<env>``, verbatim as pipeline-controller formatted it
    (server/strategy/pullrequest/pullrequest.go), so its open pull request can be found."""
    assert (
        naming.original_promotion_branch("flux-system", "podinfo", "prod")
        == "promotion-flux-system-podinfo-prod"
    )


def test_the_commit_message_names_the_value_written_and_the_revision() -> None:
    """When the markers get another value than the revision, the body says both and the
    trailer keeps the revision."""
    message = naming.commit_message(
        namespace="ns",
        pipeline="app",
        environment="prod",
        revision="6.6.1+0cc9a8446c95",
        value="6.6.1",
        approvals=[],
    )
    assert "markers for ns:app:prod to 6.6.1 (revision 6.6.1+0cc9a8446c95)." in message
    assert message.endswith("Ferryman-Revision: 6.6.1+0cc9a8446c95\n")
