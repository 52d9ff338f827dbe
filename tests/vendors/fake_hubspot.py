"""A loopback fake of HubSpot's CRM v3 search endpoints (contacts, companies, deals).

What it reproduces, from HubSpot's public API reference
(https://developers.hubspot.com/docs/api/crm/search):
- auth: a private app's token as `Authorization: Bearer <token>`; otherwise a 401 with
  HubSpot's error shape (`status`, `message`, `correlationId`, `category:
  INVALID_AUTHENTICATION`);
- `POST /crm/v3/objects/<type>/search` with a JSON body: `filterGroups` (groups ORed, filters
  ANDed; operators EQ, NEQ, GT, GTE, LT, LTE on a property; datetime values as ISO 8601 or Unix
  milliseconds), `sorts` on one property, `properties` (only those come back, plus
  `hs_object_id`), `limit` (at most 200) and `after`;
- answers `{"total", "results", "paging": {"next": {"after"}}}`, no `paging` on the last page;
  records `{"id", "properties", "createdAt", "updatedAt", "archived"}`, every property a string;
- at most 10,000 results per query: paging past it is a 400 `VALIDATION_ERROR` (HubSpot's
  exact message for it is not documented; this one is made up);
- a malformed body or an unknown property is a 400 `VALIDATION_ERROR`.
Rate limiting (a 429 `errorType: RATE_LIMIT`, no rate-limit headers on search, no Retry-After)
is added by the test with `tests.vendors.harness.rate_limited` and `RATE_LIMITED`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.fake_api import FakeApi, Request, hubspot_contacts, json_response

CORRELATION_ID = "aeb5f871-7f07-4993-9211-075dc63e7cbf"
MAX_RESULTS = 10_000
RATE_LIMITED = {
    "status": "error",
    "message": "You have reached your secondly limit.",
    "errorType": "RATE_LIMIT",
    "correlationId": CORRELATION_ID,
    "policyName": "SECONDLY",
}
_OPERATORS = {
    "EQ": lambda a, b: a == b,
    "NEQ": lambda a, b: a != b,
    "GT": lambda a, b: a > b,
    "GTE": lambda a, b: a >= b,
    "LT": lambda a, b: a < b,
    "LTE": lambda a, b: a <= b,
}


def _stamp(day: int, hour: int) -> str:
    return f"2026-02-{day:02d}T{hour:02d}:00:00.000Z"


def contacts(count: int, company_count: int) -> list[dict[str, Any]]:
    """`tests.fake_api.hubspot_contacts`, with a phone and the primary company (every seventh
    contact has none)."""
    made = hubspot_contacts(count)
    for i, contact in enumerate(made):
        contact["properties"]["phone"] = f"+39 02 {i:07d}"
        contact["properties"]["hs_lead_status"] = "NEW" if i % 2 else "OPEN"
        contact["properties"]["associatedcompanyid"] = (
            None if i % 7 == 6 else str(5000 + i % company_count)
        )
    return made


def companies(count: int) -> list[dict[str, Any]]:
    """Companies, changed an hour apart on 2026-02-01 and 02."""
    return [
        _record(
            str(5000 + i),
            {
                "name": f"Retailer {i} S.r.l.",
                "domain": f"retailer{i}.example.com",
                "industry": "RETAIL",
                "country": "Italy",
                "numberofemployees": str(10 + i),
                "phone": f"+39 06 {i:07d}",
                "lifecyclestage": "customer",
            },
            created=f"2026-01-{1 + i % 28:02d}T09:00:00.000Z",
            changed=_stamp(1 + i // 24, i % 24),
            modified_property="hs_lastmodifieddate",
        )
        for i in range(count)
    ]


def deals(count: int) -> list[dict[str, Any]]:
    """Deals, changed an hour apart from 2026-02-03."""
    return [
        _record(
            str(9000 + i),
            {
                "dealname": f"Spring order {i}",
                "dealstage": ["appointmentscheduled", "closedwon", "closedlost"][i % 3],
                "pipeline": "default",
                "amount": f"{1000 + 25 * i}.50",
                "closedate": f"2026-03-{1 + i % 28:02d}T00:00:00.000Z",
            },
            created=f"2026-01-{1 + i % 28:02d}T11:00:00.000Z",
            changed=_stamp(3 + i // 24, i % 24),
            modified_property="hs_lastmodifieddate",
        )
        for i in range(count)
    ]


def _record(
    id_: str, properties: dict[str, Any], created: str, changed: str, modified_property: str
) -> dict[str, Any]:
    return {
        "id": id_,
        "properties": {
            **properties,
            "createdate": created,
            modified_property: changed,
            "hs_object_id": id_,
        },
        "createdAt": created,
        "updatedAt": changed,
        "archived": False,
    }


def hubspot_api(token: str, objects: dict[str, list[dict[str, Any]]]) -> FakeApi:
    """`POST /crm/v3/objects/<type>/search` for each of ``objects`` (contacts, companies...)."""
    api = FakeApi(token=token, authorized=lambda _request: True)  # checked here, HubSpot's way
    for object_type, records in objects.items():
        api.routes[f"/crm/v3/objects/{object_type}/search"] = _searcher(token, records)
    return api


def _error(status: int, message: str, category: str) -> Any:
    body = {
        "status": "error",
        "message": message,
        "correlationId": CORRELATION_ID,
        "category": category,
    }
    return json_response(status, body)


def _invalid(message: str) -> Any:
    return _error(400, message, "VALIDATION_ERROR")


def _value(text: Any) -> Any:
    """A filter or property value, comparable: datetimes (ISO or Unix ms) as datetimes."""
    if text is None:
        return None
    text = str(text)
    if text.isdigit() and len(text) >= 12:
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text


def _searcher(token: str, records: list[dict[str, Any]]):
    def search(request: Request):
        if request.method != "POST":
            return _error(405, "Method Not Allowed", "METHOD_NOT_ALLOWED")
        if request.headers.get("authorization") != f"Bearer {token}":
            return _error(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at "
                "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                "INVALID_AUTHENTICATION",
            )
        try:
            body = request.json() or {}
        except ValueError:
            return _invalid("Invalid input JSON on line 1")
        known = {name for r in records for name in r["properties"]}
        rows = list(records)
        groups = body.get("filterGroups") or []
        if groups:
            for group in groups:
                for f in group.get("filters", []):
                    if f.get("propertyName") not in known or f.get("operator") not in _OPERATORS:
                        return _invalid(f"There was a problem with the request: filter {f}")
            rows = [r for r in rows if any(_matches(r, g["filters"]) for g in groups)]
        for sort in reversed(body.get("sorts") or []):
            if sort.get("propertyName") not in known:
                return _invalid(f"Unknown sort property {sort.get('propertyName')!r}")
            rows.sort(key=lambda r, p=sort["propertyName"]: _sort_key(r, p))
            if sort.get("direction") == "DESCENDING":
                rows.reverse()
        limit = int(body.get("limit", 10))
        if not 1 <= limit <= 200:
            return _invalid("limit must be between 1 and 200")
        start = int(body.get("after") or 0)
        if start + limit > MAX_RESULTS:
            return _invalid(f"the search returns at most {MAX_RESULTS} results per query")
        wanted = {*body.get("properties", []), "hs_object_id"}
        page = [
            {**r, "properties": {k: v for k, v in r["properties"].items() if k in wanted}}
            for r in rows[start : start + limit]
        ]
        answer: dict[str, Any] = {"total": len(rows), "results": page}
        if start + limit < len(rows):
            answer["paging"] = {"next": {"after": str(start + limit)}}
        return json_response(200, answer)

    return search


def _sort_key(record: dict[str, Any], prop: str) -> tuple[bool, Any, str]:
    """Records without the property last; ties by id."""
    value = _value(record["properties"].get(prop))
    return value is None, value, record["id"]


def _matches(record: dict[str, Any], filters: list[dict[str, Any]]) -> bool:
    for f in filters:
        have = _value(record["properties"].get(f["propertyName"]))
        want = _value(f.get("value"))
        if have is None or want is None or type(have) is not type(want):
            return False
        if not _OPERATORS[f["operator"]](have, want):
            return False
    return True
