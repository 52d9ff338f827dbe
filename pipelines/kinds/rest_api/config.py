"""The `rest_api:` block: a dlt RESTAPIConfig written verbatim, checked by dlt's own validator."""

from __future__ import annotations

import re
from typing import Any

from pipelines.governance.secrets import mask_secrets

_PATH_PART = re.compile(r"([^/\[\]]+)|\[(\d+)\]")
_MAX_MESSAGE = 240


def rest_api_table_names(config: dict[str, Any]) -> list[str]:
    """Table names of the resources, in file order (a resource's `table_name` wins)."""
    names: list[str] = []
    for resource in config.get("resources") or []:
        if isinstance(resource, str):
            names.append(resource)
        elif isinstance(resource, dict):
            table = resource.get("table_name")
            names.append(table if isinstance(table, str) else str(resource.get("name", "")))
    return names


def rest_api_config_problems(
    config: dict[str, Any], deep: bool = True
) -> list[tuple[tuple[str | int, ...], str]]:
    """(path, message) pairs for a `rest_api:` block, empty when valid.

    ``deep`` runs dlt's own `_validate_config` (which imports dlt); without it only the shape
    that sourcegate itself relies on is checked.
    """
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if not isinstance(config.get("resources"), list) or not config["resources"]:
        return [(("rest_api",), "rest_api needs a non-empty 'resources' list")]
    if not isinstance(config.get("client"), dict) or not config["client"].get("base_url"):
        return [(("rest_api", "client"), "rest_api needs a client with a base_url")]
    if deep:
        problems.extend(_dlt_problems(config))
    for index, name in enumerate(rest_api_table_names(config)):
        if not re.match(r"^[a-z_][a-z0-9_]*$", name):
            problems.append(
                (
                    ("rest_api", "resources", index),
                    f"resource name {name!r} must be lower-case letters, digits and underscores; "
                    "it becomes the table name",
                )
            )
    return problems


def _dlt_problems(config: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    from dlt.common.exceptions import DictValidationException
    from dlt.sources.rest_api import _validate_config

    try:
        # Secrets are masked first: validation must never see (or echo) a real value.
        _validate_config(mask_secrets(config))
    except DictValidationException as exc:
        leaf = _most_specific(exc)
        path = ("rest_api", *_parse_path(leaf.path), *_parse_path(leaf.field or ""))
        return [(path, f"{_dotted(path)}: {_shorten(leaf.msg)}")]
    return []


def _most_specific(exc: Any) -> Any:
    """Pick the nested dlt error that points deepest into the config, preferring unknown keys."""
    leaves: list[Any] = []

    def walk(node: Any) -> None:
        nested = getattr(node, "nested_exceptions", None) or []
        if not nested:
            leaves.append(node)
        for child in nested:
            walk(child)

    walk(exc)

    def rank(leaf: Any) -> tuple[int, int, int]:
        depth = len(_parse_path(leaf.path)) + len(_parse_path(leaf.field or ""))
        useful = "unexpected fields" in leaf.msg or "invalid type" in leaf.msg
        return (int("callable" not in leaf.msg), int(useful), depth)

    return max(leaves, key=rank)


def _parse_path(text: str) -> list[str | int]:
    return [int(idx) if idx else key for key, idx in _PATH_PART.findall(text) if key != "." or idx]


def _dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _shorten(message: str) -> str:
    message = message.replace("`", "'").split("\n")[0]
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."
