"""The "Older history" page: the Git trail, 50 a page, for whoever may ``get`` the pipeline."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from tests.fakes import auth as fakes_auth
from tests.fakes import clock as fake_clock
from tests.fakes import history as fake_history
from tests.fakes import kubernetes as fakes
from tests.fakes import sessions as fakes_sessions
from tests.unit.server.ui.test_ui import EVIL, GRANTS, NOW, PAGE, TOKENS, pipeline_object

from ferryman.domain import naming, trail
from ferryman.ports import auth
from ferryman.server.deps import Deps
from ferryman.server.ui import history, routes

URL = "https://git.example.com/fleet.git"
HISTORY = f"{PAGE}/history"


def promotion(index: int, *, pipeline: str = "podinfo") -> trail.Commit:
    message = naming.commit_message(
        namespace="default",
        pipeline=pipeline,
        environment="prod",
        revision=f"6.{index}.0",
        approvals=((EVIL, ""),) if index == 0 else (("alice", ""),),
    )
    trailers = tuple(
        (key, value)
        for key, _, value in (
            line.partition(": ") for line in message.split("\n\n")[-1].splitlines()
        )
    )
    return trail.Commit(f"{index:040x}", NOW + timedelta(minutes=index), "s", trailers)


def git_pipeline(strategy: dict[str, Any]) -> dict[str, Any]:
    obj = pipeline_object()
    obj["spec"]["promotion"] = {"strategy": strategy}
    return obj


class World:
    def __init__(self, obj: dict[str, Any], log: fake_history.FakeCommitLog) -> None:
        self.api = fakes.FakeKubernetes()
        self.api.put(obj)
        tokens = {**TOKENS, "eve-token": auth.Identity("eve", "u3", ())}
        self.log = log
        self.deps = Deps(
            store=self.api.store,
            cluster=self.api,
            secrets=fakes_auth.FakeSecrets({("default", "git"): {"password": b"pw"}}),
            events=self.api,
            authenticator=fakes_auth.FakeAuthenticator(tokens),
            reviewer=fakes_auth.FakeAccessReviewer(GRANTS),
            trigger=fakes_auth.FakeTrigger(),
            clock=fake_clock.FakeClock(NOW),
            sessions=fakes_sessions.FakeSessions(),
            commit_log=log,
        )
        self.client = TestClient(
            Starlette(routes=routes.ui_routes(self.deps)),
            base_url="https://ferryman.test",
            follow_redirects=False,
        )

    def sign_in(self, token: str) -> None:
        page = self.client.get("/signin").text
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
        assert csrf is not None
        answer = self.client.post("/signin", data={"token": token, "csrf": csrf.group(1)})
        assert answer.status_code == 303


@pytest.fixture
def world() -> Iterator[World]:
    commits = [promotion(i) for i in range(60, -1, -1)] + [promotion(99, pipeline="other")]
    log = fake_history.FakeCommitLog({(URL, "main"): commits})
    strategy = {"git-push": {"url": URL, "branch": "main", "secretRef": {"name": "git"}}}
    w = World(git_pipeline(strategy), log)
    with w.client:
        yield w


def test_the_pipeline_page_links_to_its_older_history(world: World) -> None:
    world.sign_in("bob-token")
    assert f'href="{HISTORY}"' in world.client.get(PAGE).text


def test_the_trail_is_shown_50_a_page_newest_first_with_a_way_to_older_ones(world: World) -> None:
    world.sign_in("bob-token")
    first = world.client.get(HISTORY)
    assert first.status_code == 200
    assert first.text.count("<tr><td>") == 50
    assert first.text.index("6.60.0") < first.text.index("6.59.0")
    assert f'href="{HISTORY}?page=2" rel="next"' in first.text
    second = world.client.get(f"{HISTORY}?page=2")
    assert second.text.count("<tr><td>") == 11 and "6.0.0" in second.text
    assert 'rel="next"' not in second.text and f'href="{HISTORY}?page=1" rel="prev"' in second.text
    assert EVIL not in second.text and "&lt;script&gt;" in second.text  # escaped
    assert "6.99.0" not in first.text + second.text  # another pipeline's promotion
    assert world.log.reads[0][2].password == "pw"  # the strategy's Secret


@pytest.mark.parametrize("page", ["0", "x", "1001", "-1"])
def test_a_bad_page_number_is_refused(world: World, page: str) -> None:
    world.sign_in("bob-token")
    assert world.client.get(f"{HISTORY}?page={page}").status_code == 400


def test_the_page_needs_get_on_the_pipeline(world: World) -> None:
    assert world.client.get(HISTORY).headers["location"] == f"/signin?next={HISTORY}"
    world.sign_in("eve-token")
    answer = world.client.get(HISTORY)
    assert (
        answer.status_code == 403
        and "may not get pipelines.pipelines.weave.works &#34;podinfo&#34;" in answer.text
    )
    assert world.log.reads == []


def test_a_notification_pipeline_says_there_is_no_git_trail() -> None:
    w = World(pipeline_object(), fake_history.FakeCommitLog())
    with w.client:
        w.sign_in("bob-token")
        answer = w.client.get(HISTORY)
    assert answer.status_code == 200 and "promotes by <strong>notification</strong>" in answer.text
    assert w.log.reads == []


def test_an_unreadable_repository_is_named() -> None:
    log = fake_history.FakeCommitLog(broken={URL})
    w = World(git_pipeline({"git-push": {"url": URL, "branch": "main"}}), log)
    with w.client:
        w.sign_in("bob-token")
        answer = w.client.get(HISTORY)
    assert answer.status_code == 200 and f"cannot reach {URL}" in answer.text


def automatic(index: int, environment: str) -> trail.Commit:
    """A promotion nobody had to approve (no ``Approved-by`` trailers)."""
    message = naming.commit_message(
        namespace="default",
        pipeline="podinfo",
        environment=environment,
        revision=f"7.{index}.0",
        approvals=(),
    )
    trailers = tuple(
        (key, value)
        for key, _, value in (
            line.partition(": ") for line in message.split("\n\n")[-1].splitlines()
        )
    )
    return trail.Commit(f"{index + 500:040x}", NOW + timedelta(hours=index), "s", trailers)


GITHUB = "https://github.com/org/fleet.git"


@pytest.fixture
def mixed() -> Iterator[World]:
    commits = [automatic(1, "staging"), promotion(1), automatic(2, "prod")]
    log = fake_history.FakeCommitLog({(GITHUB, "main"): commits})
    w = World(git_pipeline({"git-push": {"url": GITHUB, "branch": "main"}}), log)
    with w.client:
        yield w


def test_automatic_promotions_say_so_and_commits_link_to_the_forge(mixed: World) -> None:
    """No "—" for a promotion nobody approved; a GitHub commit is a link named for its purpose."""
    mixed.sign_in("bob-token")
    page = mixed.client.get(HISTORY).text
    assert "<td>automatic</td>" in page and "<td>alice</td>" in page
    sha = f"{502:040x}"
    assert (
        f'<a href="https://github.com/org/fleet/commit/{sha}" rel="noopener noreferrer">'
        f"Commit <code>{sha[:12]}</code> for prod</a>"
    ) in page
    assert 'role="region" aria-labelledby="trail-caption" tabindex="0"' in page
    assert '<time datetime="' in page


@pytest.mark.parametrize(
    ("query", "revisions"),
    [
        ("environment=prod", ["7.2.0", "6.1.0"]),
        ("result=automatic", ["7.2.0", "7.1.0"]),
        ("environment=prod&result=approved", ["6.1.0"]),
        ("environment=&result=", ["7.2.0", "7.1.0", "6.1.0"]),
    ],
    ids=["by environment", "automatic only", "both", "empty means all"],
)
def test_the_history_filters_by_environment_and_result(
    mixed: World, query: str, revisions: list[str]
) -> None:
    """The form's GET parameters choose what is listed, newest first."""
    mixed.sign_in("bob-token")
    page = mixed.client.get(f"{HISTORY}?{query}").text
    assert re.findall(r"<td>(\d+\.\d+\.\d+)</td>", page) == revisions


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("environment=qa", "environment: choose one of this pipeline&#39;s environments"),
        ("result=maybe", "result: choose approved or automatic, or all"),
    ],
)
def test_a_bad_filter_is_a_sentence_not_a_traceback(mixed: World, query: str, said: str) -> None:
    """Unknown values answer 400 with the allowed ones."""
    mixed.sign_in("bob-token")
    answer = mixed.client.get(f"{HISTORY}?{query}")
    assert answer.status_code == 400 and said in answer.text


def test_pages_keep_the_filter() -> None:
    """ "Older" and "Newer" carry the filter along."""
    chosen = history.parse_filter(
        {"environment": "prod", "result": "approved"}, ["staging", "prod"]
    )
    assert chosen.query(2) == "environment=prod&result=approved&page=2"
    assert history.Filter().query(3) == "page=3" and not history.Filter().active


@pytest.mark.parametrize(
    ("repository", "url"),
    [
        ("https://github.com/org/fleet.git", "https://github.com/org/fleet/commit/"),
        ("https://gitlab.com/group/sub/fleet", "https://gitlab.com/group/sub/fleet/-/commit/"),
        ("git@bitbucket.org:org/fleet.git", "https://bitbucket.org/org/fleet/commits/"),
        ("ssh://git@codeberg.org/org/fleet.git", "https://codeberg.org/org/fleet/commit/"),
        ("https://git.example.com/fleet.git", ""),
        ("file:///tmp/demo-repo.git", ""),
    ],
)
def test_commit_links_only_for_known_forges(repository: str, url: str) -> None:
    """A commit URL is built only where the host's pattern is known; else the SHA is shown."""
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert history.commit_url(repository, sha) == (url + sha if url else "")
