"""A loopback fake of the Google Ads API's REST search (`customers/<id>/googleAds:search`).

What it reproduces, from Google's public reference:
- auth: an OAuth2 access token as `Authorization: Bearer` (tokens from
  `tests.fake_oauth.OAuthServer` at Google's `/token` path, not rotated); a refused one answers
  401 UNAUTHENTICATED with `authenticationError: OAUTH_TOKEN_INVALID`. The `developer-token`
  header: missing, 400 with `requestError: DEVELOPER_TOKEN_PARAMETER_MISSING`; not the approved
  one, 403 with `authorizationError: DEVELOPER_TOKEN_NOT_APPROVED`. `login-customer-id` other
  than the manager's or the account's own id: 403 `USER_PERMISSION_DENIED`;
- errors as `{"error": {"code", "message", "status", "details": [GoogleAdsFailure]}}`;
- a small GAQL reader: `SELECT ... FROM <resource> [WHERE ...] [ORDER BY ...]`, unknown fields
  refused (`queryError: UNRECOGNIZED_FIELD`), and a finite `segments.date` range required when
  `segments.date` is selected (both `>=`/`>` and `<=`/`<`, or `BETWEEN`);
- rows as nested camelCase JSON with only the selected fields, plus each object's
  `resourceName`; 64-bit numbers (ids, impressions, clicks, costMicros) as text, doubles as
  numbers; days without impressions are not returned;
- pages: `nextPageToken` (opaque) to send back as `pageToken` in the body, absent on the last
  page; `pageSize` is refused (`requestError: PAGE_SIZE_NOT_SUPPORTED`, as since v17);
- rate limits: `THROTTLED`, a 429 RESOURCE_EXHAUSTED whose wait is in the body (`retryDelay`),
  without a Retry-After header.

Differences from the real API: pages hold `PAGE_SIZE` rows instead of 10,000, so paging shows
in small tests; the names of the query-error enums for a missing date range are this fake's
(Google's reference documents the rule, not the enum); `searchStream`, `summaryRow`,
`PARAMETERS` clauses and `LIMIT` are not served.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from tests.fake_api import FakeApi, Request, json_response
from tests.fake_oauth import OAuthServer
from tests.vendors.common_ads import bearer_ok, google_error, with_token_endpoint

VERSION = "v20"
TOKEN_PATH = "/token"
PAGE_SIZE = 50
_FAILURE = f"type.googleapis.com/google.ads.googleads.{VERSION}.errors.GoogleAdsFailure"
_QUERY = re.compile(
    r"^SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<resource>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+ORDER BY\s+(?P<order>[\w.]+)(?:\s+(?:ASC|DESC))?)?$",
    re.IGNORECASE | re.DOTALL,
)
_DATE_CONDITION = re.compile(r"segments\.date\s*(>=|<=|>|<|=)\s*'(\d{4}-\d{2}-\d{2})'")
_DATE_BETWEEN = re.compile(
    r"segments\.date\s+BETWEEN\s+'(\d{4}-\d{2}-\d{2})'\s+AND\s+'(\d{4}-\d{2}-\d{2})'", re.I
)
# 64-bit integer fields, which Google's JSON sends as text
_INT64 = {"id", "user_id", "impressions", "clicks", "cost_micros"}
THROTTLED = {
    "error": {
        "code": 429,
        "message": "Resource has been exhausted (e.g. check quota).",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {
                "@type": _FAILURE,
                "errors": [
                    {
                        "errorCode": {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"},
                        "message": "Too many requests. Retry in 1 seconds.",
                        "details": {
                            "quotaErrorDetails": {
                                "rateScope": "DEVELOPER",
                                "rateName": "Number of operations for basic access",
                                "retryDelay": "1s",
                            }
                        },
                    }
                ],
                "requestId": "fake-request-429",
            }
        ],
    }
}


@dataclass
class Account:
    """One Google Ads account's data, as flat rows keyed by GAQL field names."""

    customer_id: str
    manager_id: str
    campaign: list[dict[str, Any]] = field(default_factory=list)
    ad_group: list[dict[str, Any]] = field(default_factory=list)
    customer_user_access: list[dict[str, Any]] = field(default_factory=list)


