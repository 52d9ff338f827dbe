"""Values left from a `sourcegate new` template: refused in production, a warning in pilot.

`sourcegate new` fills name, owner and description and leaves the rest for the marketer: a
`TODO` purpose, `https://api.example.com/v1/` as the base URL, TODO paths. Such a file is valid
YAML and a valid spec, so without this rule it would pass `validate` untouched.

Only what the templates leave is matched: the word TODO in a value, `${...}` template variables,
and URLs on the reserved example domains (RFC 2606). Emails such as `data-platform@example.com`
are not URLs and are not matched: the bundled sources use that steward on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from pipelines.spec.errors import dotted

PathT = tuple[str | int, ...]
RULE = "sourcegate rule: no template placeholders in production"

_TODO = re.compile(r"\b(TODO|FIXME|TBD)\b")
_TEMPLATE_VARIABLE = re.compile(r"\$\{[A-Za-z_]\w*\}")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")
_EXAMPLE_TLDS = (".example",)


def placeholder_values(document: Any, production: bool) -> list[tuple[PathT, str]]:
    """(path, message) for every template placeholder left in ``document``."""
    then = "fill it in" if production else "fill it in before stage: production"
    return [
        (path, f"{dotted(path)}: {what} left from the template; {then} ({RULE})")
        for path, what in _placeholders(document, ())
    ]


def _placeholders(node: Any, path: PathT) -> Iterator[tuple[PathT, str]]:
    if isinstance(node, dict):
        if "secret" in node:
            return
        for key, value in node.items():
            yield from _placeholders(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _placeholders(value, (*path, index))
    elif isinstance(node, str):
        what = describe_placeholder(node)
        if what:
            yield path, what


def describe_placeholder(value: str) -> str | None:
    """What makes ``value`` a template placeholder (e.g. "the example host ..."), or None."""
    todo = _TODO.search(value)
    if todo:
        return f"{todo.group(1)}"
    variable = _TEMPLATE_VARIABLE.search(value)
    if variable:
        return f"the template variable {variable.group(0)}"
    if _URL.match(value.strip()):
        try:
            host = (urlsplit(value.strip()).hostname or "").lower()
        except ValueError:
            return None
        if host.endswith(_EXAMPLE_TLDS) or any(
            host == domain or host.endswith("." + domain) for domain in _EXAMPLE_DOMAINS
        ):
            return f"the example host {host}"
    return None
