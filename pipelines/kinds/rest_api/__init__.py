"""REST APIs: a dlt `RESTAPIConfig` written verbatim under `rest_api:`.

`config` validates the block with dlt's own validator, `pages` fetches the pages of an endpoint
concurrently when its paginator knows the total, `http` applies the source's `http:` settings.
Pages become Arrow tables (`pipelines.kinds.arrow_records`) before dlt sees them.
"""

from __future__ import annotations

import contextlib
import copy
from typing import TYPE_CHECKING, Any

from pipelines.kinds.base import BuildContext, PathT, Problem, SourceKind
from pipelines.kinds.rest_api.config import (
    rest_api_config_problems,
    rest_api_table_names,
    with_table_names,
)
from pipelines.spec.fields import as_list

if TYPE_CHECKING:
    from pipelines.spec.models import SourceSpec

# Query parameters in which APIs take the list of fields to return (HubSpot `properties` ...).
_FIELD_LIST_PARAMS = ("properties", "fields", "select")


class RestApiKind(SourceKind):
    """The `rest_api:` block."""

    key = "rest_api"

    def table_names(self, spec: SourceSpec) -> list[str]:
        """One table per resource (its `table_name`, else its name)."""
        return rest_api_table_names(spec.rest_api or {})

    def problems(self, spec: SourceSpec, deep: bool) -> list[Problem]:
        """The block's shape, and with ``deep`` dlt's own validation of it."""
        from pipelines.kinds.rest_api.resolve import resolve_pii_problems

        problems = rest_api_config_problems(spec.rest_api, deep=deep)
        return problems or resolve_pii_problems(spec.rest_api, spec)

    def preview_spec(self, spec: SourceSpec) -> SourceSpec:
        """No page requested ahead, and one page per parent row for a child resource (whose
        path or params take a parent's field, `{resources.<parent>.<field>}`)."""
        config = copy.deepcopy(spec.rest_api or {})
        for resource in config.get("resources") or []:
            endpoint = resource.get("endpoint") if isinstance(resource, dict) else None
            if isinstance(endpoint, dict) and "{resources." in str(
                [endpoint.get("path"), endpoint.get("params"), endpoint.get("json")]
            ):
                endpoint["paginator"] = "single_page"
        return spec.model_copy(update={"max_concurrent_requests": 1, "rest_api": config})

    def primary_keys(self, spec: SourceSpec) -> dict[str, list[str]]:
        """Each resource's `primary_key`, or the one under `resource_defaults`."""
        config = spec.rest_api or {}
        default = (config.get("resource_defaults") or {}).get("primary_key")
        # the resources `table_names` counts, so the two line up
        resources = [r for r in config.get("resources") or [] if isinstance(r, str | dict)]
        found = {}
        for table, resource in zip(self.table_names(spec), resources, strict=True):
            key = resource.get("primary_key", default) if isinstance(resource, dict) else default
            if isinstance(key, str | list):
                found[table] = as_list(key)
        return found

    def declared_columns(self, spec: SourceSpec) -> dict[tuple[str, str], PathT]:
        """Primary keys, `columns:` hints and fields asked for in the query."""
        config = spec.rest_api or {}
        found: dict[tuple[str, str], PathT] = {}
        defaults = config.get("resource_defaults") or {}
        tables = self.table_names(spec)
        for index, resource in enumerate(config.get("resources") or []):
            if not isinstance(resource, dict):
                continue
            table = tables[index]
            path: PathT = ("rest_api", "resources", index)
            for column in as_list(resource.get("primary_key", defaults.get("primary_key"))):
                found.setdefault((table, column), path)
            for column in resource.get("columns") or {}:
                found.setdefault((table, str(column)), (*path, "columns", column))
            endpoint = resource.get("endpoint")
            params = (endpoint.get("params") if isinstance(endpoint, dict) else None) or {}
            for name in _FIELD_LIST_PARAMS:
                if isinstance(params.get(name), str):
                    where = (*path, "endpoint", "params", name)
                    for column in params[name].split(","):
                        found.setdefault((table, column.strip()), where)
        return found

    def build_source(self, spec: SourceSpec, context: BuildContext) -> Any:
        """dlt's `rest_api_source`, with pages fetched concurrently where that is exact.

        Records stay dict rows, normalized by dlt: its JSONPath cursors, timestamp detection,
        nested tables and `_dlt_id` are what the user reads about in dlt's docs. (Pages used to
        become Arrow tables here, which was faster and differed in all four.)
        """
        from dlt.sources.rest_api import rest_api_source

        from pipelines.governance.secrets import resolve_secrets
        from pipelines.kinds.rest_api.oauth2 import with_refresh_token_auth
        from pipelines.kinds.rest_api.pages import use_concurrent_pages

        resolved = resolve_secrets(spec.rest_api, spec.name)
        # `oauth2_refresh_token` blocks become auth objects bound to the token store
        resolved = with_refresh_token_auth(resolved, spec.rest_api, spec.name)
        # path-string resources (`v2/users`) get the table name validation promised (`v2_users`)
        config = with_table_names(resolved)
        source = rest_api_source(config, name=spec.name)
        use_concurrent_pages(source, config, spec.max_concurrent_requests)
        return source

    def run_settings(self, spec: SourceSpec) -> contextlib.AbstractContextManager[None]:
        """The source's `http:` settings for dlt's HTTP client."""
        from pipelines.kinds.rest_api.http import http_settings

        return http_settings(spec)
