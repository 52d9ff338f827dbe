"""A loopback fake of Meta's Marketing API (Graph API edges of an ad account).

What it reproduces, from Meta's public reference:
- auth: the `access_token` query parameter; a missing one answers 400 with OAuthException code
  2500, a wrong one 400 with code 190 and a `WWW-Authenticate: OAuth "Facebook Platform"
  "invalid_token"` header (Graph answers auth errors with 400, not 401);
- an unknown ad account: 400, code 100, subcode 33 ("Unsupported get request");
- envelopes: `{"data": [...], "paging": {"cursors": {"before", "after"}, "next"}}`, `next` being
  the full URL with every parameter (the access token too) and `after=<opaque cursor>`, absent
  on the last page; `limit` defaults to 25;
- `fields`: only the fields asked for (plus `id` for objects), numbers sent as text;
- insights: `level=ad`, `time_increment=1` (one row per ad and day), `time_range` as JSON with
  both `since` and `until` (400 code 100 otherwise), `date_start`/`date_stop`;
- activities: `since` as a Unix time or an ISO 8601 time (strtotime), newest first;
- throttling, as Meta does it: `throttled()` answers HTTP 400 with code 80004 and the
  `X-Business-Use-Case-Usage` header. The end-to-end test feeds a 429 with the same body
  through `harness.rate_limited` instead, as dlt only retries 429/5xx (see the template).

Not reproduced: async insights jobs, action breakdowns, `appsecret_proof`, the usage headers on
every answer, and Meta's real cursor format (here base64 of an offset).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from tests.fake_api import FakeApi, Request, json_response

VERSION = "v22.0"
THROTTLED = {
    "error": {
        "message": "There have been too many calls to this ad-account. Wait a bit and try again.",
        "type": "OAuthException",
        "code": 80004,
        "error_subcode": 2446079,
        "fbtrace_id": "AbCdEfGhIjK",
    }
}
USAGE_HEADER = {
    "X-Business-Use-Case-Usage": json.dumps(
        {
            "1234": [
                {
                    "type": "ads_management",
                    "call_count": 100,
                    "total_cputime": 30,
                    "total_time": 40,
                    "estimated_time_to_regain_access": 1,
                }
            ]
        }
    )
}


def campaigns(count: int) -> list[dict[str, Any]]:
    """Campaigns of one account, with budgets in cents as text, as Graph sends them."""
    return [
        {
            "id": f"1202100000{i:08d}",
            "name": f"Campagna {i} - saldi",
            "objective": ["OUTCOME_TRAFFIC", "OUTCOME_SALES", "OUTCOME_AWARENESS"][i % 3],
            "status": "PAUSED" if i % 4 == 3 else "ACTIVE",
            "effective_status": "PAUSED" if i % 4 == 3 else "ACTIVE",
            "buying_type": "AUCTION",
            "daily_budget": str(1000 * (1 + i % 5)),
            "start_time": "2025-12-01T09:00:00+0100",
            "created_time": f"2025-12-{1 + i % 28:02d}T09:00:00+0100",
            "updated_time": f"2025-12-{1 + i % 28:02d}T10:00:00+0100",
        }
        for i in range(count)
    ]


def ads(count: int, campaign_list: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Ads spread over the campaigns (one ad set per campaign)."""
    out = []
    for i in range(count):
        campaign = campaign_list[i % len(campaign_list)]
        out.append(
            {
                "ad_id": f"1202300000{i:08d}",
                "ad_name": f"Annuncio {i}",
                "adset_id": f"1202200000{i % len(campaign_list):08d}",
                "adset_name": f"Gruppo {i % len(campaign_list)}",
                "campaign_id": campaign["id"],
                "campaign_name": campaign["name"],
            }
        )
    return out


def insights(ad_list: list[dict[str, str]], first: date, days: int) -> list[dict[str, Any]]:
    """One row per ad and day from ``first``, metrics as text."""
    rows = []
    for day in range(days):
        when = (first + timedelta(days=day)).isoformat()
        for n, ad in enumerate(ad_list):
            impressions = 1000 + 37 * n + 11 * day
            clicks = 10 + (n + day) % 17
            spend = (impressions * 7 + n) / 1000
            rows.append(
                {
                    **ad,
                    "date_start": when,
                    "date_stop": when,
                    "account_currency": "EUR",
                    "impressions": str(impressions),
                    "reach": str(impressions - 100),
                    "clicks": str(clicks),
                    "inline_link_clicks": str(clicks - 2),
                    "spend": f"{spend:.2f}",
                    "cpc": f"{spend / clicks:.6f}",
                    "cpm": f"{spend * 1000 / impressions:.6f}",
                    "ctr": f"{clicks * 100 / impressions:.6f}",
                }
            )
    return rows


