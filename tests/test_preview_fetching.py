"""`sourcegate preview` reads only what a first look needs: the pages `--limit` rows take (never
a whole pagination), and one page per parent row for a child resource, for a few parents."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli.preview import find_source, preview_source
from tests.fake_api import FakeApi, Request, events, json_response, paged_api, serve

TOKEN = "preview-token-0123456789"


def _preview(tmp_path: Path, text: str, limit: int) -> str:
    sources = tmp_path / "sources"
    sources.mkdir(exist_ok=True)
    (sources / "shop_api.yaml").write_text(text)
    source, errors = find_source(sources, "shop_api")
    assert source is not None, [e.message for e in errors]
    out = io.StringIO()
    assert preview_source(source, limit, out) == 0, out.getvalue()
    return out.getvalue()


def _source(base_url: str, resources: str) -> str:
    return (
        "name: shop_api\ndescription: test\nowner: team:test\nrest_api:\n"
        f"  client:\n    base_url: {base_url}\n"
        "    auth: {type: bearer, token: {secret: SHOP_API_TOKEN}}\n"
        f"  resources:\n{resources}"
    )


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch, warehouse_path: Path) -> None:
    monkeypatch.setenv("SHOP_API_TOKEN", TOKEN)


def test_limit_counts_rows_whatever_the_page_size(tmp_path: Path) -> None:
    api, _ = paged_api(TOKEN, events(200), per_page=20)
    resources = (
        "    - name: things\n      endpoint:\n        path: v1/events\n"
        "        data_selector: data\n"
        "        params: {per_page: 20}\n"
        "        paginator: {type: page_number, base_page: 1, total_path: total_pages}\n"
    )
    with serve(api):
        out = _preview(tmp_path, _source(api.base_url, resources), limit=50)
    # 50 rows take 3 pages of 20 (the third comes whole); the other 7 are never asked for
    assert [r.query["page"] for r in api.requests_to("/v1/events")] == ["1", "2", "3"]
    assert "== things: 60 rows read" in out


def _lists_api() -> FakeApi:
    api = FakeApi(token=TOKEN)

    def lists(request: Request) -> Any:
        return json_response(200, {"data": [{"id": i, "name": f"list {i}"} for i in range(20)]})

    def members(request: Request) -> Any:
        list_id = request.path.split("/")[3]
        page = int(request.query.get("page", 1))
        rows = [{"id": f"{list_id}-{page}-{i}", "score": i} for i in range(10)]
        return json_response(200, {"data": rows, "total_pages": 5})

    api.routes["/v1/lists"] = lists
    for i in range(20):
        api.routes[f"/v1/lists/{i}/members"] = members
    return api


def test_a_child_resource_reads_one_page_for_a_few_parents(tmp_path: Path) -> None:
    api = _lists_api()
    resources = (
        "    - name: lists\n      endpoint: {path: v1/lists, data_selector: data, "
        "paginator: single_page}\n"
        "    - name: members\n      endpoint:\n"
        "        path: 'v1/lists/{resources.lists.id}/members'\n        data_selector: data\n"
        "        paginator: {type: page_number, base_page: 1, total_path: total_pages}\n"
    )
    with serve(api):
        out = _preview(tmp_path, _source(api.base_url, resources), limit=5)
    member_requests = [r for r in api.requests if r.path.endswith("/members")]
    # 5 parents, one page each: not 20 lists x 5 pages
    assert len(member_requests) == 5
    assert {r.query.get("page") for r in member_requests} == {None}
    assert "== lists: 5 rows read" in out and "== members: 50 rows read" in out
