"""A loopback fake of a JSON:API vendor shaped like Klaviyo's API (the README's worked example).

What it reproduces, from Klaviyo's public API reference:
- auth: `Authorization: Klaviyo-API-Key <key>` (401 otherwise), and a required `revision`
  header (400 without it);
- JSON:API envelopes: `{"data": [{"type", "id", "attributes", "relationships"}], "links"}`;
- cursor pages: `page[size]` (at most 100) and `links.next`, an absolute URL holding
  `page[cursor]` and the original filter; `links.next` is null on the last page;
- filters: `filter=greater-than(<field>,<ISO timestamp>)` on `updated` (profiles) and
  `datetime` (events), rows returned in ascending order of that field;
- errors as JSON:API `errors` arrays.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from tests.fake_api import FakeApi, Request, json_response

_FILTER = re.compile(r"^greater-than\((\w+),([^)]+)\)$")
REVISION = "2024-10-15"


def profiles(count: int) -> list[dict[str, Any]]:
    """Profiles with personal attributes, updated one hour apart from 2026-01-01 01:00."""
    return [
        {
            "type": "profile",
            "id": f"01PROFILE{i:06d}",
            "attributes": {
                "email": f"Person{i}@Example.com",
                "phone_number": f"+3933312{i:05d}",
                "first_name": f"Name{i}",
                "last_name": f"Surname{i}",
                "location": {"city": "Milano", "country": "IT"},
                "updated": f"2026-01-{1 + (i + 1) // 24:02d}T{(i + 1) % 24:02d}:00:00+00:00",
            },
        }
        for i in range(count)
    ]


def events(count: int, profile_count: int) -> list[dict[str, Any]]:
    """Events, each about one of the profiles, a minute apart from 2026-02-01."""
    return [
        {
            "type": "event",
            "id": f"01EVENT{i:07d}",
            "attributes": {
                "datetime": f"2026-02-01T{i // 60 % 24:02d}:{i % 60:02d}:00+00:00",
                "event_properties": {"campaign": f"cmp_{i % 5}", "value": i % 7},
            },
            "relationships": {
                "profile": {"data": {"type": "profile", "id": f"01PROFILE{i % profile_count:06d}"}}
            },
        }
        for i in range(count)
    ]


def klaviyo_api(key: str, tables: dict[str, tuple[list[dict[str, Any]], str]]) -> FakeApi:
    """Routes `/api/<name>` for each ``tables`` entry: (records, the field filters compare).

    ``api.base_url`` is set by `tests.fake_api.serve`; `links.next` uses it.
    """
    api = FakeApi(token=key, scheme="Klaviyo-API-Key")
    for name, (records, field) in tables.items():
        api.routes[f"/api/{name}"] = _lister(api, name, records, field)
    return api


def _error(status: int, code: str, detail: str) -> Any:
    return json_response(status, {"errors": [{"status": status, "code": code, "detail": detail}]})


def _lister(api: FakeApi, name: str, records: list[dict[str, Any]], field: str):
    def list_records(request: Request):
        if request.headers.get("revision") != REVISION:
            return _error(400, "invalid", "the revision header is required")
        rows = sorted(records, key=lambda r: r["attributes"][field])
        wanted = request.query.get("filter")
        if wanted:
            match = _FILTER.match(wanted)
            if not match or match.group(1) != field:
                return _error(400, "invalid", f"unsupported filter {wanted!r}")
            rows = [r for r in rows if r["attributes"][field] > match.group(2)]
        size = min(int(request.query.get("page[size]", 20)), 100)
        start = int(request.query.get("page[cursor]", 0))
        page = rows[start : start + size]
        next_url = None
        if start + size < len(rows):
            query = {k: v for k, v in request.query.items() if k != "page[cursor]"}
            query["page[cursor]"] = str(start + size)
            next_url = f"{api.base_url}api/{name}?{urlencode(query)}"
        return json_response(200, {"data": page, "links": {"self": "", "next": next_url}})

    return list_records
