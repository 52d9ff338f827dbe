"""A loopback fake of Brevo's v3 API: contacts and email campaigns.

What it reproduces, from Brevo's public API reference
(https://developers.brevo.com/reference/getting-started-1):
- auth: the key in an `api-key` header; a missing or wrong key is a 401
  `{"code": "unauthorized", "message": "Key not found"}`, the `{code, message}` shape of
  Brevo's errors;
- `GET /v3/contacts`: `limit` (at most 1000, default 50) and `offset`, `modifiedSince` (a date
  and time as YYYY-MM-DDTHH:mm:ss.SSSZ or with a UTC offset: contacts modified after it),
  `sort` by creation (`desc` unless `asc`); `{"contacts": [...], "count": <matches>}`, each
  contact with `email`, `id`, `emailBlacklisted`, `smsBlacklisted`, `createdAt`,
  `modifiedAt` (in the account's time zone, here +01:00), `listIds`, `listUnsubscribed` and
  the account's `attributes` (FIRSTNAME, LASTNAME, SMS, and a custom PLAN);
- `GET /v3/emailCampaigns`: `limit` (at most 100) and `offset`, `excludeHtmlContent`,
  `statistics` (`globalStats` leaves only those in `statistics`); `{"campaigns": [...],
  "count": <campaigns>}`;
- bad parameters are a 400 (`invalid_parameter`, or `out_of_range` for a limit).
Not documented, so chosen here: the 429's body (`RATE_LIMITED`); its headers
`x-sib-ratelimit-limit/-remaining/-reset` (seconds until the reset) are Brevo's.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from tests.fake_api import FakeApi, Request, json_response

CET = timezone(timedelta(hours=1))
FIRST_CHANGE = datetime(2026, 1, 2, 9, 0, tzinfo=CET)
RATE_LIMITED = {"code": "too_many_requests", "message": "The expected rate limit is exceeded."}
RATE_LIMIT_HEADERS = {
    "x-sib-ratelimit-limit": "10",
    "x-sib-ratelimit-remaining": "0",
    "x-sib-ratelimit-reset": "1",
}
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?(Z|[+-]\d{2}:\d{2})$")


def stamp(moment: datetime) -> str:
    """A time as Brevo writes it: milliseconds and the account's UTC offset."""
    return moment.astimezone(CET).strftime("%Y-%m-%dT%H:%M:%S.000+01:00")


def contacts(count: int) -> list[dict[str, Any]]:
    """Contacts in order of creation, each modified ten minutes after the one before."""
    return [
        {
            "email": f"Contact{i}@Example.com",
            "id": 1 + i,
            "emailBlacklisted": i % 40 == 0,
            "smsBlacklisted": False,
            "createdAt": stamp(FIRST_CHANGE - timedelta(days=60) + timedelta(minutes=i)),
            "modifiedAt": stamp(FIRST_CHANGE + timedelta(minutes=10 * i)),
            "listIds": [2, 7] if i % 2 else [2],
            "listUnsubscribed": [],
            "attributes": {
                "FIRSTNAME": f"First{i}",
                "LASTNAME": f"Last{i}",
                "SMS": f"39333{i:07d}",
                "PLAN": "pro" if i % 3 else "free",
            },
        }
        for i in range(count)
    ]


