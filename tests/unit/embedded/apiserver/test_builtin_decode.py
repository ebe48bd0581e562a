"""Built-in objects decode like kube-apiserver's Go decoder, with its error texts."""

from __future__ import annotations

from typing import Any

import pytest

from ferryman.embedded.apiserver import builtin_decode, builtin_schema

LEASE = "io.k8s.api.coordination.v1.Lease"
CONFIG_MAP = "io.k8s.api.core.v1.ConfigMap"
DEPLOYMENT = "io.k8s.api.apps.v1.Deployment"
POD = "io.k8s.api.core.v1.Pod"


def _decode(definition: str, obj: dict[str, Any], kind: str) -> dict[str, Any]:
    builtin_decode.decode(builtin_schema.node(definition), obj, kind)
    return obj


@pytest.mark.parametrize(
    ("definition", "kind", "obj", "message"),
    [
        pytest.param(
            CONFIG_MAP,
            "ConfigMap",
            {"data": {"a": 1}},
            "json: cannot unmarshal number into Go struct field ConfigMap.data of type string",
            id="a number in a string map names the map field",
        ),
        pytest.param(
            LEASE,
            "Lease",
            {"spec": {"leaseDurationSeconds": "ten"}},
            "json: cannot unmarshal string into Go struct field LeaseSpec.spec.leaseDurationSeconds"
            " of type int32",
            id="the innermost struct and the full field path",
        ),
        pytest.param(
            LEASE,
            "Lease",
            {"spec": {"leaseDurationSeconds": 1.5}},
            "json: cannot unmarshal number 1.5 into Go struct field LeaseSpec.spec."
            "leaseDurationSeconds of type int32",
            id="a fraction does not fit an integer",
        ),
        pytest.param(
            DEPLOYMENT,
            "Deployment",
            {"spec": {"template": {"spec": {"containers": [{"name": 3}]}}}},
            "json: cannot unmarshal number into Go struct field Container.spec.template.spec."
            "containers.name of type string",
            id="list indices are not in Go's path",
        ),
        pytest.param(
            DEPLOYMENT,
            "Deployment",
            {"spec": []},
            "json: cannot unmarshal array into Go struct field Deployment.spec of type "
            "v1.DeploymentSpec",
            id="a struct given an array",
        ),
        pytest.param(
            LEASE,
            "Lease",
            {"spec": {"renewTime": "2024-01-01T00:00:00Z"}},
            'parsing time "2024-01-01T00:00:00Z" as "2006-01-02T15:04:05.000000Z07:00": '
            'cannot parse "Z" as ".000000"',
            id="MicroTime needs six fractional digits",
        ),
        pytest.param(
            POD,
            "Pod",
            {"metadata": {"creationTimestamp": "yesterday"}},
            'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" '
            'as "2006"',
            id="Time is RFC 3339",
        ),
        pytest.param(
            POD,
            "Pod",
            {"spec": {"containers": [{"resources": {"limits": {"cpu": "lots"}}}]}},
            builtin_decode.QUANTITY_FORMAT,
            id="quantities are parsed",
        ),
        pytest.param(
            POD,
            "Pod",
            {"spec": {"containers": [{"ports": [{"containerPort": True}]}]}},
            "json: cannot unmarshal bool into Go struct field ContainerPort.spec.containers.ports."
            "containerPort of type int32",
            id="booleans are not numbers",
        ),
    ],
)
def test_decoding_errors(definition: str, kind: str, obj: dict[str, Any], message: str) -> None:
    """Each wrong value fails with the message the real apiserver's decoder gives."""
    with pytest.raises(builtin_decode.DecodeError) as caught:
        _decode(definition, obj, kind)
    assert str(caught.value) == message


def test_values_are_normalised_as_go_marshals_them() -> None:
    """Times come back in UTC (seconds for Time, microseconds for MicroTime); nulls vanish."""
    lease = _decode(
        LEASE,
        {
            "metadata": {"creationTimestamp": "2024-01-01T02:00:00.123+02:00"},
            "spec": {"renewTime": "2024-01-01T02:00:00.000001+02:00", "holderIdentity": None},
        },
        "Lease",
    )
    assert lease["metadata"]["creationTimestamp"] == "2024-01-01T00:00:00Z"
    assert lease["spec"] == {"renewTime": "2024-01-01T00:00:00.000001Z"}


def test_quantities_and_int_or_string_accept_what_go_accepts() -> None:
    """A number or a string for quantities; an integer or a string for IntOrString."""
    pod = {
        "spec": {
            "containers": [
                {
                    "resources": {"requests": {"cpu": 0.5, "memory": "64Mi"}},
                    "livenessProbe": {"httpGet": {"port": "http"}},
                    "readinessProbe": {"httpGet": {"port": 8080}},
                }
            ]
        }
    }
    assert _decode(POD, pod, "Pod") is pod
    with pytest.raises(builtin_decode.DecodeError, match="suffix"):
        builtin_decode.check_quantity("5kk")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2024-13-01T00:00:00Z", 'parsing time "2024-13-01T00:00:00Z": month out of range'),
        ("2024-01-01 00:00:00Z", 'cannot parse " 00:00:00Z" as "T"'),
        ("2024-01-01T00:00:00", 'cannot parse "" as "Z07:00"'),
        ("2024-01-01T00:00:00Zjunk", 'parsing time "2024-01-01T00:00:00Zjunk": extra text: "junk"'),
    ],
)
def test_time_parse_errors(value: str, message: str) -> None:
    """Go's time.Parse messages for the common mistakes."""
    with pytest.raises(builtin_decode.DecodeError) as caught:
        builtin_decode.parse_time(value, micro=False)
    assert message in str(caught.value)
