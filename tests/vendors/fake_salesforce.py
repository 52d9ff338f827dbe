"""A loopback fake of Salesforce's REST API: SOQL `query` with `nextRecordsUrl` batches over
Leads and Contacts, behind the OAuth2 refresh-token flow (tests/fake_oauth.py).

What it reproduces, from Salesforce's public documentation:
- OAuth2: `POST /services/oauth2/token` with `grant_type=refresh_token` and the client id and
  secret in the form; the answer has `access_token`, `instance_url`, `id`, `issued_at`,
  `signature`, `token_type` and no `expires_in`; refresh tokens do not rotate (the default);
  a bad one is 400 `invalid_grant`. API calls need `Authorization: Bearer <token>`, else 401
  `[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]`;
- `GET /services/data/v62.0/query?q=SELECT <fields> FROM Lead|Contact [WHERE SystemModstamp
  >=|> <datetime>] ORDER BY SystemModstamp ASC`: only the selected fields (plus `attributes`),
  datetime literals as SOQL documents them (`...Z`, `...+hh:mm`; anything else is 400
  MALFORMED_QUERY), unknown fields 400 INVALID_FIELD;
- batches of `Sforce-Query-Options: batchSize=N` (200 to 2000, default 2000), each
  `{"totalSize", "done", "records", "nextRecordsUrl"}` with a relative `nextRecordsUrl`
  (`/services/data/v62.0/query/01g...-2000`) on all but the last;
- errors as a JSON list `[{"message", "errorCode"}]`: 503 SERVER_UNAVAILABLE when overloaded
  (`overloaded`), 403 REQUEST_LIMIT_EXCEEDED once the daily limit is spent (`limit_exceeded`).
What it does not: Salesforce documents no Retry-After on 503; record values (`.000+0000`
datetimes, 15- and 18-character ids) are shaped like the API's but generated.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fake_api import FakeApi, Request, json_response
from tests.fake_oauth import OAuthServer

TOKEN_PATH = "/services/oauth2/token"
API = "/services/data/v62.0"
JAN_1 = datetime(2026, 1, 1, tzinfo=UTC)
_SOQL = re.compile(
    r"^SELECT (?P<fields>[\w, ]+) FROM (?P<object>\w+)"
    r"(?: WHERE SystemModstamp (?P<op>>=|>) (?P<since>\S+))?"
    r" ORDER BY SystemModstamp ASC$"
)
_LITERAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")
OVERLOADED = [{"message": "Server is overloaded, try later", "errorCode": "SERVER_UNAVAILABLE"}]


def stamp(moment: datetime) -> str:
    """Salesforce's datetime format in records: `2026-01-05T10:00:00.000+0000`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def contacts(count: int) -> list[dict[str, Any]]:
    """Contacts, changed a minute apart from 2026-01-02 00:00 UTC."""
    return [
        {
            "Id": f"003Qy00000{i:05d}AAA",
            "AccountId": f"001Qy00000{i % 7:05d}AAA",
            "FirstName": f"Giulia{i}",
            "LastName": f"Bianchi{i}",
            "Email": f"Giulia.Bianchi{i}@Example.IT",
            "Phone": f"+39 02 5550 {i:04d}",
            "MailingStreet": f"Via Verdi {i}",
            "MailingCountry": "Italy",
            "HasOptedOutOfEmail": i % 9 == 0,
            "LeadSource": "Web",
            "OwnerId": "005Qy000001AAAA",
            "CreatedDate": stamp(JAN_1),
            "SystemModstamp": stamp(JAN_1 + timedelta(days=1, minutes=i)),
        }
        for i in range(count)
    ]


def leads(count: int, contact_count: int) -> list[dict[str, Any]]:
    """Leads, changed a minute apart from 2026-01-03 00:00 UTC; every fourth converted."""
    return [
        {
            "Id": f"00QQy00000{i:05d}AAA",
            "FirstName": f"Marco{i}",
            "LastName": f"Rossi{i}",
            "Email": f"Marco.Rossi{i}@Example.com",
            "Phone": f"+39 333 555 {i:04d}",
            "Street": f"Via Roma {i}",
            "Company": f"Rossi Arredi {i} S.r.l.",
            "Title": "Buyer",
            "Status": "Closed - Converted" if i % 4 == 0 else "Open - Not Contacted",
            "LeadSource": ["Web", "Trade Show", "Partner"][i % 3],
            "Country": "Italy",
            "IsConverted": i % 4 == 0,
            "ConvertedContactId": f"003Qy00000{i % contact_count:05d}AAA" if i % 4 == 0 else None,
            "ConvertedDate": "2026-01-03" if i % 4 == 0 else None,
            "OwnerId": "005Qy000001AAAA",
            "CreatedDate": stamp(JAN_1),
            "SystemModstamp": stamp(JAN_1 + timedelta(days=2, minutes=i)),
        }
        for i in range(count)
    ]


