"""Loopback fakes of the HubSpot and Stripe APIs: real HTTP, their pagination, auth and errors."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

Handler = Callable[["Request"], tuple[int, dict[str, str], bytes]]


@dataclass
class Request:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""

    def json(self) -> Any:
        """The body as JSON (a POST's payload)."""
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        """The body as a form (`a=1&b=2`), last value wins."""
        return {k: v[-1] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class FakeApi:
    """A router of path -> handler, plus a log of every request received."""

    token: str
    routes: dict[str, Handler] = field(default_factory=dict)
    scheme: str = "Bearer"  # the Authorization header is `<scheme> <token>`
    # replaces the Authorization check when the vendor authenticates otherwise (a header of
    # its own, a query parameter, basic auth); `open_paths` need no auth (token endpoints)
    authorized: Callable[[Request], bool] | None = None
    open_paths: set[str] = field(default_factory=set)
    requests: list[Request] = field(default_factory=list)
    base_url: str = ""

    def requests_to(self, path: str) -> list[Request]:
        """The requests received for ``path``, in order."""
        return [r for r in self.requests if r.path == path]


def json_response(status: int, body: Any, headers: dict[str, str] | None = None):
    """A (status, headers, bytes) triple with a JSON body."""
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


def _make_handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def _answer(self, method: str) -> None:
            parsed = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                method=method,
                path=parsed.path,
                query={k: v[-1] for k, v in parse_qs(parsed.query).items()},
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            api.requests.append(request)
            handler = api.routes.get(parsed.path)
            if handler is None:
                status, headers, body = json_response(404, {"message": "not found"})
            elif request.path not in api.open_paths and not _authorized(api, request):
                status, headers, body = json_response(401, {"message": "invalid token"})
            else:
                answer = handler(request)
                if answer is None:  # a connection reset: hang up without answering
                    self.close_connection = True
                    return
                status, headers, body = answer
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

    return _Handler


def _authorized(api: FakeApi, request: Request) -> bool:
    if api.authorized is not None:
        return api.authorized(request)
    return request.headers.get("authorization") == f"{api.scheme} {api.token}"


@contextmanager
def serve(api: FakeApi) -> Iterator[FakeApi]:
    """Run ``api`` on a free loopback port for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(api))
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()


def hubspot_contacts(count: int) -> list[dict[str, Any]]:
    """Contacts shaped like HubSpot CRM v3 objects."""
    return [
        {
            "id": str(1000 + i),
            "properties": {
                "email": f"Contact{i}@Example.com",
                "firstname": f"First{i}",
                "lastname": f"Last{i}",
                "lifecyclestage": "lead" if i % 3 else "customer",
                "createdate": f"2026-01-{1 + i % 28:02d}T10:00:00.000Z",
                "lastmodifieddate": f"2026-02-{1 + i % 28:02d}T10:00:00.000Z",
                "hs_object_id": str(1000 + i),
            },
            "createdAt": f"2026-01-{1 + i % 28:02d}T10:00:00.000Z",
            "updatedAt": f"2026-02-{1 + i % 28:02d}T10:00:00.000Z",
            "archived": False,
        }
        for i in range(count)
    ]


def hubspot_api(token: str, contacts: list[dict[str, Any]]) -> FakeApi:
    """HubSpot: `limit` (max 100), an opaque `after` cursor in `paging.next.after`, and only
    the `properties` asked for (plus `hs_object_id`), as the real API returns them."""
    api = FakeApi(token=token)

    def list_contacts(request: Request):
        limit = min(int(request.query.get("limit", 10)), 100)
        start = int(request.query["after"]) if "after" in request.query else 0
        page = contacts[start : start + limit]
        if "properties" in request.query:
            wanted = {*request.query["properties"].split(","), "hs_object_id"}
            page = [
                {**c, "properties": {k: v for k, v in c["properties"].items() if k in wanted}}
                for c in page
            ]
        body: dict[str, Any] = {"results": page}
        if start + limit < len(contacts):
            after = str(start + limit)
            body["paging"] = {
                "next": {
                    "after": after,
                    "link": f"{api.base_url}crm/v3/objects/contacts?after={after}",
                }
            }
        return json_response(200, body)

    api.routes["/crm/v3/objects/contacts"] = list_contacts
    return api


def stripe_customers(count: int) -> list[dict[str, Any]]:
    """Customers shaped like Stripe's customer objects."""
    return [
        {
            "id": f"cus_{i:014d}",
            "object": "customer",
            "email": f"customer{i}@example.com",
            "name": f"Customer {i}",
            "phone": f"+4930{i:07d}",
            "address": {"line1": f"Via Roma {i}", "city": "Milano", "country": "IT"}
            if i % 2
            else None,
            "shipping": None,
            "created": 1767225600 + i * 3600,
            "currency": "eur",
            "livemode": False,
            "metadata": {"segment": "smb" if i % 2 else "enterprise"},
        }
        for i in range(count)
    ]


def stripe_api(token: str, customers: list[dict[str, Any]]) -> FakeApi:
    """Stripe: `limit` (max 100), `has_more`, and `starting_after=<last id>` for the next page."""
    api = FakeApi(token=token)

    def list_customers(request: Request):
        limit = min(int(request.query.get("limit", 10)), 100)
        start = 0
        if "starting_after" in request.query:
            ids = [c["id"] for c in customers]
            if request.query["starting_after"] not in ids:
                return json_response(
                    400,
                    {"error": {"type": "invalid_request_error", "message": "No such customer"}},
                )
            start = ids.index(request.query["starting_after"]) + 1
        page = customers[start : start + limit]
        return json_response(
            200,
            {
                "object": "list",
                "url": "/v1/customers",
                "has_more": start + limit < len(customers),
                "data": page,
            },
        )

    api.routes["/v1/customers"] = list_customers
    return api


@dataclass
class InFlight:
    """Counts requests being served at the same moment, and the most ever seen."""

    now: int = 0
    most: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> InFlight:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        return self

    def __exit__(self, *exc: Any) -> None:
        with self.lock:
            self.now -= 1


def paged_api(
    token: str, records: list[dict[str, Any]], per_page: int, delay: float = 0.0
) -> tuple[FakeApi, InFlight]:
    """`/v1/events?page=N&per_page=M` (1-based) answering with `data` and `total_pages`."""
    import time

    api = FakeApi(token=token)
    in_flight = InFlight()

    def list_events(request: Request):
        with in_flight:
            if delay:
                time.sleep(delay)
            size = int(request.query.get("per_page", per_page))
            page = int(request.query.get("page", 1))
            chunk = records[(page - 1) * size : page * size]
            total_pages = -(-len(records) // size)
            return json_response(200, {"data": chunk, "page": page, "total_pages": total_pages})

    api.routes["/v1/events"] = list_events
    return api, in_flight


def events(count: int) -> list[dict[str, Any]]:
    """Marketing events with a nested object and a list, like a real event API returns."""
    return [
        {
            "id": i,
            "type": ["open", "click", "bounce"][i % 3],
            "email": f"user{i % 500}@example.com",
            "campaign": {"id": f"cmp_{i % 7}", "channel": "email"},
            "tags": ["promo", f"wave{i % 4}"],
            "occurred_at": f"2026-11-{1 + i % 28:02d}T08:00:00Z",
        }
        for i in range(count)
    ]


def faulty_paged_api(
    token: str, records: list[dict[str, Any]], per_page: int, faults: dict[tuple[int, int], str]
) -> FakeApi:
    """A paged API that injects ``faults[(page, attempt)]`` (attempts count from 1).

    Faults: `429` (Retry-After: 1), `500`, `503`, `timeout` (answers after 1.5 s), `reset`
    (hangs up), `bad_json`, `html` (a 200 maintenance page), `401`, and `retype` (the page's
    `amount` values arrive as text instead of numbers).
    """
    import time

    api = FakeApi(token=token)
    attempts: dict[int, int] = {}
    lock = threading.Lock()

    def list_events(request: Request):
        page = int(request.query.get("page", 1))
        with lock:
            attempts[page] = attempts.get(page, 0) + 1
            fault = faults.get((page, attempts[page]))
        chunk = [dict(r) for r in records[(page - 1) * per_page : page * per_page]]
        total_pages = -(-len(records) // per_page)
        if fault == "429":
            return json_response(429, {"message": "slow down"}, {"Retry-After": "1"})
        if fault in ("500", "503"):
            return json_response(int(fault), {"message": "upstream trouble"})
        if fault == "401":
            return json_response(401, {"message": "token expired"})
        if fault == "timeout":
            time.sleep(1.5)
        if fault == "reset":
            return None
        if fault == "bad_json":
            return 200, {"Content-Type": "application/json"}, b'{"data": [{"id": 1,'
        if fault == "html":
            page_html = b"<html><head><title>Down for maintenance</title></head><body>Soon</body>"
            return 200, {"Content-Type": "text/html"}, page_html
        if fault == "retype":
            for row in chunk:
                row["amount"] = f"{row['amount']:.2f} EUR"
        return json_response(200, {"data": chunk, "page": page, "total_pages": total_pages})

    api.routes["/v1/events"] = list_events
    return api
