"""A loopback fake of the GA4 Data API's `properties/<id>:runReport`.

What it reproduces, from Google's public reference:
- auth: an OAuth2 access token as `Authorization: Bearer` (from `tests.fake_oauth.OAuthServer`
  at Google's `/token` path, not rotated); a refused one answers 401 UNAUTHENTICATED, another
  property 403 PERMISSION_DENIED, in Google's `{"error": {"code", "message", "status"}}`;
- the request body: `dateRanges` (`YYYY-MM-DD`, `NdaysAgo`, `yesterday`, `today`; start not
  after end), `dimensions` (known names, or a `dimensionExpression.concatenate` of dimensions
  also requested), `metrics`, `orderBys`, `offset`/`limit` (at most 250,000); anything else
  answers 400 INVALID_ARGUMENT;
- the answer: `dimensionHeaders`, `metricHeaders` (with their types), `rows` of
  `{"dimensionValues": [{"value"}], "metricValues": [{"value"}]}` in request order, every
  value as text, `rowCount`, `metadata`, `kind`; `rows` and `rowCount` left out when empty, as
  proto3 JSON does; `date` as `YYYYMMDD`, `year`/`month`/`day` zero-padded;
- rate limits: `THROTTLED`, a 429 RESOURCE_EXHAUSTED without Retry-After.

Not reproduced: sampling and thresholding, `(other)` rows, property quotas in the answer, and
any metric arithmetic beyond sums. "Today" is the fake's own date (``today``), not the clock.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from tests.fake_api import FakeApi, Request, json_response
from tests.fake_oauth import OAuthServer
from tests.vendors.common_ads import bearer_ok, google_error, with_token_endpoint

VERSION = "v1beta"
TOKEN_PATH = "/token"
THROTTLED = {
    "error": {
        "code": 429,
        "message": "Exhausted concurrent requests quota.",
        "status": "RESOURCE_EXHAUSTED",
    }
}
_SOURCES = [
    ("google", "cpc"),
    ("google", "organic"),
    ("newsletter", "email"),
    ("(direct)", "(none)"),
]
_PAGES = ["/", "/saldi", "/prodotti/scarpe", "/blog/guida-taglie"]
_METRIC_TYPES = {
    "sessions": "TYPE_INTEGER",
    "totalUsers": "TYPE_INTEGER",
    "newUsers": "TYPE_INTEGER",
    "engagedSessions": "TYPE_INTEGER",
    "keyEvents": "TYPE_FLOAT",
    "totalRevenue": "TYPE_CURRENCY",
}
_RELATIVE = re.compile(r"^(\d+)daysAgo$")


def visits(first: date, days: int, campaigns: int = 3) -> list[dict[str, Any]]:
    """Daily traffic facts: one per day, source/medium, campaign and landing page."""
    facts = []
    for d in range(days):
        when = first + timedelta(days=d)
        for s, (source, medium) in enumerate(_SOURCES):
            for c in range(campaigns):
                for p, page in enumerate(_PAGES):
                    sessions = 3 + (d + s + c + p) % 11
                    facts.append(
                        {
                            "date": when,
                            "sessionSource": source,
                            "sessionMedium": medium,
                            "sessionCampaignName": f"inverno_{c}"
                            if medium != "(none)"
                            else "(direct)",
                            "landingPage": page,
                            "sessions": sessions,
                            "totalUsers": sessions - 1,
                            "newUsers": sessions // 2,
                            "engagedSessions": sessions - 2,
                            "keyEvents": float(sessions % 3),
                            "totalRevenue": round((sessions % 3) * 39.9, 2),
                        }
                    )
    return facts


def ga4_api(
    oauth: OAuthServer, property_id: str, facts: list[dict[str, Any]], today: list[date]
) -> FakeApi:
    """`/v1beta/properties/<id>:runReport` over ``facts``; ``today[0]`` is the fake's date.

    Both lists may change between runs (a new day of data, the next morning).
    """
    api = with_token_endpoint(FakeApi(token=""), oauth, TOKEN_PATH)

    def run_report(request: Request):
        if not bearer_ok(oauth, request):
            return google_error(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential.",
            )
        body = request.json() or {}
        try:
            return json_response(200, _report(body, facts, today[0]))
        except _Invalid as problem:
            return google_error(400, str(problem))

    def other_property(request: Request):
        return google_error(403, "User does not have sufficient permissions for this property.")

    api.routes[f"/{VERSION}/properties/{property_id}:runReport"] = run_report
    api.routes[f"/{VERSION}/properties/1:runReport"] = other_property
    return api


class _Invalid(ValueError):
    pass


def _report(body: dict[str, Any], facts: list[dict[str, Any]], today: date) -> dict[str, Any]:
    ranges = body.get("dateRanges") or []
    if not 1 <= len(ranges) <= 4:
        raise _Invalid("dateRanges must hold 1 to 4 date ranges.")
    if len(ranges) > 1:
        raise _Invalid("this fake serves one date range")
    start, end = (_date(ranges[0].get(k), today) for k in ("startDate", "endDate"))
    if start > end:
        raise _Invalid(f"Invalid date range: startDate {start} is after endDate {end}.")
    dimensions = body.get("dimensions") or []
    metrics = [m.get("name") for m in body.get("metrics") or []]
    if not metrics:
        raise _Invalid("At least one metric is required.")
    unknown = [m for m in metrics if m not in _METRIC_TYPES]
    if unknown:
        raise _Invalid(f"Field {unknown[0]} is not a valid metric.")
    requested = {d.get("name") for d in dimensions}
    readers = [_dimension(d, requested) for d in dimensions]
    limit = int(body.get("limit", 10000))
    if not 0 < limit <= 250000:
        raise _Invalid("limit must be positive and at most 250000.")
    offset = int(body.get("offset", 0))
    groups: dict[tuple[str, ...], dict[str, float]] = {}
    for fact in facts:
        if start <= fact["date"] <= end:
            key = tuple(read(fact) for read in readers)
            sums = groups.setdefault(key, dict.fromkeys(metrics, 0.0))
            for metric in metrics:
                sums[metric] += fact[metric]
    order = [
        o["dimension"]["dimensionName"] for o in body.get("orderBys") or [] if "dimension" in o
    ]
    names = [d.get("name") for d in dimensions]
    keys = sorted(groups, key=lambda k: tuple(k[names.index(n)] for n in order if n in names))
    answer: dict[str, Any] = {
        "dimensionHeaders": [{"name": n} for n in names],
        "metricHeaders": [{"name": m, "type": _METRIC_TYPES[m]} for m in metrics],
    }
    page = keys[offset : offset + limit]
    if page:
        answer["rows"] = [
            {
                "dimensionValues": [{"value": v} for v in key],
                "metricValues": [{"value": _text(groups[key][m])} for m in metrics],
            }
            for key in page
        ]
    if keys:
        answer["rowCount"] = len(keys)
    answer["metadata"] = {"currencyCode": "EUR", "timeZone": "Europe/Rome"}
    answer["kind"] = "analyticsData#runReport"
    return answer


def _date(value: Any, today: date) -> date:
    text = str(value or "")
    if text == "today":
        return today
    if text == "yesterday":
        return today - timedelta(days=1)
    relative = _RELATIVE.match(text)
    if relative:
        return today - timedelta(days=int(relative.group(1)))
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise _Invalid(
            f"Invalid date '{text}'. Dates must be YYYY-MM-DD, NdaysAgo, yesterday, or today."
        )
    return date.fromisoformat(text)


def _dimension(spec: dict[str, Any], requested: set[str]):
    """A function reading one dimension's text from a fact."""
    expression = spec.get("dimensionExpression")
    if expression:
        concat = expression.get("concatenate") or {}
        parts = concat.get("dimensionNames") or []
        missing = [p for p in parts if p not in requested]
        if not parts or missing:
            raise _Invalid(
                f"dimensionExpression of {spec.get('name')} must name requested dimensions"
            )
        readers = [_dimension({"name": p}, requested) for p in parts]
        delimiter = concat.get("delimiter", "")
        return lambda fact: delimiter.join(read(fact) for read in readers)
    name = spec.get("name")
    plain = {
        "date": lambda f: f["date"].strftime("%Y%m%d"),
        "year": lambda f: f"{f['date'].year:04d}",
        "month": lambda f: f"{f['date'].month:02d}",
        "day": lambda f: f"{f['date'].day:02d}",
    }
    if name in plain:
        return plain[name]
    if name in ("sessionSource", "sessionMedium", "sessionCampaignName", "landingPage"):
        return lambda fact: fact[name]
    raise _Invalid(f"Field {name} is not a valid dimension.")


def _text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"
