"""User impersonation: the ``Impersonate-*`` headers ``kubectl --as/--as-group/--as-uid`` send.

Why: policies are checked by acting as someone else (``kubectl auth can-i … --as alice``,
``kubectl get secrets --as bob``); a real cluster lets a caller do so only when RBAC grants it the
``impersonate`` verb on each identity it asks for, and the embedded server must behave the same
for those commands to mean anything. Checks follow kube-apiserver's ``WithImpersonation`` filter:

- ``Impersonate-User: system:serviceaccount:<ns>:<name>`` needs ``impersonate`` on
  ``serviceaccounts`` ``<name>`` in ``<ns>`` (and implies the service-account groups when no group
  is asked for); any other user name needs ``impersonate`` on ``users`` ``<name>``;
- each ``Impersonate-Group`` needs ``impersonate`` on ``groups`` ``<group>``;
- each ``Impersonate-Extra-<key>`` value needs ``impersonate`` on
  ``userextras/<key>`` (group ``authentication.k8s.io``) named by the value;
- ``Impersonate-Uid`` needs ``impersonate`` on ``uids`` (group ``authentication.k8s.io``);
- groups, extras or a uid without a user are refused (400);
- the resulting user gets ``system:authenticated`` (unless it is ``system:anonymous``).

The first denied check answers 403 with Kubernetes' wording; nothing of the request runs.
"""

from __future__ import annotations

import urllib.parse

from starlette.datastructures import Headers

from ferryman.embedded.apiserver import auth, errors, rbac

USER = "impersonate-user"
GROUP = "impersonate-group"
UID = "impersonate-uid"
EXTRA_PREFIX = "impersonate-extra-"
ANONYMOUS = "system:anonymous"


def requested(headers: Headers) -> bool:
    """Whether the request asks to impersonate anyone (cheap check for the common case)."""
    return any(key.startswith("impersonate-") for key in headers)


def impersonate(headers: Headers, caller: auth.User, authorizer: auth.Authorizer) -> auth.User:
    """The user the request acts as, after checking ``caller`` may impersonate every part of it."""
    name = headers.get(USER, "")
    groups = tuple(headers.getlist(GROUP))
    uid = headers.get(UID, "")
    extra: dict[str, tuple[str, ...]] = {}
    for key, value in headers.items():
        if key.startswith(EXTRA_PREFIX):
            extra_key = urllib.parse.unquote(key[len(EXTRA_PREFIX) :]).lower()
            extra[extra_key] = (*extra.get(extra_key, ()), value)
    if not name:
        raise errors.bad_request(
            "impersonating groups, a uid or user extras requires impersonating a user too "
            "(add the Impersonate-User header, or --as to kubectl)"
        )
    checks: list[auth.Attributes] = []
    sa_namespace, sa_name = _service_account(name)
    if sa_name:
        checks.append(_attributes(caller, "serviceaccounts", name=sa_name, namespace=sa_namespace))
        if not groups:
            groups = rbac.service_account_user(sa_namespace, sa_name).groups
    else:
        checks.append(_attributes(caller, "users", name=name))
    checks.extend(_attributes(caller, "groups", name=group) for group in headers.getlist(GROUP))
    for key, values in extra.items():
        checks.extend(
            _attributes(
                caller,
                "userextras",
                name=value,
                group="authentication.k8s.io",
                subresource=key,
            )
            for value in values
        )
    if uid:
        checks.append(_attributes(caller, "uids", name=uid, group="authentication.k8s.io"))
    for attributes in checks:
        allowed, reason = authorizer(attributes)
        if not allowed:
            raise errors.forbidden(
                auth.forbidden_message(attributes, reason),
                name=attributes.name,
                group=attributes.api_group,
                kind=attributes.resource,
            )
    if name != ANONYMOUS and auth.AUTHENTICATED not in groups:
        groups = (*groups, auth.AUTHENTICATED)
    return auth.User(name, uid, groups, extra)


def _service_account(username: str) -> tuple[str, str]:
    """(namespace, name) of a service-account username, or ("", "") for any other user."""
    if not username.startswith(rbac.SERVICE_ACCOUNT_PREFIX):
        return "", ""
    parts = username[len(rbac.SERVICE_ACCOUNT_PREFIX) :].split(":")
    if len(parts) != 2 or not all(parts):
        return "", ""
    return parts[0], parts[1]


def _attributes(
    caller: auth.User,
    resource: str,
    *,
    name: str,
    namespace: str = "",
    group: str = "",
    subresource: str = "",
) -> auth.Attributes:
    return auth.Attributes(
        user=caller,
        verb="impersonate",
        path="",
        is_resource_request=True,
        api_group=group,
        api_version="v1",
        resource=resource,
        subresource=subresource,
        namespace=namespace,
        name=name,
    )
