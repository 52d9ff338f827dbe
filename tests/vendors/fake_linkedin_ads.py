"""A loopback fake of LinkedIn's Marketing API (versioned REST under /rest).

What it reproduces, from LinkedIn's public documentation:
- auth: OAuth2 access tokens as `Authorization: Bearer`, issued by `tests.fake_oauth.OAuthServer`
  at LinkedIn's `/oauth/v2/accessToken`, which here rotates the refresh token on every refresh;
  a refused token answers 401 `{"status", "serviceErrorCode": 65600, "code":
  "INVALID_ACCESS_TOKEN", "message"}`;
- headers: no `LinkedIn-Version`, 400 VERSION_MISSING; a version not served (`ACTIVE_VERSIONS`),
  426 NONEXISTENT_VERSION; no `X-Restli-Protocol-Version: 2.0.0`, 400;
- Rest.li 2.0 query values: `dateRange=(start:(year:Y,month:M,day:D))`,
  `accounts=List(urn:li:sponsoredAccount:N)`, `fields=a,b,c`; malformed ones answer 400;
- `adAccounts/<id>/adCampaigns?q=search`: cursor pages (`pageSize` up to 1000, default 100;
  `metadata.nextPageToken`, sent back as `pageToken`, absent on the last page);
- `adAnalytics?q=analytics&pivot=CAMPAIGN&timeGranularity=DAILY`: one element per campaign and
  day up to ``today``, `pivotValues` a list of URNs, `dateRange` as numbers, cost as text, only
  the `fields` asked for, no pages;
- `adAccountUsers?q=accounts`: index pages (`start`, `count`; `paging` without a total);
- rate limits: `THROTTLED`, LinkedIn's 429 body, without Retry-After.

Not reproduced: the refusal of percent-encoded Rest.li syntax (the fake sees decoded queries),
the 15,000-row cap of adAnalytics, and the `X-LI-UUID`/`x-li-fabric` headers.
"""

from __future__ import annotations

import base64
import re
from datetime import date, timedelta
from typing import Any

from tests.fake_api import FakeApi, Request, json_response
from tests.fake_oauth import OAuthServer
from tests.vendors.common_ads import bearer_ok, with_token_endpoint

TOKEN_PATH = "/oauth/v2/accessToken"
ACTIVE_VERSIONS = {"202410", "202411", "202412"}
THROTTLED = {
    "status": 429,
    "serviceErrorCode": 101,
    "code": "TOO_MANY_REQUESTS",
    "message": "Resource level throttle APPLICATION DAY limit for calls to this resource is "
    "reached.",
}
_DATE_RANGE = re.compile(r"^\(start:\(year:(\d{4}),month:(\d{1,2}),day:(\d{1,2})\)\)$")
_ACCOUNTS = re.compile(r"^List\(urn:li:sponsoredAccount:(\d+)\)$")


def campaigns(account_id: str, count: int) -> list[dict[str, Any]]:
    """Campaigns of one ad account, shaped like adCampaigns search results."""
    statuses = ["ACTIVE", "ACTIVE", "PAUSED", "COMPLETED", "ARCHIVED"]
    return [
        {
            "id": 180000000 + i,
            "name": f"Lead gen Q1 - {i}",
            "account": f"urn:li:sponsoredAccount:{account_id}",
            "campaignGroup": f"urn:li:sponsoredCampaignGroup:{600000000 + i % 3}",
            "status": statuses[i % 5],
            "type": "SPONSORED_UPDATES",
            "costType": "CPM",
            "objectiveType": "WEBSITE_VISIT",
            "dailyBudget": {"amount": f"{50 + i}.00", "currencyCode": "EUR"},
            "unitCost": {"amount": "12.50", "currencyCode": "EUR"},
            "runSchedule": {"start": 1767225600000},
            "locale": {"country": "IT", "language": "it"},
            "targetingCriteria": {
                "include": {
                    "and": [{"or": {"urn:li:adTargetingFacet:locations": ["urn:li:geo:103350119"]}}]
                }
            },
            "changeAuditStamps": {
                "created": {"time": 1764547200000 + i * 3_600_000},
                "lastModified": {"time": 1767225600000 + i * 3_600_000},
            },
        }
        for i in range(count)
    ]


def account_users(account_id: str, count: int) -> list[dict[str, Any]]:
    """Members with a role on the ad account; `user` is the member's person URN."""
    roles = ["ACCOUNT_MANAGER", "CAMPAIGN_MANAGER", "VIEWER", "CREATIVE_MANAGER"]
    return [
        {
            "account": f"urn:li:sponsoredAccount:{account_id}",
            "user": f"urn:li:person:Mbr{i:02d}xYz4Qa",
            "role": roles[i % 4],
            "changeAuditStamps": {
                "created": {"time": 1764547200000},
                "lastModified": {"time": 1764547200000},
            },
        }
        for i in range(count)
    ]


