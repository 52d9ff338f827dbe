"""Sourcegate rule: every credential dlt's REST auth needs comes from a `{secret: NAME}`.

dlt fills a credential the config leaves out from its own providers (environment variables
such as `SOURCES__REST_API__<NAME>__CREDENTIALS__API_KEY`, `.dlt/secrets.toml`). That is a side
door around `{secret: NAME}`: `auth: api_key` or `auth: {type: bearer}` would validate here and
then pick up whatever the runner's environment holds. So each such gap is refused.

`oauth2_refresh_token` is sourcegate's own type (`oauth2`), so its block is checked here in
full: known keys only, an https token URL, and each credential a `{secret: NAME}`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from pipelines.governance.secrets import is_secret_ref
from pipelines.kinds.base import PathT, Problem
from pipelines.kinds.rest_api.dlt_schema import dotted

RULE = "sourcegate rule: every credential comes from a {secret: NAME}"
# The settings dlt resolves for each auth type, and which of them are secrets.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "bearer": ("token",),
    "api_key": ("api_key",),
    "http_basic": ("username", "password"),
    "oauth2_client_credentials": ("access_token_url", "client_id", "client_secret"),
    "oauth2_refresh_token": ("token_url", "client_id", "client_secret", "refresh_token"),
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
    "oauth2_refresh_token": (
        "{type: oauth2_refresh_token, token_url: https://..., client_id: {secret: ID}, "
        "client_secret: {secret: SECRET}, refresh_token: {secret: REFRESH_TOKEN}}"
    ),
}
REFRESH_TOKEN_TYPE = "oauth2_refresh_token"
_REFRESH_TOKEN_SECRETS = ("client_id", "client_secret", "refresh_token")
_REFRESH_TOKEN_OPTIONAL = ("scopes", "client_auth", "token_request_params")
_REFRESH_TOKEN_KEYS = ("type", *REQUIRED_FIELDS[REFRESH_TOKEN_TYPE], *_REFRESH_TOKEN_OPTIONAL)
_CLIENT_AUTH = ("body", "basic")
# plain http is for loopback test servers only: a token endpoint gets the client secret
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def auth_problems(config: dict[str, Any]) -> list[Problem]:
    """One problem per `auth:` that leaves a credential for dlt to look up on its own."""
    problems: list[Problem] = []
    for path, auth in auth_blocks(config):
        if is_refresh_token_auth(auth):
            problems.extend(refresh_token_problems(path, auth))
            continue
        problem = _auth_problem(path, auth)
        if problem:
            problems.append((path, problem))
    return problems


def is_refresh_token_auth(auth: Any) -> bool:
    """True for a mapping `auth:` block of type `oauth2_refresh_token`."""
    return isinstance(auth, dict) and auth.get("type") == REFRESH_TOKEN_TYPE


def auth_blocks(config: dict[str, Any]) -> Iterator[tuple[PathT, Any]]:
    """Each `auth:` of a `rest_api:` block (client, resource defaults, resources) and its path."""
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


def refresh_token_problems(path: PathT, auth: dict[str, Any]) -> list[Problem]:
    """What is wrong in an `oauth2_refresh_token` block, each at the key to fix."""
    where = dotted(path)
    problems: list[Problem] = []
    for key in auth:
        if key not in _REFRESH_TOKEN_KEYS:
            close = difflib.get_close_matches(str(key), _REFRESH_TOKEN_KEYS, n=1, cutoff=0.6)
            hint = (
                f"did you mean '{close[0]}'?"
                if close
                else f"known: {', '.join(_REFRESH_TOKEN_KEYS)}"
            )
            problems.append(((*path, key), f"{where}: unknown key '{key}'; {hint}"))
    missing = [name for name in REQUIRED_FIELDS[REFRESH_TOKEN_TYPE] if auth.get(name) in (None, "")]
    if missing:
        example = _EXAMPLES[REFRESH_TOKEN_TYPE]
        problems.append(
            (
                path,
                f"{where}: oauth2_refresh_token auth needs {', '.join(missing)}; "
                f"write auth: {example}",
            )
        )
    url = auth.get("token_url")
    if url not in (None, "") and not _secure_url(url):
        problems.append(
            (
                (*path, "token_url"),
                f"{where}.token_url: write the token endpoint as an https:// URL (it receives the "
                "client secret and refresh token; plain http only for 127.0.0.1 or localhost)",
            )
        )
    for name in _REFRESH_TOKEN_SECRETS:
        value = auth.get(name)
        if value not in (None, "") and not (is_secret_ref(value) and not value.get("prefix")):
            problems.append(
                ((*path, name), f"{where}.{name}: write it as {{secret: NAME}} ({RULE})")
            )
    problems.extend(_optional_problems(path, auth))
    return problems


def _optional_problems(path: PathT, auth: dict[str, Any]) -> list[Problem]:
    where = dotted(path)
    problems: list[Problem] = []
    scopes = auth.get("scopes")
    if scopes is not None and not (
        isinstance(scopes, str)
        or (isinstance(scopes, list) and all(isinstance(s, str) for s in scopes))
    ):
        problems.append(
            ((*path, "scopes"), f"{where}.scopes: a list of scopes, or one space-separated string")
        )
    client_auth = auth.get("client_auth")
    if client_auth is not None and client_auth not in _CLIENT_AUTH:
        problems.append(
            (
                (*path, "client_auth"),
                f"{where}.client_auth: body (client_id and client_secret in the form, the "
                "default) or basic (HTTP Basic auth)",
            )
        )
    params = auth.get("token_request_params")
    if params is not None and not (
        isinstance(params, dict)
        and all(
            isinstance(v, str | int | float | bool) or is_secret_ref(v) for v in params.values()
        )
    ):
        problems.append(
            (
                (*path, "token_request_params"),
                f"{where}.token_request_params: a mapping of form fields to text, numbers or "
                "{secret: NAME}",
            )
        )
    return problems


def _secure_url(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and parts.hostname in _LOOPBACK


def _is_ref(value: Any) -> bool:
    """Any mapping with a `secret:` key (optionally with `prefix:`) is a secret reference."""
    return isinstance(value, dict) and "secret" in value
