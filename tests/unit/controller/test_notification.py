"""The notification strategy reaches Flux: the Promote event is POSTed to notification-controller.

The receiver is ``tests/fakes/notification_controller.py`` on 127.0.0.1 (it checks method,
headers and body and runs notification-controller's duplicate filter); the client is the real
``adapters.flux_receiver``. The Kubernetes Event stays, as with the original controller.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import httpx
from tests.fakes import notification_controller as nc
from tests.unit.controller import story

from ferryman.adapters import flux_receiver
from ferryman.api import status
from ferryman.controller import reconciler
from ferryman.controller.strategies import notification


class Crash(BaseException):
    """The controller dies here."""


async def _no_wait(seconds: float) -> None:
    del seconds


@asynccontextmanager
async def flux(receiver: nc.EventReceiver) -> AsyncIterator[flux_receiver.FluxEventReceiver]:
    with nc.running(receiver) as url:
        async with httpx.AsyncClient() as client:
            yield flux_receiver.FluxEventReceiver(client, url, sleep=_no_wait)


def controller(
    world: story.World,
    receiver: flux_receiver.FluxEventReceiver,
    owner: str,
    checkpoint: reconciler.Checkpoint | None = None,
) -> reconciler.Reconciler:
    return reconciler.Reconciler(
        store=world.api.store,
        targets=world,
        events=world.api,
        strategies={"notification": notification.NotificationStrategy(world.api, receiver)},
        clock=world.clock,
        owner=owner,
        checkpoint=checkpoint or (lambda label: None),
    )


def record(world: story.World, env: str) -> status.PromotionRecord:
    found = world.status().environments[env].promotion
    assert found is not None
    return found


async def test_a_promotion_posts_one_flux_event_about_the_pipeline() -> None:
    """staging's promotion: one POST in Flux's event format, metadata with the original's keys,
    timestamp = the first attempt; the Kubernetes Event is recorded too."""
    receiver = nc.EventReceiver()
    world = story.World()
    world.release("6.1.0")
    async with flux(receiver) as sender:
        await controller(world, sender, "a").reconcile(story.NS, story.NAME)
    assert receiver.problems == []
    [post] = receiver.received
    assert (post.status, post.headers["content-type"]) == (202, "application/json")
    event = post.event()
    staging = record(world, "staging")
    assert staging.phase is status.PromotionPhase.PROMOTED
    assert event["involvedObject"] == {
        "kind": "Pipeline",
        "namespace": "default",
        "name": "podinfo",
        "uid": world.pipeline()["metadata"]["uid"],
        "apiVersion": "pipelines.weave.works/v1alpha1",
    }
    assert (event["severity"], event["reason"]) == ("info", "Promote")
    assert event["message"] == "Promote pipeline default/podinfo to staging with version 6.1.0"
    assert event["metadata"]["environment"] == "staging"
    assert event["metadata"]["version"] == "6.1.0"
    assert event["metadata"]["pipelines.weave.works/token"] == staging.result.key  # type: ignore[union-attr]
    assert event["timestamp"] == staging.started_at.strftime("%Y-%m-%dT%H:%M:%SZ")  # type: ignore[union-attr]
    assert world.promote_events() == {("staging", "6.1.0"): 1}


async def test_after_a_crash_the_same_bytes_are_sent_again_and_the_duplicate_counts() -> None:
    """Crash after the POST, before the outcome is written: the next controller sends the same
    bytes, notification-controller answers 429 (it has them), and the record is Promoted."""
    receiver = nc.EventReceiver()
    world = story.World()
    world.release("6.1.0")

    def crash(label: str) -> None:
        if label == "after-promote":
            raise Crash(label)

    async with flux(receiver) as sender:
        with suppress(Crash):
            await controller(world, sender, "a", crash).reconcile(story.NS, story.NAME)
        assert record(world, "staging").phase is status.PromotionPhase.PROMOTING
        world.clock.advance(1)
        await controller(world, sender, "b").reconcile(story.NS, story.NAME)
    assert [r.status for r in receiver.received] == [202, 429]
    assert len({r.body for r in receiver.received}) == 1
    assert record(world, "staging").phase is status.PromotionPhase.PROMOTED
    assert world.promote_events() == {("staging", "6.1.0"): 1}


async def test_an_unreachable_receiver_keeps_the_record_promoting_until_it_is_delivered() -> None:
    """Retries exhausted: the record says why and when it tries again; then it is delivered."""
    receiver = nc.EventReceiver()
    receiver.fail_with = [503] * 5
    world = story.World()
    world.release("6.1.0")
    async with flux(receiver) as sender:
        await controller(world, sender, "a").reconcile(story.NS, story.NAME)
        waiting = record(world, "staging")
        assert waiting.phase is status.PromotionPhase.PROMOTING
        assert "could not deliver the Promote event" in (waiting.last_error or "")
        assert waiting.next_attempt_at is not None
        world.clock.advance((waiting.next_attempt_at - world.clock.now()).total_seconds() + 1)
        await controller(world, sender, "a").reconcile(story.NS, story.NAME)
    assert record(world, "staging").phase is status.PromotionPhase.PROMOTED
    assert [r.status for r in receiver.received] == [503] * 5 + [202]
    assert len({r.body for r in receiver.received}) == 1
    assert json.loads(receiver.received[-1].body)["metadata"]["version"] == "6.1.0"
