"""A loopback fake of Pinterest's API v5 for ads: one ad account, its campaigns and their
daily analytics, behind OAuth2 with rotating refresh tokens (tests/fake_oauth.py).

What it reproduces, from Pinterest's public API reference:
- OAuth2: `POST /v5/oauth/token` with `grant_type=refresh_token`, the app's ID and secret as
  HTTP Basic (`OAuthServer(client_auth="basic")`), and `refresh_on=true` answered with a new
  refresh token (continuous refresh); API calls need `Authorization: Bearer <access token>`,
  else 401 with Pinterest's error shape `{"code", "message"}`;
- `GET /v5/ad_accounts/{id}`: the account, with its owner's username;
- `GET /v5/ad_accounts/{id}/campaigns`: `{"items": [...], "bookmark": ...}`, ordered by id,
  `page_size` at most 250 (400 above), the next page `?bookmark=`, `bookmark` null at the end;
- `GET /v5/ad_accounts/{id}/campaigns/analytics`: a bare JSON array, one object per campaign
  and day with upper-case column names (`DATE`, `CAMPAIGN_ID`, the `columns` asked for);
  `start_date`, `end_date` (at most 186 days apart), `campaign_ids`, `columns` and
  `granularity` are required (400 otherwise).
What it does not: Pinterest's numeric error codes are not all documented (the ones here are
illustrative), nor whether its 429 carries Retry-After (the test's carries none).
"""

from __future__ import annotations

import base64
from datetime import date, timedelta
from typing import Any

from tests.fake_api import FakeApi, Request, json_response
from tests.fake_oauth import OAuthServer

TOKEN_PATH = "/v5/oauth/token"
RATE_LIMITED = {"code": 8, "message": "You have exceeded your rate limit. Try again later."}
FIRST_DAY = date(2026, 1, 1)


def ad_account(account_id: str) -> dict[str, Any]:
    """The ad account as `GET /ad_accounts/{id}` returns it."""
    return {
        "id": account_id,
        "name": "Shop Italia",
        "owner": {"username": "Shop_Italia_Mkt", "id": "1099511700000"},
        "country": "IT",
        "currency": "EUR",
        "permissions": ["OWNER"],
        "created_time": 1735689600,
        "updated_time": 1767225600,
    }


def campaigns(count: int, account_id: str) -> list[dict[str, Any]]:
    """Campaigns with ids that grow as they are created (Pinterest's ids do)."""
    return [
        {
            "id": str(626700000000 + i),
            "ad_account_id": account_id,
            "name": f"Home decor {i}",
            "status": "ACTIVE" if i % 5 else "PAUSED",
            "objective_type": ["AWARENESS", "CONSIDERATION", "WEB_CONVERSION"][i % 3],
            "lifetime_spend_cap": None,
            "daily_spend_cap": 5_000_000 + 100_000 * i,
            "summary_status": "RUNNING",
            "created_time": 1767225600 + 3600 * i,
            "updated_time": 1767225600 + 3600 * i,
            "type": "campaign",
        }
        for i in range(count)
    ]


def daily_metrics(campaign_id: str, day: date, boost: int = 1) -> dict[str, Any]:
    """One campaign's metrics for one day; ``boost`` stands for late conversions."""
    n = int(campaign_id) % 1000 + day.day
    return {
        "SPEND_IN_DOLLAR": round(n * 0.75, 2),
        "TOTAL_IMPRESSION": 100 * n,
        "TOTAL_CLICKTHROUGH": 3 * n,
        "TOTAL_CONVERSIONS": n % 4 * boost,
    }


class PinterestAds:
    """The fake's state: account, campaigns, the last day with data, and the OAuth server."""

    def __init__(
        self, client_id: str, client_secret: str, account_id: str, campaign_count: int
    ) -> None:
        self.account = ad_account(account_id)
        self.campaigns = campaigns(campaign_count, account_id)
        self.last_day = FIRST_DAY + timedelta(days=9)  # "today" at Pinterest
        self.boost: dict[tuple[str, date], int] = {}
        self.page_cap = 250  # Pinterest's maximum; a test may lower it to see several pages
        self.oauth = OAuthServer(client_id, client_secret, client_auth="basic")
        self.token_requests: list[Request] = []
        self.api = FakeApi(token="", authorized=lambda _request: True)
        self.api.routes[TOKEN_PATH] = self._token
        self.api.open_paths.add(TOKEN_PATH)
        base = f"/v5/ad_accounts/{account_id}"
        self.api.routes[base] = self._guarded(lambda _r: json_response(200, self.account))
        self.api.routes[f"{base}/campaigns"] = self._guarded(self._campaigns)
        self.api.routes[f"{base}/campaigns/analytics"] = self._guarded(self._analytics)

    def _token(self, request: Request):
        self.token_requests.append(request)
        return self.oauth.token_endpoint(request)

    def _guarded(self, handler: Any) -> Any:
        def answer(request: Request):
            if not self.oauth.authorized(request):
                return json_response(401, {"code": 2, "message": "Authentication failed."})
            return handler(request)

        return answer

    def _campaigns(self, request: Request):
        size = int(request.query.get("page_size", 25))
        if not 1 <= size <= 250:
            return _invalid("page_size must be between 1 and 250")
        bookmark = request.query.get("bookmark")
        start = int(base64.b64decode(bookmark)) if bookmark else 0
        rows = sorted(self.campaigns, key=lambda c: int(c["id"]))
        size = min(size, self.page_cap)
        more = start + size < len(rows)
        bookmark = base64.b64encode(str(start + size).encode()).decode() if more else None
        return json_response(200, {"items": rows[start : start + size], "bookmark": bookmark})

    def _analytics(self, request: Request):
        query = request.query
        missing = [
            name
            for name in ("start_date", "end_date", "campaign_ids", "columns", "granularity")
            if not query.get(name)
        ]
        if missing:
            return _invalid(f"missing required parameters: {', '.join(missing)}")
        try:
            start = date.fromisoformat(query["start_date"])
            end = date.fromisoformat(query["end_date"])
        except ValueError:
            return _invalid("start_date and end_date are dates, YYYY-MM-DD")
        if end < start or (end - start).days > 186:
            return _invalid("the date range must be 0 to 186 days")
        if query["granularity"] != "DAY":
            return _invalid("this fake serves granularity=DAY only")
        columns = query["columns"].split(",")
        known = {c["id"] for c in self.campaigns}
        rows = []
        for campaign_id in query["campaign_ids"].split(","):
            if campaign_id not in known:
                continue
            day = max(start, FIRST_DAY)
            while day <= min(end, self.last_day):
                values = daily_metrics(campaign_id, day, self.boost.get((campaign_id, day), 1))
                row = {"DATE": day.isoformat(), "CAMPAIGN_ID": campaign_id}
                row.update({c: values[c] for c in columns if c in values})
                rows.append(row)
                day += timedelta(days=1)
        return json_response(200, rows)


def _invalid(message: str):
    return json_response(400, {"code": 1, "message": f"Invalid parameters: {message}"})
