"""One loopback REST API that answers every way dlt's rest_api paginators read.

Real HTTP on 127.0.0.1 (a threaded server, as in `tests.fake_api`). A URL is
`/<style>/<envelope>/<dataset>`:

- style, how pages are cut and where the next page is announced:
  `page` (page number, 1-based), `page0` (page number, 0-based), `offset` (offset/limit),
  `cursor` (next cursor in the body, `cursors.next`), `jsonlink` (next URL in the body, `next`),
  `headerlink` (`Link: <url>; rel="next"`), `headercursor` (`next: <cursor>` header),
  `single` (everything at once);
- envelope, how records are wrapped:
  `data` (`{"data": [...], <meta>}`), `results` (`{"warnings": [], "results": [...], <meta>}`,
  for dlt's auto-detection), `deep` (`{"response": {"items": [...]}, "meta": {<meta>}}`),
  `bare` (`{"data": [...]}`: no total, no next reference in the body) and `list` (a top-level
  list; only headers can announce a next page);
- dataset: `items` (GET), `search` (the same items, POST with a JSON body), `members` (GET)
  and `members/<id>/orders` (GET), a parent/child pair for `resolve`.

The wrong method gets 405. Page parameters (`page`, `per_page`, `offset`, `limit`, `cursor`)
and filters (`since` on `updated`, `status`) are read from the query, then from the JSON body
(top level, and `filter: {...}`). Meta per style: `page`/`page0` give `page` and `total_pages`;
`offset` gives `offset` and `total` (items); `cursor` gives `cursors.next` and `has_more`;
`jsonlink` gives `next`. Data is deterministic, holds nested objects and lists and ISO 8601
timestamps, and nothing that looks personal (no emails, phone numbers or names), so
sourcegate's PII detection stays quiet. `version` 2 adds items and changes one, for second runs.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

TOKEN = "differential-token-7f3a"
STYLES = ("page", "page0", "offset", "cursor", "jsonlink", "headerlink", "headercursor", "single")
ENVELOPES = ("data", "results", "deep", "bare", "list")
DEFAULT_PER_PAGE = 5
ITEMS_V1 = 23  # 5 pages of 5, the last one short
ITEMS_V2 = 28
CHANGED_IN_V2 = 5  # this item's status and `updated` change in version 2
MEMBERS = 7

_T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _iso_z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def items(version: int = 1) -> list[dict[str, Any]]:
    """Catalog items: nested objects (two levels), lists of scalars and of objects, nulls,
    floats, booleans and ISO 8601 timestamps (`Z` and `+01:00`); `updated` and
    `attributes.updated` are the same instant, for incremental cursors."""
    count = ITEMS_V1 if version == 1 else ITEMS_V2
    rows = []
    for i in range(1, count + 1):
        updated = _T0 + timedelta(hours=3 * i)
        status = ("active", "paused", "archived")[i % 3]
        if version >= 2 and i == CHANGED_IN_V2:
            updated = _T0 + timedelta(days=20)
            status = "retired"
        created = datetime(2026, 1, 1, 8, 30) + timedelta(days=i)
        rows.append(
            {
                "id": i,
                "sku": f"SKU-{i:04d}",
                "status": status,
                "score": round(i * 1.25, 2),
                "qty": i % 7,
                "note": None if i % 5 == 0 else f"batch {i % 4}",
                "updated": _iso_z(updated),
                "created_at": created.strftime("%Y-%m-%dT%H:%M:%S+01:00"),
                "attributes": {
                    "updated": _iso_z(updated),
                    "tier": ("gold", "silver", "bronze")[i % 3],
                    "flags": {"beta": i % 2 == 0, "level": i % 4},
                },
                "tags": ["t" + str(i % 3), "w" + str(i % 4)],
                "lines": [
                    {"line": k, "amount": round(2.5 * k + i, 2)} for k in range(1, i % 3 + 2)
                ],
            }
        )
    return rows


def members(version: int = 1) -> list[dict[str, Any]]:
    """Parent records for `resolve`: an id, nested preferences and a list."""
    return [
        {
            "id": m,
            "tier": ("gold", "silver", "bronze")[m % 3],
            "region": ("EU", "NA", "APAC")[m % 3],
            "joined_at": _iso_z(_T0 - timedelta(days=30 * m)),
            "prefs": {"newsletter": m % 2 == 1, "channels": ["web", "app"][: 1 + m % 2]},
        }
        for m in range(1, MEMBERS + 1)
    ]


def orders(member_id: int, version: int = 1) -> list[dict[str, Any]]:
    """A member's orders: member 4 has none, the others one to three."""
    return [
        {
            "order_id": f"ORD-{member_id}-{k}",
            "member_ref": member_id,
            "amount": round(10.5 * k + member_id, 2),
            "placed_at": _iso_z(_T0 + timedelta(days=member_id, hours=k)),
            "lines": [{"sku": f"SKU-{k:04d}", "qty": k}],
        }
        for k in range(1, member_id % 4 + 1)
    ]


