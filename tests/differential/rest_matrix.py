"""Named REST configurations for the differential harness, written as dlt's docs write them.

Each `Case` holds a dlt `RESTAPIConfig` without `client.base_url` and auth (the harness adds
the loopback URL and the bearer token). Paths follow `tests.differential.fake_rest`:
`<style>/<envelope>/<dataset>`. ``versions`` lists the API's data version for each run: a
second run (version 2: new items, one changed) compares incremental results and state.
``concurrency`` marks the cases also run with 1 and 8 workers on the sourcegate side;
``plain_fails`` the few that plain dlt itself fails, where the failure kind is compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.differential.fake_rest import CHANGED_IN_V2

INITIAL = "2026-03-01T00:00:00Z"
TWO_RUNS = (1, 2)

PAGE_TOTAL = {
    "type": "page_number",
    "base_page": 1,
    "page_param": "page",
    "total_path": "total_pages",
}
OFFSET_TOTAL = {"type": "offset", "limit": 5, "total_path": "total"}
CURSOR = {"type": "cursor", "cursor_path": "cursors.next", "cursor_param": "cursor"}


@dataclass(frozen=True)
class Case:
    """One REST configuration and how to run it."""

    name: str
    config: dict[str, Any]
    versions: tuple[int, ...] = (1,)
    concurrency: bool = False
    covers: str = ""
    plain_fails: bool = False  # plain dlt itself refuses it (the failure kind is compared)


def _items(path: str, paginator: Any = None, **endpoint: Any) -> dict[str, Any]:
    """A one-resource config reading `items` at ``path``."""
    return _one("items", path, paginator, **endpoint)


def _one(name: str, path: str, paginator: Any = None, **endpoint: Any) -> dict[str, Any]:
    hints = {k: endpoint.pop(k) for k in list(endpoint) if k in _RESOURCE_KEYS}
    resource_hints = {k: v for k, v in hints.items() if v is not None}
    spec: dict[str, Any] = {"path": path, **endpoint}
    if paginator is not None:
        spec["paginator"] = paginator
    return {"resources": [{"name": name, "endpoint": spec, **resource_hints}]}


_RESOURCE_KEYS = (
    "primary_key",
    "write_disposition",
    "max_table_nesting",
    "columns",
    "include_from_parent",
    "table_name",
)


def _incremental(cursor_path: str, paginator: Any = None, path: str = "page/data/items", **kw):
    return _items(
        path,
        paginator or PAGE_TOTAL,
        data_selector=kw.pop("data_selector", "data"),
        incremental={"start_param": "since", "cursor_path": cursor_path, "initial_value": INITIAL},
        primary_key=kw.pop("primary_key", "id"),
        write_disposition=kw.pop("write_disposition", "merge"),
        **kw,
    )


def _members_and_orders(
    child: dict[str, Any], parent_path: str = "page/data/members", parent_paginator: Any = None
) -> dict[str, Any]:
    parent = {
        "name": "members",
        "endpoint": {
            "path": parent_path,
            "data_selector": "data",
            "paginator": parent_paginator or PAGE_TOTAL,
        },
    }
    return {"resources": [parent, {"name": "member_orders", **child}]}


_CHILD_PAGES = {
    "path": "page/data/members/{resources.members.id}/orders",
    "data_selector": "data",
    "params": {"per_page": 2},
    "paginator": PAGE_TOTAL,
}

CASES: list[Case] = [
    # -- page_number ---------------------------------------------------------------------------
    Case(
        "page_total",
        _items("page/data/items", PAGE_TOTAL, data_selector="data"),
        concurrency=True,
        covers="page_number with total_path and data_selector",
    ),
    Case(
        "page_total_no_data_selector",
        _items("page/results/items", PAGE_TOTAL),
        concurrency=True,
        covers='{"warnings": [], "results": [...]}, no data_selector (dlt finds the list)',
    ),
    Case(
        "page_total_jsonpath_selector",
        _items(
            "page/deep/items",
            {**PAGE_TOTAL, "total_path": "meta.total_pages"},
            data_selector="response.items",
        ),
        covers="dotted data_selector and total_path",
    ),
    Case(
        "page_total_dollar_paths",
        _items(
            "page/deep/items",
            {**PAGE_TOTAL, "total_path": "$.meta.total_pages"},
            data_selector="$.response.items",
        ),
        covers="JSONPath with $ in data_selector and total_path",
    ),
    Case(
        "page_maximum_page_3_no_total",
        _items("page/bare/items", {**PAGE_TOTAL, "total_path": None, "maximum_page": 3}),
        concurrency=True,
        covers="maximum_page (dlt stops before page 3), response without total",
    ),
    Case(
        "page_maximum_page_3_with_total",
        _items("page/data/items", {**PAGE_TOTAL, "maximum_page": 3}, data_selector="data"),
        concurrency=True,
        covers="maximum_page below the total",
    ),
    Case(
        "page_maximum_page_beyond_total",
        _items("page/data/items", {**PAGE_TOTAL, "maximum_page": 10}, data_selector="data"),
        covers="maximum_page above the total",
    ),
    Case(
        "page_maximum_page_default_total_path",
        _items("page/data/items", {"type": "page_number", "base_page": 1, "maximum_page": 3}),
        covers="maximum_page, total_path left out (dlt's default `total` is not in the body)",
        plain_fails=True,
    ),
    Case(
        "page_no_total_stops_on_empty_page",
        _items("page/bare/items", {**PAGE_TOTAL, "total_path": None}, data_selector="data"),
        covers="no total: dlt stops at the first empty page",
    ),
    Case(
        "page_default_total_path_missing",
        _items("page/data/items", {"type": "page_number", "base_page": 1}, data_selector="data"),
        covers="total_path left out and no `total` in the body: dlt fails",
        plain_fails=True,
    ),
    Case(
        "page_total_missing_in_response",
        _items("page/bare/items", PAGE_TOTAL, data_selector="data"),
        concurrency=True,
        covers="total_path given, the response has no total",
        plain_fails=True,
    ),
    Case(
        "page_base_page_0",
        _items("page0/data/items", {**PAGE_TOTAL, "base_page": 0}, data_selector="data"),
        concurrency=True,
        covers="0-based pages",
    ),
    Case(
        "page_first_page_2",
        _items("page/data/items", {**PAGE_TOTAL, "page": 2}, data_selector="data"),
        covers="start at page 2 (`page`)",
    ),
    Case(
        "page_per_page_7",
        _items("page/data/items", PAGE_TOTAL, data_selector="data", params={"per_page": 7}),
        covers="page size from params",
    ),
    # -- offset --------------------------------------------------------------------------------
    Case(
        "offset_total",
        _items("offset/data/items", OFFSET_TOTAL, data_selector="data"),
        concurrency=True,
        covers="offset with total_path",
    ),
    Case(
        "offset_no_total_stops_on_empty_page",
        _items("offset/bare/items", {**OFFSET_TOTAL, "total_path": None}, data_selector="data"),
        covers="offset without total",
    ),
    Case(
        "offset_maximum_offset",
        _items(
            "offset/bare/items",
            {**OFFSET_TOTAL, "total_path": None, "maximum_offset": 12},
            data_selector="data",
        ),
        concurrency=True,
        covers="maximum_offset, response without total",
    ),
    Case(
        "offset_no_data_selector",
        _items("offset/results/items", OFFSET_TOTAL),
        covers="offset, records found by dlt without data_selector",
    ),
    Case(
        "offset_jsonpath_selector",
        _items(
            "offset/deep/items",
            {**OFFSET_TOTAL, "total_path": "meta.total"},
            data_selector="response.items",
        ),
        covers="offset, dotted data_selector and total_path",
    ),
    Case(
        "offset_limit_7_start_3",
        _items(
            "offset/data/items", {**OFFSET_TOTAL, "limit": 7, "offset": 3}, data_selector="data"
        ),
        concurrency=True,
        covers="offset starting past 0, another limit",
    ),
    # -- cursor, links, single page ------------------------------------------------------------
    Case(
        "cursor_in_body",
        _items("cursor/data/items", CURSOR, data_selector="data"),
        covers="cursor from the body",
    ),
    Case(
        "cursor_no_data_selector",
        _items("cursor/results/items", CURSOR),
        covers="cursor, no data_selector",
    ),
    Case(
        "json_link",
        _items(
            "jsonlink/data/items",
            {"type": "json_link", "next_url_path": "next"},
            data_selector="data",
        ),
        covers="next URL in the body",
    ),
    Case(
        "paginator_auto_detected",
        _items("jsonlink/data/items", data_selector="data"),
        covers="no paginator: dlt detects the next URL",
    ),
    Case(
        "header_link_list",
        _items("headerlink/list/items", {"type": "header_link"}),
        covers="Link header, a top-level list",
    ),
    Case(
        "header_cursor",
        _items(
            "headercursor/list/items",
            {"type": "header_cursor", "cursor_key": "next", "cursor_param": "cursor"},
        ),
        covers="cursor in a response header",
    ),
    Case(
        "single_page_data",
        _items("single/data/items", {"type": "single_page"}, data_selector="data"),
        covers="single_page with data_selector",
    ),
    Case(
        "single_page_list",
        _items("single/list/items", {"type": "single_page"}),
        covers="single_page, top-level list",
    ),
    Case(
        "single_page_no_data_selector",
        _items("single/results/items", {"type": "single_page"}),
        covers="single_page, no data_selector",
    ),
    # -- POST with a json body -----------------------------------------------------------------
    Case(
        "post_page_number_total",
        _items(
            "page/data/search",
            PAGE_TOTAL,
            method="POST",
            json={"filter": {"status": "active"}},
            data_selector="data",
            params={"per_page": 3},
        ),
        concurrency=True,
        covers="POST with a json body, page number in the query",
    ),
    Case(
        "post_page_body_path",
        _items(
            "page/data/search",
            {
                "type": "page_number",
                "base_page": 1,
                "page_body_path": "page",
                "total_path": "total_pages",
            },
            method="POST",
            json={"per_page": 4},
            data_selector="data",
        ),
        covers="POST, page number in the json body",
    ),
    Case(
        "post_offset_body_paths",
        _items(
            "offset/data/search",
            {
                "type": "offset",
                "limit": 5,
                "offset_body_path": "offset",
                "limit_body_path": "limit",
                "total_path": "total",
            },
            method="POST",
            json={"filter": {"status": "paused"}},
            data_selector="data",
        ),
        covers="POST, offset and limit in the json body",
    ),
    Case(
        "post_cursor_body_path",
        _items(
            "cursor/data/search",
            {"type": "cursor", "cursor_path": "cursors.next", "cursor_body_path": "cursor"},
            method="POST",
            json={"limit": 4},
            data_selector="data",
        ),
        covers="POST, cursor in the json body",
    ),
    Case(
        "post_single_page",
        _items(
            "single/data/search",
            {"type": "single_page"},
            method="POST",
            json={"filter": {"status": "archived"}},
            data_selector="data",
        ),
        covers="POST, one page",
    ),
    Case(
        "get_on_post_only_endpoint",
        _items("page/data/search", PAGE_TOTAL, data_selector="data"),
        covers="GET where the API wants POST: both fail with 405",
        plain_fails=True,
    ),
    # -- nesting and hints ---------------------------------------------------------------------
    Case(
        "nested_max_table_nesting_0",
        _items("page/data/items", PAGE_TOTAL, data_selector="data", max_table_nesting=0),
        covers="max_table_nesting 0: nested data stays JSON",
    ),
    Case(
        "nested_column_hint_text",
        _items(
            "page/data/items",
            PAGE_TOTAL,
            data_selector="data",
            columns={"created_at": {"data_type": "text"}},
        ),
        covers="a columns hint overrides timestamp detection",
    ),
    # -- incremental ---------------------------------------------------------------------------
    Case(
        "incremental_top_level_cursor",
        _incremental("updated"),
        versions=TWO_RUNS,
        covers="incremental cursor_path `updated`, second run after new data",
    ),
    Case(
        "incremental_dotted_cursor",
        _incremental("attributes.updated"),
        versions=TWO_RUNS,
        covers="incremental cursor_path `attributes.updated` (dlt's docs)",
    ),
    Case(
        "incremental_bracketed_cursor",
        _incremental("attributes['updated']"),
        versions=TWO_RUNS,
        covers="incremental cursor_path `attributes['updated']`",
    ),
    Case(
        "incremental_dollar_cursor",
        _incremental("$.attributes.updated"),
        versions=TWO_RUNS,
        covers="incremental cursor_path `$.attributes.updated`",
    ),
    Case(
        "incremental_param_placeholder",
        _items(
            "page/data/items",
            PAGE_TOTAL,
            data_selector="data",
            params={
                "since": {
                    "type": "incremental",
                    "cursor_path": "attributes.updated",
                    "initial_value": INITIAL,
                }
            },
            primary_key="id",
            write_disposition="merge",
        ),
        versions=TWO_RUNS,
        covers="incremental as a `{type: incremental}` param",
    ),
    Case(
        "incremental_append_dotted",
        _incremental("attributes.updated", write_disposition="append", primary_key=None),
        versions=TWO_RUNS,
        covers="append with a dotted cursor: only new rows the second time",
    ),
    Case(
        "merge_primary_key_second_run",
        _items(
            "page/data/items",
            PAGE_TOTAL,
            data_selector="data",
            primary_key="id",
            write_disposition="merge",
        ),
        versions=TWO_RUNS,
        concurrency=True,
        covers=f"merge on id, item {CHANGED_IN_V2} changed and new items on the second run",
    ),
    # -- resolve (parent and child) ------------------------------------------------------------
    Case(
        "resolve_placeholder_path",
        _members_and_orders({"endpoint": _CHILD_PAGES}),
        covers="child path `{resources.members.id}`, paged child",
    ),
    Case(
        "resolve_params_style",
        _members_and_orders(
            {
                "endpoint": {
                    **_CHILD_PAGES,
                    "path": "page/data/members/{member_id}/orders",
                    "params": {
                        "per_page": 2,
                        "member_id": {"type": "resolve", "resource": "members", "field": "id"},
                    },
                }
            }
        ),
        covers="child with a `{type: resolve}` param",
    ),
    Case(
        "resolve_include_from_parent",
        _members_and_orders({"endpoint": _CHILD_PAGES, "include_from_parent": ["tier", "region"]}),
        covers="include_from_parent adds parent fields to the child",
    ),
    Case(
        "resolve_child_no_data_selector",
        _members_and_orders(
            {
                "endpoint": {
                    "path": "single/results/members/{resources.members.id}/orders",
                    "paginator": {"type": "single_page"},
                }
            }
        ),
        covers="child answering without data_selector",
    ),
    Case(
        "resolve_parent_offset_total",
        _members_and_orders(
            {"endpoint": _CHILD_PAGES},
            parent_path="offset/data/members",
            parent_paginator=OFFSET_TOTAL,
        ),
        concurrency=True,
        covers="parent with offset and total (fetchable concurrently), paged child",
    ),
    # -- client and resource defaults, several resources ---------------------------------------
    Case(
        "defaults_client_paginator_two_resources",
        {
            "client": {"paginator": PAGE_TOTAL},
            "resource_defaults": {
                "primary_key": "id",
                "write_disposition": "merge",
                "endpoint": {"data_selector": "data", "params": {"per_page": 4}},
            },
            "resources": [
                {"name": "items", "endpoint": {"path": "page/data/items"}},
                {"name": "members", "endpoint": {"path": "page/data/members"}},
            ],
        },
        covers="client paginator and resource_defaults, two resources",
    ),
]

CASE_NAMES = [case.name for case in CASES]
assert len(set(CASE_NAMES)) == len(CASE_NAMES), "case names must be unique"
