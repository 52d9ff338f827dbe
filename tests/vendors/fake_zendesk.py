"""A loopback fake of Zendesk Support's cursor-based incremental exports (tickets and users).

What it reproduces, from Zendesk's public API reference:
- auth: HTTP Basic `{email}/token:{api_token}`; anything else is 401
  `{"error": "Couldn't authenticate you"}`;
- `GET /api/v2/incremental/{tickets,users}/cursor.json?start_time=<unix>`: the items changed
  on or after `start_time` (tickets by `generated_timestamp`, users by `updated_at`), ordered
  by that time then id; `start_time` is required without a cursor and must be at least a
  minute in the past (400 otherwise, Zendesk's `{"error", "description"}` shape);
- pages `{"tickets": [...], "after_cursor", "after_url", "before_cursor", "before_url",
  "end_of_stream"}`; the next page is `?cursor=<after_cursor>`; the last page keeps its
  `after_cursor` with `end_of_stream: true`, and a first request that finds nothing answers no
  cursor; an unknown cursor is 400;
- ticket and user objects with the fields the docs show (`via.source.from`, `recipient`,
  `satisfaction_rating`, `custom_fields`, `tags`; user `email`, `phone`, `photo`, `role`).
What it cannot: Zendesk's cursors are opaque, and what it does when `start_time` and `cursor`
come together is not documented (here the cursor wins). Pages hold 1000 items, as Zendesk's
do, unless a test sets `page_size` lower to see several pages.
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from tests.fake_api import FakeApi, Request, json_response

RATE_LIMITED = {
    "error": "APIRateLimitExceeded",
    "description": "Number of allowed incremental export API requests per minute exceeded",
}
DAY = 86400
JAN_1 = 1767225600  # 2026-01-01 00:00 UTC


def iso(unix: int) -> str:
    """Zendesk's timestamp format, `2026-01-01T00:00:00Z`."""
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def users(count: int) -> list[dict[str, Any]]:
    """End users (and every tenth an agent), updated an hour apart from 2026-01-01 01:00."""
    return [
        {
            "id": 360000 + i,
            "url": f"https://myshop.zendesk.com/api/v2/users/{360000 + i}.json",
            "name": f"Customer {i}",
            "email": f"Customer{i}@Example.com",
            "phone": f"+39 02 555 {i:04d}",
            "photo": None,
            "alias": None,
            "details": "",
            "notes": f"called about order {1000 + i}",
            "role": "agent" if i % 10 == 0 else "end-user",
            "locale": "it",
            "time_zone": "Rome",
            "organization_id": 9000 + i % 3,
            "tags": ["vip"] if i % 7 == 0 else [],
            "user_fields": {"loyalty_tier": ["gold", "silver", "bronze"][i % 3]},
            "active": True,
            "verified": True,
            "suspended": False,
            "created_at": iso(JAN_1 - DAY),
            "updated_at": iso(JAN_1 + 3600 * (i + 1)),
        }
        for i in range(count)
    ]


def tickets(count: int, people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tickets from the end users, changed a minute apart from 2026-02-01 00:00."""
    requesters = [p for p in people if p["role"] == "end-user"]
    agent = next(p for p in people if p["role"] == "agent")
    made = []
    for i in range(count):
        requester = requesters[i % len(requesters)]
        by_email = i % 2 == 0
        changed = JAN_1 + 31 * DAY + 60 * i
        made.append(
            {
                "id": 5000 + i,
                "url": f"https://myshop.zendesk.com/api/v2/tickets/{5000 + i}.json",
                "subject": f"Where is my order {1000 + i}?",
                "raw_subject": f"Where is my order {1000 + i}?",
                "description": f"Hi, I am {requester['name']}, call me on {requester['phone']}",
                "status": ["new", "open", "pending", "solved", "closed"][i % 5],
                "priority": "normal",
                "type": "question",
                "requester_id": requester["id"],
                "submitter_id": requester["id"],
                "assignee_id": agent["id"],
                "recipient": "support@myshop.com" if by_email else None,
                "via": {
                    "channel": "email" if by_email else "web",
                    "source": {
                        "from": {"address": requester["email"], "name": requester["name"]}
                        if by_email
                        else {},
                        "to": {"address": "support@myshop.com", "name": "MyShop"}
                        if by_email
                        else {},
                        "rel": None,
                    },
                },
                "tags": ["order", f"wave{i % 3}"],
                "custom_fields": [{"id": 27642, "value": f"ord-{1000 + i}"}],
                "satisfaction_rating": {"score": "unoffered"},
                "created_at": iso(changed - 3600),
                "updated_at": iso(changed),
                "generated_timestamp": changed,
            }
        )
    return made


def _user_time(user: dict[str, Any]) -> int:
    return int(
        datetime.strptime(user["updated_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    )


def _ticket_time(ticket: dict[str, Any]) -> int:
    return ticket["generated_timestamp"]


class Zendesk:
    """The fake's state: the account's users and tickets, and the admin's API token."""

    def __init__(self, email: str, api_token: str, user_count: int, ticket_count: int) -> None:
        self.users = users(user_count)
        self.tickets = tickets(ticket_count, self.users)
        self.page_size = 1000
        pair = f"{email}/token:{api_token}".encode()
        self._basic = "Basic " + base64.b64encode(pair).decode()
        self.api = FakeApi(token=api_token, authorized=lambda _request: True)
        self.api.routes["/api/v2/incremental/tickets/cursor.json"] = self._exporter(
            "tickets", lambda: self.tickets, _ticket_time
        )
        self.api.routes["/api/v2/incremental/users/cursor.json"] = self._exporter(
            "users", lambda: self.users, _user_time
        )

    def _exporter(self, name: str, items: Any, changed_at: Any) -> Any:
        def export(request: Request):
            if request.headers.get("authorization") != self._basic:
                return json_response(401, {"error": "Couldn't authenticate you"})
            ordered = sorted(items(), key=lambda item: (changed_at(item), item["id"]))
            keys = [(changed_at(item), item["id"]) for item in ordered]
            if "cursor" in request.query:
                after = _decode(request.query["cursor"])
                if after is None:
                    return _invalid("cursor is not valid")
                rest = [item for item, key in zip(ordered, keys, strict=True) if key > after]
            else:
                start = request.query.get("start_time", "")
                if not start.isdigit():
                    return _invalid("start_time is required and must be a Unix time")
                if int(start) > time.time() - 60:
                    return _invalid("start_time must be at least one minute in the past")
                rest = [item for item in ordered if changed_at(item) >= int(start)]
                after = None
            page = rest[: self.page_size]
            if page:
                after = (changed_at(page[-1]), page[-1]["id"])
            cursor = _encode(after) if after else None
            body = {
                name: page,
                "after_cursor": cursor,
                "after_url": f"{self.api.base_url}api/v2/incremental/{name}/cursor.json?cursor="
                f"{quote(cursor)}"
                if cursor
                else None,
                "before_cursor": None,
                "before_url": None,
                "end_of_stream": len(rest) <= self.page_size,
            }
            return json_response(200, body)

        return export


def _invalid(description: str):
    return json_response(400, {"error": "InvalidValue", "description": description})


def _encode(key: tuple[int, int]) -> str:
    return base64.b64encode(f"{key[0]}.0||{key[1]}|".encode()).decode()


def _decode(cursor: str) -> tuple[int, int] | None:
    try:
        stamp, _, rest = base64.b64decode(cursor, validate=True).decode().partition("||")
        return int(stamp.removesuffix(".0")), int(rest.rstrip("|"))
    except ValueError:
        return None
