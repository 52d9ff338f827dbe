"""OAuth2 with a refresh token, declared in YAML, on dlt's auth extension point.

```yaml
auth:
  type: oauth2_refresh_token
  token_url: https://vendor.example/oauth/token
  client_id: {secret: VENDOR_CLIENT_ID}
  client_secret: {secret: VENDOR_CLIENT_SECRET}
  refresh_token: {secret: VENDOR_REFRESH_TOKEN}
  scopes: [read, write]          # optional: a list or one space-separated string
  client_auth: body              # optional: body (default) or basic
  token_request_params: {}       # optional: more form fields for the token request
```

`OAuth2RefreshToken` subclasses dlt's `OAuth2ClientCredentials`: the token request goes through
the same dlt `requests` session (timeouts, retries on 429/5xx), with `grant_type=refresh_token`.
Requests carry `Authorization: Bearer <access token>`. The token is refreshed shortly before
`expires_in` runs out, and once more when the API answers 401 anyway (revoked early, clocks
apart): the request is sent again once with the new token, as requests' digest auth does, and a
second 401 is the API's real answer. A rotated refresh token goes to the token store
(`token_store`) before it is used.

dlt's schema check refuses custom auth written as a mapping, and its message would quote the
refresh token, so the builders put an auth object in the config instead of the mapping:
`with_refresh_token_auth` for runs, `with_offline_auth` for `validate`'s offline build. Tokens
never leave this object and the store: messages carry the status line, the OAuth `error` code
and names of environment variables only.
"""

from __future__ import annotations

import re
import threading
from typing import Annotated, Any

from dlt.common.configuration import configspec
from dlt.common.configuration.specs.base_configuration import NotResolved
from dlt.common.pendulum import pendulum
from dlt.common.typing import TSecretStrValue
from dlt.sources.helpers.rest_client.auth import OAuth2ClientCredentials
from requests import PreparedRequest, Response

from pipelines.kinds.rest_api.auth_rules import REFRESH_TOKEN_TYPE, auth_blocks
from pipelines.kinds.rest_api.token_store import TokenStore, default_store, fingerprint
from pipelines.runtime.failures import ExplainedError

EXPIRY_MARGIN = 60.0  # seconds before expiry to refresh; at most a tenth of the token's lifetime
_OAUTH_ERROR = re.compile(r"^[a-z_]{1,64}$")  # an RFC 6749 error code, nothing a server wrote
_LOCKS: dict[str, threading.Lock] = {}  # one per source and client: threads refresh in turn
_LOCKS_GUARD = threading.Lock()


