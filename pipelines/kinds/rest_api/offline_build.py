"""dlt's second validation layer: build the source offline, as `rest_api_source` does at run time.

`_validate_config` checks only the shape. Building the source also rejects unknown `resolve`
parents, cycles, path placeholders without a param, `{unknown.x}` expressions, paginators
missing settings and incremental misuse. The build makes no request (dlt opens connections only
when a resource is iterated), and every `{secret: NAME}` gets a dummy value, so no real secret
is needed or seen.

dlt stops at the first problem and rarely says where it is, so the same steps are first tried
one place at a time (client, defaults, each resource) to find the line to point at.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from pipelines.kinds.base import PathT, Problem
from pipelines.kinds.rest_api.dlt_schema import dotted, shorten

DUMMY_SECRET = "sourcegate-offline-dummy"
_TICKED = re.compile(r"[`']([^`']+)[`']")
_EXPRESSION = re.compile(r"\b[a-z_]\w*\.[\w.]*\w")
_PLACEHOLDERS = (
    "placeholders are {resources.<parent>.<field>}, or {incremental.start_value} with "
    "endpoint.incremental; write literal braces as {{ and }}"
)
_HINTS = (
    (
        "requires a param named",
        "add it under endpoint.params, or read it from a parent "
        "resource with {resources.<parent>.<field>}",
    ),
    ("placeholder", _PLACEHOLDERS),
    ("Valid expressions", _PLACEHOLDERS),
    ("non existing parent", "name a parent resource that this file defines"),
    ("cycle", "these resources read each other's fields in a circle; break the circle"),
    ("Multiple parent", "a resource can read fields from one parent resource only"),
    ("Expected format", "write {resources.<parent>.<field>}"),
    ("not bound in path", "use the resolve param in endpoint.path as {name}"),
    ("__init__()", "add the setting dlt names"),
    (
        "Paginator",
        "give the paginator as a mapping with its settings, e.g. {type: offset, limit: 100}",
    ),
    ("end_value", "set end_value under endpoint.incremental, not on the param"),
    ("single incremental", "keep one incremental param per endpoint"),
    ("include_from_parent", "include_from_parent works only on a resource with a parent"),
    ("already defined", "give each resource its own name"),
)


def with_dummy_secrets(value: Any) -> Any:
    """A copy of ``value`` where each `{secret: NAME}` is a dummy (its prefix kept).

    sourcegate's own auth types become their (unbound) auth objects: dlt checks and builds
    those, where it would refuse the mapping.
    """
    from pipelines.governance.secrets import mask_secrets
    from pipelines.kinds.rest_api.oauth2 import with_offline_auth

    return with_offline_auth(mask_secrets(value, DUMMY_SECRET))


def offline_build_problems(config: dict[str, Any]) -> list[Problem]:
    """What dlt's `rest_api_source` rejects in ``config``, located at the key to fix."""
    from dlt.sources.rest_api import rest_api_source

    filled = with_dummy_secrets(config)
    found = _first_local_failure(filled)
    if found is None:
        error = _attempt(rest_api_source, copy.deepcopy(filled))
        if error is None:
            return []
        found = (_locate_by_names(filled, error), error)
    path, error = found
    return [(path, f"{dotted(path)}: dlt cannot build this source: {_reason(error)}")]


def _first_local_failure(filled: dict[str, Any]) -> tuple[PathT, Exception] | None:
    from dlt.sources.rest_api.config_setup import create_auth, create_paginator

    client = filled["client"]
    defaults = filled.get("resource_defaults") or {}
    endpoint = defaults.get("endpoint") if isinstance(defaults.get("endpoint"), dict) else {}
    steps: list[tuple[PathT, Callable[[Any], Any], Any]] = [
        (("client", "paginator"), create_paginator, client.get("paginator")),
        (("client", "auth"), create_auth, client.get("auth")),
        (
            ("resource_defaults", "endpoint", "paginator"),
            create_paginator,
            endpoint.get("paginator"),
        ),
        (("resource_defaults", "endpoint", "auth"), create_auth, endpoint.get("auth")),
    ]
    for where, step, value in steps:
        error = _attempt(step, copy.deepcopy(value)) if value is not None else None
        if error is not None:
            return ("rest_api", *where), error
    for index, resource in enumerate(filled["resources"]):
        found = _resource_failure(resource, defaults)
        if found is not None:
            return ("rest_api", "resources", index, *found[0]), found[1]
    return None


