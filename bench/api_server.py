"""A loopback paginated API for the benchmarks: `page_number` pagination with `total_pages`.

Run as its own process so serving does not compete with the client for the GIL:
    python -m bench.api_server --records 500000 --per-page 1000 --delay-ms 20
It prints the port on its first line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def build_pages(records: int, per_page: int) -> list[bytes]:
    """Every page body, rendered once up front so serving costs no CPU."""
    pages = []
    total_pages = -(-records // per_page)
    for page in range(total_pages):
        start = page * per_page
        rows = [
            {
                "id": i,
                "type": ("open", "click", "bounce")[i % 3],
                "email": f"user{i % 50000}@example.com",
                "campaign": {"id": f"cmp_{i % 97}", "channel": "email"},
                "tags": ["promo", f"wave{i % 4}"],
                "value": round((i % 1000) / 7, 3),
                "occurred_at": f"2026-11-{1 + i % 28:02d}T08:{i % 60:02d}:00Z",
            }
            for i in range(start, min(start + per_page, records))
        ]
        body = {"data": rows, "page": page + 1, "total_pages": total_pages}
        pages.append(json.dumps(body).encode())
    return pages


def main() -> None:
    """Serve until killed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--per-page", type=int, default=1000)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    pages = build_pages(args.records, args.per_page)
    delay = args.delay_ms / 1000

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            query = parse_qs(urlparse(self.path).query)
            page = int(query.get("page", ["1"])[0])
            if delay:
                time.sleep(delay)
            body = pages[page - 1] if 1 <= page <= len(pages) else b'{"data": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
