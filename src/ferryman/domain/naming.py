"""Deterministic names derived from (pipeline, environment, revision).

A promotion may be attempted again after a crash or a failed write (DESIGN §4): the retry must
find what the last attempt made — the same branch, the pull request for that branch, the event
already sent — instead of making a second one. So every name a strategy uses comes from these
pure functions and from nothing else (no clock, no counter, no random suffix).

Branch names are valid Git ref names for any input: characters ``git check-ref-format`` forbids,
and the dot patterns it forbids, are percent-encoded. Kubernetes names never need encoding, so a
branch reads ``ferryman/flux-system/podinfo/prod``; and since the encoding is reversible, distinct
(namespace, pipeline, environment) triples always get distinct branches.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import string
from collections.abc import Sequence
from typing import Final

BRANCH_PREFIX: Final = "ferryman"
MAX_TITLE_LENGTH: Final = 255
# A branch component is a file or directory name under .git/refs; git adds ".lock" while updating
# it, and common filesystems cap a name at 255 bytes.
MAX_BRANCH_COMPONENT: Final = 250
MAX_COMMENT_LENGTH: Final = 200
_ELLIPSIS: Final = "…"
_SAFE: Final = frozenset(string.ascii_letters + string.digits + "-_.")
_HASH_LENGTH: Final = 16


def promotion_branch(namespace: str, pipeline: str, environment: str) -> str:
    """``ferryman/<namespace>/<pipeline>/<environment>``, each part made a valid ref component.

    A part longer than :data:`MAX_BRANCH_COMPONENT` once encoded is cut and ends with ``%%`` and
    a hash of the whole part, which keeps it distinct from every other part in practice.
    """
    parts = (_ref_component(part) for part in (namespace, pipeline, environment))
    return "/".join((BRANCH_PREFIX, *parts))


def original_promotion_branch(namespace: str, pipeline: str, environment: str) -> str:
    """``promotion-<ns>-<pipeline>-<env>``: the head branch of the original pipeline-controller's
    pull requests, so one it left open can be adopted instead of opening a second."""
    return f"promotion-{namespace}-{pipeline}-{environment}"


def pull_request_title(*, pipeline: str, environment: str, revision: str) -> str:
    """``Promote <pipeline> to <environment>: <revision>`` on one line, at most 255 characters."""
    return _bounded(_subject(pipeline, environment, revision), MAX_TITLE_LENGTH)


def event_key(*, pipeline_uid: str, environment: str, revision: str, requested: str = "") -> str:
    """A 16-hex-digit key for one promotion: the same values always give the same key.

    ``requested`` (the record's ``requestedAt``) tells apart two promotions of the same revision
    into the same environment (a rollback to a revision it ran before). The values are joined as
    a JSON array, so no choice of separator inside a value can make two joins the same text.
    """
    parts = [pipeline_uid, environment, revision, *([requested] if requested else [])]
    joined = json.dumps(parts, ensure_ascii=True)
    return hashlib.sha256(joined.encode("ascii")).hexdigest()[:_HASH_LENGTH]


MAX_JOB_NAME: Final = 63  # a Job's name becomes the "job-name" label of its Pods
_LABEL_SAFE: Final = frozenset(string.ascii_lowercase + string.digits + "-")


def check_key(*, pipeline_uid: str, environment: str, revision: str, check: str, run: int) -> str:
    """A 16-hex-digit key for one run of one check of one revision: the webhook's delivery key
    (a retry sends the same one, so a receiver can tell a repeat from a new request)."""
    parts = [pipeline_uid, environment, revision, check, str(run)]
    joined = json.dumps(parts, ensure_ascii=True)
    return hashlib.sha256(joined.encode("ascii")).hexdigest()[:_HASH_LENGTH]


def job_name(*, pipeline: str, environment: str, check: str, key: str) -> str:
    """``<pipeline>-<environment>-<check>-<key[:10]>``, a valid Job name of at most 63
    characters: the readable part is lower-cased, cut and stripped of other characters; the
    key (``check_key``) makes it unique per pipeline, environment, revision, check and run."""
    readable = "-".join(_label_part(part) for part in (pipeline, environment, check))
    readable = readable.strip("-")[: MAX_JOB_NAME - 11].strip("-") or "check"
    return f"{readable}-{key[:10]}"


def _label_part(value: str) -> str:
    lowered = "".join(char if char in _LABEL_SAFE else "-" for char in value.lower())
    return "-".join(piece for piece in lowered.split("-") if piece)


def commit_message(
    *,
    namespace: str,
    pipeline: str,
    environment: str,
    revision: str,
    approvals: Sequence[tuple[str, str]],
    change_digest: str = "",
    value: str | None = None,
) -> str:
    """The promotion commit's message: subject, a short body, then Git trailers.

    ``value`` is what the markers were set to when it differs from ``revision`` (the chart
    version ``6.6.1`` of revision ``6.6.1+0cc9a8446c95``). ``approvals`` are (user, comment)
    pairs. Every user-supplied value is put on one line, so it cannot start a new paragraph or
    forge a trailer, and no line starts with user input (a line starting with ``#`` would be
    dropped by ``git commit``'s default cleanup). The trailers are ``Ferryman-Pipeline``,
    ``Ferryman-Environment``, ``Ferryman-Revision``, one ``Approved-by`` per approval,
    ``Ferryman-Approved-By`` naming them all and ``Ferryman-Change-Digest`` (the digest of the
    change the approvals bound, ``domain.changes``), which keeps the history auditable after
    status has moved on.
    """
    token = _one_line(f"{namespace}:{pipeline}:{environment}")
    written, full = _one_line(value if value is not None else revision), _one_line(revision)
    suffix = "" if written == full else f" (revision {full})"
    body = [f'Ferryman set the "$promotion" markers for {token} to {written}{suffix}.']
    for user, comment in approvals:
        remark = _bounded(_one_line(comment), MAX_COMMENT_LENGTH)
        body.append(f"Approved by {_trailer_value(user)}" + (f": {remark}" if remark else ""))
    trailers = [
        f"Ferryman-Pipeline: {_trailer_value(f'{namespace}/{pipeline}')}",
        f"Ferryman-Environment: {_trailer_value(environment)}",
        f"Ferryman-Revision: {_trailer_value(revision)}",
        *(f"Approved-by: {_trailer_value(user)}" for user, _ in approvals),
    ]
    if approvals:
        names = ", ".join(_trailer_value(user) for user, _ in approvals)
        trailers.append(f"Ferryman-Approved-By: {names}")
    if change_digest:
        trailers.append(f"Ferryman-Change-Digest: {_trailer_value(change_digest)}")
    subject = _subject(pipeline, environment, revision)
    return "\n\n".join((subject, "\n".join(body), "\n".join(trailers))) + "\n"


def _subject(pipeline: str, environment: str, revision: str) -> str:
    return _one_line(f"Promote {pipeline} to {environment}: {revision}")


def _one_line(value: str) -> str:
    """``value`` with line breaks and other non-printable characters replaced by spaces."""
    return "".join(char if char.isprintable() else " " for char in value).strip()


def _trailer_value(value: str) -> str:
    """A single-line, never empty trailer value (an empty one would not parse as a trailer)."""
    return _one_line(value) or "(empty)"


def _bounded(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - len(_ELLIPSIS)] + _ELLIPSIS


def _ref_component(value: str) -> str:
    """``value`` as one component of a ref name that ``git check-ref-format`` accepts.

    Every character outside ``[A-Za-z0-9._-]`` becomes ``%XX`` per UTF-8 byte (so ``%`` itself
    is always encoded and decoding is unambiguous); a dot that would start the component, follow
    another dot, end it, or begin a final ``.lock`` is encoded too. An empty part becomes ``%``.
    Cutting an overlong part happens between characters, never inside one's encoding.
    """
    if not value:
        return "%"
    pieces: list[str] = []
    for char in value:
        if char in _SAFE:
            pieces.append(char)
        else:
            pieces.append("".join(f"%{b:02X}" for b in char.encode("utf-8", "surrogatepass")))
    for index, piece in enumerate(pieces):
        if piece == "." and (index == 0 or pieces[index - 1] == "."):
            pieces[index] = "%2E"
    if pieces[-1] == ".":
        pieces[-1] = "%2E"
    if "".join(pieces[-5:]).lower() == ".lock":
        pieces[-5] = "%2E"
    encoded = "".join(pieces)
    if len(encoded) <= MAX_BRANCH_COMPONENT:
        return encoded
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_LENGTH]
    room = MAX_BRANCH_COMPONENT - len(digest) - 2
    # Lengths of growing prefixes only increase, so counting those that fit gives the prefix.
    fitting = sum(1 for length in itertools.accumulate(map(len, pieces)) if length <= room)
    return "".join(pieces[:fitting]) + "%%" + digest