@dataclass
class Seen:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class FakeRest:
    """The API's data version, token and request log; `base_url` is set by `serve`."""

    token: str = TOKEN
    version: int = 1
    base_url: str = ""
    requests: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def at_version(self, version: int) -> Iterator[FakeRest]:
        """Serve data ``version`` for the duration of the block."""
        previous, self.version = self.version, version
        try:
            yield self
        finally:
            self.version = previous

    def answer(
        self, method: str, path: str, query: dict[str, str], body: Any, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        """(status, headers, JSON body) for one request."""
        with self.lock:
            self.requests.append(Seen(method, path, dict(query), body))
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {}, {"message": "invalid token"}
        parts = [p for p in path.split("/") if p]
        if len(parts) < 3 or parts[0] not in STYLES or parts[1] not in ENVELOPES:
            return 404, {}, {"message": f"no route {path}"}
        style, envelope, dataset = parts[0], parts[1], parts[2:]
        records = self._dataset(dataset)
        if records is None:
            return 404, {}, {"message": f"no dataset {'/'.join(dataset)}"}
        allowed = "POST" if dataset == ["search"] else "GET"
        if method != allowed:
            return 405, {"Allow": allowed}, {"message": f"use {allowed}"}
        params = dict(query)
        if isinstance(body, dict):
            params.update({k: str(v) for k, v in body.items() if not isinstance(v, dict | list)})
            if isinstance(body.get("filter"), dict):
                params.update({k: str(v) for k, v in body["filter"].items()})
        records = _filtered(records, params)
        return _paged(style, envelope, records, params, self.base_url.rstrip("/") + path, query)

    def _dataset(self, parts: list[str]) -> list[dict[str, Any]] | None:
        if parts in (["items"], ["search"]):
            return items(self.version)
        if parts == ["members"]:
            return members(self.version)
        if len(parts) == 3 and parts[0] == "members" and parts[2] == "orders":
            try:
                member = int(parts[1])
            except ValueError:
                return None
            return orders(member, self.version) if 1 <= member <= MEMBERS else None
        return None


def _filtered(records: list[dict[str, Any]], params: dict[str, str]) -> list[dict[str, Any]]:
    if params.get("status"):
        records = [r for r in records if r.get("status") == params["status"]]
    if params.get("since"):
        since = _instant(params["since"])
        records = [r for r in records if _instant(r["updated"]) >= since]
    if params.get("until"):
        until = _instant(params["until"])
        records = [r for r in records if _instant(r["updated"]) < until]
    return records


def _instant(text: str) -> datetime:
    """An ISO 8601 instant however dlt renders a cursor (`Z`, `+00:00`, or a space)."""
    moment = datetime.fromisoformat(text.strip().replace(" ", "T"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _paged(
    style: str,
    envelope: str,
    records: list[dict[str, Any]],
    params: dict[str, str],
    url: str,
    query: dict[str, str],
) -> tuple[int, dict[str, str], Any]:
    headers: dict[str, str] = {}
    meta: dict[str, Any] = {}
    total = len(records)
    if style in ("page", "page0", "jsonlink", "headerlink"):
        base = 0 if style == "page0" else 1
        per = int(params.get("per_page", DEFAULT_PER_PAGE))
        page = int(params.get("page", base))
        chunk = records[(page - base) * per : (page - base + 1) * per]
        pages = math.ceil(total / per)
        more = page - base + 1 < pages
        next_url = f"{url}?{urlencode({**query, 'page': page + 1})}" if more else None
        if style in ("page", "page0"):
            meta = {"page": page, "total_pages": pages}
        elif style == "jsonlink":
            meta = {"next": next_url}
        elif next_url:
            headers["Link"] = f'<{next_url}>; rel="next"'
    elif style == "offset":
        offset = int(params.get("offset", 0))
        limit = int(params.get("limit", DEFAULT_PER_PAGE))
        chunk = records[offset : offset + limit]
        meta = {"offset": offset, "total": total}
    elif style in ("cursor", "headercursor"):
        start = int(params["cursor"].removeprefix("c")) if params.get("cursor") else 0
        per = int(params.get("limit", DEFAULT_PER_PAGE))
        chunk = records[start : start + per]
        cursor = f"c{start + per}" if start + per < total else None
        if style == "cursor":
            meta = {"cursors": {"next": cursor}, "has_more": cursor is not None}
        elif cursor:
            headers["next"] = cursor
    else:  # single
        chunk = records
        meta = {"count": total}
    if envelope == "data":
        body: Any = {"data": chunk, **meta}
    elif envelope == "results":
        body = {"warnings": [], "results": chunk, **meta}
    elif envelope == "deep":
        body = {"response": {"items": chunk}, "meta": meta}
    elif envelope == "bare":
        body = {"data": chunk}
    else:
        body = chunk
    return 200, headers, body


def _handler(api: FakeRest) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real APIs do

        def _serve(self, method: str) -> None:
            parsed = urlparse(self.path)
            query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, payload = api.answer(method, parsed.path, query, body, headers)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for key, value in extra.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

    return _Handler


@contextmanager
def serve(api: FakeRest | None = None) -> Iterator[FakeRest]:
    """Run ``api`` (a new `FakeRest` if None) on a free loopback port during the block."""
    api = api or FakeRest()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    server.daemon_threads = True
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
