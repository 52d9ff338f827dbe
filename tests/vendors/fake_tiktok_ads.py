"""A loopback fake of TikTok's API for Business v1.3: advertiser/info, campaign/get and
report/integrated/get.

What it reproduces, from TikTok's public API reference:
- auth: an `Access-Token` header; a missing or wrong one is answered HTTP 200 with code 40104
  or 40105 (TikTok reports every error in the body, never in the status);
- the envelope `{"code", "message", "request_id", "data": {"list", "page_info"}}`, and
  `page`/`page_size` pages (page_size at most 1000, else code 40002) with
  `page_info.total_page`; advertiser/info has one page and no page_info;
- list parameters as JSON arrays in the query string (`advertiser_ids=["..."]`);
- required parameters (`advertiser_id`, the report's `report_type`, `data_level`,
  `dimensions`, `metrics`, and dates unless `query_lifetime=true`), code 40002 otherwise;
- the masked contact fields of advertiser/info, metrics as strings in reports;
- the in-body rate limit, code 40100 on HTTP 200 (`throttle_in_body`).
What it does not: TikTok's HTTP-level throttling is not documented; the test's 429 comes from
`harness.rate_limited` with TikTok's 40100 body.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fake_api import FakeApi, Request, json_response

PREFIX = "/open_api/v1.3"
TOO_MANY = "Too many requests. Please retry in some time."


def advertiser(advertiser_id: str) -> dict[str, Any]:
    """The ad account as advertiser/info returns it, contact fields masked as TikTok masks them."""
    return {
        "advertiser_id": advertiser_id,
        "name": "Shop Italia Ads",
        "company": "Shop Italia S.r.l.",
        "status": "STATUS_ENABLE",
        "role": "ROLE_ADVERTISER",
        "email": "Lu***@Shop-Italia.IT",
        "contacter": "Lu********ni",
        "cellphone_number": "+39 333****567",
        "telephone_number": "+39 02****89",
        "address": "Via Roma 1, Milano",
        "license_no": "IT0123456789",
        "license_url": "https://tiktok.example/license?sig=abc",
        "country": "IT",
        "currency": "EUR",
        "timezone": "Europe/Rome",
        "balance": 5325.43,
        "create_time": 1735689600,
    }


def campaigns(count: int, advertiser_id: str) -> list[dict[str, Any]]:
    """Campaigns, created an hour apart from 2026-01-01 00:00 (TikTok's `YYYY-MM-DD HH:MM:SS`)."""
    return [
        {
            "campaign_id": str(1800000000000000000 + i),
            "advertiser_id": advertiser_id,
            "campaign_name": f"Spring sale {i}",
            "objective_type": ["TRAFFIC", "CONVERSIONS", "REACH"][i % 3],
            "budget_mode": "BUDGET_MODE_DAY",
            "budget": 50.0 + i,
            "operation_status": "ENABLE" if i % 4 else "DISABLE",
            "secondary_status": "CAMPAIGN_STATUS_ENABLE",
            "create_time": f"2026-01-{1 + i // 24 % 28:02d} {i % 24:02d}:00:00",
            "modify_time": f"2026-02-{1 + i // 24 % 28:02d} {i % 24:02d}:00:00",
            "is_new_structure": True,
        }
        for i in range(count)
    ]


def lifetime_metrics(campaign: dict[str, Any], scale: int = 1) -> dict[str, str]:
    """One campaign's lifetime metrics, as strings (TikTok's report format)."""
    n = int(campaign["campaign_id"]) % 1000
    return {
        "spend": f"{(n * 1.25 + 3) * scale:.2f}",
        "impressions": str((n * 100 + 1000) * scale),
        "clicks": str((n + 10) * scale),
        "conversion": str(n % 7 * scale),
    }


class TikTokAds:
    """The fake's state: the account, its campaigns, per-campaign metrics, and switches."""

    def __init__(self, token: str, advertiser_id: str, campaign_count: int) -> None:
        self.advertiser_id = advertiser_id
        self.account = advertiser(advertiser_id)
        self.campaigns = campaigns(campaign_count, advertiser_id)
        self.scale: dict[str, int] = {}  # campaign_id -> metrics multiplier (delivery grows)
        self.throttled_in_body: dict[str, int] = {}  # path -> requests to answer with 40100
        self.api = FakeApi(token=token, authorized=lambda _request: True)
        self.token = token
        self.api.routes[f"{PREFIX}/advertiser/info/"] = self._guarded(self._advertiser_info)
        self.api.routes[f"{PREFIX}/campaign/get/"] = self._guarded(self._campaign_get)
        self.api.routes[f"{PREFIX}/report/integrated/get/"] = self._guarded(self._report)

    def throttle_in_body(self, endpoint: str, times: int = 1) -> None:
        """Answer the next ``times`` requests to ``endpoint`` (`campaign/get/`) as TikTok does
        when a rate limit is hit: HTTP 200, code 40100."""
        self.throttled_in_body[f"{PREFIX}/{endpoint}"] = times

    def _guarded(self, handler: Any) -> Any:
        def answer(request: Request):
            token = request.headers.get("access-token")
            if not token:
                return _error(40104, "Access token is null. Please check your access token.")
            if token != self.token:
                return _error(40105, "Access token is incorrect or has been revoked.")
            if self.throttled_in_body.get(request.path):
                self.throttled_in_body[request.path] -= 1
                return _error(40100, TOO_MANY)
            return handler(request)

        return answer

    def _advertiser_info(self, request: Request):
        ids = _json_list(request, "advertiser_ids")
        if ids is None:
            return _error(40002, "advertiser_ids: Missing data for required field.")
        return _ok({"list": [self.account] if self.advertiser_id in ids else []})

    def _campaign_get(self, request: Request):
        problem = self._advertiser_problem(request)
        return problem or _paged(request, self.campaigns)

    def _report(self, request: Request):
        problem = self._advertiser_problem(request)
        if problem:
            return problem
        for field in ("report_type", "data_level"):
            if field not in request.query:
                return _error(40002, f"{field}: Missing data for required field.")
        dimensions = _json_list(request, "dimensions")
        metrics = _json_list(request, "metrics")
        if dimensions != ["campaign_id"] or request.query["data_level"] != "AUCTION_CAMPAIGN":
            return _error(40002, "this fake serves campaign-level reports by campaign_id only")
        if not metrics:
            return _error(40002, "metrics: Missing data for required field.")
        if request.query.get("query_lifetime") != "true" and not (
            request.query.get("start_date") and request.query.get("end_date")
        ):
            return _error(40002, "start_date, end_date: required unless query_lifetime is true")
        rows = []
        for campaign in self.campaigns:
            values = lifetime_metrics(campaign, self.scale.get(campaign["campaign_id"], 1))
            rows.append(
                {
                    "dimensions": {"campaign_id": campaign["campaign_id"]},
                    "metrics": {m: values[m] for m in metrics if m in values},
                }
            )
        return _paged(request, rows)

    def _advertiser_problem(self, request: Request):
        wanted = request.query.get("advertiser_id")
        if not wanted:
            return _error(40002, "advertiser_id: Missing data for required field.")
        if wanted != self.advertiser_id:
            return _error(40001, f"No permission to operate advertiser {wanted}.")
        return None


def _paged(request: Request, rows: list[dict[str, Any]]):
    page = int(request.query.get("page", 1))
    size = int(request.query.get("page_size", 10))
    if not 1 <= size <= 1000:
        return _error(40002, "page_size: Must be between 1 and 1000.")
    total_page = -(-len(rows) // size)
    page_info = {
        "page": page,
        "page_size": size,
        "total_number": len(rows),
        "total_page": total_page,
    }
    return _ok({"list": rows[(page - 1) * size : page * size], "page_info": page_info})


def _json_list(request: Request, name: str) -> list[str] | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, list) else None


def _ok(data: dict[str, Any]):
    return json_response(200, {"code": 0, "message": "OK", "request_id": "2026", "data": data})


def _error(code: int, message: str):
    """TikTok's error answer: HTTP 200, the error in `code` and `message`, empty `data`."""
    return json_response(200, {"code": code, "message": message, "request_id": "2026", "data": {}})


THROTTLED = {"code": 40100, "message": TOO_MANY, "request_id": "2026", "data": {}}
