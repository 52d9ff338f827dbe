"""A loopback fake of Intercom's search endpoints (contacts, conversations), API version 2.11.

What it reproduces, from Intercom's public API reference
(https://developers.intercom.com/docs/references/2.11/rest-api/api.intercom.io):
- auth: `Authorization: Bearer <access token>`; a missing or wrong token is a 401
  `{"type": "error.list", "errors": [{"code": "unauthorized", "message": "Access Token
  Invalid"}]}`, the shape of every Intercom error;
- `Intercom-Version`: an unknown version is a 400 (`intercom_version_invalid`). Without the
  header the real API answers in the app's default version; the fake refuses that too, as its
  shapes are 2.11's;
- search: `POST /contacts/search` and `POST /conversations/search` with
  `{"query": {"field", "operator", "value"}, "pagination": {"per_page", "starting_after"}}`;
  `per_page` is 1-150 (default 50 for contacts, 20 for conversations), the next page's opaque
  cursor is in `pages.next.starting_after` and `pages.next` is absent on the last page;
  envelopes `{"type": "list", "data": [...]}` (contacts) and
  `{"type": "conversation.list", "conversations": [...]}`, both with `total_count` and `pages`;
- timestamps: contacts search matches `updated_at` by calendar day (the workspace here is on
  UTC): `>` starts at the next day's midnight, `<` before the day's midnight, `=` the whole
  day, and `>=`/`<=` are a 400 on dates. Conversations search documents `>` as greater or
  equal on the timestamp itself;
- every answer carries `X-RateLimit-Limit/-Remaining/-Reset`; the 429 body and headers are in
  `RATE_LIMITED` / `rate_limit_headers`, for `tests.vendors.harness.rate_limited`.
Not reproduced: the GET list endpoints, nested (AND/OR) queries, and search's indexing delay.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.fake_api import FakeApi, Request, json_response

VERSION = "2.11"
DAY = 86400
JAN_2 = 1767312000  # 2026-01-02T00:00:00Z
RESET = 1767225660  # the X-RateLimit-Reset the fake announces (a Unix time)
RATE_LIMITED = {
    "type": "error.list",
    "request_id": "000on1ka0cp0r7at0mo0",
    "errors": [
        {"code": "rate_limit_exceeded", "message": "Exceeded rate limit of 10000 in 1_minute"}
    ],
}


def rate_limit_headers(remaining: int) -> dict[str, str]:
    """The headers Intercom sends on every answer (and on its 429, with 0 remaining)."""
    return {
        "X-RateLimit-Limit": "10000",
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(RESET),
    }


def contact_id(i: int) -> str:
    """Intercom's 24-hex-digit contact ids."""
    return f"{0x6650A0000000000000000000 + i:024x}"


def contacts(count: int) -> list[dict[str, Any]]:
    """Users and leads with personal fields, updated an hour apart from 2026-01-02 00:00 UTC."""
    return [
        {
            "type": "contact",
            "id": contact_id(i),
            "workspace_id": "ecahpwf5",
            "external_id": f"cust-{i}" if i % 4 else None,
            "role": "lead" if i % 4 == 0 else "user",
            "email": f"Person{i}@Example.com",
            "email_domain": "example.com",
            "phone": f"+39333{i:07d}",
            "name": f"First{i} Last{i}",
            "avatar": f"https://static.intercomassets.com/avatars/{i}/square_128/me.jpg",
            "owner_id": 991267590 + i % 3,
            "social_profiles": {
                "type": "list",
                "data": [
                    {"type": "social_profile", "name": "Twitter", "url": f"https://x.com/p{i}"}
                ]
                if i % 5 == 0
                else [],
            },
            "has_hard_bounced": i % 50 == 0,
            "marked_email_as_spam": False,
            "unsubscribed_from_emails": i % 7 == 0,
            "created_at": JAN_2 - 30 * DAY + i * 60,
            "updated_at": JAN_2 + i * 3600,
            "signed_up_at": JAN_2 - 30 * DAY + i * 60 if i % 4 else None,
            "last_seen_at": JAN_2 + i * 3600 - 600,
            "last_replied_at": None,
            "last_contacted_at": None,
            "last_email_opened_at": JAN_2 + i * 1800 if i % 3 == 0 else None,
            "last_email_clicked_at": None,
            "language_override": None,
            "browser": "chrome",
            "browser_version": "124.0.0.0",
            "browser_language": "it",
            "os": "OS X 14.4",
            "location": {
                "type": "location",
                "country": "Italy",
                "region": "Lombardy",
                "city": "Milan",
                "country_code": "ITA",
                "continent_code": "EU",
            },
            "custom_attributes": {"plan": "pro" if i % 2 else "free"},
            "tags": {
                "type": "list",
                "data": [
                    {"type": "tag", "id": str(80000 + i % 3), "url": f"/tags/{80000 + i % 3}"}
                ],
                "url": f"/contacts/{contact_id(i)}/tags",
                "total_count": 1,
                "has_more": False,
            },
        }
        for i in range(count)
    ]


