"""Name, label and annotation syntax, with k8s.io/apimachinery ``pkg/util/validation`` wording.

Each function returns the list of messages Go's counterpart returns (empty when valid), so a
caller turns each into one ``field.Invalid`` cause, as ``ValidateObjectMeta`` does.
"""

from __future__ import annotations

import re

_DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = _DNS1123_LABEL + r"(\." + _DNS1123_LABEL + ")*"
_DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = "(" + _QUALIFIED_NAME + ")?"
_QUALIFIED_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character"
)


def _regex_error(message: str, pattern: str, *examples: str) -> str:
    """``validation.RegexError``: the message, examples and the regular expression."""
    shown = ",  or ".join(f"'{e}'" for e in examples)
    return f"{message} (e.g. {shown}, regex used for validation is '{pattern}')"


def _max_len(limit: int) -> str:
    return f"must be no more than {limit} characters"


def dns1123_label_problems(value: str) -> list[str]:
    """``IsDNS1123Label``."""
    problems = []
    if len(value) > 63:
        problems.append(_max_len(63))
    if not re.fullmatch(_DNS1123_LABEL, value):
        if re.fullmatch(_DNS1123_SUBDOMAIN, value):
            problems.append("must not contain dots")
        else:
            problems.append(
                _regex_error(
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                    "characters or '-', and must start and end with an alphanumeric character",
                    _DNS1123_LABEL,
                    "my-name",
                    "123-abc",
                )
            )
    return problems


def subdomain_problems(value: str) -> list[str]:
    """``IsDNS1123Subdomain``."""
    problems = []
    if len(value) > 253:
        problems.append(_max_len(253))
    if not re.fullmatch(_DNS1123_SUBDOMAIN, value):
        problems.append(
            _regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.', and must start and end with an alphanumeric character",
                _DNS1123_SUBDOMAIN,
                "example.com",
            )
        )
    return problems


def dns1035_label_problems(value: str) -> list[str]:
    """``IsDNS1035Label`` (Service names)."""
    problems = []
    if len(value) > 63:
        problems.append(_max_len(63))
    if not re.fullmatch(_DNS1035_LABEL, value):
        problems.append(
            _regex_error(
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                "start with an alphabetic character, and end with an alphanumeric character",
                _DNS1035_LABEL,
                "my-name",
                "abc-123",
            )
        )
    return problems


def path_segment_problem(name: str) -> str:
    """``ValidatePathSegmentName`` (RBAC object names): the first problem, or ""."""
    if name in (".", ".."):
        return f"may not be '{name}'"
    for char in ("/", "%"):
        if char in name:
            return f"may not contain '{char}'"
    return ""


def qualified_name_problems(value: str) -> list[str]:
    """``IsQualifiedName`` (label and annotation keys, reporting controllers)."""
    problems: list[str] = []
    parts = value.split("/")
    if len(parts) > 2:
        return [
            "a qualified name "
            + _regex_error(_QUALIFIED_MSG, _QUALIFIED_NAME, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            problems.append("prefix part must be non-empty")
        else:
            problems.extend("prefix part " + p for p in subdomain_problems(prefix))
    if not name:
        problems.append("name part must be non-empty")
    elif len(name) > 63:
        problems.append("name part " + _max_len(63))
    if not re.fullmatch(_QUALIFIED_NAME, name):
        problems.append(
            "name part "
            + _regex_error(_QUALIFIED_MSG, _QUALIFIED_NAME, "MyName", "my.name", "123-abc")
        )
    return problems


def label_value_problems(value: str) -> list[str]:
    """``IsValidLabelValue``."""
    problems = []
    if len(value) > 63:
        problems.append(_max_len(63))
    if not re.fullmatch(_LABEL_VALUE, value):
        problems.append(
            _regex_error(
                "a valid label must be an empty string or consist of alphanumeric characters, "
                "'-', '_' or '.', and must start and end with an alphanumeric character",
                _LABEL_VALUE,
                "MyValue",
                "my_value",
                "12345",
            )
        )
    return problems
