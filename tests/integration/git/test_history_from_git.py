"""The whole promotion trail from Git: ``ferryman history --from-git`` and the use case behind it,
over real repositories with more promotion commits than a page holds.

One repository is a local bare repository (file://, as in the demo), read through the CLI; one
is served over smart HTTP with a password from the strategy's Secret, read through the use case
the web UI's "Older history" page runs.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from tests.fakes import auth as fakes_auth
from tests.fakes import gitserver
from tests.fakes.promotions import FILES, PASSWORD, USERNAME
from tests.unit.cli.test_commands import backends_for

from ferryman.adapters import githistory
from ferryman.api import pipeline
from ferryman.cli.main import cli
from ferryman.domain import naming, trail
from ferryman.server import trail as trail_service

PROMOTIONS = 57  # more than one page of 50


def git(*args: str, cwd: Path | None = None, when: int = 0) -> str:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd or Path.cwd()),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_AUTHOR_NAME": "Ferryman",
        "GIT_AUTHOR_EMAIL": "ferryman@localhost",
        "GIT_COMMITTER_NAME": "Ferryman",
        "GIT_COMMITTER_EMAIL": "ferryman@localhost",
        "GIT_AUTHOR_DATE": f"{1_790_000_000 + when} +0000",
        "GIT_COMMITTER_DATE": f"{1_790_000_000 + when} +0000",
        "LC_ALL": "C",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def seed(bare: Path, work: Path, *, branch: str = "main") -> None:
    """``PROMOTIONS`` promotion commits of default/podinfo (staging and prod taking turns), with
    another pipeline's promotions and ordinary commits between them."""
    git("clone", "-q", str(bare), str(work))
    git("checkout", "-q", "-B", branch, cwd=work)
    for index in range(PROMOTIONS):
        env = ("staging", "prod")[index % 2]
        approvals = (("alice", "ship it"),) if env == "prod" else ()
        text = naming.commit_message(
            namespace="default",
            pipeline="podinfo",
            environment=env,
            revision=f"6.{index}.0",
            approvals=approvals,
            change_digest="d1g3st" if approvals else "",
        )
        git("commit", "-q", "--allow-empty", "-m", text, cwd=work, when=index * 10)
        if index % 10 == 0:
            other = naming.commit_message(
                namespace="default",
                pipeline="other",
                environment="prod",
                revision="1.0.0",
                approvals=(),
            )
            git("commit", "-q", "--allow-empty", "-m", other, cwd=work, when=index * 10 + 1)
            git("commit", "-q", "--allow-empty", "-m", "Bump docs", cwd=work, when=index * 10 + 2)
    git("push", "-q", "origin", f"HEAD:refs/heads/{branch}", cwd=work)


def pipeline_object(strategy: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "pipelines.weave.works/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": "podinfo", "namespace": "default", "uid": "u1"},
        "spec": {
            "appRef": {
                "apiVersion": "helm.toolkit.fluxcd.io/v2",
                "kind": "HelmRelease",
                "name": "podinfo",
            },
            "promotion": {"strategy": strategy},
            "environments": [
                {"name": "dev", "targets": [{"namespace": "dev"}]},
                {"name": "staging", "targets": [{"namespace": "staging"}]},
                {"name": "prod", "targets": [{"namespace": "prod"}]},
            ],
        },
    }


def test_history_from_git_pages_through_every_promotion(tmp_path: Path) -> None:
    """57 promotions: page 1 holds the newest 50 and points to page 2, which holds 7."""
    bare = tmp_path / "fleet.git"
    git("init", "-q", "--bare", "--initial-branch=main", str(bare))
    seed(bare, tmp_path / "work")
    obj = pipeline_object({"git-push": {"url": bare.as_uri(), "branch": "main"}})
    first = CliRunner().invoke(
        cli, ["history", "podinfo", "--from-git"], obj=backends_for([obj]), catch_exceptions=False
    )
    assert first.exit_code == 0, first.output
    rows = [line for line in first.output.splitlines() if line.startswith("20")]
    assert len(rows) == 50
    assert "6.56.0" in rows[0] and "staging" in rows[0]  # the newest first
    assert "alice" in rows[1] and "prod" in rows[1]
    assert "Older promotions: --page 2" in first.output
    assert "other" not in first.output and "Bump docs" not in first.output
    second = CliRunner().invoke(
        cli,
        ["history", "podinfo", "--from-git", "--page", "2", "-o", "json"],
        obj=backends_for([obj]),
        catch_exceptions=False,
    )
    document = json.loads(second.output)
    assert [p["revision"] for p in document["promotions"]] == [f"6.{i}.0" for i in range(6, -1, -1)]
    assert document["older"] is False and document["truncated"] is False
    assert document["promotions"][1]["approvedBy"] == ["alice"]
    assert document["promotions"][1]["changeDigest"] == "d1g3st"


def test_a_notification_pipeline_says_it_has_no_git_trail() -> None:
    obj = pipeline_object({"notification": {}})
    answer = CliRunner().invoke(
        cli, ["history", "podinfo", "--from-git"], obj=backends_for([obj]), catch_exceptions=False
    )
    assert answer.exit_code == 0
    assert "promotes by notification" in answer.output and "no Git trail" in answer.output


async def test_the_trail_is_read_with_the_strategy_s_credentials_over_https(
    tmp_path: Path,
) -> None:
    """A password-protected server, the password from the pipeline's Secret; the cap on commits
    read is reported when the branch has more."""
    root = tmp_path / "srv"
    bare = gitserver.create_bare(root / "acme" / "fleet.git", FILES)
    seed(bare, tmp_path / "work")
    server = gitserver.GitServer(root, username=USERNAME, password=PASSWORD).start()
    try:
        url = server.url("acme/fleet.git")
        obj = pipeline_object(
            {"git-push": {"url": url, "branch": "main", "secretRef": {"name": "git"}}}
        )
        item = pipeline.Pipeline.from_wire(obj)
        secrets = fakes_auth.FakeSecrets(
            {("default", "git"): {"username": USERNAME.encode(), "password": PASSWORD.encode()}}
        )
        log = githistory.GitCommitLog(cache_dir=tmp_path / "cache")
        view = await trail_service.read(log, secrets, item, number=2)
        assert [e.revision for e in view.page.entries][:2] == ["6.6.0", "6.5.0"]
        assert view.problems == () and not view.page.older
        commits, complete = await log.recent(url, "main", _creds(), limit=10)
        assert len(commits) == 10 and not complete
        refused = await trail_service.read(
            log,
            fakes_auth.FakeSecrets(
                {("default", "git"): {"username": USERNAME.encode(), "password": b"wrong"}}
            ),
            item,
        )
        assert refused.page.entries == () and "refused the credentials" in refused.problems[0]
        assert PASSWORD not in " ".join(refused.problems)
    finally:
        server.stop()


def _creds() -> Any:
    from ferryman.ports import git as git_port

    return git_port.Credentials(username=USERNAME, password=PASSWORD)


def test_the_page_size_and_the_cap_are_the_documented_ones() -> None:
    assert (trail.PAGE_SIZE, trail.MAX_COMMITS) == (50, 2000)
