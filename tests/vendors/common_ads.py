"""What the OAuth2 ad-platform fakes share (Google Ads, GA4, LinkedIn Ads): the token endpoint of
`tests.fake_oauth.OAuthServer` at the vendor's own token path, the token URL moved to the fake,
and Google's JSON error envelope."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.fake_api import FakeApi, Request, json_response
from tests.fake_oauth import OAuthServer
from tests.vendors import harness

_TOKEN_URL = re.compile(r"^\s*token_url:\s*(\S+)\s*$", re.MULTILINE)
# google.rpc.Code names for the HTTP statuses the Google fakes answer
GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
}


def with_token_endpoint(api: FakeApi, oauth: OAuthServer, path: str) -> FakeApi:
    """``api`` answering the vendor's token requests at ``path`` (e.g. Google's `/token`).

    The API routes check the access token themselves (`oauth.authorized`), so that a refused
    one gets the vendor's own 401 body rather than `FakeApi`'s.
    """
    api.routes[path] = oauth.token_endpoint
    api.open_paths.add(path)
    api.authorized = lambda request: True
    return api


def token_url_to_fake(
    monkeypatch: pytest.MonkeyPatch, replace: dict[str, str] | None = None
) -> None:
    """Make `harness.run_twice` move the template's `token_url` host to the fake as well.

    The harness moves the hosts of `base_url` only; these vendors' token endpoints live on
    another host (oauth2.googleapis.com, www.linkedin.com). The path is kept. ``replace``
    changes text of the written file that the vendor leaves to the client (a page size), each
    old text exactly once, so that paging shows with a few rows.
    """
    write = harness.write_from_catalog

    def write_and_move(
        key: str, folder: Path, fake_base: str, answers: dict[str, str] | None = None
    ) -> Path:
        path = write(key, folder, fake_base, answers)
        text = path.read_text()
        match = _TOKEN_URL.search(text)
        assert match, f"{key}: the template has no token_url"
        real, fake = urlsplit(match.group(1)), urlsplit(fake_base)
        text = text.replace(f"{real.scheme}://{real.netloc}", f"{fake.scheme}://{fake.netloc}")
        for old, new in (replace or {}).items():
            assert text.count(old) == 1, f"{key}: {old!r} is not in the template once"
            text = text.replace(old, new)
        path.write_text(text)
        return path

    monkeypatch.setattr(harness, "write_from_catalog", write_and_move)


def files_holding(root: Path, secrets: list[str], skip: str = "oauth2_tokens") -> list[Path]:
    """Files under ``root`` (warehouse, dlt state, Dagster's storage, the source file) that
    contain one of ``secrets``; the token store folder ``skip`` is meant to hold them."""
    needles = [s.encode() for s in secrets if s]
    return [
        path
        for path in root.rglob("*")
        if path.is_file()
        and skip not in path.parts
        and any(needle in path.read_bytes() for needle in needles)
    ]


def bearer_ok(oauth: OAuthServer, request: Request) -> bool:
    """A live access token in `Authorization: Bearer ...` (each call counts as one use)."""
    return oauth.authorized(request)


def google_error(status: int, message: str, details: list[dict[str, Any]] | None = None):
    """Google's JSON error: `{"error": {"code", "message", "status", "details"?}}`."""
    error: dict[str, Any] = {"code": status, "message": message, "status": GOOGLE_STATUS[status]}
    if details:
        error["details"] = details
    return json_response(status, {"error": error})
