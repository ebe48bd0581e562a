"""The Git side of a real-process test: a bare repository behind git http-backend, a fake GitHub,
CI committing releases, a reviewer merging pull requests, and the checks read from both.

Layout of the repository (branch ``main``): ``<env>/helmrelease.yaml`` for every environment of
the pipeline, each a HelmRelease in namespace ``<prefix><env>`` whose chart version carries the
``$promotion`` marker of that environment. The local Flux (``flux.py``) applies ``main``.

Who writes ``main``: CI (``release``: a commit on ``dev/``), Ferryman's ``git-push`` strategy (over
HTTP) and the reviewer (``merge_open_pull_requests``: a real merge commit, because ``main`` moves
while a pull request is open). CI and the reviewer update ``main`` with a compare-and-swap, as a
push would, and try again when someone else moved it.

Everything the end-of-run checks need comes from here, never from Ferryman's status: promotion
commits on ``main`` per (environment, revision) with their ``Approved-by`` trailers, pull requests
per (environment, revision) with the approvals listed in their bodies.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared fakes import as ``fakes``

from fakes import gitserver
from fakes.clock import FakeClock
from fakes.githosts import base as fake_base
from fakes.githosts import github as fake_github

USERNAME = "deploy-bot"
PASSWORD = "hunter2-git-password-7f3a"
TOKEN = "tok-5e1b9c0d-api-secret"
REPOSITORY_PATH = "acme/deploy.git"
INITIAL = "1.0.0"
_TITLE = re.compile(r"^Promote (?P<pipeline>\S+) to (?P<env>\S+): (?P<revision>\S+)$")


def manifest(namespace: str, version: str, token: str) -> bytes:
    """One environment's HelmRelease; its chart version marked for Ferryman with ``token``."""
    return (
        "apiVersion: helm.toolkit.fluxcd.io/v2\n"
        "kind: HelmRelease\n"
        "metadata:\n"
        "  name: podinfo\n"
        f"  namespace: {namespace}\n"
        "spec:\n"
        "  interval: 1m\n"
        "  chart:\n"
        "    spec:\n"
        "      chart: podinfo\n"
        f'      version: "{version}" # {{"$promotion": "{token}"}}\n'
        "      sourceRef: {kind: HelmRepository, name: podinfo}\n"
    ).encode()


@dataclasses.dataclass
class LateAnswer:
    """The next ``count`` requests matching ``method`` and ``path_pattern`` are carried out, then
    answered ``delay`` seconds late: the client gives up, yet the change happened (a timeout that
    a retry must not turn into a duplicate)."""

    method: str
    path_pattern: str
    delay: float
    count: int = 1
    hits: int = 0


@dataclasses.dataclass(frozen=True)
class PromotionCommit:
    """A commit on ``main`` with Ferryman's trailers."""

    sha: str
    environment: str
    revision: str
    approved_by: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class PullRequest:
    """A pull request of the fake GitHub, with what its title and body say."""

    number: int
    environment: str
    revision: str
    state: str
    approvers: tuple[str, ...]