def activities(count: int, campaign_list: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Account change log entries, 5 hours apart from 2026-01-01, made by three people."""
    people = [
        ("100000000000001", "Giulia Rossi"),
        ("100000000000002", "Marco Bianchi"),
        ("100000000000003", "Anna Verdi"),
    ]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(count):
        actor_id, actor_name = people[i % 3]
        campaign = campaign_list[i % len(campaign_list)]
        moment = start + timedelta(hours=5 * i)
        user_event = i % 10 == 9
        rows.append(
            {
                "event_time": moment.strftime("%Y-%m-%dT%H:%M:%S+0000"),
                "date_time_in_timezone": (moment + timedelta(hours=1)).strftime(
                    "%m/%d/%Y at %-I:%M %p"
                ),
                "event_type": "add_user_to_ad_account" if user_event else "update_campaign_budget",
                "translated_event_type": "User added" if user_event else "Campaign budget updated",
                "object_id": f"2000{i}" if user_event else campaign["id"],
                "object_type": "USER" if user_event else "CAMPAIGN",
                "object_name": f"Persona Nuova{i}" if user_event else campaign["name"],
                "actor_id": actor_id,
                "actor_name": actor_name,
                "application_name": "Ads Manager",
                "extra_data": json.dumps(
                    {
                        "old_value": {"value": 1000 + i, "currency": "EUR"},
                        "new_value": {"value": 1100 + i, "currency": "EUR"},
                    }
                ),
            }
        )
    return rows


def error(code: int, message: str, subcode: int | None = None, headers: dict | None = None):
    """Graph's error envelope, with HTTP 400 as Graph answers most errors."""
    body: dict[str, Any] = {
        "message": message,
        "type": "OAuthException" if code in (190, 2500) else "GraphMethodException",
        "code": code,
        "fbtrace_id": "AbCdEfGhIjK",
    }
    if subcode is not None:
        body["error_subcode"] = subcode
    return json_response(400, {"error": body}, headers)


def throttled(request: Request):
    """Meta's own throttling answer: HTTP 400, code 80004, with the business usage header."""
    return json_response(400, THROTTLED, USAGE_HEADER)


def meta_api(
    token: str,
    account_id: str,
    campaign_list: list[dict[str, Any]],
    insight_rows: list[dict[str, Any]],
    activity_list: list[dict[str, Any]],
) -> FakeApi:
    """`/v22.0/act_<id>/{campaigns,insights,activities}`; the lists may change between runs."""
    api = FakeApi(token=token, authorized=lambda request: True)  # checked by each edge
    prefix = f"/{VERSION}/act_{account_id}"

    def guarded(edge):
        def answer(request: Request):
            sent = request.query.get("access_token")
            if not sent:
                return error(2500, "An active access token must be used to query information.")
            if sent != token:
                return error(
                    190,
                    "Invalid OAuth access token - Cannot parse access token",
                    headers={
                        "WWW-Authenticate": 'OAuth "Facebook Platform" "invalid_token" '
                        '"Invalid OAuth access token - Cannot parse access token"'
                    },
                )
            return edge(request)

        return answer

    def list_campaigns(request: Request):
        return _page(api, request, [_fields(c, request, "id") for c in campaign_list])

    def list_insights(request: Request):
        if request.query.get("level") != "ad" or request.query.get("time_increment") != "1":
            return error(100, "(#100) this fake serves level=ad and time_increment=1 only")
        try:
            window = json.loads(request.query["time_range"])
            since = date.fromisoformat(window["since"])
            until = date.fromisoformat(window["until"])
        except (KeyError, ValueError, TypeError):
            return error(100, "(#100) Param time_range must be a JSON object with since and until")
        if since > until:
            return error(100, "(#100) time_range since must not be after until")
        rows = [
            _fields(r, request, None)
            for r in sorted(insight_rows, key=lambda r: (r["date_start"], r["ad_id"]))
            if since <= date.fromisoformat(r["date_start"]) <= until
        ]
        return _page(api, request, rows)

    def list_activities(request: Request):
        since = _strtotime(request.query.get("since"))
        if since is False:
            return error(100, "(#100) Param since must be a valid time")
        rows = [
            _fields(a, request, None)
            for a in sorted(activity_list, key=lambda a: a["event_time"], reverse=True)
            if since is None or _parse(a["event_time"]) >= since
        ]
        return _page(api, request, rows)

    def unknown_account(request: Request):
        return error(
            100,
            f"Unsupported get request. Object with ID '{request.path.split('/')[2]}' does not "
            "exist, cannot be loaded due to missing permissions, or does not support this "
            "operation.",
            subcode=33,
        )

    api.routes[f"{prefix}/campaigns"] = guarded(list_campaigns)
    api.routes[f"{prefix}/insights"] = guarded(list_insights)
    api.routes[f"{prefix}/activities"] = guarded(list_activities)
    api.routes[f"/{VERSION}/act_0/campaigns"] = guarded(unknown_account)
    return api


def _fields(record: dict[str, Any], request: Request, always: str | None) -> dict[str, Any]:
    wanted = [f for f in request.query.get("fields", "").split(",") if f]
    keep = {*wanted, *([always] if always else [])}
    return {k: v for k, v in record.items() if k in keep}


def _page(api: FakeApi, request: Request, rows: list[dict[str, Any]]):
    limit = int(request.query.get("limit", 25))
    start = (
        int(base64.b64decode(request.query["after"]).decode()) if "after" in request.query else 0
    )
    chunk = rows[start : start + limit]
    body: dict[str, Any] = {"data": chunk}
    if chunk:
        body["paging"] = {
            "cursors": {
                "before": base64.b64encode(str(start).encode()).decode(),
                "after": base64.b64encode(str(start + len(chunk)).encode()).decode(),
            }
        }
        if start + limit < len(rows):
            query = {k: v for k, v in request.query.items() if k not in ("after", "before")}
            query["after"] = body["paging"]["cursors"]["after"]
            body["paging"]["next"] = f"{api.base_url}{request.path.lstrip('/')}?{urlencode(query)}"
    return json_response(200, body)


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")


def _strtotime(value: str | None) -> datetime | bool | None:
    """Graph's `since`: Unix seconds or a date/time text; False when it is neither."""
    if value is None:
        return None
    if value.isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    for shape in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(value, shape)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return False
