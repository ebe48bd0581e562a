"""Validation of Pods and of the kinds that carry a pod template (Deployments, Jobs…).

Re-implements the parts of kubernetes ``pkg/apis/core/validation`` (``ValidatePodSpec``,
containers) and ``pkg/apis/apps|batch/validation`` (selectors matching template labels, the
restart policy each owner allows, immutable selectors and Job templates) that a manifest or a
test meets first; field paths and wording are upstream's. Nothing here runs a Pod.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ferryman.embedded.apiserver import names, rbac
from ferryman.embedded.apiserver.registry import ResourceType
from ferryman.embedded.apiserver.schema_causes import (
    Cause,
    duplicate,
    forbidden,
    go_quote,
    invalid,
    not_supported,
    required,
)

Validator = Callable[[dict[str, Any], dict[str, Any] | None, ResourceType], list[Cause]]


def _string_map(value: dict[str, Any] | None) -> str:
    """Go's ``%#v`` of a ``map[string]string`` (keys sorted, as fmt prints maps)."""
    entries = ", ".join(
        f"{go_quote(k)}:{go_quote(str(v))}" for k, v in sorted((value or {}).items())
    )
    return "map[string]string{" + entries + "}"


def _selector_text(selector: dict[str, Any]) -> str:
    """Go's ``%#v`` of a ``metav1.LabelSelector`` value."""
    labels = selector.get("matchLabels")
    exprs = selector.get("matchExpressions")
    labels_text = _string_map(labels) if labels else "map[string]string(nil)"
    exprs_text = (
        "[]v1.LabelSelectorRequirement{"
        + ", ".join(
            f"v1.LabelSelectorRequirement{{Key:{go_quote(e.get('key', ''))}, "
            f"Operator:{go_quote(e.get('operator', ''))}, Values:[]string{{"
            + ", ".join(go_quote(v) for v in e.get("values") or [])
            + "}}"
            for e in exprs
        )
        + "}"
        if exprs
        else "[]v1.LabelSelectorRequirement(nil)"
    )
    return f"v1.LabelSelector{{MatchLabels:{labels_text}, MatchExpressions:{exprs_text}}}"


def _raw(path: str, shown: str, detail: str) -> Cause:
    return Cause("FieldValueInvalid", f"Invalid value: {shown}: {detail}", path)


# ---------------------------------------------------------------------------- pod spec
def pod_spec(spec: dict[str, Any], path: str) -> list[Cause]:
    """The common part of ``ValidatePodSpec``: containers, their names, images and ports."""
    causes: list[Cause] = []
    containers = spec.get("containers") or []
    if not containers:
        causes.append(required(f"{path}.containers"))
    seen: set[str] = set()
    for group in ("initContainers", "containers"):
        for i, container in enumerate(spec.get(group) or []):
            causes.extend(_container(container, f"{path}.{group}[{i}]", seen))
    return causes


