"""dlt's first validation layer: the shape of a `rest_api:` block, checked by `_validate_config`.

Where a value may take several shapes (`paginator:`, `auth:`), dlt tries each and reports all
failures. The one to show is the shape the value says it is (its `type:`), not the first that
happens to fail, so `http_basic` without a password reads "missing required fields
{'password'}" and never "unexpected fields {'username'}" from the bearer shape.
"""

from __future__ import annotations

import re
from typing import Any

from pipelines.kinds.base import PathT, Problem

_PATH_PART = re.compile(r"([^/\[\]]+)|\[(\d+)\]")
_MAX_MESSAGE = 240
_TICKS = re.compile(r"`([^`]*)`")


def dlt_schema_problems(filled: dict[str, Any]) -> list[Problem]:
    """dlt's schema check of ``filled`` (a block whose secrets hold dummy values)."""
    from dlt.common.exceptions import DictValidationException
    from dlt.sources.rest_api import _validate_config

    try:
        _validate_config(filled)
    except DictValidationException as exc:
        leaf = _most_specific(exc)
        path = ("rest_api", *parse_dlt_path(leaf.path), *parse_dlt_path(leaf.field or ""))
        message = f"{dotted(path)}: {shorten(leaf.msg)}"
        if "missing required fields" in leaf.msg and _in_auth(path):
            message += "; write each credential as {secret: NAME}"
        return [(path, message)]
    return []


def _most_specific(exc: Any) -> Any:
    """The nested dlt error that matches the value's own shape and points deepest."""
    leaves: list[Any] = []

    def walk(node: Any) -> None:
        nested = _matching_branches(node)
        if not nested:
            leaves.append(node)
        for child in nested:
            walk(child)

    walk(exc)

    def rank(leaf: Any) -> tuple[int, int, int]:
        depth = len(parse_dlt_path(leaf.path)) + len(parse_dlt_path(leaf.field or ""))
        useful = any(
            text in leaf.msg
            for text in ("unexpected fields", "invalid type", "missing required", "is not one of")
        )
        return (int("callable" not in leaf.msg), int(useful), depth)

    return max(leaves, key=rank)


def _matching_branches(node: Any) -> list[Any]:
    """The union branches worth reading: the one named by the value's `type:` if there is one."""
    nested = list(getattr(node, "nested_exceptions", None) or [])
    value = getattr(node, "value", None)
    if not nested:
        return nested
    if isinstance(value, str):
        literal = [n for n in nested if "is not one of" in n.msg]
        return literal or nested
    wanted = _shape_name(node.field or "", value) if isinstance(value, dict) else None
    if wanted:
        chosen = [n for n in nested if _type_name(n.expected_type).lower() == wanted]
        return chosen or nested
    return nested


def _shape_name(field: str, value: dict[str, Any]) -> str | None:
    """The lower-cased dlt TypedDict name for a paginator or auth mapping, from its `type:`."""
    from dlt.sources.rest_api.config_setup import AUTH_MAP, PAGINATOR_MAP

    if field.endswith("auth"):
        cls = AUTH_MAP.get(str(value.get("type", "bearer")))
    elif field.endswith("paginator"):
        cls = PAGINATOR_MAP.get(str(value.get("type", "auto")))
    else:
        return None
    return f"{cls.__name__}Config".lower() if cls is not None else None


def _type_name(expected: Any) -> str:
    from dlt.common.typing import get_type_name

    try:
        return str(get_type_name(expected))
    except Exception:  # an odd typing construct: match nothing rather than fail
        return ""


def _in_auth(path: PathT) -> bool:
    return "auth" in path


def parse_dlt_path(text: str) -> list[str | int]:
    """dlt's `./client/auth` or `resources[0]` as key-path parts."""
    return [int(idx) if idx else key for key, idx in _PATH_PART.findall(text) if key != "." or idx]


def dotted(path: PathT) -> str:
    """`rest_api.resources[0].endpoint` for a key path."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def shorten(message: str) -> str:
    """dlt's message on one line, without backticks, at most a few hundred characters."""
    message = _TICKS.sub(_unticked, message.split("\n")[0])
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."


def _unticked(match: re.Match[str]) -> str:
    """dlt's `name` as 'name'; a quoted list or mapping (`['a']`, `{'b'}`) as itself."""
    inner = match.group(1)
    return inner if inner[:1] in ("[", "{", "'", '"', "(") else f"'{inner}'"