def _resource_failure(resource: Any, defaults: dict[str, Any]) -> tuple[PathT, Exception] | None:
    """The first build step that fails for one resource alone, and the key it concerns."""
    from dlt.sources.rest_api import _validate_param_type
    from dlt.sources.rest_api.config_setup import (
        create_auth,
        create_paginator,
        create_response_hooks,
        expand_and_index_resources,
        setup_incremental_object,
    )

    try:
        expanded = expand_and_index_resources([copy.deepcopy(resource)], copy.deepcopy(defaults))
    except Exception as exc:
        text = str(exc)
        key = ("endpoint", "params") if "resolve params" in text else ("endpoint", "path")
        return (key if "path" in text else ()), exc
    endpoint = next(iter(expanded.values()))["endpoint"]
    params = endpoint.get("params") or {}
    steps: list[tuple[PathT, Callable[..., Any], tuple[Any, ...]]] = [
        (("endpoint", "paginator"), create_paginator, (endpoint.get("paginator"),)),
        (("endpoint", "params"), _validate_param_type, (params,)),
        (
            _incremental_key(endpoint),
            setup_incremental_object,
            (params, endpoint.get("incremental")),
        ),
        (("endpoint", "auth"), create_auth, (endpoint.get("auth"),)),
        (
            ("endpoint", "response_actions"),
            create_response_hooks,
            (endpoint.get("response_actions"),),
        ),
    ]
    for where, step, args in steps:
        error = _attempt(step, *copy.deepcopy(args))
        if error is not None:
            return where, error
    return None


def _incremental_key(endpoint: dict[str, Any]) -> PathT:
    if endpoint.get("incremental") is not None:
        return ("endpoint", "incremental")
    params = endpoint.get("params") or {}
    names = [n for n, v in params.items() if isinstance(v, dict) and v.get("type") == "incremental"]
    if len(names) == 1:
        return ("endpoint", "params", names[0])
    return ("endpoint", "params") if names else ("endpoint",)


def _attempt(step: Callable[..., Any], *args: Any) -> Exception | None:
    try:
        step(*args)
    except Exception as exc:  # any refusal by dlt is a finding, whatever its type
        return exc
    return None


def _locate_by_names(filled: dict[str, Any], error: Exception) -> PathT:
    """Where a whole-source error (parents, cycles, expressions, duplicates) points."""
    resources = filled["resources"]
    names = [r if isinstance(r, str) else r.get("name") for r in resources]
    text = str(error)
    for token in _EXPRESSION.findall(text):  # such as `unknown.x`: the value that holds it
        for index, resource in enumerate(resources):
            where = _path_of_text(resource, "{" + token)
            if where is not None:
                return ("rest_api", "resources", index, *where)
    ticked = [*_TICKED.findall(text), *_cycle_nodes(error)]
    for token in ticked:
        if token in names:
            last = "already defined" in text
            index = len(names) - 1 - names[::-1].index(token) if last else names.index(token)
            return ("rest_api", "resources", index)
    return ("rest_api", "resources")


def _cycle_nodes(error: Exception) -> list[str]:
    import graphlib

    if isinstance(error, graphlib.CycleError) and len(error.args) > 1:
        return [str(node) for node in error.args[1]]
    return []


def _path_of_text(value: Any, text: str) -> PathT | None:
    if isinstance(value, str):
        return () if text in value else None
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        found = _path_of_text(item, text)
        if found is not None:
            return (key, *found)
    return None


def _reason(error: Exception) -> str:
    text = str(error) or type(error).__name__
    nodes = _cycle_nodes(error)
    if nodes:
        text = f"{error.args[0]}: {' -> '.join(nodes)}"
    hint = next((hint for key, hint in _HINTS if key in text), "see dlt's rest_api documentation")
    return f"{shorten(text)}; {hint}"