@configspec
class OAuth2RefreshToken(OAuth2ClientCredentials):
    """OAuth2 `grant_type=refresh_token`, with rotated refresh tokens kept in a `TokenStore`."""

    access_token_url: Annotated[str | None, NotResolved()] = None  # dlt's name: token_url
    token_url: str = None
    refresh_token: TSecretStrValue = None
    scopes: Annotated[str | list[str] | None, NotResolved()] = None
    client_auth: Annotated[str | None, NotResolved()] = "body"
    token_request_params: Annotated[dict[str, Any] | None, NotResolved()] = None
    # set by `with_refresh_token_auth`, never written in YAML (`auth_rules` refuses the keys)
    store: Annotated[Any | None, NotResolved()] = None
    source_name: Annotated[str | None, NotResolved()] = None
    secret_names: Annotated[dict[str, str] | None, NotResolved()] = None

    def __repr__(self) -> str:
        return f"OAuth2RefreshToken(token_url={self.token_url!r}, source={self.source_name!r})"

    __str__ = __repr__

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._fresh_token()}"
        request.register_hook("response", self._resend_after_401)
        return request

    def is_token_expired(self) -> bool:
        """Expired, or about to: within `EXPIRY_MARGIN` or a tenth of its lifetime of the end."""
        lifetime = getattr(self, "token_lifetime", 0.0)
        margin = min(EXPIRY_MARGIN, lifetime / 10)
        return pendulum.now() >= self.token_expiry.subtract(seconds=margin)

    def obtain_token(self) -> None:
        """Trade the current refresh token for an access token, keeping a rotated one.

        Raises:
            ExplainedError: the server refused (`invalid_grant` says IT must issue a new token).
            TokenStoreError: the rotated token could not be kept.
        """
        if not isinstance(self.store, TokenStore) or not self.source_name:
            raise ExplainedError(
                "oauth2_refresh_token auth needs sourcegate's token store; build the source "
                "with sourcegate (pipelines.runtime.build), not with dlt alone"
            )
        with self.store.refreshing(self.source_name, self.client_id, self.refresh_token) as turn:
            answer = self._request_token(turn.token)
            rotated = answer.get("refresh_token")
            # kept before it is used: once the server has it, the old one is spent
            turn.save(str(rotated) if rotated else turn.token)
        self.access_token = str(answer["access_token"])
        lifetime = self.parse_expiration_in_seconds(answer)
        self.token_lifetime = float(lifetime)
        self.token_expiry = pendulum.now().add(seconds=lifetime)

    def parse_expiration_in_seconds(self, response_json: Any) -> int:
        """`expires_in`, else dlt's `default_token_expiration` (also for a value not a number)."""
        try:
            return int(response_json.get("expires_in", self.default_token_expiration))
        except (TypeError, ValueError):
            return self.default_token_expiration

    def build_access_token_request(self, refresh_token: str = "") -> dict[str, Any]:
        """The keyword arguments of the token POST: a form, client credentials as configured."""
        data: dict[str, Any] = {**(self.token_request_params or {})}
        data.update(grant_type="refresh_token", refresh_token=refresh_token)
        if self.scopes:
            data["scope"] = self.scopes if isinstance(self.scopes, str) else " ".join(self.scopes)
        request: dict[str, Any] = {
            "headers": {
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            "data": data,
        }
        if self.client_auth == "basic":
            request["auth"] = (self.client_id, self.client_secret)
        else:
            data.update(client_id=self.client_id, client_secret=self.client_secret)
        return request

    def _fresh_token(self, failed: str | None = None) -> str:
        """The access token to send: the current one unless it expires or is ``failed``."""
        with self._lock():
            current = self.access_token
            if current is None or current == failed or self.is_token_expired():
                self.obtain_token()
            return str(self.access_token)

    def _resend_after_401(self, response: Response, **kwargs: Any) -> Response:
        """A response hook: on a 401, refresh (unless another thread just did) and resend once.

        The resent request goes straight to the connection, past the session's hooks, so its
        own 401 reaches dlt as the API's answer.
        """
        if response.status_code != 401 or response.connection is None:
            return response
        sent = str(response.request.headers.get("Authorization", "")).removeprefix("Bearer ")
        token = self._fresh_token(failed=sent)
        response.content  # noqa: B018 (read it to free the connection for the resend)
        response.close()
        again = response.request.copy()
        again.headers["Authorization"] = f"Bearer {token}"
        resent = response.connection.send(again, **kwargs)
        resent.history.append(response)
        resent.request = again
        return resent

    def _request_token(self, refresh_token: str) -> dict[str, Any]:
        from dlt.sources.helpers.requests import HTTPError

        try:
            response = self.session.post(
                self.token_url, **self.build_access_token_request(refresh_token)
            )
        except HTTPError as exc:  # dlt's session raises for an error status
            response = exc.response
            if response is None:
                raise
        if not response.ok:
            raise self._refusal(response) from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not answer.get("access_token"):
            raise ExplainedError(
                f"the OAuth2 token endpoint of {self.source_name} answered without an "
                "access_token; check token_url against the vendor's documentation"
            )
        return answer

    def _refusal(self, response: Response) -> ExplainedError:
        """The token endpoint's refusal: its status line and OAuth error code, no body text."""
        from pipelines.runtime.failure_reasons import status_line

        code = _oauth_error(response)
        names = self.secret_names or {}
        if code == "invalid_grant":
            return ExplainedError(
                "the OAuth2 server refused the refresh token (invalid_grant): it was revoked, "
                f"expired or already used; IT must issue a new refresh token for "
                f"{self.source_name} and set {names.get('refresh_token', 'its variable')}"
            )
        detail = f" ({code})" if code else ""
        hint = "check token_url, scopes and the client settings"
        if code in ("invalid_client", "unauthorized_client"):
            clients = [names[k] for k in ("client_id", "client_secret") if k in names]
            hint = f"check {' and '.join(clients) or 'the client id and secret'}"
        return ExplainedError(
            f"the OAuth2 token endpoint refused to refresh the access token for "
            f"{self.source_name}: HTTP {status_line(response)}{detail}; {hint}"
        )

    def _lock(self) -> threading.Lock:
        client = fingerprint(str(self.client_id or ""))
        key = f"{getattr(self.store, 'folder', id(self))}|{self.source_name}|{client}"
        with _LOCKS_GUARD:
            return _LOCKS.setdefault(key, threading.Lock())


def _oauth_error(response: Response) -> str | None:
    try:
        code = response.json().get("error")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, str) and _OAUTH_ERROR.match(code) else None