def conversations(count: int, contact_count: int) -> list[dict[str, Any]]:
    """Customer-initiated conversations, each with one contact, updated two hours apart."""
    made = []
    for i in range(count):
        person = i % contact_count
        made.append(
            {
                "type": "conversation",
                "id": str(3350 + i),
                "created_at": JAN_2 + i * 7200 - 900,
                "updated_at": JAN_2 + i * 7200,
                "waiting_since": None,
                "snoozed_until": None,
                "source": {
                    "type": "conversation",
                    "id": str(403918000 + i),
                    "delivered_as": "customer_initiated",
                    "subject": "",
                    "body": f"<p>Hi, order {5000 + i} has not arrived at Via Roma {i}</p>",
                    "author": {
                        "type": "user",
                        "id": contact_id(person),
                        "name": f"First{person} Last{person}",
                        "email": f"Person{person}@Example.com",
                    },
                    "attachments": [],
                    "url": "https://shop.example.com/orders",
                    "redacted": False,
                },
                "contacts": {
                    "type": "contact.list",
                    "contacts": [
                        {
                            "type": "contact",
                            "id": contact_id(person),
                            "external_id": f"cust-{person}",
                        }
                    ],
                },
                "admin_assignee_id": 991267715,
                "team_assignee_id": 5017691,
                "open": i % 3 == 0,
                "state": ["open", "closed", "closed"][i % 3],
                "read": True,
                "tags": {"type": "tag.list", "tags": []},
                "priority": "not_priority",
                "statistics": {
                    "type": "conversation_statistics",
                    "time_to_admin_reply": 300 + i,
                    "count_reopens": 0,
                    "count_conversation_parts": 3,
                },
                "conversation_rating": None,
                "title": None,
                "custom_attributes": {},
                "ai_agent_participated": False,
            }
        )
    return made


def intercom_api(token: str, people: list[dict[str, Any]], talks: list[dict[str, Any]]) -> FakeApi:
    """`POST /contacts/search` over ``people`` and `POST /conversations/search` over ``talks``."""
    api = FakeApi(token=token, authorized=lambda request: True)  # 401s answered in Intercom's shape
    api.routes["/contacts/search"] = _searcher(token, people, "list", "data", 50, _by_day)
    api.routes["/conversations/search"] = _searcher(
        token, talks, "conversation.list", "conversations", 20, _by_instant
    )
    return api


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Any:
    body = {
        "type": "error.list",
        "request_id": "000fake0req0id000000",
        "errors": [{"code": code, "message": message}],
    }
    return json_response(status, body, headers)


def _by_day(operator: str, value: int, stamp: int) -> bool | None:
    """Contacts search on a date: the value is truncated to its day (UTC workspace)."""
    day = value - value % DAY
    return {">": stamp >= day + DAY, "<": stamp < day, "=": day <= stamp < day + DAY}.get(operator)


def _by_instant(operator: str, value: int, stamp: int) -> bool | None:
    """Conversations search: `>` and `<` are documented as greater/lower or equal."""
    return {">": stamp >= value, "<": stamp <= value, "=": stamp == value}.get(operator)


def _cursor(offset: int) -> str:
    return base64.b64encode(json.dumps([offset, "updated_at"]).encode()).decode()


def _offset(cursor: str) -> int | None:
    try:
        offset, _ = json.loads(base64.b64decode(cursor, validate=True))
        return int(offset)
    except (ValueError, TypeError):
        return None


def _searcher(token, records, list_type, key, default_size, matches):
    served = [0]

    def search(request: Request):
        served[0] += 1
        headers = rate_limit_headers(10000 - served[0])
        if request.headers.get("authorization") != f"Bearer {token}":
            return _error(401, "unauthorized", "Access Token Invalid", headers)
        if request.headers.get("intercom-version") != VERSION:
            return _error(
                400, "intercom_version_invalid", "The requested version could not be found", headers
            )
        if request.method != "POST":
            return _error(404, "not_found", "Resource Not Found", headers)
        body = request.json() or {}
        query = body.get("query") or {}
        if query.get("field") != "updated_at":
            return _error(400, "parameter_invalid", "the fake searches updated_at only", headers)
        if query.get("operator") in (">=", "<=", "!=", "IN", "NIN") and matches is _by_day:
            return _error(
                400,
                "parameter_invalid",
                f"Operator {query['operator']} is not supported for dates",
                headers,
            )
        try:
            value = int(query.get("value"))
        except (TypeError, ValueError):
            return _error(400, "parameter_invalid", "Value for updated_at must be a date", headers)
        found = [r for r in records if matches(query["operator"], value, r["updated_at"])]
        found.sort(key=lambda r: (r["updated_at"], r["id"]))
        paging = body.get("pagination") or {}
        size = int(paging.get("per_page", default_size))
        if not 1 <= size <= 150:
            return _error(400, "parameter_invalid", "per_page must be between 1 and 150", headers)
        start = 0
        if paging.get("starting_after") is not None:
            start = _offset(str(paging["starting_after"]))
            if start is None:
                return _error(400, "parameter_invalid", "starting_after is invalid", headers)
        total_pages = -(-len(found) // size)
        pages: dict[str, Any] = {
            "type": "pages",
            "page": start // size + 1,
            "per_page": size,
            "total_pages": total_pages,
        }
        if start + size < len(found):
            pages["next"] = {"page": start // size + 2, "starting_after": _cursor(start + size)}
        answer = {"type": list_type, key: found[start : start + size], "total_count": len(found)}
        return json_response(200, {**answer, "pages": pages}, headers)

    return search
