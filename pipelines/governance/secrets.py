"""`{secret: NAME}` references: how they are written, found and resolved at run time.

A reference may carry a literal ``prefix`` sent before the value, for vendors whose header is
`Authorization: Klaviyo-API-Key <key>`: ``{secret: KLAVIYO_API_KEY, prefix: "Klaviyo-API-Key "}``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SECRET_NAME_PATTERN = r"^[A-Z][A-Z0-9_]*$"


class SecretRef(BaseModel):
    """A value read at run time from the environment variable ``secret``, after ``prefix``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret: str = Field(pattern=SECRET_NAME_PATTERN, description="Environment variable name.")
    prefix: str = Field(
        default="",
        description='Literal text sent before the value, e.g. "Klaviyo-API-Key ".',
    )


class MissingSecretError(RuntimeError):
    """A source needs environment variables that are not set. Names them, never values."""

    def __init__(self, source: str, names: list[str]) -> None:
        self.source = source
        self.names = names
        plural = "s" if len(names) > 1 else ""
        self.hint = f"set the environment variable{plural} {', '.join(names)} to run this source"
        super().__init__(f"{source}: {self.hint}")


def is_secret_ref(value: Any) -> bool:
    """True for a mapping of the shape ``{secret: NAME}`` or ``{secret: NAME, prefix: TEXT}``."""
    return (
        isinstance(value, Mapping)
        and set(value) in ({"secret"}, {"secret", "prefix"})
        and isinstance(value["secret"], str)
        and isinstance(value.get("prefix", ""), str)
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

    A reference's ``prefix`` comes first: ``{secret: KEY, prefix: "Token "}`` gives
    ``"Token " + $KEY``.

    Raises:
        MissingSecretError: naming every variable that is not set.
    """
    env = os.environ if environ is None else environ
    missing = missing_secrets(value, env)
    if missing:
        raise MissingSecretError(source, missing)
    return _substitute(value, lambda name: env[name])


def mask_secrets(value: Any, placeholder: str = "***") -> Any:
    """Return a copy of ``value`` with every ``{secret: NAME}`` replaced by ``placeholder``.

    A reference's ``prefix`` is kept: it is not secret, and it shows what will be sent.
    """
    return _substitute(value, lambda _name: placeholder)


def _substitute(value: Any, lookup: Any) -> Any:
    if is_secret_ref(value):
        return value.get("prefix", "") + lookup(value["secret"])
    if isinstance(value, Mapping):
        return {k: _substitute(v, lookup) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, lookup) for v in value]
    return value
