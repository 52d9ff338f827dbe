"""Fetch the pages of a REST endpoint concurrently, with dlt's own paginator deciding the pages.

Only where the result is provably what dlt's sequential loop gives (the differential tests in
`tests/test_differential_rest.py` check it): a GET without a body, an explicit
`data_selector`, no `response_actions`, no incremental cursor or parent resource, and a
`page_number` or `offset` paginator with a `total_path` or a maximum, so the last page is
known from the first response. Anything else runs through dlt unchanged (said at debug level).

Pages are requested ahead by at most `max_concurrent_requests` threads, but consumed in page
order through a copy of dlt's paginator built from the same config: it sees every response as
dlt's loop would (`update_state`), so it stops on the same page (an empty page, a missing
total, `maximum_page`) and raises the same errors; pages fetched past that point are dropped.
Requests go through dlt's RESTClient, so auth and dlt's retries apply.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

_RANGE_PAGINATORS = {"page_number", "offset"}
logger = logging.getLogger(__name__)


def eligible_paginator(client: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any] | None:
    """The paginator config when pages can be fetched concurrently and exactly, else None."""
    endpoint = resource.get("endpoint")
    if not isinstance(endpoint, dict) or endpoint.get("incremental"):
        return None
    if str(endpoint.get("method", "GET")).upper() != "GET" or endpoint.get("json"):
        return None
    if (
        endpoint.get("data")
        or endpoint.get("response_actions")
        or endpoint.get("headers")  # dlt sends them; the fast path's client would not
        or endpoint.get("auth")
        or client.get("session")
        or not endpoint.get("data_selector")
    ):
        return None
    params = endpoint.get("params") or {}
    if any(isinstance(v, dict) for v in params.values()) or "{" in str(endpoint.get("path", "")):
        return None  # resolved from a parent resource or an incremental placeholder
    paginator = endpoint.get("paginator", client.get("paginator"))
    if not isinstance(paginator, dict) or paginator.get("type") not in _RANGE_PAGINATORS:
        return None
    if paginator.get("param_body_path") or paginator.get("has_more_path"):
        return None
    maximum = "maximum_page" if paginator["type"] == "page_number" else "maximum_offset"
    if not (paginator.get("total_path") or paginator.get(maximum)):
        return None
    return paginator


def fetch_pages(
    make_client: Any,
    path: str,
    params: dict[str, Any],
    paginator_config: dict[str, Any],
    data_selector: str,
    max_workers: int,
) -> Iterator[list[Any]]:
    """Yield the records of every page dlt would fetch, in order, ``max_workers`` in flight."""
    from dlt.sources.helpers.requests import Request
    from dlt.sources.rest_api.config_setup import create_paginator

    client = make_client()
    arbiter = create_paginator(paginator_config)  # dlt's own: it decides where the pages end
    first_request = Request(method="GET", params=dict(params))
    arbiter.init_request(first_request)
    base_params = dict(first_request.params)
    first = _get(client, path, base_params)
    data = client.extract_response(first, data_selector)
    arbiter.update_state(first, data)
    yield data
    if not arbiter.has_next_page:
        return
    values = iter(range(arbiter.current_value, _limit(arbiter, first), arbiter.value_step))
    per_thread = threading.local()

    def fetch(value: int) -> Any:
        if not hasattr(per_thread, "client"):
            per_thread.client = make_client()
        return _get(per_thread.client, path, {**base_params, arbiter.param_name: value})

    pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="sourcegate-page")
    in_flight: deque[Future] = deque()
    try:
        for value in values:
            in_flight.append(pool.submit(fetch, value))
            if len(in_flight) >= max_workers:
                break
        while in_flight and arbiter.has_next_page:
            response = in_flight.popleft().result()
            data = client.extract_response(response, data_selector)
            arbiter.update_state(response, data)
            yield data
            next_value = next(values, None)
            if next_value is not None and arbiter.has_next_page:
                in_flight.append(pool.submit(fetch, next_value))
        # the total grew while paging: go on one page at a time, as dlt's loop would
        while arbiter.has_next_page:
            response = fetch(arbiter.current_value)
            data = client.extract_response(response, data_selector)
            arbiter.update_state(response, data)
            yield data
    finally:
        # pages fetched past the last one dlt would read are dropped; on an error or an early
        # close, pending requests are not waited for
        pool.shutdown(wait=False, cancel_futures=True)


def _limit(arbiter: Any, first: Any) -> int:
    """The value (page or offset) dlt stops before, from the first response's total or the
    configured maximum, whichever comes first."""
    from dlt.common import jsonpath

    limits = []
    if arbiter.total_path is not None:
        values = jsonpath.find_values(arbiter.total_path, first.json())
        limits.append(int(values[0]) + arbiter.base_index)  # present: update_state checked it
    if arbiter.maximum_value is not None:
        limits.append(arbiter.maximum_value)
    return min(limits)


def _get(client: Any, path: str, params: dict[str, Any]) -> Any:
    response = client.get(path, params=params)
    response.raise_for_status()
    return response


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
            logger.debug("%s: pages fetched by dlt, one at a time", resource_config.get("name"))
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
                copy.deepcopy(paginator),
                endpoint["data_selector"],
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
