"""Git workspaces over the git CLI: a per-repository cache, fetched and reset before each use.

Each (URL, branch) gets one cached working copy: a shallow, single-branch fetch (``--depth=1``)
into ``<cache>/<hash>``, then ``checkout --force`` and ``clean`` so every use starts at the
remote's tip whatever an earlier, perhaps crashed, use left behind. Users of the same working
copy are serialised by a lock.

Every git process runs through ``GitRunner.run``: ``asyncio.create_subprocess_exec`` (the
controller is async) in a new process group, with a clean environment (``HOME`` a private
directory, no system or global config, ``GIT_TERMINAL_PROMPT=0``, ``LC_ALL=C``) and a timeout
after which the whole group is killed — a hanging git (or its ssh/remote-https child) never holds
a worker beyond it. Credentials reach git only through ``adapters.gitcredentials``; errors are
classified from git's messages into ``PermanentError``/``TemporaryError`` and scrubbed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import os
import signal
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Final

from ferryman.adapters import gitcredentials
from ferryman.domain import changes, errors, manifests
from ferryman.ports import git

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT: Final = 60.0
# How much history ``find_commit`` searches for an earlier attempt's commit.
SEARCH_DEPTH: Final = 200
YAML_PATHSPECS: Final = ("*.yaml", "*.yml")
_CERTIFICATE: Final = (
    "the server's TLS certificate could not be verified; if a private certificate authority "
    'signed it, put that CA certificate in {source} as "ca.crt"'
)
_REFUSED: Final = "the server refused the credentials in {source}"
# git's and ssh's messages (LC_ALL=C) that mean retrying cannot help: the needle, the reason shown
# in status and what it means. The first needle found decides.
_PERMANENT: Final = (
    (
        "REMOTE HOST IDENTIFICATION HAS CHANGED",
        "HostKeyMismatch",
        'the SSH server\'s host key does not match "known_hosts" in {source}',
    ),
    (
        "Host key verification failed",
        "HostKeyUnknown",
        'the SSH server\'s host key is not in "known_hosts" in {source}',
    ),
    ("server certificate verification failed", "CertificateUnverifiable", _CERTIFICATE),
    ("SSL certificate problem", "CertificateUnverifiable", _CERTIFICATE),
    ("certificate verify failed", "CertificateUnverifiable", _CERTIFICATE),
    ("Authentication failed", "CredentialsInvalid", _REFUSED),
    (
        "could not read Username",
        "CredentialsInvalid",
        "the server asked for credentials and {source} has none for HTTPS "
        '("username"/"password" or "bearerToken")',
    ),
    ("could not read Password", "CredentialsInvalid", _REFUSED),
    ("Permission denied", "CredentialsInvalid", _REFUSED),
    ("HTTP Basic: Access denied", "CredentialsInvalid", _REFUSED),
    ("The requested URL returned error: 401", "CredentialsInvalid", _REFUSED),
    ("The requested URL returned error: 403", "PermissionDenied", "the server refused access"),
    ("Repository not found", "RepositoryNotFound", "the repository was not found"),
    ("The requested URL returned error: 404", "RepositoryNotFound", "the repository was not found"),
    (
        "does not appear to be a git repository",
        "RepositoryNotFound",
        "the repository was not found",
    ),
    ("couldn't find remote ref", "BranchNotFound", "the branch does not exist"),
)
# Lines that explain a failure although no needle names them (ssh's host key sentences).
_EXPLAINING: Final = ("you have requested strict checking", "host key is known for")
# Lines that never explain anything: ssh's banner and git's generic advice.
_NOISE: Final = (
    "@@@",
    "Please make sure you have the correct access rights",
    "and the repository exists.",
)
MAX_DETAIL: Final = 600
_REJECTED: Final = ("[rejected]", "non-fast-forward", "stale info", "fetch first")


@dataclasses.dataclass(frozen=True)
class Completed:
    """A finished git process."""

    returncode: int
    stdout: str
    stderr: str


class GitRunner:
    """Runs the git CLI with a clean environment, a timeout and scrubbed errors."""

    def __init__(
        self,
        *,
        home: Path,
        git_binary: str = "git",
        timeout: float = DEFAULT_TIMEOUT,
        author: git.Author | None = None,
    ) -> None:
        home = home.absolute()  # git runs in the workspace: every path it is given must be absolute
        self._git = git_binary
        self._timeout = timeout
        self._home = home
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        (home / ".gitconfig").touch(mode=0o600)
        self.askpass = gitcredentials.write_askpass(home)
        who = author or git.Author()
        self._base_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "/bin/false",  # replaced when credentials exist; never a prompt
            "SSH_ASKPASS": "/bin/false",
            "LC_ALL": "C",
            "GIT_AUTHOR_NAME": who.name,
            "GIT_AUTHOR_EMAIL": who.email,
            "GIT_COMMITTER_NAME": who.name,
            "GIT_COMMITTER_EMAIL": who.email,
        }

    async def run(
        self,
        *args: str,
        cwd: Path,
        env: Mapping[str, str],
        secrets: Sequence[str],
        stdin: str | None = None,
        check: bool = True,
        what: str = "",
        source: str = "the credentials Secret",
    ) -> Completed:
        """Run ``git <args>``; raise a classified ``PromotionError`` when it fails and ``check``.

        ``env`` adds to the clean base environment (credentials); it never reaches argv.
        """
        process = await asyncio.create_subprocess_exec(
            self._git,
            *args,
            cwd=cwd,
            env={**self._base_env, **env},
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group, so a kill reaches ssh/https helpers
        )
        label = what or f"git {args[0]}"
        try:
            out, err = await asyncio.wait_for(
                process.communicate(stdin.encode("utf-8") if stdin is not None else None),
                self._timeout,
            )
        except TimeoutError as exc:
            raise errors.TemporaryError(
                f"{label} did not finish within {self._timeout:g}s and was stopped",
                reason="GitTimeout",
            ) from exc
        finally:
            if process.returncode is None:  # timed out or cancelled: end the whole group
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        done = Completed(
            returncode=process.returncode if process.returncode is not None else -1,
            stdout=out.decode("utf-8", "replace"),
            stderr=gitcredentials.scrub(err.decode("utf-8", "replace"), secrets),
        )
        log.debug("Ran git command=%s exit=%d", args[0], done.returncode)
        if check and done.returncode != 0:
            raise classify(label, done.stderr, source=source)
        return done


def classify(
    what: str, stderr: str, *, source: str = "the credentials Secret"
) -> errors.PromotionError:
    """The error for a failed git command, from its (already scrubbed) stderr.

    The message keeps the lines that explain the failure (ssh's "REMOTE HOST IDENTIFICATION HAS
    CHANGED", git's "server certificate verification failed", ...) wherever they stand, not
    only git's last words ("Could not read from remote repository"). ``source`` names the
    credentials (``Secret "ns/name"``) in the explanation.
    """
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith(_NOISE)]
    for needle, reason, meaning in _PERMANENT:
        if any(needle in line for line in lines):
            detail = _explaining(lines)
            explained = meaning.format(source=source)
            return errors.PermanentError(f"{what} failed: {explained} ({detail})", reason=reason)
    detail = "; ".join(lines[-3:])[:MAX_DETAIL] or "no message"
    return errors.TemporaryError(f"{what} failed: {detail}", reason="GitFailed")


def _explaining(lines: Sequence[str]) -> str:
    """The lines naming a known failure, in their order, then the last line; bounded."""
    needles = tuple(needle for needle, _, _ in _PERMANENT) + _EXPLAINING
    chosen = [line for line in lines if any(needle in line for needle in needles)]
    if lines and lines[-1] not in chosen:
        chosen.append(lines[-1])
    return "; ".join(chosen)[:MAX_DETAIL]


class Workspace:
    """One cached working copy of ``branch`` of ``url`` (implements ``ports.git.GitWorkspace``)."""

    def __init__(
        self,
        *,
        url: str,
        branch: str,
        path: Path,
        runner: GitRunner,
        env: Mapping[str, str],
        secrets: Sequence[str],
        source: str = "the credentials Secret",
    ) -> None:
        self.url = url
        self.branch = branch
        self.path = path
        self._runner = runner
        self._env = dict(env)
        self._secrets = tuple(secrets)
        self._source = source
        self._remote = gitcredentials.remote_url(url)

    async def _git(self, *args: str, stdin: str | None = None, check: bool = True) -> Completed:
        return await self._runner.run(
            *args,
            cwd=self.path,
            env=self._env,
            secrets=self._secrets,
            stdin=stdin,
            check=check,
            source=self._source,
        )

    async def prepare(self) -> None:
        """Initialise the cache directory on first use, then ``reset``."""
        if not (self.path / ".git").is_dir():
            self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
            await self._git("-c", "init.defaultBranch=ferryman", "init", "-q")
            await self._git("remote", "add", "origin", self._remote)
        await self.reset()

    async def reset(self) -> None:
        # A process killed mid-operation (timeout, crash) can leave git's index lock behind; the
        # workspace lock guarantees nobody else is using this copy, so it is stale.
        (self.path / ".git" / "index.lock").unlink(missing_ok=True)
        await self._fetch(self.branch, depth="--depth=1")
        await self._git("checkout", "-q", "--force", "-B", self.branch, _tracking(self.branch))
        await self._git("clean", "-q", "-ffdx")

    async def _fetch(self, branch: str, *, depth: str) -> None:
        refspec = f"+refs/heads/{branch}:{_tracking(branch)}"
        try:
            await self._git("fetch", "-q", "--no-tags", depth, "origin", refspec)
        except errors.PermanentError as exc:
            if exc.reason == "BranchNotFound":
                where = gitcredentials.scrub(self.url, self._secrets)
                raise errors.PermanentError(
                    f'branch "{branch}" does not exist in {where}', reason="BranchNotFound"
                ) from exc
            raise

    async def set_markers(self, *, token: str, revision: str) -> tuple[str, ...]:
        planned = await self._plan(token, revision)
        return await asyncio.to_thread(self._write, planned)

    async def marker_changes(
        self, *, token: str, revision: str
    ) -> tuple[changes.MarkerChange, ...]:
        planned = await self._plan(token, revision)
        return tuple(
            changes.MarkerChange(path=name, line=line, old=old, new=new)
            for name, result in planned
            for line, old, new in result.changes
        )

    async def _plan(self, token: str, revision: str) -> list[tuple[str, manifests.PatchResult]]:
        listed = await self._git("ls-files", "-z", "--", *YAML_PATHSPECS)
        names = sorted(name for name in listed.stdout.split("\0") if name)
        return await asyncio.to_thread(self._patch_files, names, token, revision)

    def _write(self, planned: Sequence[tuple[str, manifests.PatchResult]]) -> tuple[str, ...]:
        for name, result in planned:
            (self.path / name).write_bytes(result.text.encode("utf-8"))
        return tuple(name for name, _ in planned)

    def _patch_files(
        self, names: Sequence[str], token: str, revision: str
    ) -> list[tuple[str, manifests.PatchResult]]:
        """Each marked file that would change, with its patched text (nothing is written)."""
        marked = False
        changed: list[tuple[str, manifests.PatchResult]] = []
        for name in names:
            file = self.path / name
            if file.is_symlink() or not file.is_file():
                continue  # a link could point outside the repository; manifests are files
            try:
                text = file.read_bytes().decode("utf-8")
            except UnicodeDecodeError:
                continue  # not a UTF-8 manifest, so it cannot carry a marker we wrote
            if not manifests.has_marker(text, token):
                continue
            marked = True
            try:
                result = manifests.set_revision(text, token=token, revision=revision, filename=name)
            except manifests.ManifestError as exc:
                raise errors.PermanentError(str(exc), reason="InvalidMarker") from exc
            if result.changed_lines:
                changed.append((name, result))
        if not marked:
            where = gitcredentials.scrub(self.url, self._secrets)
            raise errors.PermanentError(
                f'no "$promotion" marker for {token} in {where}@{self.branch}',
                reason="MarkerNotFound",
            )
        return changed

    async def commit(self, message: str) -> str:
        await self._git("add", "--update")
        staged = await self._git("diff", "--cached", "--quiet", check=False)
        if staged.returncode == 0:
            raise errors.PermanentError("there is nothing to commit", reason="NothingToCommit")
        await self._git(
            "commit", "-q", "--no-verify", "--cleanup=verbatim", "-F", "-", stdin=message
        )
        return await self.head()

    async def head(self) -> str:
        return (await self._git("rev-parse", "HEAD")).stdout.strip()

    async def push(self, *, branch: str, lease: str | None = None) -> git.PushOutcome:
        ref = f"refs/heads/{branch}"
        args = ["push", "--porcelain", "--no-verify"]
        if lease is not None:
            args.append(f"--force-with-lease={ref}:{lease}")
        done = await self._git(*args, "origin", f"HEAD:{ref}", check=False)
        flags = {line[0] for line in done.stdout.splitlines() if len(line) > 1 and line[1] == "\t"}
        if done.returncode == 0:
            return git.PushOutcome.UP_TO_DATE if flags == {"="} else git.PushOutcome.PUSHED
        if "!" in flags or any(needle in done.stdout + done.stderr for needle in _REJECTED):
            return git.PushOutcome.REJECTED
        raise classify("git push", done.stderr, source=self._source)

    async def remote_tip(self, branch: str) -> str | None:
        ref = f"refs/heads/{branch}"
        listed = await self._git("ls-remote", "origin", ref)
        for line in listed.stdout.splitlines():
            sha, _, name = line.partition("\t")
            if name == ref:
                return sha
        return None

    async def same_change(self, commit: str, *, remote_branch: str, tip: str) -> bool:
        if tip == commit:
            return True
        known = await self._git("cat-file", "-e", f"{tip}^{{commit}}", check=False)
        if known.returncode != 0:
            await self._fetch(remote_branch, depth="--depth=1")
        return await self._tree_and_parents(tip) == await self._tree_and_parents(commit)

    async def _tree_and_parents(self, commit: str) -> list[str]:
        # The raw object keeps its parent lines even where a shallow clone hides the parents.
        raw = (await self._git("cat-file", "commit", commit)).stdout
        header = raw.split("\n\n", 1)[0].splitlines()
        return [line for line in header if line.startswith(("tree ", "parent "))]

    async def find_commit(self, trailers: Mapping[str, str]) -> str | None:
        await self._fetch(self.branch, depth=f"--deepen={SEARCH_DEPTH}")
        listed = await self._git(
            "log",
            f"-n{SEARCH_DEPTH}",
            "--format=%H%x00%(trailers:only,unfold)%x1e",
            _tracking(self.branch),
        )
        wanted = {(key, value) for key, value in trailers.items()}
        for entry in listed.stdout.split("\x1e"):
            sha, _, block = entry.strip().partition("\0")
            found = {
                (key.strip(), value.strip())
                for key, sep, value in (line.partition(":") for line in block.splitlines())
                if sep
            }
            if sha and wanted <= found:
                return sha
        return None


def _tracking(branch: str) -> str:
    return f"refs/remotes/origin/{branch}"


class GitRepositories:
    """Opens cached workspaces (implements ``ports.git.GitWorkspaces``)."""

    def __init__(
        self,
        *,
        cache_dir: Path | None = None,
        git_binary: str = "git",
        timeout: float = DEFAULT_TIMEOUT,
        author: git.Author | None = None,
    ) -> None:
        # Absolute, so the askpass helper, HOME and workspace paths git is given resolve from
        # any working directory (`ferryman up` passes a relative --dir).
        root = (cache_dir or Path(tempfile.mkdtemp(prefix="ferryman-git-"))).absolute()
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._root = root
        self._runner = GitRunner(
            home=root / "home", git_binary=git_binary, timeout=timeout, author=author
        )
        self._locks: dict[Path, asyncio.Lock] = {}

    def path_for(self, url: str, branch: str) -> Path:
        """The cache directory of (``url``, ``branch``): a hash, so no URL text becomes a path."""
        digest = hashlib.sha256(f"{url}\0{branch}".encode()).hexdigest()[:24]
        return self._root / "repos" / digest

    @contextlib.asynccontextmanager
    async def open(
        self, url: str, branch: str, credentials: git.Credentials
    ) -> AsyncIterator[git.GitWorkspace]:
        path = self.path_for(url, branch)
        lock = self._locks.setdefault(path, asyncio.Lock())
        async with lock:
            with gitcredentials.environment(
                url, credentials, askpass=self._runner.askpass
            ) as extra:
                workspace = Workspace(
                    url=url,
                    branch=branch,
                    path=path,
                    runner=self._runner,
                    env=extra,
                    secrets=credentials.secrets(),
                    source=credentials.source,
                )
                await workspace.prepare()
                yield workspace
