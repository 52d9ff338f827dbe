"""A loopback fake of Mailchimp's Marketing API 3.0 (audiences, members, campaigns).

What it reproduces, from Mailchimp's public API reference
(https://mailchimp.com/developer/marketing/api/ and .../docs/fundamentals/):
- auth: HTTP basic, any user name, the API key as the password; a missing or wrong key, or a
  key of another data center (its `-us21` suffix), is a 401 problem document
  (`application/problem+json`: `type`, `title: API Key Invalid`, `status`, `detail`,
  `instance`); an unknown audience is a 404 `Resource Not Found`;
- envelopes `{"lists"|"members"|"campaigns": [...], "total_items": N, "_links": [...]}`, each
  record with its own `_links`; `count` (default 10, at most 1000) and `offset`;
  `total_items` counts what the filters match;
- `exclude_fields` (comma-separated, dot paths such as `members._links`);
- members: `since_last_changed` (taken as at-or-after; the docs say "after" without saying
  whether equal times count), `status`, `sort_field` (`timestamp_opt`, `timestamp_signup`,
  `last_changed`) and `sort_dir`; a member's `id` is the MD5 of the lower-cased email;
- campaigns: `sort_field` (`create_time`, `send_time`), `sort_dir`, `status`, `list_id`.
Not documented, so made up here: the order of records when no sort is asked for (creation).
Rate limiting (a 429 "Too Many Requests" problem, no Retry-After documented) is added by the
test with `tests.vendors.harness.rate_limited` and `RATE_LIMITED`.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fake_api import FakeApi, Request, json_response

ERROR_DOCS = "https://mailchimp.com/developer/marketing/docs/errors/"
PROBLEM = {"Content-Type": "application/problem+json"}
RATE_LIMITED = {
    "type": ERROR_DOCS,
    "title": "Too Many Requests",
    "status": 429,
    "detail": "You have exceeded the limit of 10 simultaneous connections.",
    "instance": "6c4b5b3e-9a8e-4b8e-bb0e-1f7c6f0f2a11",
}
_START = datetime(2026, 1, 1, 1, tzinfo=UTC)
_MEMBER_SORTS = {"timestamp_opt", "timestamp_signup", "last_changed"}
_CAMPAIGN_SORTS = {"create_time", "send_time"}


def at(hours: int) -> str:
    """``hours`` after 2026-01-01T01:00Z, as Mailchimp writes times."""
    return (_START + timedelta(hours=hours)).isoformat()


def _links(path: str) -> list[dict[str, Any]]:
    return [{"rel": "self", "href": f"https://us21.api.mailchimp.com/3.0/{path}", "method": "GET"}]


def audiences(ids: list[str]) -> list[dict[str, Any]]:
    """Audiences, with the owner's postal address and sender defaults Mailchimp requires."""
    return [
        {
            "id": list_id,
            "web_id": 100 + n,
            "name": f"Newsletter {n}",
            "contact": {
                "company": "Example Shop S.p.A.",
                "address1": "Via Dante 1",
                "city": "Milano",
                "zip": "20121",
                "country": "IT",
                "phone": "+39 02 0000000",
            },
            "permission_reminder": "You signed up on our website.",
            "campaign_defaults": {
                "from_name": "Example Shop",
                "from_email": "News@Example-Shop.it",
                "subject": "",
                "language": "it",
            },
            "date_created": at(-24 * (n + 1)),
            "list_rating": 4,
            "visibility": "prv",
            "double_optin": bool(n % 2),
            "stats": {"member_count": 1000 * (n + 1), "open_rate": 41.5, "click_rate": 3.2},
            "_links": _links(f"lists/{list_id}"),
        }
        for n, list_id in enumerate(ids)
    ]


def members(count: int, list_id: str) -> list[dict[str, Any]]:
    """Members of one audience, changed an hour apart from 2026-01-01T01:00Z."""
    made = []
    for i in range(count):
        email = f"Marta.Rossi{i}@Example.com"
        made.append(
            {
                "id": hashlib.md5(email.lower().encode()).hexdigest(),
                "email_address": email,
                "unique_email_id": f"{i:010x}",
                "contact_id": f"c{i:031x}",
                "full_name": f"Marta{i} Rossi{i}",
                "web_id": 50_000 + i,
                "email_type": "html",
                "status": ["subscribed", "unsubscribed", "cleaned", "pending"][i % 4],
                "merge_fields": {
                    "FNAME": f"Marta{i}",
                    "LNAME": f"Rossi{i}",
                    "ADDRESS": {"addr1": f"Via Po {i}", "city": "Torino", "zip": "10123"},
                    "PHONE": f"+39 011 {i:07d}",
                    "BIRTHDAY": f"{1 + i % 12:02d}/{1 + i % 28:02d}",
                },
                "stats": {"avg_open_rate": (i % 10) / 10, "avg_click_rate": (i % 5) / 20},
                "ip_signup": f"198.51.100.{i % 250}",
                "timestamp_signup": at(i - 100),
                "ip_opt": f"198.51.100.{i % 250}",
                "timestamp_opt": at(i - 99),
                "member_rating": 1 + i % 5,
                "last_changed": at(i),
                "language": "it",
                "vip": i % 50 == 0,
                "email_client": "Gmail",
                "location": {
                    "latitude": 45.07,
                    "longitude": 7.69,
                    "gmtoff": 1,
                    "dstoff": 2,
                    "country_code": "IT",
                    "timezone": "Europe/Rome",
                    "region": "TO",
                },
                "last_note": {
                    "note_id": i,
                    "created_at": at(i),
                    "created_by": "Customer care",
                    "note": f"Called from +39 333 {i:07d} about her order",
                },
                "source": "API - Generic",
                "tags_count": 1,
                "tags": [{"id": 7 + i % 3, "name": ["spring", "vip", "newsletter"][i % 3]}],
                "list_id": list_id,
                "_links": _links(f"lists/{list_id}/members/{i}"),
            }
        )
    return made


