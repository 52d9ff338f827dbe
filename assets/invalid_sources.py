"""Source files that fail validation, shown in the Dagster UI instead of hidden in a log.

Each broken file becomes an asset in the `invalid_sources` group whose description lists the
errors, with a check `source_file_is_valid` that fails with the same messages when it runs.
"""

import re
from collections import defaultdict
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetKey,
    AssetSpec,
    MetadataValue,
    asset_check,
)

from pipelines.settings import repo_relative
from pipelines.spec.errors import SourceError

GROUP = "invalid_sources"


def invalid_source_assets(
    errors: list[SourceError],
) -> tuple[list[AssetSpec], list[AssetChecksDefinition]]:
    """One asset spec plus one failing check per broken file."""
    by_file: dict[Path, list[SourceError]] = defaultdict(list)
    for error in errors:
        by_file[error.file].append(error)
    specs, checks = [], []
    for path, file_errors in sorted(by_file.items()):
        key = AssetKey([GROUP, re.sub(r"[^A-Za-z0-9_]", "_", path.stem)])
        shown = repo_relative(path)
        lines = [f"{shown}:{e.line}: {e.message}" for e in file_errors]
        specs.append(
            AssetSpec(
                key=key,
                group_name=GROUP,
                description="This source file failed validation and is not loaded:\n\n"
                + "\n".join(f"- line {e.line}: {e.message}" for e in file_errors),
                metadata={"spec_file": shown, "errors": MetadataValue.md("\n".join(lines))},
                kinds={"yaml"},
            )
        )
        checks.append(_failing_check(key, lines))
    return specs, checks


def _failing_check(key: AssetKey, lines: list[str]) -> AssetChecksDefinition:
    @asset_check(
        asset=key,
        name="source_file_is_valid",
        description="Fails until `sourcegate validate` is clean for this file.",
    )
    def source_file_is_valid(context: AssetCheckExecutionContext) -> AssetCheckResult:
        return AssetCheckResult(
            passed=False,
            metadata={"errors": MetadataValue.md("\n".join(lines)), "error_count": len(lines)},
            description=lines[0],
        )

    return source_file_is_valid