def account(customer_id: str, manager_id: str, first: date, days: int) -> Account:
    """4 campaigns of 3 ad groups each, daily rows from ``first``; campaign 3 stops after 2
    weeks (no impressions, so no rows); 5 users with access."""
    data = Account(customer_id, manager_id)
    for day in range(days):
        add_day(data, first + timedelta(days=day))
    for i in range(5):
        data.customer_user_access.append(
            {
                "customer_user_access.resource_name": (
                    f"customers/{customer_id}/customerUserAccesses/{5550000 + i}"
                ),
                "customer_user_access.user_id": 5550000 + i,
                "customer_user_access.email_address": f"Marketing.User{i}@Example.com",
                "customer_user_access.access_role": ["ADMIN", "STANDARD", "READ_ONLY"][i % 3],
                "customer_user_access.access_creation_date_time": f"2025-0{1 + i}-15 09:30:00",
                "customer_user_access.inviter_user_email_address": "Agency.Lead@Example.com",
            }
        )
    return data


def add_day(data: Account, when: date) -> None:
    """The rows of one more day (campaign 3 has none after its first 14 days)."""
    day = (when - date(2026, 1, 1)).days
    for c in range(4):
        if c == 3 and day >= 14:
            continue
        campaign = {
            "segments.date": when.isoformat(),
            "campaign.resource_name": f"customers/{data.customer_id}/campaigns/{2100 + c}",
            "campaign.id": 2100 + c,
            "campaign.name": f"Saldi invernali {c}",
            "campaign.status": "ENABLED",
            "campaign.advertising_channel_type": ["SEARCH", "PERFORMANCE_MAX"][c % 2],
        }
        totals = dict.fromkeys(("impressions", "clicks", "cost_micros"), 0)
        conversions = 0.0
        for g in range(3):
            impressions = 200 + 13 * g + 7 * c + day
            clicks = 5 + (g + c + day) % 9
            cost = clicks * 410_000 + g * 10_000
            converted = round(clicks * 0.25, 2)
            data.ad_group.append(
                {
                    "segments.date": when.isoformat(),
                    "campaign.id": 2100 + c,
                    "ad_group.resource_name": (
                        f"customers/{data.customer_id}/adGroups/{31000 + 10 * c + g}"
                    ),
                    "ad_group.id": 31000 + 10 * c + g,
                    "ad_group.name": f"Gruppo {c}-{g}",
                    "ad_group.status": "ENABLED",
                    "metrics.impressions": impressions,
                    "metrics.clicks": clicks,
                    "metrics.cost_micros": cost,
                    "metrics.conversions": converted,
                    "metrics.conversions_value": round(converted * 42.5, 2),
                }
            )
            totals["impressions"] += impressions
            totals["clicks"] += clicks
            totals["cost_micros"] += cost
            conversions += converted
        campaign.update({f"metrics.{k}": v for k, v in totals.items()})
        campaign["metrics.conversions"] = round(conversions, 2)
        campaign["metrics.conversions_value"] = round(conversions * 42.5, 2)
        data.campaign.append(campaign)