class Salesforce:
    """The fake org: its Leads and Contacts, open query cursors, and the OAuth server."""

    def __init__(self, client_id: str, client_secret: str, lead_count: int, contact_count: int):
        self.objects = {
            "Lead": leads(lead_count, contact_count),
            "Contact": contacts(contact_count),
        }
        self.oauth = OAuthServer(client_id, client_secret, rotate=False)
        self.batch_cap = 2000  # Salesforce's largest batch; a test may lower it (Salesforce may)
        self.overloaded = 0  # answer this many query requests with 503
        self.limit_exceeded = False  # the org's daily API request limit is spent
        self.token_requests: list[Request] = []
        self.api = FakeApi(token="", authorized=lambda _request: True)
        self.api.routes[TOKEN_PATH] = self._token
        self.api.open_paths.add(TOKEN_PATH)
        self.api.routes[f"{API}/query"] = self._guarded(self._query)

    def _token(self, request: Request):
        self.token_requests.append(request)
        status, headers, body = self.oauth.token_endpoint(request)
        if status != 200:
            return status, headers, body
        answer = json.loads(body)
        answer.pop("expires_in", None)  # Salesforce does not say when the session ends
        answer.pop("refresh_token", None)  # nor hands out a new refresh token (no rotation)
        answer.update(
            instance_url="https://myshop.my.salesforce.com",
            id="https://login.salesforce.com/id/00DQy000000AAAA/005Qy000001AAAA",
            issued_at="1767225600000",
            signature=secrets.token_urlsafe(32),
            scope="api refresh_token",
        )
        return json_response(200, answer, headers)

    def _guarded(self, handler: Any) -> Any:
        def answer(request: Request):
            if not self.oauth.authorized(request):
                return _errors(401, "Session expired or invalid", "INVALID_SESSION_ID")
            if self.limit_exceeded:
                return _errors(403, "TotalRequests Limit exceeded.", "REQUEST_LIMIT_EXCEEDED")
            if self.overloaded:
                self.overloaded -= 1
                return json_response(503, OVERLOADED)
            return handler(request)

        return answer

    def _query(self, request: Request):
        soql = request.query.get("q")
        if not soql:
            return _errors(400, "A query string has to be specified", "MALFORMED_QUERY")
        match = _SOQL.match(" ".join(soql.split()))
        if not match:
            return _errors(400, "this fake reads one SOQL shape only", "MALFORMED_QUERY")
        records = self.objects.get(match["object"])
        if records is None:
            return _errors(
                400, f"sObject type '{match['object']}' is not supported", "INVALID_TYPE"
            )
        fields = [f.strip() for f in match["fields"].split(",")]
        unknown = [f for f in fields if f not in records[0]]
        if unknown:
            return _errors(400, f"No such column '{unknown[0]}'", "INVALID_FIELD")
        rows = sorted(records, key=lambda r: r["SystemModstamp"])
        if match["since"]:
            if not _LITERAL.match(match["since"]):
                return _errors(
                    400, f"value of filter criterion {match['since']}", "MALFORMED_QUERY"
                )
            since = datetime.fromisoformat(match["since"].replace("Z", "+00:00"))
            keep = (lambda t: t >= since) if match["op"] == ">=" else (lambda t: t > since)
            rows = [r for r in rows if keep(_parse(r["SystemModstamp"]))]
        selected = [
            {
                "attributes": {
                    "type": match["object"],
                    "url": f"{API}/sobjects/{match['object']}/{r['Id']}",
                },
                **{f: r[f] for f in fields},
            }
            for r in rows
        ]
        size = _batch_size(request.headers.get("sforce-query-options", ""), self.batch_cap)
        return self._batch(secrets.token_hex(8), selected, 0, size)

    def _batch(self, locator: str, rows: list[dict[str, Any]], start: int, size: int):
        body: dict[str, Any] = {
            "totalSize": len(rows),
            "done": start + size >= len(rows),
            "records": rows[start : start + size],
        }
        if not body["done"]:  # FakeApi routes exact paths: each batch's path gets a route
            path = f"{API}/query/01g{locator}-{start + size}"
            body["nextRecordsUrl"] = path
            self.api.routes[path] = self._guarded(
                lambda _request: self._batch(locator, rows, start + size, size)
            )
        return json_response(200, body)


def _parse(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.000+0000").replace(tzinfo=UTC)


def _batch_size(options: str, cap: int) -> int:
    match = re.search(r"batchSize=(\d+)", options)
    wanted = int(match.group(1)) if match else 2000
    return min(max(wanted, 200), 2000, cap)


def _errors(status: int, message: str, code: str):
    return json_response(status, [{"message": message, "errorCode": code}])
