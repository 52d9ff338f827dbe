"""Sourcegate rule: every credential dlt's REST auth needs comes from a `{secret: NAME}`.

dlt fills a credential the config leaves out from its own providers (environment variables
such as `SOURCES__REST_API__<NAME>__CREDENTIALS__API_KEY`, `.dlt/secrets.toml`). That is a side
door around `{secret: NAME}`: `auth: api_key` or `auth: {type: bearer}` would validate here and
then pick up whatever the runner's environment holds. So each such gap is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pipelines.kinds.base import PathT, Problem
from pipelines.kinds.rest_api.dlt_schema import dotted

RULE = "sourcegate rule: every credential comes from a {secret: NAME}"
# The settings dlt resolves for each auth type, and which of them are secrets.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "bearer": ("token",),
    "api_key": ("api_key",),
    "http_basic": ("username", "password"),
    "oauth2_client_credentials": ("access_token_url", "client_id", "client_secret"),
}
SECRET_FIELDS = {"token", "api_key", "password", "client_secret"}
_EXAMPLES = {
    "bearer": "{type: bearer, token: {secret: NAME}}",
    "api_key": "{type: api_key, name: X-API-Key, api_key: {secret: NAME}}",
    "http_basic": "{type: http_basic, username: ana, password: {secret: NAME}}",
    "oauth2_client_credentials": (
        "{type: oauth2_client_credentials, access_token_url: https://..., "
        "client_id: {secret: ID}, client_secret: {secret: NAME}}"
    ),
}


def auth_problems(config: dict[str, Any]) -> list[Problem]:
    """One problem per `auth:` that leaves a credential for dlt to look up on its own."""
    problems: list[Problem] = []
    for path, auth in _auth_blocks(config):
        problem = _auth_problem(path, auth)
        if problem:
            problems.append((path, problem))
    return problems


def _auth_blocks(config: dict[str, Any]) -> Iterator[tuple[PathT, Any]]:
    client = config.get("client")
    if isinstance(client, dict) and client.get("auth") is not None:
        yield ("rest_api", "client", "auth"), client["auth"]
    defaults = config.get("resource_defaults")
    endpoint = defaults.get("endpoint") if isinstance(defaults, dict) else None
    if isinstance(endpoint, dict) and endpoint.get("auth") is not None:
        yield ("rest_api", "resource_defaults", "endpoint", "auth"), endpoint["auth"]
    for index, resource in enumerate(config.get("resources") or []):
        endpoint = resource.get("endpoint") if isinstance(resource, dict) else None
        if isinstance(endpoint, dict) and endpoint.get("auth") is not None:
            yield ("rest_api", "resources", index, "endpoint", "auth"), endpoint["auth"]


def _auth_problem(path: PathT, auth: Any) -> str | None:
    where = dotted(path)
    if isinstance(auth, str):
        if auth not in REQUIRED_FIELDS:
            return None  # an unknown type: dlt's own message names the known ones
        return (
            f"{where}: the shorthand '{auth}' names no credential, so dlt would look one up in "
            f"its own environment variables; write auth: {_EXAMPLES[auth]} ({RULE})"
        )
    if not isinstance(auth, dict):
        return None
    kind = auth.get("type", "bearer")
    if kind not in REQUIRED_FIELDS:
        return None
    missing = [name for name in REQUIRED_FIELDS[kind] if auth.get(name) in (None, "")]
    if missing:
        names = ", ".join(missing)
        return (
            f"{where}: {kind} auth has no {names}, so dlt would look it up in its own "
            f"environment variables; write auth: {_EXAMPLES[kind]} ({RULE})"
        )
    wrong = [
        name
        for name in REQUIRED_FIELDS[kind]
        if name in SECRET_FIELDS and not isinstance(auth[name], str) and not _is_ref(auth[name])
    ]
    if wrong:
        return f"{where}.{wrong[0]}: write it as {{secret: NAME}} ({RULE})"
    return None


def _is_ref(value: Any) -> bool:
    """Any mapping with a `secret:` key (optionally with `prefix:`) is a secret reference."""
    return isinstance(value, dict) and "secret" in value
