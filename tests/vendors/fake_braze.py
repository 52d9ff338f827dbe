"""A loopback fake of Braze's REST API: campaigns, campaign data series, email unsubscribes.

What it reproduces, from Braze's public API reference (https://www.braze.com/docs/api/basics/):
- auth: the REST API key as `Authorization: Bearer <key>`; a missing or unknown key is a 401
  with Braze's `{"message": ...}` error body;
- every answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`
  (a Unix time); a 429 has the same headers and no Retry-After (`rate_limit_headers`);
- `GET /campaigns/list`: `page` from 0, 100 campaigns a page, oldest first unless
  `sort_direction=desc`, `last_edit.time[gt]`; `{"message": "success", "campaigns": [...]}`,
  an empty list past the last page;
- `GET /campaigns/data_series`: `campaign_id` and `length` (1-100 days) required, `ending_at`
  optional (default: now, which the fake fixes at ``TODAY``); one row per day in `data`, with
  `time` as a date and the per-channel stats under `messages`;
- `GET /email/unsubscribes`: `start_date` and `end_date` required, as YYYY-MM-DD, read as
  midnight UTC (so `end_date`'s own day is left out); `limit` 1-500 (default 100), `offset`,
  `sort_direction` (newest first by default); `{"emails": [{"email", "unsubscribed_at"}],
  "message": "success"}`, `unsubscribed_at` written like `2026-01-05 10:00:00 +0000`;
- bad parameters are a 400 with a `message`.
Not documented, so chosen here: the exact texts of the error messages and of the 429 body.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.fake_api import FakeApi, Request, json_response

TODAY = date(2026, 2, 1)
RESET = 1769904000  # 2026-02-01T00:00:00Z
RATE_LIMITED = {"message": "Rate limit exceeded"}
FIRST_UNSUBSCRIBE = datetime(2026, 1, 1, 6, 0, tzinfo=UTC)


def rate_limit_headers(remaining: int) -> dict[str, str]:
    """The headers Braze sends on every answer (and on its 429, with 0 remaining)."""
    return {
        "X-RateLimit-Limit": "250000",
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(RESET),
    }


def campaign_id(i: int) -> str:
    """Braze's campaign ids are UUIDs."""
    return f"{i:08x}-6f1c-4b7e-9a2d-{i:012x}"


def campaigns(count: int) -> list[dict[str, Any]]:
    """Campaigns as `/campaigns/list` returns them, in order of creation."""
    return [
        {
            "id": campaign_id(i),
            "last_edited": f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:00:00+00:00",
            "name": f"Winter sale wave {i}",
            "is_api_campaign": i % 10 == 0,
            "tags": ["promo", f"wave{i % 3}"],
        }
        for i in range(count)
    ]


def stamp(moment: datetime) -> str:
    """A time as Braze writes `unsubscribed_at`."""
    return moment.strftime("%Y-%m-%d %H:%M:%S +0000")


def unsubscribes(count: int) -> list[dict[str, Any]]:
    """Unsubscribed addresses (mixed case), 17 minutes apart from 2026-01-01 06:00 UTC."""
    return [
        {
            "email": f"Subscriber{i}@Example.COM",
            "unsubscribed_at": stamp(FIRST_UNSUBSCRIBE + timedelta(minutes=17 * i)),
        }
        for i in range(count)
    ]


def day_stats(campaign: int, day: date, extra_opens: int = 0) -> dict[str, Any]:
    """One day of one campaign's stats (an email campaign with one variant)."""
    sent = 1000 + 10 * campaign + day.day
    opens = sent // 3 + extra_opens
    return {
        "time": day.isoformat(),
        "conversions": sent // 50,
        "conversions_by_send_time": sent // 55,
        "revenue": round(sent * 0.73, 2),
        "unique_recipients": sent - 5,
        "messages": {
            "email": [
                {
                    "variation_name": "Variant 1",
                    "sent": sent,
                    "delivered": sent - 12,
                    "opens": opens,
                    "unique_opens": opens - 40,
                    "clicks": sent // 12,
                    "unique_clicks": sent // 14,
                    "unsubscribes": 3,
                    "bounces": 12,
                    "reported_spam": 0,
                }
            ]
        },
    }