def campaigns(count: int) -> list[dict[str, Any]]:
    """Sent newsletters with their statistics and HTML."""
    made = []
    for i in range(count):
        sent_at = FIRST_CHANGE - timedelta(days=count - i)
        sent = 5000 + 10 * i
        made.append(
            {
                "id": 1 + i,
                "name": f"Newsletter {i}",
                "subject": f"Our picks for week {i % 52 + 1}",
                "type": "classic",
                "status": "sent",
                "scheduledAt": stamp(sent_at),
                "testSent": False,
                "header": "[DEFAULT_HEADER]",
                "footer": "[DEFAULT_FOOTER]",
                "sender": {"name": "Shop Team", "id": 1, "email": "anna.rossi@shop.example"},
                "replyTo": "anna.rossi@shop.example",
                "toField": "{{contact.FIRSTNAME}} {{contact.LASTNAME}}",
                "htmlContent": f"<html><body>Week {i}</body></html>",
                "shareLink": f"https://sendibt3.com/campaign/{1 + i}",
                "tag": "newsletter",
                "createdAt": stamp(sent_at - timedelta(days=2)),
                "modifiedAt": stamp(sent_at),
                "inlineImageActivation": False,
                "mirrorActive": True,
                "recurring": False,
                "sentDate": stamp(sent_at),
                "recipients": {"lists": [2], "exclusionLists": []},
                "statistics": {
                    "globalStats": {
                        "uniqueClicks": sent // 20,
                        "clickers": sent // 22,
                        "complaints": 1,
                        "delivered": sent - 30,
                        "sent": sent,
                        "softBounces": 20,
                        "hardBounces": 10,
                        "uniqueViews": sent // 3,
                        "trackableViews": sent // 4,
                        "unsubscriptions": 4,
                        "viewed": sent // 2,
                    },
                    "campaignStats": [{"listId": 2, "sent": sent, "delivered": sent - 30}],
                    "linksStats": {},
                    "statsByDomain": {},
                },
            }
        )
    return made


def brevo_api(key: str, people: list[dict[str, Any]], newsletters: list[dict[str, Any]]) -> FakeApi:
    """`/v3/contacts` over ``people`` and `/v3/emailCampaigns` over ``newsletters``."""
    api = FakeApi(token=key, authorized=lambda request: True)  # 401s in Brevo's shape

    def guard(handler):
        def answer(request: Request):
            if request.headers.get("api-key") != key:
                return json_response(401, {"code": "unauthorized", "message": "Key not found"})
            return handler(request)

        return answer

    api.routes["/v3/contacts"] = guard(_list_contacts(people))
    api.routes["/v3/emailCampaigns"] = guard(_list_campaigns(newsletters))
    return api


def _bad(code: str, message: str) -> Any:
    return json_response(400, {"code": code, "message": message})


def _page(request: Request, default: int, most: int) -> tuple[int, int] | None:
    try:
        limit = int(request.query.get("limit", default))
        offset = int(request.query.get("offset", 0))
    except ValueError:
        return None
    return (limit, offset) if 0 < limit <= most and offset >= 0 else None


def _moment(text: str) -> datetime | None:
    if not _MOMENT.match(text):
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _list_contacts(people: list[dict[str, Any]]):
    def list_contacts(request: Request):
        page = _page(request, 50, 1000)
        if page is None:
            return _bad("out_of_range", "Limit exceeds max value")
        limit, offset = page
        rows = list(people)
        if "modifiedSince" in request.query:
            since = _moment(request.query["modifiedSince"])
            if since is None:
                return _bad("invalid_parameter", "modifiedSince is not a valid date-time")
            rows = [c for c in rows if _moment(c["modifiedAt"]) > since]
        order = request.query.get("sort", "desc")
        if order not in ("asc", "desc"):
            return _bad("invalid_parameter", "sort must be asc or desc")
        rows.sort(key=lambda c: (_moment(c["createdAt"]), c["id"]), reverse=order == "desc")
        return json_response(200, {"contacts": rows[offset : offset + limit], "count": len(rows)})

    return list_contacts


def _list_campaigns(newsletters: list[dict[str, Any]]):
    def list_campaigns(request: Request):
        page = _page(request, 50, 100)
        if page is None:
            return _bad("out_of_range", "Limit exceeds max value")
        limit, offset = page
        wanted = request.query.get("statistics")
        if wanted not in (None, "globalStats", "linksStats", "statsByDomain"):
            return _bad("invalid_parameter", "statistics is not valid")
        rows = []
        for campaign in newsletters[offset : offset + limit]:
            row = dict(campaign)
            if request.query.get("excludeHtmlContent") == "true":
                del row["htmlContent"]
            if wanted:
                row["statistics"] = {wanted: campaign["statistics"][wanted]}
            rows.append(row)
        return json_response(200, {"campaigns": rows, "count": len(newsletters)})

    return list_campaigns
