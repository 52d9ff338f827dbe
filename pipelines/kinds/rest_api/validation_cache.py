"""`validate`'s record of `rest_api:` blocks that passed dlt's checks, so they are not rebuilt.

dlt's schema check and the offline build (`dlt_schema`, `offline_build`) take ~25 ms a block
and need dlt imported (~1 s). Their outcome depends only on the block as written, the installed
dlt and sourcegate's own checking code, so a block that passed once passes again while those
three are unchanged. Each passed block is kept as one key: a SHA-256 of the block in a canonical
form, dlt's version and a fingerprint of the checking code (`CODE_VERSION` plus a digest of the
modules that do the check). A secret in a block is a `{secret: NAME}` reference, a name and
never a value; a block in which sourcegate sees a literal secret is never recorded at all.

Only blocks without problems are recorded: a block with a problem is checked again on every
run, so its message and line stay exact. dlt's settings from the environment or `.dlt/*.toml`
are not part of the key (the offline build uses dummy secrets and no network; those settings
do not change what it accepts).

The file is `validate_cache.json` in the warehouse's state folder. It is replaced atomically
(a temporary file, then a rename); a missing, unreadable or corrupt file counts as empty and a
file that cannot be written is skipped: the cache never turns into an error. Only
`sourcegate validate` turns it on (`using`); every other caller checks blocks in full.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CACHE_FILE = "validate_cache.json"
# Bump when the deep check changes in a way the digested modules below do not show.
CODE_VERSION = 1
FORMAT = 1
MAX_ENTRIES = 4096
# A key used again is re-stamped (and the file rewritten) at most once a day.
_RESTAMP_SECONDS = 86400
_PACKAGE = Path(__file__).resolve().parent
# The code that decides what dlt is given and how its answer reads.
_CHECK_MODULES = (
    _PACKAGE / "config.py",
    _PACKAGE / "dlt_schema.py",
    _PACKAGE / "offline_build.py",
    _PACKAGE / "oauth2.py",
    _PACKAGE / "auth_rules.py",
    _PACKAGE.parent.parent / "governance" / "secrets.py",
)

_active: ValidationCache | None = None


class ValidationCache:
    """Keys of blocks that passed, loaded from and saved to ``path``."""

    def __init__(self, path: Path, fingerprint: str | None) -> None:
        self.path = path
        self.fingerprint = fingerprint  # None: dlt or the code could not be read; no caching
        self.entries: dict[str, int] = {}
        self._dirty = False
        self._now = int(time.time())

    @classmethod
    def load(cls, path: Path, dlt_version: str | None = None) -> ValidationCache:
        """The cache at ``path``; empty when the file is missing, unreadable or corrupt."""
        cache = cls(path, _fingerprint(dlt_version or _dlt_version()))
        if cache.fingerprint is not None:
            cache.entries = _read_entries(path)
        return cache

    def key(self, block: dict[str, Any]) -> str | None:
        """The key of ``block``; None when it cannot be cached."""
        if self.fingerprint is None:
            return None
        try:
            text = json.dumps(_canonical(block), separators=(",", ":"))
        except (TypeError, ValueError, RecursionError):
            return None
        return hashlib.sha256(f"{self.fingerprint}\n{text}".encode()).hexdigest()

    def passed(self, key: str) -> bool:
        """Whether the block of ``key`` passed before (and stamps it as used now)."""
        stamp = self.entries.get(key)
        if stamp is None:
            return False
        if self._now - stamp > _RESTAMP_SECONDS:
            self.entries[key] = self._now
            self._dirty = True
        return True

    def record(self, key: str, block: dict[str, Any]) -> None:
        """Remember that ``block`` (of ``key``) passed; never one holding a literal secret."""
        from pipelines.governance.secret_scan import find_literal_secrets

        if find_literal_secrets(block):
            return
        self.entries[key] = self._now
        self._dirty = True

    def save(self) -> None:
        """Write the file when something changed, merged with what another run wrote meanwhile."""
        if not self._dirty:
            return
        merged = {**_read_entries(self.path), **self.entries}
        kept = dict(sorted(merged.items(), key=lambda item: item[1])[-MAX_ENTRIES:])
        text = json.dumps({"format": FORMAT, "passed": kept}, separators=(",", ":"))
        with contextlib.suppress(OSError):
            _write_atomically(self.path, text)
        self._dirty = False


def cache_path(state_dir: Path) -> Path:
    """Where `validate` keeps the cache for a warehouse whose state folder is ``state_dir``."""
    return state_dir / CACHE_FILE


def active() -> ValidationCache | None:
    """The cache `validate` turned on, if any."""
    return _active


@contextlib.contextmanager
def using(path: Path) -> Iterator[ValidationCache]:
    """Turn on the cache at ``path`` for the block; save it afterwards."""
    global _active
    previous, _active = _active, ValidationCache.load(path)
    try:
        yield _active
        _active.save()
    finally:
        _active = previous


def _dlt_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dlt")
    except PackageNotFoundError:
        return None


def _fingerprint(dlt_version: str | None) -> str | None:
    if not dlt_version:
        return None
    digest = hashlib.sha256()
    try:
        for module in _CHECK_MODULES:
            digest.update(module.read_bytes())
    except OSError:
        return None
    return f"{FORMAT}:{CODE_VERSION}:{dlt_version}:{digest.hexdigest()}"


def _canonical(value: Any) -> Any:
    """``value`` as JSON that tells apart what YAML tells apart (`1`, `'1'`, `1.0`, a date).

    Texts, whole numbers, booleans and nulls stay themselves; everything else becomes a tagged
    list, so no two different blocks share a form. Key order is kept: a reordered block is a
    new key, which costs one check and can never serve a wrong answer.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return ["float", repr(value)]
    if isinstance(value, list | tuple):
        return ["list", [_canonical(item) for item in value]]
    if isinstance(value, dict):
        return ["map", [[_canonical(key), _canonical(item)] for key, item in value.items()]]
    return [type(value).__qualname__, repr(value)]


def _read_entries(path: Path) -> dict[str, int]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    passed = data.get("passed") if isinstance(data, dict) else None
    if not isinstance(passed, dict) or data.get("format") != FORMAT:
        return {}
    return {k: v for k, v in passed.items() if isinstance(k, str) and type(v) is int}


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
