"""The `rest_api:` block: a dlt RESTAPIConfig written verbatim, checked as strictly as dlt does.

Layers, in order: the shape sourcegate relies on (no dlt import), sourcegate's own rules
(table names, credentials from `{secret: NAME}`), then with ``deep`` dlt's schema check
(`dlt_schema`) and an offline build of the source (`offline_build`). Under `validate`, a block
that passed dlt's checks before skips them (`validation_cache`).
"""

from __future__ import annotations

import re
from typing import Any

from pipelines.kinds.base import Problem
from pipelines.kinds.rest_api import validation_cache
from pipelines.kinds.rest_api.auth_rules import auth_problems

_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
# A resource written as an endpoint path (`v2/users`): dlt names its table `v2_users`.
_PATH_RESOURCE = re.compile(r"^[a-z][a-z0-9]*(?:[_/][a-z0-9]+)*$")
TABLE_RULE = "sourcegate rule: a resource's table name is a lower-case identifier"


def rest_api_table_names(config: dict[str, Any]) -> list[str]:
    """Table names of the resources, in file order (a resource's `table_name` wins).

    A resource written as a path string lands in the table dlt's naming gives it: `v2/users`
    becomes `v2_users`.
    """
    names: list[str] = []
    for resource in config.get("resources") or []:
        if isinstance(resource, str):
            names.append(_path_table(resource))
        elif isinstance(resource, dict):
            table = resource.get("table_name")
            names.append(table if isinstance(table, str) else str(resource.get("name", "")))
    return names


def with_table_names(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with each path-string resource given the table name sourcegate expects.

    dlt accepts `resources: [v2/users]` and would name both the resource and its table
    `v2/users`; this spells the resource out so its `table_name` is the asset's table.
    """
    resources = []
    for resource in config.get("resources") or []:
        if isinstance(resource, str) and _path_table(resource) != resource:
            resource = {"name": resource, "endpoint": {"path": resource}}
            resource["table_name"] = _path_table(resource["name"])
        resources.append(resource)
    return {**config, "resources": resources}


def _path_table(resource: str) -> str:
    return resource.replace("/", "_") if _PATH_RESOURCE.match(resource) else resource


def rest_api_config_problems(config: dict[str, Any], deep: bool = True) -> list[Problem]:
    """(path, message) pairs for a `rest_api:` block, empty when valid.

    ``deep`` also runs dlt's own checks (which import dlt): its schema validation and an
    offline build of the source with dummy secrets and no network.
    """
    shape = _shape_problems(config)
    if shape:
        return shape
    problems = _table_name_problems(config)
    cache = validation_cache.active() if deep else None
    key = cache.key(config) if cache is not None else None
    if cache is not None and key is not None and cache.passed(key):
        deep = False  # this very block passed dlt's checks before (`validation_cache`)
    if deep:
        from pipelines.kinds.rest_api.dlt_schema import dlt_schema_problems
        from pipelines.kinds.rest_api.offline_build import with_dummy_secrets

        schema = dlt_schema_problems(with_dummy_secrets(config))
        if schema:
            return problems + schema
    problems.extend(auth_problems(config))
    if deep and not problems:
        from pipelines.kinds.rest_api.offline_build import offline_build_problems

        problems.extend(offline_build_problems(config))
        if cache is not None and key is not None and not problems:
            cache.record(key, config)
    return problems


def _shape_problems(config: dict[str, Any]) -> list[Problem]:
    resources = config.get("resources")
    if not isinstance(resources, list) or not resources:
        return [(("rest_api",), "rest_api needs a non-empty 'resources' list")]
    client = config.get("client")
    if not isinstance(client, dict) or not client.get("base_url"):
        return [(("rest_api", "client"), "rest_api needs a client with a base_url")]
    return [
        (
            ("rest_api", "resources", index),
            f"rest_api.resources[{index}]: each resource is an endpoint path such as users, or a "
            f"mapping with name: and endpoint:; got {type(resource).__name__} "
            f"{repr(resource)[:40]}",
        )
        for index, resource in enumerate(resources)
        if not isinstance(resource, str | dict)
    ]


def _table_name_problems(config: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for index, name in enumerate(rest_api_table_names(config)):
        if not _TABLE_NAME.match(name):
            resource = config["resources"][index]
            fix = (
                f"write it as {{name: <table>, endpoint: {resource}}}"
                if isinstance(resource, str)
                else "set name: (or table_name:) to lower-case letters, digits and underscores"
            )
            problems.append(
                (
                    ("rest_api", "resources", index),
                    f"resource name {name!r} must be lower-case letters, digits and underscores; "
                    f"it becomes the table name; {fix} ({TABLE_RULE})",
                )
            )
    return problems