class GitWorld:
    """The Git server, its fake GitHub, and the people around them (see module doc)."""

    def __init__(
        self, root: Path, *, namespace: str, pipeline: str, environments: Sequence[str]
    ) -> None:
        self.root = root
        self.namespace = namespace
        self.pipeline = pipeline
        self.environments = tuple(environments)
        files = {
            f"{env}/helmrelease.yaml": manifest(
                self.env_namespace(env), INITIAL, f"{namespace}:{pipeline}:{env}"
            )
            for env in environments
        }
        files["README.md"] = b"# deploy\n"
        self.bare = gitserver.create_bare(root / "srv" / REPOSITORY_PATH, files)
        self.github = fake_github.FakeGitHub(
            owner="acme", repo="deploy", token=TOKEN, clock=FakeClock(), repository=self.bare
        )
        self.late: list[LateAnswer] = []
        self.server = gitserver.GitServer(
            root / "srv", username=USERNAME, password=PASSWORD, api=self
        )
        self.github.base_url = self.server.base_url
        self.url = self.server.url(REPOSITORY_PATH)
        self._lock = threading.Lock()

    def handle(self, request: gitserver.Request) -> gitserver.Response:
        """The fake GitHub's answer, late when a ``LateAnswer`` rule says so."""
        response = self.github.handle(request)
        with self._lock:
            rule = next(
                (
                    r
                    for r in self.late
                    if r.hits < r.count
                    and r.method == request.method
                    and re.search(r.path_pattern, request.path)
                ),
                None,
            )
            if rule is not None:
                rule.hits += 1
        if rule is not None:
            self.github.stopping.wait(rule.delay)
        return response

    def env_namespace(self, env: str) -> str:
        """The namespace the environment's HelmRelease lives in."""
        return f"{self.namespace}-{env}"

    def start(self) -> GitWorld:
        self.server.start()
        return self

    def stop(self) -> None:
        self.github.stopping.set()  # release a scripted hang first
        self.server.stop()

    # ------------------------------------------------------------------ plumbing

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            ["git", "--git-dir", str(self.bare), *args],
            env={**gitserver._GIT_ENV, **(env or {})},
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.decode()}")
        return done.stdout.decode()

    def tip(self, branch: str = "main") -> str:
        return self.git("rev-parse", f"refs/heads/{branch}").strip()

    def _swap(self, new: str, old: str) -> bool:
        """Move ``main`` from ``old`` to ``new`` unless someone moved it meanwhile."""
        try:
            self.git("update-ref", "refs/heads/main", new, old)
        except RuntimeError:
            return False
        return True

    # ------------------------------------------------------------------ CI and the reviewer

    def release(self, version: str, env: str = "dev") -> str:
        """CI deploys ``version`` to ``env``: a commit on ``main`` changing only that manifest."""
        content = manifest(
            self.env_namespace(env), version, f"{self.namespace}:{self.pipeline}:{env}"
        )
        blob = subprocess.run(
            ["git", "--git-dir", str(self.bare), "hash-object", "-w", "--stdin"],
            input=content,
            env=gitserver._GIT_ENV,
            capture_output=True,
            check=True,
        ).stdout.decode()
        for _ in range(50):
            old = self.tip()
            with tempfile.TemporaryDirectory() as tmp:
                index = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
                self.git("read-tree", old, env=index)
                entry = f"100644,{blob.strip()},{env}/helmrelease.yaml"
                self.git("update-index", "--cacheinfo", entry, env=index)
                tree = self.git("write-tree", env=index).strip()
            message = f"Release podinfo {version} to {env}"
            commit = self.git("commit-tree", tree, "-p", old, "-m", message).strip()
            if self._swap(commit, old):
                return commit
        raise RuntimeError("main kept moving while CI released")

    def merge_open_pull_requests(self) -> list[int]:
        """The reviewer merges every open pull request into ``main`` (a merge commit)."""
        merged = []
        for pull in self.github.open_pulls():
            for _ in range(50):
                heads = gitserver.branches(self.bare)
                head, old = heads.get(pull.head), heads["main"]
                if head is None:
                    break
                tree = self.git("merge-tree", "--write-tree", old, head).split()[0]
                message = f"Merge pull request #{pull.number} from {pull.head}"
                commit = self.git("commit-tree", tree, "-p", old, "-p", head, "-m", message)
                if self._swap(commit.strip(), old):
                    with self._lock:
                        pull.state = "merged"
                    merged.append(pull.number)
                    break
        return merged

    # ------------------------------------------------------------------ what the checks read

    def running_on_main(self, env: str) -> str:
        """The chart version ``main`` says ``env`` runs."""
        text = self.git("show", f"main:{env}/helmrelease.yaml")
        found = re.search(r'version: "([^"]+)"', text)
        return found.group(1) if found else ""

    def promotion_commits(self) -> list[PromotionCommit]:
        """Every commit reachable from ``main`` with this pipeline's trailers, oldest first."""
        listed = self.git("log", "--reverse", "--format=%H%x00%(trailers:unfold)%x1e", "main")
        found = []
        for entry in listed.split("\x1e"):
            sha, _, block = entry.strip().partition("\0")
            pairs = [line.partition(":") for line in block.splitlines()]
            trailers = [(key.strip(), value.strip()) for key, sep, value in pairs if sep]
            values = dict(trailers)
            if not sha or values.get("Ferryman-Pipeline") != f"{self.namespace}/{self.pipeline}":
                continue
            approved = tuple(
                value.split()[0] for key, value in trailers if key == "Approved-by" and value
            )
            found.append(
                PromotionCommit(
                    sha,
                    values.get("Ferryman-Environment", ""),
                    values.get("Ferryman-Revision", ""),
                    approved,
                )
            )
        return found

    def commits_per_promotion(self) -> collections.Counter[tuple[str, str]]:
        """(environment, revision) → promotion commits on ``main``."""
        return collections.Counter((c.environment, c.revision) for c in self.promotion_commits())

    def pull_requests(self) -> list[PullRequest]:
        """Every pull request of this pipeline, oldest first, parsed from title and body."""
        found = []
        with self._lock:
            pulls: list[fake_base.Pull] = sorted(self.github.pulls.values(), key=_number)
        for pull in pulls:
            title = _TITLE.match(pull.title)
            if title is None or title["pipeline"] != self.pipeline:
                continue
            approvers = _approvers(pull.body)
            found.append(
                PullRequest(pull.number, title["env"], title["revision"], pull.state, approvers)
            )
        return found

    def pull_request_creations(self) -> int:
        """POST requests that reached the fake GitHub's pulls endpoint (even refused ones)."""
        return len(self.github.calls("POST", r"/pulls$"))

    def pull_request_updates(self) -> int:
        return len(self.github.calls("PATCH", r"/pulls/\d+$"))


def _approvers(body: str) -> tuple[str, ...]:
    """The users of the "Approvals:" list of a pull request description."""
    lines = body.splitlines()
    if "Approvals:" not in lines:
        return ()
    found = []
    for line in lines[lines.index("Approvals:") + 1 :]:
        if not line.startswith("- "):
            break
        found.append(line[2:].split(" at ", 1)[0].strip())
    return tuple(found)


def _number(pull: fake_base.Pull) -> int:
    return pull.number