def google_ads_api(oauth: OAuthServer, developer_token: str, data: Account) -> FakeApi:
    """`/v20/customers/<id>/googleAds:search` behind Google's OAuth2 and developer token."""
    api = with_token_endpoint(FakeApi(token=""), oauth, TOKEN_PATH)

    def search(request: Request):
        refused = _refusal(request, oauth, developer_token, data)
        if refused:
            return refused
        body = request.json() or {}
        if "pageSize" in body:
            return _failure(
                400, {"requestError": "PAGE_SIZE_NOT_SUPPORTED"}, "pageSize is not supported."
            )
        match = _QUERY.match(" ".join(str(body.get("query", "")).split()))
        if not match:
            return _failure(400, {"queryError": "PROHIBITED_CLAUSE_IN_SELECT_CLAUSE"}, "Bad query.")
        fields = [f.strip() for f in match["fields"].split(",")]
        rows = getattr(data, match["resource"], None)
        if rows is None:
            return _failure(400, {"queryError": "INVALID_RESOURCE_NAME"}, "Unknown resource.")
        known = set(rows[0]) if rows else set(fields)
        unknown = [f for f in fields if f not in known]
        if unknown:
            return _failure(
                400, {"queryError": "UNRECOGNIZED_FIELD"}, f"Unrecognized field {unknown[0]}."
            )
        if "segments.date" in fields:
            window = _date_window(match["where"] or "")
            if window is None:
                return _failure(
                    400,
                    {"queryError": "EXPECTED_FILTERS_ON_DATE_RANGE"},
                    "A finite date range on segments.date is required.",
                )
            rows = [r for r in rows if window[0] <= r["segments.date"] <= window[1]]
        if match["order"]:
            rows = sorted(rows, key=lambda r: r[match["order"]])
        try:
            start = int(base64.b64decode(body["pageToken"]).decode()) if "pageToken" in body else 0
        except ValueError:
            return _failure(400, {"requestError": "INVALID_PAGE_TOKEN"}, "Page token is invalid.")
        page = rows[start : start + PAGE_SIZE]
        answer: dict[str, Any] = {"fieldMask": ",".join(_camel(f) for f in fields)}
        if page:  # proto3 JSON leaves an empty list out
            answer["results"] = [_nest(row, fields) for row in page]
        if start + PAGE_SIZE < len(rows):
            answer["nextPageToken"] = base64.b64encode(str(start + PAGE_SIZE).encode()).decode()
        answer["requestId"] = f"fake-{start}"
        return json_response(200, answer)

    api.routes[f"/{VERSION}/customers/{data.customer_id}/googleAds:search"] = search
    return api


def _refusal(request: Request, oauth: OAuthServer, developer_token: str, data: Account):
    if "developer-token" not in request.headers:
        return _failure(
            400,
            {"requestError": "DEVELOPER_TOKEN_PARAMETER_MISSING"},
            "The developer-token parameter is required for all requests.",
        )
    if not bearer_ok(oauth, request):
        return _failure(
            401,
            {"authenticationError": "OAUTH_TOKEN_INVALID"},
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        )
    if request.headers["developer-token"] != developer_token:
        return _failure(
            403,
            {"authorizationError": "DEVELOPER_TOKEN_NOT_APPROVED"},
            "The developer token is only approved for use with test accounts.",
        )
    login = request.headers.get("login-customer-id")
    if login is not None and login not in (data.manager_id, data.customer_id):
        return _failure(
            403,
            {"authorizationError": "USER_PERMISSION_DENIED"},
            "User doesn't have permission to access customer. Note: If you're accessing a "
            "client customer, the manager's customer id must be set in the "
            "'login-customer-id' header.",
        )
    return None


def _failure(status: int, error_code: dict[str, str], message: str):
    failure = {
        "@type": _FAILURE,
        "errors": [{"errorCode": error_code, "message": message}],
        "requestId": "fake-request",
    }
    return google_error(status, message, [failure])


def _date_window(where: str) -> tuple[str, str] | None:
    low, high = None, None
    for first, last in _DATE_BETWEEN.findall(where):
        low, high = first, last
    for operator, value in _DATE_CONDITION.findall(where):
        if operator in (">=", ">", "="):
            bumped = (date.fromisoformat(value) + timedelta(days=1)).isoformat()
            low = bumped if operator == ">" else value
        if operator in ("<=", "<", "="):
            lowered = (date.fromisoformat(value) - timedelta(days=1)).isoformat()
            high = lowered if operator == "<" else value
    return (low, high) if low and high else None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _nest(row: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """One result: `{"campaign": {"resourceName", "id", ...}, "metrics": {...}, ...}`."""
    out: dict[str, Any] = {}
    for name in fields:
        resource, attribute = name.split(".", 1)
        value = row[name]
        if attribute in _INT64 or attribute.endswith("_id"):
            value = str(value)
        target = out.setdefault(_camel(resource), {})
        target[_camel(attribute)] = value
        own = row.get(f"{resource}.resource_name")
        if own:
            target["resourceName"] = own
    return out