def campaigns(count: int, list_ids: list[str]) -> list[dict[str, Any]]:
    """Regular campaigns, created a day apart; the last one not sent yet."""
    return [
        {
            "id": f"{0xC0FFEE000 + n:010x}",
            "web_id": 700 + n,
            "type": "regular",
            "create_time": at(24 * n),
            "archive_url": f"http://eepurl.com/camp{n}",
            "status": "save" if n == count - 1 else "sent",
            "emails_sent": 0 if n == count - 1 else 900 + n,
            "send_time": "" if n == count - 1 else at(24 * n + 2),
            "content_type": "template",
            "recipients": {
                "list_id": list_ids[n % len(list_ids)],
                "list_is_active": True,
                "list_name": f"Newsletter {n % len(list_ids)}",
                "segment_text": "",
                "recipient_count": 900 + n,
            },
            "settings": {
                "subject_line": f"Spring sale, week {n}",
                "title": f"Spring {n}",
                "from_name": "Example Shop",
                "reply_to": "News@Example-Shop.it",
                "to_name": "*|FNAME|*",
                "template_id": 10,
            },
            "tracking": {"opens": True, "html_clicks": True, "text_clicks": False},
            "report_summary": {
                "opens": 400 + n,
                "unique_opens": 350 + n,
                "open_rate": 0.38,
                "clicks": 40 + n,
                "subscriber_clicks": 30 + n,
                "click_rate": 0.033,
            },
            "_links": _links(f"campaigns/{n}"),
        }
        for n in range(count)
    ]


def mailchimp_api(
    key: str,
    lists: list[dict[str, Any]],
    list_members: dict[str, list[dict[str, Any]]],
    all_campaigns: list[dict[str, Any]],
) -> FakeApi:
    """`/3.0/lists`, `/3.0/lists/<id>/members` per audience and `/3.0/campaigns`, for ``key``."""
    api = FakeApi(token=key, authorized=lambda _request: True)  # checked here, Mailchimp's way
    api.routes["/3.0/lists"] = _lister(key, "lists", lambda _q: lists, {}, "date_created")
    api.routes["/3.0/campaigns"] = _lister(
        key, "campaigns", lambda _q: all_campaigns, _CAMPAIGN_SORTS, "create_time"
    )
    for list_id, people in list_members.items():
        api.routes[f"/3.0/lists/{list_id}/members"] = _lister(
            key, "members", lambda _q, people=people: people, _MEMBER_SORTS, None
        )
    return api


def _problem(status: int, title: str, detail: str) -> Any:
    body = {"type": ERROR_DOCS, "title": title, "status": status, "detail": detail}
    return json_response(status, {**body, "instance": "0f4b1c2e-fake"}, PROBLEM)


def _auth_problem(key: str, request: Request) -> Any:
    header = request.headers.get("authorization", "")
    given = None
    if header.startswith("Basic "):
        given = base64.b64decode(header[len("Basic ") :]).decode().split(":", 1)[-1]
    if given is None:
        return _problem(
            401,
            "API Key Missing",
            "Your request did not include an API key.",
        )
    if given != key:
        return _problem(
            401,
            "API Key Invalid",
            "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
        )
    return None


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _without(record: dict[str, Any], paths: list[list[str]]) -> dict[str, Any]:
    record = dict(record)
    for path in paths:
        if len(path) == 1:
            record.pop(path[0], None)
        elif isinstance(record.get(path[0]), dict):
            record[path[0]] = _without(record[path[0]], [path[1:]])
    return record


def _lister(key: str, name: str, records, sorts: set[str], created: str | None):
    def list_records(request: Request):
        problem = _auth_problem(key, request)
        if problem:
            return problem
        query = request.query
        rows = list(records(query))
        if name == "members":
            if "since_last_changed" in query:
                since = _when(query["since_last_changed"])
                rows = [r for r in rows if _when(r["last_changed"]) >= since]
            if "before_last_changed" in query:
                before = _when(query["before_last_changed"])
                rows = [r for r in rows if _when(r["last_changed"]) < before]
        if "status" in query:
            rows = [r for r in rows if r["status"] == query["status"]]
        if name == "campaigns" and "list_id" in query:
            rows = [r for r in rows if r["recipients"]["list_id"] == query["list_id"]]
        field = query.get("sort_field")
        if field:
            if field not in sorts:
                return _problem(400, "Invalid Resource", f"Invalid sort_field: {field}")
            rows.sort(key=lambda r: (r[field] or "9999", r["id"]))
            if query.get("sort_dir", "DESC").upper() == "DESC":
                rows.reverse()
        elif created:
            rows.sort(key=lambda r: r[created])
        count = min(int(query.get("count", 10)), 1000)
        offset = int(query.get("offset", 0))
        excluded = [p.split(".") for p in query.get("exclude_fields", "").split(",") if p]
        inside = [p[1:] for p in excluded if p[0] == name and len(p) > 1]
        page = [_without(r, inside) for r in rows[offset : offset + count]]
        body = {name: page, "total_items": len(rows), "_links": _links(name)}
        return json_response(200, _without(body, [p for p in excluded if p[0] != name]))

    return list_records
