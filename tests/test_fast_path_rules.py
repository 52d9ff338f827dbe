"""Where sourcegate may take a fast path, and how check columns are named: only where exact."""

from __future__ import annotations

import pytest

from pipelines.kinds.rest_api.pages import eligible_paginator
from pipelines.spec.fields import landed_column

CLIENT = {"base_url": "http://127.0.0.1:1/"}
PAGED = {"type": "page_number", "base_page": 1, "total_path": "total_pages"}


def _resource(**endpoint: object) -> dict:
    return {"name": "items", "endpoint": {"path": "items", "data_selector": "data", **endpoint}}


def test_a_get_with_a_selector_and_a_total_may_fetch_pages_concurrently() -> None:
    assert eligible_paginator(CLIENT, _resource(paginator=PAGED)) == PAGED


@pytest.mark.parametrize(
    "endpoint",
    [
        {"paginator": PAGED, "headers": {"Accept": "application/vnd.v2+json"}},
        {"paginator": PAGED, "auth": {"type": "bearer", "token": "t"}},
        {"paginator": PAGED, "method": "POST", "json": {"q": 1}},
        {"paginator": PAGED, "data_selector": None},
        {"paginator": {"type": "page_number", "base_page": 1, "total_path": None}},
        {"paginator": PAGED, "response_actions": [{"status_code": 404, "action": "ignore"}]},
        {"paginator": {"type": "cursor", "cursor_path": "next", "cursor_param": "after"}},
    ],
)
def test_anything_the_fast_path_would_not_send_or_stop_exactly_goes_through_dlt(
    endpoint: dict,
) -> None:
    assert eligible_paginator(CLIENT, _resource(**endpoint)) is None


def test_check_columns_are_renamed_only_from_the_apis_dotted_path() -> None:
    """dlt's naming has rules an approximation gets wrong (`userId_` lands as `user_idx`):
    a check keeps the name as written, so it fails on a missing column, never tests another."""
    assert landed_column("attributes.email") == "attributes__email"
    assert landed_column("userId_") == "userId_"
    assert landed_column("Phone") == "Phone"
