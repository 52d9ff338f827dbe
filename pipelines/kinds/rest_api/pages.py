"""Fetch the pages of a REST endpoint concurrently, when its pagination says how many there are.

Eligible: a `page_number` paginator with `total_path` or `maximum_page`, or an `offset`
paginator with `total_path` or `maximum_offset`, on an endpoint without an incremental cursor
or parent resource. The first page is fetched alone to learn the total; the rest are fetched
by at most `max_concurrent_requests` threads and yielded in page order. Each request goes
through dlt's RESTClient, so auth and dlt's retries (429 with Retry-After, 5xx, timeouts) apply.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

_RANGE_PAGINATORS = {"page_number", "offset"}


def eligible_paginator(client: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any] | None:
    """The paginator config when pages can be fetched concurrently, else None."""
    endpoint = resource.get("endpoint")
    if not isinstance(endpoint, dict) or endpoint.get("incremental"):
        return None
    params = endpoint.get("params") or {}
    if any(isinstance(v, dict) for v in params.values()) or "{" in str(endpoint.get("path", "")):
        return None  # resolved from a parent resource or an incremental placeholder
    paginator = endpoint.get("paginator", client.get("paginator"))
    if not isinstance(paginator, dict) or paginator.get("type") not in _RANGE_PAGINATORS:
        return None
    if paginator["type"] == "page_number" and not (
        paginator.get("total_path") or paginator.get("maximum_page")
    ):
        return None
    if paginator["type"] == "offset" and not (
        paginator.get("total_path") or paginator.get("maximum_offset")
    ):
        return None
    return paginator


def page_params(paginator: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Query parameters of page 1, 2, 3 ... (unbounded; the caller stops)."""
    if paginator["type"] == "page_number":
        page = paginator.get("page", paginator.get("base_page", 0))
        while True:
            yield {paginator.get("page_param", "page"): page}
            page += 1
    else:
        limit = paginator["limit"]
        offset = paginator.get("offset", 0)
        while True:
            yield {
                paginator.get("offset_param", "offset"): offset,
                paginator.get("limit_param", "limit"): limit,
            }
            offset += limit


def page_count(paginator: dict[str, Any], first_page: Any) -> int:
    """How many pages there are in all, from the first response and the paginator config."""
    from dlt.common import jsonpath

    total = None
    if paginator.get("total_path"):
        values = jsonpath.find_values(paginator["total_path"], first_page)
        total = int(values[0]) if values else None
    if paginator["type"] == "page_number":
        base = paginator.get("base_page", 0)
        maximum = paginator.get("maximum_page")
        pages = total if total is not None else math.inf
        if maximum is not None:
            pages = min(pages, maximum - base + 1)
        return int(pages)
    limit = paginator["limit"]
    items = total if total is not None else math.inf
    if paginator.get("maximum_offset") is not None:
        items = min(items, paginator["maximum_offset"])
    return math.ceil((items - paginator.get("offset", 0)) / limit)


def fetch_pages(
    make_client: Any,
    path: str,
    params: dict[str, Any],
    paginator: dict[str, Any],
    data_selector: str | None,
    max_workers: int,
) -> Iterator[list[dict[str, Any]]]:
    """Yield the records of every page, in order, with at most ``max_workers`` in flight."""
    client = make_client()
    page_iter = page_params(paginator)
    first = _get_json(client, path, {**params, **next(page_iter)})
    yield _records(first, data_selector)
    remaining = page_count(paginator, first) - 1
    if remaining <= 0:
        return
    per_thread = threading.local()

    def fetch(query: dict[str, Any]) -> Any:
        if not hasattr(per_thread, "client"):
            per_thread.client = make_client()
        return _get_json(per_thread.client, path, {**params, **query})

    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="sourcegate-page") as pool:
        in_flight: list[Future] = []
        for _ in range(remaining):
            in_flight.append(pool.submit(fetch, next(page_iter)))
            if len(in_flight) >= max_workers:
                yield _records(in_flight.pop(0).result(), data_selector)
        for future in in_flight:
            yield _records(future.result(), data_selector)


def _get_json(client: Any, path: str, params: dict[str, Any]) -> Any:
    response = client.get(path, params=params)
    response.raise_for_status()
    return response.json()


def _records(body: Any, data_selector: str | None) -> list[dict[str, Any]]:
    if data_selector and isinstance(body, dict) and data_selector in body:
        data = body[data_selector]  # the common case, without a JSONPath evaluation per page
    elif data_selector:
        from dlt.common import jsonpath

        values = jsonpath.find_values(data_selector, body)
        data = values[0] if len(values) == 1 and isinstance(values[0], list) else values
    elif isinstance(body, list):
        data = body
    else:
        data = next((v for v in body.values() if isinstance(v, list)), [])
    return list(data)


def use_concurrent_pages(source: Any, config: dict[str, Any], max_workers: int) -> list[str]:
    """Swap the page loop of every eligible resource in ``source`` for `fetch_pages`.

    The resource keeps its name, hints and steps; only the generator changes. Returns the
    names of the resources that now fetch concurrently.
    """
    from dlt.sources.helpers.rest_client.client import RESTClient
    from dlt.sources.rest_api.config_setup import create_auth

    client_config = config["client"]
    defaults = config.get("resource_defaults") or {}
    swapped = []
    for resource_config in config.get("resources") or []:
        if not isinstance(resource_config, dict):
            continue
        merged = _merge(defaults, resource_config)
        paginator = eligible_paginator(client_config, merged)
        if paginator is None or max_workers < 2:
            continue
        endpoint = merged["endpoint"]

        def make_client(cfg: dict[str, Any] = client_config) -> Any:
            return RESTClient(
                base_url=cfg["base_url"],
                headers=cfg.get("headers"),
                auth=create_auth(cfg.get("auth")),
            )

        resource = source.resources[resource_config["name"]]
        resource._pipe.replace_gen(
            fetch_pages(
                make_client,
                endpoint.get("path", resource_config["name"]),
                dict(endpoint.get("params") or {}),
                paginator,
                endpoint.get("data_selector"),
                max_workers,
            )
        )
        swapped.append(resource.name)
    return swapped


def _merge(defaults: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
    merged = {**defaults, **resource}
    default_endpoint = (
        defaults.get("endpoint") if isinstance(defaults.get("endpoint"), dict) else {}
    )
    endpoint = resource.get("endpoint")
    endpoint = {"path": endpoint} if isinstance(endpoint, str) else dict(endpoint or {})
    merged["endpoint"] = {
        **default_endpoint,
        **endpoint,
        "params": {**(default_endpoint.get("params") or {}), **(endpoint.get("params") or {})},
    }
    return merged
