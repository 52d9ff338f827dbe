"""The salt of PII hashes: one per warehouse, so the same value hashes alike in every source."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SALT_ENV = "SOURCEGATE_PII_SALT"


def load_salt(state_dir: Path, create: bool = True) -> bytes:
    """The PII salt: `$SOURCEGATE_PII_SALT`, else a random one kept beside the warehouse.

    The local fallback keeps hashes stable for one warehouse without putting a salt in git.
    Production deployments set the environment variable from their secret store. With
    ``create=False`` a missing salt file gives a throwaway salt instead of writing one.
    """
    configured = os.environ.get(SALT_ENV)
    if configured:
        return configured.encode()
    salt_file = state_dir / "pii_salt"
    if not salt_file.exists() and not create:
        return secrets.token_hex(32).encode()
    if not salt_file.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        salt_file.write_text(secrets.token_hex(32))
        salt_file.chmod(0o600)
    return salt_file.read_text().strip().encode()
