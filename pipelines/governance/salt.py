"""The salt of PII hashes: one per warehouse, so the same value hashes alike in every source."""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import time
from pathlib import Path

from pipelines.governance.secrets import MissingSecretError
from pipelines.settings import state_root

SALT_ENV = "SOURCEGATE_PII_SALT"
MAKE_SALT = 'python -c "import secrets; print(secrets.token_hex(32))"'


class MissingSaltError(MissingSecretError):
    """A warehouse that is not a DuckDB file, and no `$SOURCEGATE_PII_SALT`."""

    def __init__(self) -> None:
        super().__init__("sourcegate", [SALT_ENV])
        self.hint = (
            f"set {SALT_ENV}: a warehouse that is not a DuckDB file needs one PII salt, shared "
            "by every machine that loads into it and kept in your secret store (a salt file "
            f"beside one runner would hash differently on the next); make one with `{MAKE_SALT}`"
        )
        self.args = (self.hint,)


def load_salt(state_dir: Path, create: bool = True) -> bytes:
    """The PII salt: `$SOURCEGATE_PII_SALT`, else (DuckDB only) a random one kept beside it.

    The local fallback keeps hashes stable for one DuckDB warehouse without putting a salt in
    git. ``state_dir`` is the warehouse's `Warehouse.state_dir`; another warehouse's lies in
    `$SOURCEGATE_STATE_DIR`, and there the variable is required. With ``create=False`` a
    missing salt file gives a throwaway salt instead of writing one.

    Raises:
        MissingSaltError: for a warehouse other than a DuckDB file, when the variable is unset.
    """
    configured = os.environ.get(SALT_ENV)
    if configured:
        return configured.encode()
    if not keeps_file_salt(state_dir):
        raise MissingSaltError()
    salt_file = state_dir / "pii_salt"
    if not salt_file.exists() and not create:
        return secrets.token_hex(32).encode()
    if not salt_file.exists():
        _create_salt_file(salt_file)
    return _read_salt(salt_file)


def _create_salt_file(salt_file: Path) -> None:
    """Write a new salt unless another thread or process got there first.

    The salt is written whole to a file of its own, then linked into place: the link fails if
    the file exists, so everyone reads the one salt kept, and nobody reads it half-written.
    """
    salt_file.parent.mkdir(parents=True, exist_ok=True)
    salt = secrets.token_hex(32)
    draft = salt_file.with_name(f".pii_salt.{os.getpid()}.{threading.get_ident()}")
    _write_new(draft, salt)
    try:
        os.link(draft, salt_file)
    except FileExistsError:
        pass  # the salt another writer kept is the salt
    except OSError:  # no hard links here (some network and FAT mounts): create exclusively
        with contextlib.suppress(FileExistsError):
            _write_new(salt_file, salt)
    finally:
        draft.unlink(missing_ok=True)


def _write_new(path: Path, text: str) -> None:
    """Create ``path`` (owner-only) and write ``text``; FileExistsError if it exists."""
    with os.fdopen(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "w") as out:
        out.write(text)


def _read_salt(salt_file: Path) -> bytes:
    """The kept salt; waits briefly while an exclusive create (no hard links) is writing it."""
    for _ in range(50):
        salt = salt_file.read_text().strip()
        if len(salt) >= 32:
            return salt.encode()
        time.sleep(0.02)
    return salt.encode()


def keeps_file_salt(state_dir: Path) -> bool:
    """Whether ``state_dir`` belongs to a DuckDB file, the only warehouse with a salt file.

    A DuckDB warehouse's state lies beside its file; every other warehouse's lies directly in
    `$SOURCEGATE_STATE_DIR` (see `Warehouse.state_dir`). A DuckDB file kept directly in that
    folder is taken for the other kind too, which asks for the variable: the safe side.
    """
    return state_dir.resolve().parent != state_root().resolve()
