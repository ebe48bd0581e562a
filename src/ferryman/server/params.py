"""Path parameters, checked before any use: what the CRD accepts, and nothing else.

Every route that takes a namespace, pipeline name, environment or revision from its path calls
these first, before authentication, authorization or any read. The rules are Kubernetes' own, so
nothing a Pipeline can be called is refused:

- namespace: a DNS-1123 label (at most 63 characters of ``a-z 0-9 -``, alphanumeric at both ends);
- pipeline name: a DNS-1123 subdomain (at most 253 characters, labels joined by ``.``);
- environment: 1 to 63 characters without control characters (the CRD's ``ShortName``); it is only
  ever looked up among the spec's environments, never put into a URL;
- revision: 1 to 256 characters of ``A-Z a-z 0-9 @ : + / . _ -`` (Flux's ``main@sha1:…``, chart
  versions like ``6.6.1+0cc9…``).

A value that breaks a rule answers 400 with a sentence naming the parameter and the rule, never the
value (it may hold anything a caller typed). So ``?``, ``#``, ``/``, ``%``, NUL or a newline never
reach an adapter, a log line or a response.
"""

from __future__ import annotations

import re
from typing import Final

from ferryman.api import status
from ferryman.server import errors

_LABEL: Final = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_NAMESPACE: Final = re.compile(_LABEL)
_SUBDOMAIN: Final = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_REVISION: Final = re.compile(r"[A-Za-z0-9@:+/._-]+")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_NAMESPACE: Final = 63
MAX_NAME: Final = 253
MAX_ENVIRONMENT: Final = 63


class InvalidParameter(errors.HttpError):
    """A path parameter no Pipeline could have: 400, naming the parameter and its rule."""

    def __init__(self, what: str, rule: str) -> None:
        super().__init__(400, f"the {what} in the path is not valid: {rule}", reason="BadRequest")


def namespace(value: str) -> str:
    """``value`` if it is a namespace name (a DNS-1123 label), else ``InvalidParameter``."""
    if len(value) > MAX_NAMESPACE or not _NAMESPACE.fullmatch(value):
        raise InvalidParameter(
            "namespace",
            "a namespace is at most 63 lowercase letters, digits and '-', "
            "starting and ending with a letter or digit",
        )
    return value


def pipeline_name(value: str) -> str:
    """``value`` if it is an object name (a DNS-1123 subdomain), else ``InvalidParameter``."""
    if len(value) > MAX_NAME or not _SUBDOMAIN.fullmatch(value):
        raise InvalidParameter(
            "pipeline name",
            "a name is at most 253 lowercase letters, digits, '-' and '.', "
            "starting and ending with a letter or digit",
        )
    return value


def environment(value: str) -> str:
    """``value`` if a spec could name an environment so, else ``InvalidParameter``."""
    if not value or len(value) > MAX_ENVIRONMENT or _CONTROL.search(value):
        raise InvalidParameter(
            "environment", "an environment name is 1 to 63 characters without control characters"
        )
    return value


REVISION_RULE: Final = (
    f"a revision is 1 to {status.MAX_REVISION_LENGTH} characters of A-Z a-z 0-9 @ : + / . _ -"
)


def is_revision(value: str) -> bool:
    """Whether ``value`` is a revision Ferryman records (also checked in request bodies)."""
    return len(value) <= status.MAX_REVISION_LENGTH and bool(_REVISION.fullmatch(value))


def revision(value: str) -> str:
    """``value`` if it is a revision Ferryman records, else ``InvalidParameter``."""
    if not is_revision(value):
        raise InvalidParameter("revision", REVISION_RULE)
    return value


def pipeline(params: dict[str, str]) -> tuple[str, str]:
    """The (namespace, name) of a route with ``{namespace}`` and ``{name}``, both checked."""
    return namespace(params["namespace"]), pipeline_name(params["name"])
