"""`{secret: NAME}` references: how they are written, found and resolved at run time."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SECRET_NAME_PATTERN = r"^[A-Z][A-Z0-9_]*$"


class SecretRef(BaseModel):
    """A value read at run time from the environment variable ``secret``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret: str = Field(pattern=SECRET_NAME_PATTERN, description="Environment variable name.")


class MissingSecretError(RuntimeError):
    """A source needs environment variables that are not set. Names them, never values."""

    def __init__(self, source: str, names: list[str]) -> None:
        self.source = source
        self.names = names
        plural = "s" if len(names) > 1 else ""
        self.hint = f"set the environment variable{plural} {', '.join(names)} to run this source"
        super().__init__(f"{source}: {self.hint}")


def is_secret_ref(value: Any) -> bool:
    """True for a mapping of the exact shape ``{secret: NAME}``."""
    return (
        isinstance(value, Mapping) and set(value) == {"secret"} and isinstance(value["secret"], str)
    )


def contains_secret_refs(value: Any) -> set[str]:
    """Names of every ``{secret: NAME}`` anywhere inside ``value``."""
    if is_secret_ref(value):
        return {value["secret"]}
    if isinstance(value, Mapping):
        return set().union(*(contains_secret_refs(v) for v in value.values()))
    if isinstance(value, list | tuple):
        return set().union(*(contains_secret_refs(v) for v in value))
    return set()


def missing_secrets(value: Any, environ: Mapping[str, str] | None = None) -> list[str]:
    """Sorted names referenced in ``value`` that the environment does not provide."""
    env = os.environ if environ is None else environ
    return sorted(name for name in contains_secret_refs(value) if not env.get(name))


def resolve_secrets(value: Any, source: str, environ: Mapping[str, str] | None = None) -> Any:
    """Return a copy of ``value`` with every ``{secret: NAME}`` replaced by its value.

    Raises:
        MissingSecretError: naming every variable that is not set.
    """
    env = os.environ if environ is None else environ
    missing = missing_secrets(value, env)
    if missing:
        raise MissingSecretError(source, missing)
    return _substitute(value, lambda name: env[name])


def mask_secrets(value: Any, placeholder: str = "***") -> Any:
    """Return a copy of ``value`` with every ``{secret: NAME}`` replaced by ``placeholder``."""
    return _substitute(value, lambda _name: placeholder)


def _substitute(value: Any, lookup: Any) -> Any:
    if is_secret_ref(value):
        return lookup(value["secret"])
    if isinstance(value, Mapping):
        return {k: _substitute(v, lookup) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, lookup) for v in value]
    return value
