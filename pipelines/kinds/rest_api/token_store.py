"""Where rotated OAuth2 refresh tokens are kept between runs: one private file per source.

A vendor that rotates refresh tokens answers each refresh with a new one and invalidates the
old. The environment variable the source names only seeds the store: after the first refresh
the store holds the token to use, and a run that lost it would need IT to issue a new one.

- The folder is `$SOURCEGATE_TOKEN_STORE`, else `oauth2_tokens/` in the configured warehouse's
  state folder (`pipelines.settings.token_store_dir`); created 0700.
- One JSON file per source and OAuth2 client, `<source>.<client fingerprint>.json`, mode 0600
  from its creation (a temporary file renamed over the old one: a crash never leaves half a
  token, and the file is never readable by others, not even for a moment).
- A refresh holds the source's lock file (an flock, released by the kernel if the process dies)
  from reading the token to saving its successor, so two processes refreshing at once cannot
  both spend the same token or lose the rotated one.
- The file records the sha256 of the environment's token it was seeded from. When IT sets a
  different token in the environment (a new one after the stored one was revoked), the
  environment's wins and seeds the store again; while the environment keeps the original seed,
  the stored token wins.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipelines.runtime.failures import ExplainedError

LOCK_TIMEOUT = 600.0  # a refresh waits this long for another process's refresh of the source
_POLL_SECONDS = 0.05
# flock excludes other processes; threads of this one wait on these first (one per lock file)
_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def fingerprint(value: str) -> str:
    """The sha256 of ``value`` in hex: identifies a token or client id without revealing it."""
    return hashlib.sha256(value.encode()).hexdigest()


def default_store() -> TokenStore:
    """The store `$SOURCEGATE_TOKEN_STORE` names, else the configured warehouse's."""
    from pipelines.runtime.warehouse import configured_warehouse
    from pipelines.settings import token_store_dir

    return TokenStore(token_store_dir(configured_warehouse().state_dir))


class TokenStoreError(ExplainedError):
    """The store cannot be read, written or locked; the message names the file, never a token."""


@dataclass(repr=False)  # a repr would show the token
class Refresh:
    """One refresh under the source's lock: ``token`` is the refresh token to send now."""

    token: str
    _store: TokenStore
    _path: Path
    _record: dict[str, str]
    _stored: dict[str, str] | None

    def save(self, token: str) -> None:
        """Keep ``token`` (the one the server returned, or the one sent) for later runs.

        Written only when the file does not hold it yet.
        """
        record = {**self._record, "refresh_token": token}
        if self._stored is None or any(self._stored.get(k) != v for k, v in record.items()):
            record["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            self._store.write(self._path, record)


@dataclass(frozen=True)
class TokenStore:
    """A folder of per-source refresh-token files."""

    folder: Path

    def path_for(self, source: str, client_id: str) -> Path:
        """The file of ``source`` with this OAuth2 client (another client never reuses it)."""
        return self.folder / f"{source}.{fingerprint(client_id)[:16]}.json"

    @contextlib.contextmanager
    def refreshing(
        self, source: str, client_id: str, seed: str, timeout: float = LOCK_TIMEOUT
    ) -> Iterator[Refresh]:
        """Hold ``source``'s lock for one refresh; yields the token to use and a way to save.

        ``seed`` is the environment's refresh token: the stored token is used while the file
        was seeded from it, ``seed`` itself otherwise.

        Raises:
            TokenStoreError: when the folder or file cannot be used, or the lock stays taken.
        """
        path = self.path_for(source, client_id)
        with _thread_lock(path), self._file_lock(path.with_suffix(".lock"), timeout):
            stored = self.read(path) if path.exists() else None
            seeded = fingerprint(seed)
            current = seed
            if stored and stored.get("seed_sha256") == seeded and stored.get("refresh_token"):
                current = stored["refresh_token"]
            record = {"source": source, "seed_sha256": seeded, "refresh_token": current}
            yield Refresh(current, self, path, record, stored)

    def read(self, path: Path) -> dict[str, str]:
        """The record in ``path``.

        Raises:
            TokenStoreError: when it is not a JSON object (the message never quotes it).
        """
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise TokenStoreError(
                f"the OAuth2 token store file {path} cannot be read ({type(exc).__name__}); "
                "delete it and set a newly issued refresh token in the environment"
            ) from None
        if not isinstance(record, dict):
            raise TokenStoreError(f"the OAuth2 token store file {path} is not a JSON object")
        return record

    def write(self, path: Path, record: dict[str, str]) -> None:
        """Replace ``path`` with ``record`` atomically; the file is 0600 from its creation.

        Raises:
            TokenStoreError: when the folder is not writable (a full disk, a read-only mount).
        """
        # mkstemp creates the file 0600; os.replace swaps it in whole
        try:
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        except OSError as exc:
            raise _write_error(path, exc) from None
        try:
            with os.fdopen(handle, "w") as out:
                json.dump(record, out, indent=2)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
            _fsync_folder(path.parent)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise _write_error(path, exc) from None

    @contextlib.contextmanager
    def _file_lock(self, path: Path, timeout: float) -> Iterator[None]:
        self._make_folder()
        try:
            handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise TokenStoreError(
                f"cannot open the OAuth2 token store lock {path}: {exc.strerror}"
            ) from None
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise TokenStoreError(
                            f"another process kept the OAuth2 token lock {path} for "
                            f"{timeout:.0f}s; run again once its refresh is over"
                        ) from None
                    time.sleep(_POLL_SECONDS)
            yield
        finally:
            os.close(handle)  # closing releases the flock

    def _make_folder(self) -> None:
        try:
            if not self.folder.exists():
                self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise TokenStoreError(
                f"cannot create the OAuth2 token store folder {self.folder}: {exc.strerror}; "
                "set SOURCEGATE_TOKEN_STORE to a writable folder"
            ) from None


@contextlib.contextmanager
def _thread_lock(path: Path) -> Iterator[None]:
    with _THREAD_LOCKS_GUARD:
        lock = _THREAD_LOCKS.setdefault(str(path), threading.Lock())
    with lock:
        yield


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (the new name survives a power cut)."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _write_error(path: Path, exc: OSError) -> TokenStoreError:
    return TokenStoreError(
        f"cannot save the rotated OAuth2 refresh token to {path}: {exc.strerror}; the server "
        "has already replaced the old one, so free the folder (or point SOURCEGATE_TOKEN_STORE "
        "elsewhere) and set a newly issued refresh token in the environment"
    )
