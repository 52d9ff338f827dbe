"""A dagster-dlt translator whose keys match the specs built from YAML, and nothing more."""

from __future__ import annotations

from dagster import AssetKey, AssetSpec
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData


class SourcegateTranslator(DagsterDltTranslator):
    """Keys are `[source, table]`. No deps, so no phantom `<source>_<resource>` upstream assets."""

    def __init__(self, source_name: str) -> None:
        self.source_name = source_name

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        """Only the key matters at run time: the rich specs come from the YAML."""
        table = data.resource.table_name
        return AssetSpec(key=AssetKey([self.source_name, str(table)]))