def register() -> None:
    """Make dlt's rest_api know `oauth2_refresh_token` (idempotent; every builder calls it)."""
    from dlt.sources.rest_api.config_setup import AUTH_MAP, register_auth

    if AUTH_MAP.get(REFRESH_TOKEN_TYPE) is not OAuth2RefreshToken:
        register_auth(REFRESH_TOKEN_TYPE, OAuth2RefreshToken)


def with_refresh_token_auth(
    resolved: dict[str, Any], written: dict[str, Any], source: str, store: TokenStore | None = None
) -> dict[str, Any]:
    """``resolved`` (secrets filled in) with each `oauth2_refresh_token` block made an auth
    object bound to ``store`` (default: `token_store.default_store()`), changed in place.

    ``written`` is the block as the file has it: the names of its secrets go into messages.
    """
    register()
    for path, auth in auth_blocks(written):
        if isinstance(auth, dict) and auth.get("type") == REFRESH_TOKEN_TYPE:
            names = {
                k: v["secret"] for k, v in auth.items() if isinstance(v, dict) and "secret" in v
            }
            bound = {
                "store": store or default_store(),
                "source_name": source,
                "secret_names": names,
            }
            _replace(
                resolved, path[1:], lambda block, extra=bound: _auth_object({**block, **extra})
            )
    return resolved


def with_offline_auth(filled: Any) -> Any:
    """``filled`` (dummy secrets) with each `oauth2_refresh_token` block an unbound auth object,
    for dlt's schema check and offline build; a block `auth_rules` refuses becomes an empty one.
    """
    register()
    if not isinstance(filled, dict):
        return filled
    for path, auth in auth_blocks(filled):
        if isinstance(auth, dict) and auth.get("type") == REFRESH_TOKEN_TYPE:
            _replace(filled, path[1:], _offline_object)
    return filled


def _auth_object(block: dict[str, Any]) -> OAuth2RefreshToken:
    from dlt.sources.rest_api.config_setup import create_auth

    auth = create_auth(block)
    assert isinstance(auth, OAuth2RefreshToken)
    return auth


def _offline_object(block: dict[str, Any]) -> OAuth2RefreshToken:
    try:
        return _auth_object(block)
    except Exception:  # auth_rules names what is wrong; dlt's checks go on past this block
        return OAuth2RefreshToken()


def _replace(config: dict[str, Any], keys: tuple[Any, ...], make: Any) -> None:
    parent: Any = config
    for key in keys[:-1]:
        parent = parent[key]
    parent[keys[-1]] = make(parent[keys[-1]])