def _container(container: dict[str, Any], path: str, seen: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    name = container.get("name", "")
    if not name:
        causes.append(required(f"{path}.name"))
    else:
        causes.extend(invalid(f"{path}.name", name, p) for p in names.dns1123_label_problems(name))
        if name in seen:
            causes.append(duplicate(f"{path}.name", name))
        seen.add(name)
    image = container.get("image", "")
    if not image:
        causes.append(required(f"{path}.image"))
    elif image != image.strip():
        causes.append(
            invalid(f"{path}.image", image, "must not have leading or trailing whitespace")
        )
    for j, port in enumerate(container.get("ports") or []):
        number = port.get("containerPort", 0)
        if not 1 <= number <= 65535:
            causes.append(
                invalid(
                    f"{path}.ports[{j}].containerPort",
                    number,
                    "must be between 1 and 65535, inclusive",
                )
            )
    return causes


def validate_pod(obj: dict[str, Any], old: dict[str, Any] | None, rt: ResourceType) -> list[Cause]:
    """``ValidatePodCreate`` (the spec part)."""
    return pod_spec(obj.get("spec") or {}, "spec")


# ---------------------------------------------------------------------- owners of pods
def _template(
    spec: dict[str, Any], path: str, *, restart: tuple[str, ...], check_selector: bool = True
) -> list[Cause]:
    """``ValidatePodTemplateSpecForReplicaSet``-style checks of ``spec.template``."""
    template = spec.get("template")
    if not isinstance(template, dict):
        return [required(f"{path}.template")]
    causes: list[Cause] = []
    labels = (template.get("metadata") or {}).get("labels") or {}
    selector = spec.get("selector")
    if check_selector and isinstance(selector, dict) and selector:
        matches = (
            rbac.selector_matches(selector, labels)
            if "matchLabels" in selector or "matchExpressions" in selector
            else all(labels.get(k) == v for k, v in selector.items())
        )
        if not matches:
            causes.append(
                _raw(
                    f"{path}.template.metadata.labels",
                    _string_map(labels),
                    "`selector` does not match template `labels`",
                )
            )
    pod = template.get("spec") or {}
    causes.extend(pod_spec(pod, f"{path}.template.spec"))
    policy = pod.get("restartPolicy", "")
    if policy not in restart:
        causes.append(not_supported(f"{path}.template.spec.restartPolicy", policy, list(restart)))
    return causes


def _selector_required(spec: dict[str, Any], kind: str) -> list[Cause]:
    selector = spec.get("selector")
    if selector is None:
        return [required("spec.selector")]
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        return [
            _raw("spec.selector", _selector_text(selector), f"empty selector is invalid for {kind}")
        ]
    return []


def _immutable_selector(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
    if old is None:
        return []
    new_sel, old_sel = (
        (obj.get("spec") or {}).get("selector"),
        (old.get("spec") or {}).get("selector"),
    )
    if new_sel != old_sel:
        return [_raw("spec.selector", _selector_text(new_sel or {}), "field is immutable")]
    return []


def _replicas(spec: dict[str, Any]) -> list[Cause]:
    replicas = spec.get("replicas")
    if isinstance(replicas, int) and replicas < 0:
        return [invalid("spec.replicas", replicas, "must be greater than or equal to 0")]
    return []


def validate_replicated(
    obj: dict[str, Any], old: dict[str, Any] | None, rt: ResourceType
) -> list[Cause]:
    """Deployments, ReplicaSets, StatefulSets, DaemonSets (apps/validation)."""
    spec = obj.get("spec") or {}
    kind = rt.kind.lower()
    causes = _selector_required(spec, kind) + _replicas(spec)
    causes += _template(spec, "spec", restart=("Always",))
    if (spec.get("template") or {}).get("spec", {}).get("activeDeadlineSeconds") is not None:
        causes.append(
            forbidden(
                "spec.template.spec.activeDeadlineSeconds",
                f"activeDeadlineSeconds in {rt.kind} is not Supported",
            )
        )
    return causes + _immutable_selector(obj, old)


def validate_replication_controller(
    obj: dict[str, Any], old: dict[str, Any] | None, rt: ResourceType
) -> list[Cause]:
    """``ValidateReplicationController`` (core; the selector is a plain label map)."""
    spec = obj.get("spec") or {}
    causes = _replicas(spec)
    if not spec.get("selector"):
        causes.append(required("spec.selector"))
    return causes + _template(spec, "spec", restart=("Always",))


def validate_job(obj: dict[str, Any], old: dict[str, Any] | None, rt: ResourceType) -> list[Cause]:
    """``ValidateJob`` / ``ValidateJobUpdate`` (batch/validation), spec part."""
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    for name in ("parallelism", "completions", "backoffLimit", "activeDeadlineSeconds"):
        value = spec.get(name)
        if isinstance(value, int) and value < 0:
            causes.append(invalid(f"spec.{name}", value, "must be greater than or equal to 0"))
    if spec.get("manualSelector") is not True and old is None and spec.get("selector") is not None:
        uid = obj["metadata"].get("uid", "")
        expected = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        if spec["selector"] != expected:
            causes.append(
                _raw(
                    "spec.selector",
                    _selector_text(spec["selector"]),
                    "`selector` not auto-generated",
                )
            )
    causes += _template(spec, "spec", restart=("OnFailure", "Never"))
    if old is not None:
        old_spec = old.get("spec") or {}
        causes += _immutable_selector(obj, old)
        if spec.get("template") != old_spec.get("template") and not old_spec.get("suspend"):
            causes.append(_raw("spec.template", "core.PodTemplateSpec{…}", "field is immutable"))
        if spec.get("completions") != old_spec.get("completions") and (
            spec.get("completionMode") != "Indexed"
        ):
            causes.append(
                invalid("spec.completions", spec.get("completions"), "field is immutable")
            )
    return causes


def validate_cronjob(
    obj: dict[str, Any], old: dict[str, Any] | None, rt: ResourceType
) -> list[Cause]:
    """``ValidateCronJob``: the job template's pods may not restart in place."""
    job_spec = ((obj.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}
    causes = _template(
        job_spec, "spec.jobTemplate.spec", restart=("OnFailure", "Never"), check_selector=False
    )
    if not (obj.get("spec") or {}).get("schedule"):
        causes.append(required("spec.schedule"))
    return causes


def validate_pod_template(
    obj: dict[str, Any], old: dict[str, Any] | None, rt: ResourceType
) -> list[Cause]:
    """``ValidatePodTemplate``."""
    return pod_spec((obj.get("template") or {}).get("spec") or {}, "template.spec")


VALIDATORS: dict[str, Validator] = {
    "/pods": validate_pod,
    "/podtemplates": validate_pod_template,
    "/replicationcontrollers": validate_replication_controller,
    "apps/deployments": validate_replicated,
    "apps/replicasets": validate_replicated,
    "apps/statefulsets": validate_replicated,
    "apps/daemonsets": validate_replicated,
    "batch/jobs": validate_job,
    "batch/cronjobs": validate_cronjob,
}