def braze_api(
    key: str,
    all_campaigns: list[dict[str, Any]],
    addresses: list[dict[str, Any]],
    extra_opens: dict[tuple[str, str], int] | None = None,
) -> FakeApi:
    """The three endpoints; ``extra_opens[(campaign id, day)]`` adds opens to that day."""
    api = FakeApi(token=key, authorized=lambda request: True)  # 401s in Braze's shape
    served = [0]
    boosts = extra_opens if extra_opens is not None else {}

    def guard(handler):
        def answer(request: Request):
            served[0] += 1
            headers = rate_limit_headers(250000 - served[0])
            if request.headers.get("authorization") != f"Bearer {key}":
                return json_response(401, {"message": "Invalid API key"}, headers)
            status, extra, body = handler(request)
            return status, {**extra, **headers}, body

        return answer

    api.routes["/campaigns/list"] = guard(_list_campaigns(all_campaigns))
    api.routes["/campaigns/data_series"] = guard(_data_series(all_campaigns, boosts))
    api.routes["/email/unsubscribes"] = guard(_list_unsubscribes(addresses))
    return api


def _bad(message: str) -> Any:
    return json_response(400, {"message": message})


def _int(request: Request, name: str, default: int) -> int | None:
    try:
        return int(request.query.get(name, default))
    except ValueError:
        return None


def _list_campaigns(all_campaigns: list[dict[str, Any]]):
    def list_campaigns(request: Request):
        page = _int(request, "page", 0)
        if page is None or page < 0:
            return _bad("page must be a non-negative integer")
        rows = list(all_campaigns)
        if "last_edit.time[gt]" in request.query:
            since = request.query["last_edit.time[gt]"]
            rows = [c for c in rows if c["last_edited"] > since]
        if request.query.get("sort_direction") == "desc":
            rows.reverse()
        return json_response(
            200, {"message": "success", "campaigns": rows[page * 100 : (page + 1) * 100]}
        )

    return list_campaigns


def _data_series(all_campaigns: list[dict[str, Any]], boosts: dict[tuple[str, str], int]):
    def data_series(request: Request):
        index = {c["id"]: i for i, c in enumerate(all_campaigns)}
        wanted = request.query.get("campaign_id")
        if wanted is None:
            return _bad("campaign_id is required")
        if wanted not in index:
            return _bad(f"Invalid campaign_id {wanted}")
        length = _int(request, "length", 0)
        if length is None or not 1 <= length <= 100:
            return _bad("length must be an integer between 1 and 100")
        end = TODAY
        if "ending_at" in request.query:
            end = datetime.fromisoformat(request.query["ending_at"]).date()
        days = [end - timedelta(days=n) for n in range(length - 1, -1, -1)]
        data = [
            day_stats(index[wanted], day, boosts.get((wanted, day.isoformat()), 0)) for day in days
        ]
        return json_response(200, {"message": "success", "data": data})

    return data_series


def _midnight(text: str | None) -> datetime | None:
    try:
        return datetime.strptime(text or "", "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None


def _list_unsubscribes(addresses: list[dict[str, Any]]):
    def list_unsubscribes(request: Request):
        query = request.query
        start, end = _midnight(query.get("start_date")), _midnight(query.get("end_date"))
        if "email" not in query and (start is None or end is None):
            return _bad("start_date and end_date are required, as YYYY-MM-DD")
        if start and end and start >= end:
            return _bad("start_date must be earlier than end_date")
        limit, offset = _int(request, "limit", 100), _int(request, "offset", 0)
        if limit is None or not 1 <= limit <= 500 or offset is None or offset < 0:
            return _bad("limit must be between 1 and 500, offset at least 0")
        if query.get("sort_direction", "desc") not in ("asc", "desc"):
            return _bad("sort_direction must be asc or desc")

        def when(row: dict[str, Any]) -> datetime:
            return datetime.strptime(row["unsubscribed_at"], "%Y-%m-%d %H:%M:%S %z")

        if "email" in query:  # one address's state, dates not needed
            found = [r for r in addresses if r["email"].lower() == query["email"].lower()]
        else:
            found = [r for r in addresses if start <= when(r) < end]
        rows = sorted(
            found,
            key=when,
            reverse=query.get("sort_direction", "desc") == "desc",
        )
        return json_response(200, {"emails": rows[offset : offset + limit], "message": "success"})

    return list_unsubscribes
