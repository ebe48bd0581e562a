"""Path parameters: everything the CRD accepts passes, nothing a URL could misread does."""

from __future__ import annotations

import pytest

from ferryman.server import params


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (params.namespace, "default"),
        (params.namespace, "a" * 63),
        (params.namespace, "team-1"),
        (params.pipeline_name, "podinfo"),
        (params.pipeline_name, "web.shop-1"),
        (params.pipeline_name, ".".join(["a" * 63] * 4)[:253].rstrip(".")),
        (params.environment, "prod"),
        (params.environment, "Prod EU (west)"),
        (params.environment, "é" * 63),
        (params.revision, "6.6.1+0cc93d1"),
        (params.revision, "main@sha1:0cc93d1ebc7f"),
        (params.revision, "latest@sha256:" + "f" * 64),
        (params.revision, "v1.2.3-rc.1_build/7"),
    ],
)
def test_what_the_crd_accepts_passes(check: object, value: str) -> None:
    """Kubernetes names, any printable environment name, Flux's revision forms."""
    assert callable(check)
    assert check(value) == value


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (params.namespace, "Default"),
        (params.namespace, "a" * 64),
        (params.namespace, "a.b"),
        (params.namespace, ""),
        (params.pipeline_name, "?"),
        (params.pipeline_name, "podinfo?x"),
        (params.pipeline_name, "a#b"),
        (params.pipeline_name, ".."),
        (params.pipeline_name, "a\x00b"),
        (params.pipeline_name, "a" * 254),
        (params.pipeline_name, "podinfo\n"),
        (params.environment, ""),
        (params.environment, "e" * 64),
        (params.environment, "prod\r"),
        (params.environment, "pr\x1b]8;;x\x07od"),
        (params.environment, "p\x85"),
        (params.revision, ""),
        (params.revision, "1.0 "),
        (params.revision, "1.0\n"),
        (params.revision, "1.0?x"),
        (params.revision, "r" * 257),
    ],
)
def test_anything_else_is_400_without_the_value(check: object, value: str) -> None:
    """400 naming the parameter and its rule; the value itself is never in the message."""
    assert callable(check)
    with pytest.raises(params.InvalidParameter) as raised:
        check(value)
    assert raised.value.status == 400
    assert "in the path is not valid" in raised.value.message
    if value.strip():
        assert value not in raised.value.message
