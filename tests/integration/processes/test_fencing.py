"""A deposed leader performs no side effect: two real ``ferryman controller`` replicas, one frozen
past its lease in the middle of a promotion.

The leader writes the intent, pushes the promotion branch, and is frozen by SIGSTOP at
``before-create-pull-request`` (``FERRYMAN_CRASH_AT=…:STOP``: the process stops itself there,
exactly between the fence's checkpoint and its check). Its lease expires; the other replica takes
over, resumes the ``Promoting`` record and opens the pull request. Then the frozen one is
resumed: it wakes up in the middle of the strategy, still believing it leads, one call away from
creating the pull request. Before fencing it made that call (the fake GitHub saw two creations:
the second refused as a duplicate only because GitHub happens to refuse it); with fencing it stops
before it (``Stopped reconcile … not the leader``) and the host sees exactly one.
"""

from __future__ import annotations

from pathlib import Path

from tests.rig import cluster, processes, stage

LEASE = ["--lease-duration", "4", "--renew-deadline", "2.5", "--retry-period", "0.5"]
FLAGS = ["--leader-elect", *LEASE, "--step-timeout", "1.5"]


async def lease_holder(st: stage.Stage) -> str:
    try:
        lease = await st.kube.get(
            "coordination.k8s.io/v1", "Lease", st.namespace, "ferryman-controller"
        )
    except Exception:
        return ""
    return str(lease["spec"].get("holderIdentity") or "")


async def test_a_leader_frozen_past_its_lease_does_not_create_the_pull_request_again(
    apiserver: processes.ApiServer, tmp_path: Path
) -> None:
    """Exactly one pull request creation reaches the host; the frozen replica is fenced."""
    envs = [cluster.Env("dev"), cluster.Env("prod", "pull-request")]
    async with stage.Stage.open(
        apiserver, tmp_path, namespace="fence", envs=envs, reviewer=False
    ) as st:
        flags = [*FLAGS, "--lease-namespace", st.namespace]
        frozen = st.controller(
            "frozen", flags=flags, env={"FERRYMAN_CRASH_AT": "before-create-pull-request:1:STOP"}
        )
        successor = st.controller("successor", flags=flags)
        frozen.start()
        await frozen.wait_ready()
        first = await stage.eventually(lambda: lease_holder(st), what="a leader")
        successor.start()
        await successor.wait_ready()

        await st.release("1.0.1")

        async def is_frozen() -> bool:
            return frozen.stopped

        await stage.eventually(is_frozen, what="the leader frozen at before-create-pull-request")
        assert st.world.pull_request_creations() == 0

        async def taken_over() -> bool:
            holder = await lease_holder(st)
            return bool(holder) and holder != first

        await stage.eventually(taken_over, what="the successor holding the Lease")

        async def promoted() -> bool:
            records = await st.observer.records()
            return records is not None and records["prod"].phase.value == "Promoted"

        await stage.eventually(promoted, what="the successor promoting")
        assert st.world.pull_request_creations() == 1

        frozen.resume()

        async def acted_or_fenced() -> bool:
            return "Stopped reconcile" in frozen.log() or st.world.pull_request_creations() > 1

        await stage.eventually(acted_or_fenced, what="the resumed replica acting or fenced")
        assert st.world.pull_request_creations() == 1, "the deposed leader created it again"
        assert "not the leader" in frozen.log()
        records = await st.observer.records()
        assert records is not None
        assert (records["prod"].phase.value, records["prod"].attempts) == ("Promoted", 2)
        assert st.world.pull_request_creations() == 1
        assert [pr.revision for pr in st.world.pull_requests()] == ["1.0.1"]
        assert frozen.running  # fenced, not crashed
