"""Revisions as Flux writes them: what identifies one, and what a manifest can hold.

An app object reports its revision in the format of the controller that wrote it:

- **Flux source revisions** (kustomize-controller's ``lastAppliedRevision``, every Flux event's
  ``revision`` metadata), built by fluxcd/pkg ``git.Commit.String`` and source-controller:
  ``<ref>@<algorithm>:<digest>`` (``main@sha1:<40 hex>``, ``v1.0.1@sha1:…``,
  ``refs/heads/main@sha1:…``, an OCI ``latest@sha256:<64 hex>``) or ``<algorithm>:<digest>``
  alone (a commit checked out by ``ref.commit``, an OCI digest, a Bucket). Flux before 2.0 wrote
  ``<branch>/<40 hex>``, which Flux itself still reads (``git.TransformRevision``).
- **helm-controller chart versions**: the chart's SemVer, to which helm-controller appends the
  first 12 hex digits of the OCI digest (``6.6.1+0cc9a8446c95``) for charts from an
  OCIRepository, and source-controller the commit for the ``Revision`` reconcile strategy.

Two questions, two answers:

- ``identity``: what environments are compared on. For a Flux source revision it is the content,
  ``<algorithm>:<digest>``: ``main@sha1:X``, ``v1.0.1@sha1:X`` and ``sha1:X`` are the same tree,
  whichever reference points at it. Everything else is compared whole: ``6.6.1+0cc9a8446c95``
  and ``6.6.1+3f8a1b2c4d5e`` are different artifacts behind one mutable tag.
- ``promotable``: the value written into manifests at a ``$promotion`` marker: the chart version
  without its ``+…`` build metadata for a HelmRelease (a chart version constraint and an OCI tag
  cannot hold it); the tag for ``<tag>@…``; the commit for ``<branch>@sha1:<commit>``; an OCI
  digest as ``sha256:<hex>``. A short Git reference does not say whether it names a tag or a
  branch (Flux writes both as ``<name>@sha1:…``): a name that reads as a version
  (``v1.0.1``, ``1.2``, ``6.6.1-rc.1``) is taken as a tag, any other as a branch. Write
  ``refs/tags/…`` or ``refs/heads/…`` in the GitRepository's ``ref.name`` to leave no doubt.

Pure functions of strings; nothing here reads a cluster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

HELM_RELEASE: Final = "HelmRelease"

# Digest lengths in hex digits: Git object names (sha1, sha256) and OCI content digests.
_HEX_LENGTHS: Final = {"sha1": 40, "sha256": 64, "sha384": 96, "sha512": 128, "blake3": 64}
_GIT: Final = frozenset({"sha1"})  # Flux source revisions of Git repositories
_HEX: Final = re.compile(r"[0-9a-f]+")
_VERSION: Final = re.compile(r"v?\d+(\.\d+)*([-+_][0-9A-Za-z.+_-]*)?")
_TAGS: Final = "refs/tags/"


@dataclass(frozen=True)
class FluxRevision:
    """A Flux source revision: an optional reference and a content digest."""

    ref: str  # "" for a bare digest; "main", "v1.0.1", "refs/heads/main", "latest", ...
    algorithm: str  # sha1 (a Git commit), sha256, sha384, sha512 or blake3
    digest: str  # lowercase hex

    @property
    def content(self) -> str:
        """``<algorithm>:<digest>``: what identifies the revision."""
        return f"{self.algorithm}:{self.digest}"


def _digest(text: str) -> tuple[str, str] | None:
    algorithm, colon, digest = text.partition(":")
    expected = _HEX_LENGTHS.get(algorithm)
    if not colon or expected is None or len(digest) != expected or not _HEX.fullmatch(digest):
        return None
    return algorithm, digest


def parse(raw: str) -> FluxRevision | None:
    """``raw`` as a Flux source revision, or ``None`` when it is not one (a chart version...)."""
    ref, at, rest = raw.rpartition("@")
    found = _digest(rest if at else raw)
    if found is not None:
        return FluxRevision(ref if at else "", *found)
    # Flux < 2.0: "<branch>/<sha1>" (and "HEAD/<sha1>" for a detached checkout).
    branch, slash, commit = raw.rpartition("/")
    if slash and branch and len(commit) == _HEX_LENGTHS["sha1"] and _HEX.fullmatch(commit):
        return FluxRevision("" if branch == "HEAD" else branch, "sha1", commit)
    return None


def identity(raw: str) -> str:
    """What environments are compared on: the content of a Flux source revision, else ``raw``."""
    parsed = parse(raw)
    return parsed.content if parsed is not None else raw


def same(left: str, right: str) -> bool:
    """Whether two revisions are the same artifact (``""`` is the same as nothing but ``""``)."""
    return left == right or (bool(left) and bool(right) and identity(left) == identity(right))


def _is_tag(revision: FluxRevision) -> bool:
    ref = revision.ref
    if ref.startswith(_TAGS):
        return True
    if ref.startswith("refs/"):
        return False
    if revision.algorithm not in _GIT:
        return True  # an OCI artifact: <tag>@sha256:<digest>
    return _VERSION.fullmatch(ref) is not None


def promotable(kind: str, raw: str) -> str:
    """The value a manifest holds for revision ``raw`` of an app of ``kind`` (see module doc)."""
    parsed = parse(raw)
    if parsed is None:
        if kind == HELM_RELEASE:
            return raw.partition("+")[0]
        return raw
    if parsed.ref and _is_tag(parsed):
        return parsed.ref.removeprefix(_TAGS)
    if parsed.algorithm in _GIT:
        return parsed.digest  # a commit: what GitRepository's ref.commit holds
    return parsed.content  # an OCI digest: what OCIRepository's ref.digest holds