def analytics(campaign_list: list[dict[str, Any]], first: date, last: date) -> list[dict[str, Any]]:
    """Daily rows of the given campaigns from ``first`` to ``last``."""
    rows = []
    day = first
    while day <= last:
        n = (day - first).days
        for i, campaign in enumerate(campaign_list):
            impressions = 900 + 31 * i + 7 * n
            clicks = 4 + (i + n) % 13
            stamp = {"year": day.year, "month": day.month, "day": day.day}
            rows.append(
                {
                    "dateRange": {"start": stamp, "end": stamp},
                    "pivotValues": [f"urn:li:sponsoredCampaign:{campaign['id']}"],
                    "impressions": impressions,
                    "clicks": clicks,
                    "landingPageClicks": clicks - 1,
                    "costInLocalCurrency": f"{impressions * 0.0125:.6f}",
                    "externalWebsiteConversions": clicks % 3,
                }
            )
        day += timedelta(days=1)
    return rows


def linkedin_api(
    oauth: OAuthServer,
    account_id: str,
    campaign_list: list[dict[str, Any]],
    users: list[dict[str, Any]],
    daily: list[dict[str, Any]],
) -> FakeApi:
    """`/rest/adAccounts/<id>/adCampaigns`, `/rest/adAnalytics`, `/rest/adAccountUsers`;
    the lists may change between runs."""
    api = with_token_endpoint(FakeApi(token=""), oauth, TOKEN_PATH)
    account_urn = f"urn:li:sponsoredAccount:{account_id}"

    def guarded(handler):
        def answer(request: Request):
            version = request.headers.get("linkedin-version")
            if not version:
                return _error(
                    400,
                    "VERSION_MISSING",
                    "A version must be present. Please specify a version by adding the "
                    "LinkedIn-Version header.",
                )
            if version not in ACTIVE_VERSIONS:
                return _error(
                    426, "NONEXISTENT_VERSION", f"Requested version {version} is not active"
                )
            if not bearer_ok(oauth, request):
                return _error(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600)
            if request.headers.get("x-restli-protocol-version") != "2.0.0":
                return _error(
                    400,
                    "ILLEGAL_ARGUMENT",
                    "Rest.li 2.0 syntax needs X-Restli-Protocol-Version: 2.0.0",
                )
            return handler(request)

        return answer

    def search_campaigns(request: Request):
        if request.query.get("q") != "search":
            return _error(400, "ILLEGAL_ARGUMENT", "q=search is required")
        size = int(request.query.get("pageSize", 100))
        if not 1 <= size <= 1000:
            return _error(400, "ILLEGAL_ARGUMENT", "pageSize must be between 1 and 1000")
        token = request.query.get("pageToken")
        start = int(base64.b64decode(token).decode()) if token else 0
        body: dict[str, Any] = {
            "elements": campaign_list[start : start + size],
            "paging": {"start": 0, "count": size, "links": []},
            "metadata": {},
        }
        if start + size < len(campaign_list):
            body["metadata"]["nextPageToken"] = base64.b64encode(
                str(start + size).encode()
            ).decode()
        return json_response(200, body)

    def ad_analytics(request: Request):
        query = request.query
        wanted = {"q": "analytics", "pivot": "CAMPAIGN", "timeGranularity": "DAILY"}
        if any(query.get(k) != v for k, v in wanted.items()):
            return _error(400, "ILLEGAL_ARGUMENT", "this fake serves daily campaign analytics")
        window = _DATE_RANGE.match(query.get("dateRange", ""))
        accounts = _ACCOUNTS.match(query.get("accounts", ""))
        if not window or not accounts:
            return _error(
                400,
                "ILLEGAL_ARGUMENT",
                "Invalid param. Please see errorDetails for more information.",
            )
        if accounts.group(1) != account_id:
            return _error(403, "ACCESS_DENIED", "Not enough permissions to access: adAnalytics")
        start = date(*(int(g) for g in window.groups()))
        fields = set(query.get("fields", "impressions,clicks").split(","))
        elements = []
        for row in daily:
            stamp = row["dateRange"]["start"]
            if date(stamp["year"], stamp["month"], stamp["day"]) >= start:
                elements.append({k: v for k, v in row.items() if k in fields})
        return json_response(
            200, {"paging": {"start": 0, "count": 10, "links": []}, "elements": elements}
        )

    def list_users(request: Request):
        if request.query.get("q") != "accounts" or request.query.get("accounts") != account_urn:
            return _error(400, "ILLEGAL_ARGUMENT", "q=accounts&accounts=<account URN> is required")
        start, count = int(request.query.get("start", 0)), int(request.query.get("count", 10))
        return json_response(
            200,
            {
                "elements": users[start : start + count],
                "paging": {"start": start, "count": count, "links": []},
            },
        )

    api.routes[f"/rest/adAccounts/{account_id}/adCampaigns"] = guarded(search_campaigns)
    api.routes["/rest/adAnalytics"] = guarded(ad_analytics)
    api.routes["/rest/adAccountUsers"] = guarded(list_users)
    return api


def _error(status: int, code: str, message: str, service_code: int | None = None):
    body: dict[str, Any] = {"status": status, "code": code, "message": message}
    if service_code is not None:
        body["serviceErrorCode"] = service_code
    return json_response(status, body)
