"""Real races over HTTP against the embedded API server: approvals are never lost.

1. **An approval between the reconciler's read and its write.** A ``ferryman controller`` process
   stops itself (``FERRYMAN_CRASH_AT=before-status-write:1:STOP``) after it read the Pipeline and
   decided a new status — dev went not ready — and before it writes it. Meanwhile alice approves
   through another replica's approval API. Resumed, the stopped controller's write carries the
   resourceVersion it read: 409, re-read, decide again — both changes survive. Remove the
   precondition (an unconditional status write) and this test fails: the approval is lost.
2. **Concurrent approvers.** Alice and bob approve the same revision at the same instant through
   the two replicas' HTTP APIs (and alice double-clicks): both approvals recorded, one promotion.

The second replica serves HTTP only: it runs with ``--leader-elect`` and a Lease held by a
phantom holder for an hour, so it never reconciles — as any follower replica does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.rig import cluster, processes, stage

ENVS = [cluster.Env("dev"), cluster.Env("prod", "notification", approvals=2)]
RFC3339_MICRO = "%Y-%m-%dT%H:%M:%S.%fZ"


async def phantom_lease(st: stage.Stage) -> str:
    """A namespace whose Lease is held by nobody that runs, renewed now for an hour: a replica
    electing itself there follows forever. Returns the namespace."""
    namespace = f"{st.namespace}-lease"
    await st.kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    now = datetime.now(UTC).strftime(RFC3339_MICRO)
    await st.kube.create(
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "ferryman-controller", "namespace": namespace},
            "spec": {
                "holderIdentity": "phantom",
                "leaseDurationSeconds": 3600,
                "acquireTime": now,
                "renewTime": now,
                "leaseTransitions": 0,
            },
        }
    )
    return namespace


async def approval_server(st: stage.Stage) -> processes.Controller:
    """A replica that only serves the approval API (it never leads), started."""
    namespace = await phantom_lease(st)
    follower = st.controller("follower", flags=["--leader-elect", "--lease-namespace", namespace])
    follower.start()
    return follower


async def waiting(st: stage.Stage, revision: str, approvals: int = 0) -> bool:
    records = await st.observer.records()
    if records is None or "prod" not in records:
        return False
    record = records["prod"]
    return (
        record.phase.value == "WaitingApproval"
        and record.revision == revision
        and len(record.approvals) == approvals
    )


async def set_not_ready(st: stage.Stage, env: str) -> None:
    """helm-controller reports the environment's release failed (its version unchanged)."""
    namespace = st.world.env_namespace(env)
    obj = await st.kube.get(stage.HELM, "HelmRelease", namespace, "podinfo")
    for condition in obj["status"]["conditions"]:
        if condition["type"] == "Ready":
            condition.update(status="False", reason="UpgradeFailed", message="pods crash-loop")
    await st.kube.put_status(obj)


async def test_an_approval_between_the_reconcilers_read_and_write_is_kept(
    apiserver: processes.ApiServer, tmp_path: Path
) -> None:
    """The stale write gets 409 and is decided again: dev not ready *and* alice's approval."""
    async with stage.Stage.open(apiserver, tmp_path, namespace="race-rw", envs=ENVS) as st:
        follower = await approval_server(st)
        first = st.controller("first")
        first.start()
        await st.release("1.0.1")
        await stage.eventually(lambda: waiting(st, "1.0.1"), what="prod waiting for approval")
        assert first.terminate() == 0  # converged; stop it cleanly

        await set_not_ready(st, "dev")  # what the next controller will write
        frozen = st.controller("frozen", env={"FERRYMAN_CRASH_AT": "before-status-write:1:STOP"})
        frozen.start()

        async def is_frozen() -> bool:
            return frozen.stopped

        await stage.eventually(is_frozen, what="the controller frozen before its status write")
        await follower.wait_ready()
        verdict = await st.approver.approve(follower.http_url, "alice", "prod", "1.0.1")
        assert verdict.status == 202, verdict
        frozen.resume()

        async def written() -> bool:
            current = await st.observer.status()
            return current is not None and not current.environments["dev"].ready

        await stage.eventually(written, what="the resumed controller's status write")
        current = await st.observer.status()
        assert current is not None
        record = current.environments["prod"].promotion
        assert record is not None
        assert [a.user for a in record.approvals] == ["alice"], "the approval was lost"
        assert record.phase.value == "WaitingApproval"
        assert "Conflict" in frozen.log() or "409" in frozen.log()


async def test_concurrent_approvers_over_http_are_all_recorded_and_promote_once(
    apiserver: processes.ApiServer, tmp_path: Path
) -> None:
    """Five revisions, each approved by alice and bob at once through two replicas (alice
    twice): 202s all round, two approvals per record, one Promote event per revision."""
    async with stage.Stage.open(apiserver, tmp_path, namespace="race-ab", envs=ENVS) as st:
        follower = await approval_server(st)
        leader = st.controller("leader")
        leader.start()
        await follower.wait_ready()
        await leader.wait_ready()
        for minor in range(1, 6):
            revision = f"1.{minor}.0"
            await st.release(revision)
            await stage.eventually(
                lambda revision=revision: waiting(st, revision), what=f"{revision} waiting"
            )
            verdicts = await cluster.gather_approvals(
                st.approver,
                [
                    (leader.http_url, "alice"),
                    (follower.http_url, "bob"),
                    (follower.http_url, "alice"),
                ],
                "prod",
                revision,
            )
            # a double click: 202 (no-op) or 409 once the quorum moved the record on
            assert [v.status for v in verdicts[:2]] == [202, 202], verdicts
            assert verdicts[2].status in (202, 409), verdicts
            await stage.eventually(
                lambda revision=revision: st.settled(revision), what=f"{revision} in prod"
            )
            records = await st.observer.records()
            assert records is not None
            assert sorted(a.user for a in records["prod"].approvals) == ["alice", "bob"]
        events = await st.kube.request(
            "GET", f"/apis/events.k8s.io/v1/namespaces/{st.namespace}/events"
        )
        promoted = [
            e["metadata"]["annotations"]["version"]
            for e in events["items"]
            if e.get("reason") == "Promote"
            and e["metadata"]["annotations"]["environment"] == "prod"
        ]
        assert sorted(promoted) == [f"1.{m}.0" for m in range(1, 6)]
