"""A loopback OAuth2 authorization server for `grant_type=refresh_token`, to put in a `FakeApi`.

It behaves as the vendors that rotate refresh tokens do (Pinterest, Typeform, Xero): each
refresh answers a new refresh token and invalidates the one it received; a spent, revoked or
unknown refresh token gets `400 {"error": "invalid_grant"}`, a wrong client `401
{"error": "invalid_client"}`. Access tokens expire after `expires_in` seconds, or earlier
than announced (`lifetime` seconds, or after `requests_per_token` API requests: an expiry the
client cannot see coming), and the API then answers 401. Everything is counted and every token
issued is kept, so tests can search for them where they must never appear.

    oauth = OAuthServer("client-1", "secret-1")
    api = oauth.protect(FakeApi(token=""))      # the API's routes now need a live access token
    with serve(api):
        seed = oauth.reset(expires_in=1)         # the refresh token IT would set
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from dataclasses import dataclass, field

from tests.fake_api import FakeApi, Request, json_response

TOKEN_PATH = "/oauth/token"


@dataclass
class OAuthServer:
    """The token endpoint and the access-token check of a fake vendor."""

    client_id: str
    client_secret: str
    client_auth: str = "body"  # body: id and secret in the form; basic: HTTP Basic auth
    expires_in: int = 3600
    rotate: bool = True  # a new refresh token on every refresh, the old one invalidated
    requests_per_token: int | None = None  # the API refuses an access token after N requests
    lifetime: float | None = None  # seconds an access token really lives, whatever expires_in says
    refreshes: int = 0  # successful refreshes
    refused: list[str] = field(default_factory=list)  # OAuth error codes answered
    unauthorized: int = 0  # 401s answered by the API
    issued: list[str] = field(default_factory=list)  # every access and refresh token handed out
    _refresh_tokens: set[str] = field(default_factory=set)
    _access: dict[str, list[float]] = field(default_factory=dict)  # token -> [expiry, uses]
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self, **settings: object) -> str:
        """Forget every token and counter, apply ``settings``; returns a fresh seed token."""
        with self._lock:
            for key, value in settings.items():
                setattr(self, key, value)
            self.refreshes, self.unauthorized = 0, 0
            self.refused.clear()
            self.issued.clear()
            self._refresh_tokens.clear()
            self._access.clear()
            seed = self._new("rt-seed")
            self._refresh_tokens.add(seed)
            return seed

    def protect(self, api: FakeApi) -> FakeApi:
        """``api`` with the token endpoint at `TOKEN_PATH` and every other route behind it."""
        api.routes[TOKEN_PATH] = self.token_endpoint
        api.open_paths.add(TOKEN_PATH)
        api.authorized = self.authorized
        return api

    @property
    def valid_refresh_tokens(self) -> set[str]:
        """The refresh tokens the server would accept now."""
        with self._lock:
            return set(self._refresh_tokens)

    def revoke(self) -> None:
        """Invalidate every refresh token (IT revoked the app's grant)."""
        with self._lock:
            self._refresh_tokens.clear()

    def deny_access(self) -> None:
        """Make every access token issued so far, and later, fail (a 401 that stays)."""
        with self._lock:
            self.requests_per_token = 0
            for state in self._access.values():
                state[1] = float("inf")

    def secrets(self) -> list[str]:
        """The client secret and every token issued: strings that must never leak."""
        with self._lock:
            return [self.client_secret, *self.issued]

    def authorized(self, request: Request) -> bool:
        """`FakeApi.authorized`: a live access token as `Authorization: Bearer <token>`."""
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        with self._lock:
            state = self._access.get(token)
            limit = self.requests_per_token
            live = (
                state is not None
                and time.monotonic() < state[0]
                and (limit is None or state[1] < limit)
            )
            if live:
                state[1] += 1
            else:
                self.unauthorized += 1
            return live

    def token_endpoint(self, request: Request):
        """`POST /oauth/token` with `grant_type=refresh_token`, as RFC 6749 section 6 has it."""
        form = request.form()
        with self._lock:
            if request.method != "POST" or form.get("grant_type") != "refresh_token":
                return self._refuse(400, "unsupported_grant_type")
            if not self._client_ok(request, form):
                return self._refuse(401, "invalid_client")
            sent = form.get("refresh_token", "")
            if sent not in self._refresh_tokens:
                return self._refuse(400, "invalid_grant")
            access = self._new("at")
            lives = self.expires_in if self.lifetime is None else self.lifetime
            self._access[access] = [time.monotonic() + lives, 0]
            self.refreshes += 1
            answer = {"access_token": access, "token_type": "Bearer", "expires_in": self.expires_in}
            if self.rotate:
                self._refresh_tokens.discard(sent)
                answer["refresh_token"] = self._new("rt")
                self._refresh_tokens.add(answer["refresh_token"])
            if "scope" in form:
                answer["scope"] = form["scope"]
            return json_response(200, answer, {"Cache-Control": "no-store"})

    def _client_ok(self, request: Request, form: dict[str, str]) -> bool:
        if self.client_auth == "basic":
            pair = f"{self.client_id}:{self.client_secret}".encode()
            expected = "Basic " + base64.b64encode(pair).decode()
            return request.headers.get("authorization") == expected and "client_secret" not in form
        return form.get("client_id") == self.client_id and (
            form.get("client_secret") == self.client_secret
        )

    def _refuse(self, status: int, code: str):
        self.refused.append(code)
        # a description the client must never echo: it may quote what it received
        body = {"error": code, "error_description": f"refused-{code}-description-text"}
        return json_response(status, body, {"Cache-Control": "no-store"})

    def _new(self, kind: str) -> str:
        token = f"{kind}-{secrets.token_urlsafe(24)}"
        self.issued.append(token)
        return token
