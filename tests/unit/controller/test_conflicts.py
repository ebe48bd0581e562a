"""Write conflicts: 30% of status writes answered 409 while approvers write concurrently.

The controller re-reads and decides again on every 409; the approval writer retries the same way.
No approval is lost, every revision is promoted once, and the pipeline converges.
"""

from __future__ import annotations

import contextlib
import os
import random

import pytest
from tests.unit.controller import story

from ferryman.domain import approvals
from ferryman.ports import kubernetes as k8s

RUNS = int(os.environ.get("FERRYMAN_CONFLICT_RUNS", "30"))


async def approve_with_retry(world: story.World, user: str, revision: str) -> None:
    """What the approval API does: RV-checked write, re-read and re-apply on 409."""
    for _ in range(50):
        try:
            await world.approve(user, ("release-managers",), revision)
            return
        except k8s.Conflict:
            continue
        except approvals.ApprovalRefused:
            return
    raise AssertionError("approval never landed")


@pytest.mark.parametrize("seed", range(RUNS))
async def test_no_update_is_lost_under_a_conflict_storm(seed: int) -> None:
    """Two approvers and the controller interleave with 30% injected 409s."""
    rng = random.Random(seed)
    world = story.World(approval={"required": 2, "approvers": {"groups": ["release-managers"]}})
    injected: list[bool] = []

    def conflict(obj: object) -> bool:
        injected.append(len(injected) == 1 or rng.random() < 0.3)  # at least one, then 30%
        return injected[-1]

    world.api.fail_status_write = conflict
    rec = world.reconciler("a")
    world.release("6.1.0")
    approved: set[str] = set()
    for _ in range(80):
        with contextlib.suppress(k8s.Conflict):  # the work queue would retry
            await rec.reconcile(story.NS, story.NAME)
        world.flux_catch_up()
        world.clock.advance(1)
        prod = world.status().environments.get("prod")
        record = prod.promotion if prod is not None else None
        if record is not None and record.phase.value == "WaitingApproval":
            for user in ("alice", "bob"):
                if user not in approved and rng.random() < 0.5:
                    await approve_with_retry(world, user, record.revision)
                    approved.add(user)
        if world.phase("prod") == "Succeeded" if prod is not None else False:
            break
    record = world.status().environments["prod"].promotion
    assert record is not None and record.phase.value == "Succeeded"
    assert {a.user for a in record.approvals} == {"alice", "bob"}
    assert world.promote_events() == {("staging", "6.1.0"): 1, ("prod", "6.1.0"): 1}
    assert any(injected), "the storm injected no conflict"
