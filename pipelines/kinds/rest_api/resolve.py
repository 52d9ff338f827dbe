"""Parent and child resources (dlt's `resolve`): which fields of which parent a child reads.

A child gets its parent's items after every step of the parent's pipe (dlt forks at the end),
so a parent's PII rules would reach the child too: a hashed `id` in the child's URL. A PII rule
may therefore not cover a field a child reads.
"""

from __future__ import annotations

import re
from typing import Any

from pipelines.kinds.base import Problem

# dlt's placeholders for a parent's field: `{resources.<parent>.<field>}`
_PLACEHOLDER = re.compile(r"\{resources\.([A-Za-z0-9_]+)\.([A-Za-z0-9_.]+)\}")


def resolved_fields(config: dict[str, Any]) -> dict[str, set[str]]:
    """Parent resource name -> the fields of it that children read (`resolve` or placeholders)."""
    found: dict[str, set[str]] = {}
    for resource in config.get("resources") or []:
        if not isinstance(resource, dict):
            continue
        endpoint = resource.get("endpoint")
        if not isinstance(endpoint, dict):
            endpoint = {"path": endpoint}
        for value in (endpoint.get("params") or {}).values():
            if isinstance(value, dict) and value.get("type") == "resolve":
                found.setdefault(str(value.get("resource")), set()).add(str(value.get("field")))
        # dlt expands placeholders in the path, query, body and headers
        places = ("path", "params", "json", "data", "headers")
        texts = [str(endpoint.get(place) or "") for place in places]
        texts.append(str(resource.get("include_from_parent") or ""))
        for text in texts:
            for parent, field in _PLACEHOLDER.findall(text):
                found.setdefault(parent, set()).add(field)
    return found


def resolve_pii_problems(config: dict[str, Any], spec: Any) -> list[Problem]:
    """PII rules that would change a field a child resource reads from its parent."""
    from pipelines.governance.pii_rules import CompiledPiiRules

    rules = CompiledPiiRules(spec.pii)
    tables = dict(zip(_names(config), spec.table_names(), strict=False))
    problems: list[Problem] = []
    for parent, fields in resolved_fields(config).items():
        table = rules.landed_table(tables.get(parent, parent))
        for field in sorted(fields):
            rule = rules.rule_for(table, rules.landed_column(field))
            if rule is not None and rule.action != "keep":
                problems.append(
                    (
                        rule.path,
                        f"pii.{rule.action} rule {rule.written} covers {parent}.{field}, which a "
                        f"child resource reads to build its requests; it would get the "
                        f"{rule.action}ed value. Keep the field (pii.keep with a reason) and "
                        "drop or hash it in the child's table instead (sourcegate rule: PII is "
                        "applied where data lands)",
                    )
                )
    return problems


def _names(config: dict[str, Any]) -> list[str]:
    return [
        str(r.get("name")) if isinstance(r, dict) else str(r) for r in config.get("resources") or []
    ]
