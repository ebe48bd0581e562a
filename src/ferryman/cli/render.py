"""Pure text for the CLI: tables, ``describe`` pages, ``why`` sentences, JSON and YAML.

Functions take parsed ``api`` models (or plain rows) and return strings, so they are tested
without click and without a cluster. Tables are plain, kubectl-style aligned columns.

Every value shown comes from a Pipeline someone else wrote (comments, revisions, messages), so no
control character of it may reach the terminal: ``table`` escapes each cell and ``join_lines``
each line before they are joined (``domain.controls.printable``), which turns an injected newline,
carriage return or ESC sequence into visible text. JSON and YAML escape control characters
themselves.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import yaml

from ferryman.api import conditions, pipeline, status
from ferryman.api import verification as checks
from ferryman.domain import controls, holds, policy, wording

NONE = "-"


def join_lines(parts: Sequence[str]) -> str:
    """One line per part, each with its control characters escaped (see the module docstring)."""
    return "\n".join(controls.printable(part) for part in parts)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to the widest cell, three spaces apart, like ``kubectl get``; every cell's
    control characters are escaped first."""
    rows = [[controls.printable(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = [
        "   ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [list(headers), *rows]
    ]
    return "\n".join(lines)


def as_json(document: Any) -> str:
    """Indented JSON."""
    return json.dumps(document, indent=2, sort_keys=False)


def as_yaml(document: Any) -> str:
    """Block-style YAML."""
    return yaml.safe_dump(document, sort_keys=False).rstrip("\n")


def when(moment: datetime | None) -> str:
    """A timestamp as Kubernetes prints it."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else NONE


def environment_cell(env: status.EnvironmentStatus | None) -> str:
    """What an environment runs and how its promotion stands (``domain.wording``'s words):
    ``6.0.0 (6.1.0 waiting for approval)``."""
    if env is None:
        return NONE
    cell = env.revision or NONE
    record = env.promotion
    if record is not None and not (
        record.phase is status.PromotionPhase.SUCCEEDED and record.revision == env.revision
    ):
        cell += f" ({record.revision} {wording.phase_label(record.phase).lower()})"
    return cell


def pending_by_environment(current: status.PipelineStatus) -> dict[str, str]:
    """The ``PromotionPending`` message split per environment (``env: message; ...``)."""
    condition = current.condition(conditions.PROMOTION_PENDING)
    if condition is None or condition.status != "True":
        return {}
    found: dict[str, str] = {}
    for part in condition.message.split("; "):
        env, sep, message = part.partition(": ")
        if sep:
            found[env] = message
    return found


def pipelines_table(items: Sequence[pipeline.Pipeline], *, all_namespaces: bool) -> str:
    """``get pipelines``: NAME, APP, one column per environment, PENDING."""
    env_names: list[str] = []
    for item in items:
        for env in item.spec.environments:
            if env.name not in env_names:
                env_names.append(env.name)
    headers = (
        (["NAMESPACE"] if all_namespaces else [])
        + ["NAME", "APP"]
        + [n.upper() for n in env_names]
        + ["PENDING"]
    )
    rows = []
    for item in items:
        app = item.spec.app_ref
        pending = pending_by_environment(item.status)
        row = [item.metadata.namespace] if all_namespaces else []
        row += [item.metadata.name, f"{app.kind}/{app.name}"]
        row += [
            environment_cell(item.status.environments.get(n)) if item.spec.environment(n) else ""
            for n in env_names
        ]
        row.append("; ".join(f"{e}: {m}" for e, m in pending.items()) or NONE)
        rows.append(row)
    return table(headers, rows)


def _approval_policy(spec: pipeline.PipelineSpec, env: pipeline.Environment) -> str:
    effective = policy.effective(spec, env)
    rule = effective.approval
    parts = [f"strategy {effective.strategy_name or NONE}"]
    if effective.min_ready_seconds:
        parts.append(f"soak {effective.min_ready_seconds}s")
    if effective.windows:
        parts.append(
            "windows "
            + ", ".join(f"{w.kind.value} {w.schedule} for {w.duration}" for w in effective.windows)
        )
    if rule is not None:
        who = []
        if rule.approvers is not None:
            who += [f"user {u}" for u in rule.approvers.users]
            who += [f"group {g}" for g in rule.approvers.groups]
        approval = f"{rule.required} approval(s) from {', '.join(who) or 'anyone RBAC allows'}"
        if rule.expires_after:
            approval += f", expiring after {rule.expires_after}"
        if rule.prevent_self_approval:
            approval += ", four-eyes"
        parts.append(approval)
    return "; ".join(parts)


def _record_lines(record: status.PromotionRecord) -> list[str]:
    lines = [
        f"    Promotion:  {record.revision} from {record.from_ or NONE}: "
        f"{wording.phase_label(record.phase)}"
        f" (requested {when(record.requested_at)}, attempts {record.attempts})"
    ]
    for approval in record.approvals:
        note = f': "{approval.comment}"' if approval.comment else ""
        lines.append(f"    Approved:   by {approval.user} at {when(approval.at)}{note}")
    if record.rejection is not None:
        note = f': "{record.rejection.comment}"' if record.rejection.comment else ""
        lines.append(
            f"    Rejected:   by {record.rejection.user} at {when(record.rejection.at)}{note}"
        )
    if record.last_error:
        lines.append(f"    Last error: {record.last_error}")
    if record.result is not None and (record.result.url or record.result.commit):
        lines.append(f"    Result:     {record.result.url or record.result.commit}")
    return lines


def describe(item: pipeline.Pipeline) -> str:
    """``describe pipeline``: environments, targets, promotion, approvals, gates, conditions."""
    app = item.spec.app_ref
    lines = [
        f"Name:         {item.metadata.name}",
        f"Namespace:    {item.metadata.namespace}",
        f"App:          {app.api_version} {app.kind} {app.name}",
    ]
    for condition in item.status.conditions:
        lines.append(
            f"{condition.type + ':':<13} {condition.status} ({condition.reason})"
            + (f" {condition.message}" if condition.message else "")
        )
    lines.append("Environments:")
    for env in item.spec.environments:
        current = item.status.environments.get(env.name) or status.EnvironmentStatus()
        lines.append(f"  {env.name}:")
        lines.append(
            f"    Revision:   {current.revision or NONE} (health: {wording.health(current)})"
        )
        lines.append(f"    Gates:      {_approval_policy(item.spec, env)}")
        for index, target in enumerate(env.targets):
            observed = current.targets[index] if index < len(current.targets) else None
            where = target.namespace
            if target.cluster_ref is not None:
                where = f"{target.cluster_ref.name}/{target.namespace}"
            state = NONE
            if observed is not None:
                health = wording.HEALTHY if observed.ready else "not healthy"
                state = f"{observed.revision or NONE} {health}"
                if observed.error:
                    state += f": {observed.error}"
            lines.append(f"    Target:     {where}: {state}")
        if current.hold is not None:
            lines.append(f"    Hold:       {holds.describe(current.hold)}")
        if current.verification is not None:
            lines.extend(_verification_lines(current.verification))
        if current.promotion is not None:
            lines.extend(_record_lines(current.promotion))
    return join_lines(lines)


def _verification_lines(found: checks.VerificationStatus) -> list[str]:
    lines = [f"    Checks:     {found.revision} run {found.run}: {found.phase.value}"]
    for check in found.checks:
        value = f" [{check.value}]" if check.value else ""
        note = f": {check.message}" if check.message else ""
        lines.append(f"      {check.name}: {check.phase.value}{value}{note}")
    return lines


def verification_hint(item: pipeline.Pipeline, name: str) -> str:
    """For an environment whose source's checks failed its candidate: how to run them again."""
    index = next((i for i, env in enumerate(item.spec.environments) if env.name == name), 0)
    if index == 0:
        return ""
    source = item.spec.environments[index - 1].name
    found = (item.status.environments.get(source) or status.EnvironmentStatus()).verification
    if found is None or found.phase is not checks.CheckPhase.FAILED:
        return ""
    meta = item.metadata
    return (
        f" To run {source}'s checks again: ferryman verify {meta.name} -n {meta.namespace} "
        f"--env {source}"
    )


def change(name: str, answer: dict[str, Any]) -> str:
    """``diff``: the marked values the waiting promotion sets, file by file."""
    environment = answer.get("environment", "")
    revision = answer.get("revision")
    if revision is None:
        return join_lines([f'environment "{environment}" of pipeline "{name}" has no promotion.'])
    head = f'{revision} into "{environment}" of pipeline "{name}" ({answer.get("phase", NONE)})'
    summary = answer.get("change")
    if not isinstance(summary, dict):
        return join_lines([f"{head}: the change is not known yet."])
    rows = [
        [str(line.get("path", "")), str(line.get("old", "")), str(line.get("new", ""))]
        for line in summary.get("lines") or []
    ]
    counted = int(summary.get("markers") or 0)
    more = f"\n… and {counted - len(rows)} more" if counted > len(rows) else ""
    digest = f"change digest {summary.get('digest', NONE)}"
    return join_lines([f"{head}, {digest}:"]) + "\n" + table(["FILE", "FROM", "TO"], rows) + more


def history_table(item: pipeline.Pipeline) -> str:
    """``history``: newest first."""
    rows = [
        [
            entry.environment,
            entry.revision,
            wording.history_label(entry),
            when(entry.at),
            entry.by or ("automatic" if entry.phase is not None else NONE),
            entry.url or (entry.commit[:12] if entry.commit else NONE),
            entry.comment or NONE,
        ]
        for entry in item.status.history
    ]
    return table(["ENVIRONMENT", "REVISION", "RESULT", "AT", "BY", "CHANGE", "COMMENT"], rows)


def why(item: pipeline.Pipeline, environment: str | None) -> str:
    """``why``: for each (or one) environment, in words, what holds its promotion back."""
    pending = pending_by_environment(item.status)
    names = [environment] if environment else [env.name for env in item.spec.environments]
    lines = []
    for name in names:
        current = item.status.environments.get(name) or status.EnvironmentStatus()
        record = current.promotion
        if name in pending:
            sentence = f"{name}: {pending[name]}."
            if record is not None and record.phase is status.PromotionPhase.WAITING_APPROVAL:
                given = ", ".join(a.user for a in record.approvals)
                if given:
                    sentence += f" Approved so far by {given}."
                sentence += (
                    f" To approve: ferryman approve {item.metadata.name} -n "
                    f"{item.metadata.namespace} --env {name} --revision {record.revision}"
                )
            if current.hold is not None:
                sentence += (
                    f" To release: ferryman unhold {item.metadata.name} -n "
                    f"{item.metadata.namespace} --env {name}"
                )
            sentence += verification_hint(item, name)
            lines.append(sentence)
        elif (
            record is not None
            and record.phase.finished
            and record.phase is not status.PromotionPhase.SUCCEEDED
        ):
            ended = wording.phase_label(record.phase).lower()
            lines.append(f"{name}: the promotion of {record.revision} ended: {ended}.")
        else:
            lines.append(
                f"{name}: nothing is held back (runs {current.revision or 'nothing yet'})."
                + _checks_sentence(current.verification)
            )
    return join_lines(lines)


def _checks_sentence(found: checks.VerificationStatus | None) -> str:
    """How this environment's own checks stand, when they have not passed."""
    if found is None or found.phase is checks.CheckPhase.PASSED:
        return ""
    if found.phase is checks.CheckPhase.RUNNING:
        running = ", ".join(c.name for c in found.checks if not c.phase.finished)
        return f" Its checks of {found.revision} are running ({running})."
    failed = next(c for c in found.checks if c.phase is checks.CheckPhase.FAILED)
    why = f": {failed.message}" if failed.message else ""
    return f" Its checks of {found.revision} failed ({failed.name}{why})."
