"""The promotion trail read back from Git: sources, which commits count, pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ferryman.api import pipeline
from ferryman.domain import naming, trail

T0 = datetime(2026, 11, 1, tzinfo=UTC)
GIT = {"git-push": {"url": "https://git.example.com/fleet.git", "branch": "main"}}
PR = {
    "pull-request": {
        "type": "github",
        "url": "https://github.com/acme/fleet",
        "baseBranch": "release",
        "secretRef": {"name": "gh"},
    }
}


def spec(strategy: dict[str, Any] | None, **env_strategies: dict[str, Any]) -> Any:
    environments: list[dict[str, Any]] = [{"name": "dev", "targets": [{"namespace": "dev"}]}]
    for name in ("staging", "prod"):
        env: dict[str, Any] = {"name": name, "targets": [{"namespace": name}]}
        if name in env_strategies:
            env["promotion"] = {"strategy": env_strategies[name]}
        environments.append(env)
    body: dict[str, Any] = {
        "appRef": {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "name": "p"},
        "environments": environments,
    }
    if strategy is not None:
        body["promotion"] = {"strategy": strategy}
    return pipeline.PipelineSpec.model_validate(body)


def commit(sha: str, at: datetime, message: str) -> trail.Commit:
    body = message.split("\n\n")[-1]
    pairs = tuple(
        (key, value) for key, _, value in (line.partition(": ") for line in body.splitlines())
    )
    return trail.Commit(sha=sha, committed=at, subject=message.splitlines()[0], trailers=pairs)


def message(env: str, revision: str, approvals: tuple[tuple[str, str], ...] = ()) -> str:
    return naming.commit_message(
        namespace="default",
        pipeline="podinfo",
        environment=env,
        revision=revision,
        approvals=approvals,
        change_digest="abc123" if approvals else "",
    )


SOURCE = trail.Source("https://git.example.com/fleet.git", "main")


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        (spec(GIT), (trail.Source("https://git.example.com/fleet.git", "main"),)),
        (
            spec(
                {"git-push": {**GIT["git-push"], "secretRef": {"name": "creds"}}},
                prod=PR,
            ),
            (
                trail.Source("https://git.example.com/fleet.git", "main", "creds"),
                trail.Source("https://github.com/acme/fleet", "release", "gh"),
            ),
        ),
        (spec({"notification": {}}), ()),
        (spec(None), ()),
    ],
    ids=[
        "git-push once for two environments",
        "git-push and a pull-request override",
        "notification",
        "no strategy",
    ],
)
def test_sources_are_the_branches_promotions_land_on(chosen: Any, expected: Any) -> None:
    assert trail.sources(chosen) == expected


def test_only_notification_pipelines_have_no_git_trail() -> None:
    assert trail.notifies_only(spec({"notification": {}}))
    assert not trail.notifies_only(spec({"notification": {}}, prod=GIT))
    assert not trail.notifies_only(spec(GIT))


def test_a_promotion_commit_becomes_an_entry_with_its_approvers() -> None:
    found = trail.entry(
        commit("a1", T0, message("prod", "6.2.0", (("alice", "ok"), ("carol", "")))),
        pipeline_key="default/podinfo",
        source=SOURCE,
    )
    assert found == trail.Entry(
        sha="a1",
        at=T0,
        environment="prod",
        revision="6.2.0",
        approved_by=("alice", "carol"),
        change_digest="abc123",
        source=SOURCE,
    )


def test_approved_by_trailers_count_when_the_summary_trailer_is_missing() -> None:
    trailers = (
        ("Ferryman-Pipeline", "default/podinfo"),
        ("Ferryman-Environment", "prod"),
        ("Ferryman-Revision", "1.0.0"),
        ("Approved-by", "dave"),
    )
    found = trail.entry(
        trail.Commit("b", T0, "s", trailers), pipeline_key="default/podinfo", source=SOURCE
    )
    assert found is not None and found.approved_by == ("dave",)


@pytest.mark.parametrize(
    "trailers",
    [
        (),
        (("Ferryman-Pipeline", "default/other"), ("Ferryman-Environment", "prod")),
        (("Ferryman-Pipeline", "default/podinfo"), ("Ferryman-Revision", "1")),
        (("Ferryman-Pipeline", "default/podinfo"), ("Ferryman-Environment", "prod")),
    ],
    ids=["no trailers", "another pipeline", "no environment", "no revision"],
)
def test_other_commits_are_not_part_of_the_trail(trailers: Any) -> None:
    found = trail.entry(
        trail.Commit("c", T0, "s", trailers), pipeline_key="default/podinfo", source=SOURCE
    )
    assert found is None


def test_pages_are_newest_first_and_say_whether_older_ones_exist() -> None:
    entries = [
        trail.Entry(f"{i:02d}", T0 + timedelta(hours=i), "prod", f"1.{i}", (), "", SOURCE)
        for i in range(7)
    ]
    first = trail.page(entries, 1, per_page=3)
    assert [e.revision for e in first.entries] == ["1.6", "1.5", "1.4"] and first.older
    last = trail.page(entries, 3, per_page=3, truncated=True)
    assert [e.revision for e in last.entries] == ["1.0"] and not last.older and last.truncated
    assert trail.page(entries, 0, per_page=3).number == 1
    assert trail.page(entries, 9, per_page=3).entries == ()
