"""Turn validation failures into `file:line: message` errors a marketer can act on."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError


@dataclass(frozen=True)
class SourceError:
    """One problem in one source file, located at a line."""

    file: Path
    line: int
    message: str
    severity: str = "error"

    @property
    def source_name(self) -> str:
        """The source this error belongs to (the file stem)."""
        return self.file.stem

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def pydantic_messages(
    exc: ValidationError, known_keys: set[str]
) -> list[tuple[tuple[str | int, ...], str]]:
    """Plain-English (path, message) pairs for every pydantic error, one per problem."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    seen: set[tuple[tuple[str | int, ...], str]] = set()
    for err in exc.errors(include_url=False):
        loc = _without_union_tags(tuple(err["loc"]))
        item = (loc, _describe(err, loc, known_keys))
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def _without_union_tags(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """Drop the check-kind tag pydantic puts after a list index (`checks.t[0].not_null.x`)."""
    from pipelines.spec.checks import CHECK_KINDS

    return tuple(
        part
        for i, part in enumerate(loc)
        if not (i and isinstance(loc[i - 1], int) and part in CHECK_KINDS)
    )


def _describe(err: dict[str, Any], loc: tuple[str | int, ...], known_keys: set[str]) -> str:
    error_type = err["type"]
    where = dotted(loc)
    field = str(loc[-1]) if loc else ""
    if error_type == "extra_forbidden":
        message = f"unknown key '{field}'"
        hint = difflib.get_close_matches(field, sorted(known_keys), n=1, cutoff=0.6)
        message += f"; did you mean '{hint[0]}'?" if hint else "; remove it or check its spelling"
        parent = dotted(loc[:-1])
        return f"{parent}: {message}" if parent else message
    if error_type == "missing":
        return f"'{where}' is required but missing"
    if error_type == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return (
            f"{dotted(loc)}: unknown check kind {ctx.get('tag')!r}; "
            f"use one of {ctx.get('expected_tags')}"
        )
    if error_type == "union_tag_not_found":
        return f"{where}: each check needs an 'expect:' line saying which check it is"
    if field == "credentials" or (error_type == "model_type" and "SecretRef" in err["msg"]):
        return f"{where}: write it as {{secret: NAME}} and set the environment variable NAME"
    if error_type in {"value_error", "assertion_error"}:
        text = str(err.get("ctx", {}).get("error", err["msg"]))
        return f"{where}: {text}" if where else text
    value = err.get("input")
    shown = "" if isinstance(value, dict | list) else f" (got {value!r})"
    return f"{where}: {err['msg']}{shown}" if where else f"{err['msg']}{shown}"


def dotted(loc: tuple[str | int, ...]) -> str:
    """A key path as written in messages: `rest_api.resources[0].endpoint`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
