"""How sources share one warehouse: schemas never collide, and tables from earlier versions load.

Each source lands in the schema named after it. dlt's staging schemas (for `merge`, and for
`replace`, which loads through staging so a failed load leaves the table as it was) must not
be any source's schema.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from tests.order_drop import write_order_drop

pytestmark = pytest.mark.dagster

SHOP = """\
name: {name}
description: Orders of one shop
owner: team:shop
files:
  bucket_url: {drop}
  file_glob: "{name}-*.csv"
  format: csv
  table: orders
"""


def test_a_sources_staging_schema_is_never_another_sources_schema(
    tmp_path: Path, materialize_sources, query
) -> None:
    drop, sources = tmp_path / "drop", tmp_path / "sources"
    drop.mkdir()
    sources.mkdir()
    for name, count in (("shop_staging", 100), ("shop", 3)):
        rows = "".join(f"{i},{name}\n" for i in range(count))
        (drop / f"{name}-1.csv").write_text("order_id,origin\n" + rows)
        (sources / f"{name}.yaml").write_text(SHOP.format(name=name, drop=drop))

    outcome = materialize_sources(sources)

    assert outcome.success, outcome.failure
    assert query("select count(*), min(origin) from shop_staging.orders") == [(100, "shop_staging")]
    assert query("select count(*), min(origin) from shop.orders") == [(3, "shop")]


def test_a_table_loaded_without_load_ids_keeps_loading(
    tmp_path: Path, warehouse_path: Path, materialize_sources, query, monkeypatch
) -> None:
    """Versions before 2026-11 loaded Arrow rows without `_dlt_load_id`; the column is added
    to such tables without a NOT NULL constraint, which no warehouse accepts on a table with
    rows, and the next loads work."""
    from pipelines.runtime.build import build_pipeline
    from pipelines.runtime.warehouse import Warehouse
    from pipelines.spec.registry import load_registry

    _, sources = write_order_drop(tmp_path)
    spec = load_registry(sources).sources[0].spec
    pipeline = build_pipeline(spec, Warehouse.from_setting(warehouse_path))
    with monkeypatch.context() as earlier_version:
        earlier_version.setenv("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "false")
        rows = {"order_id": [1, 2], "amount": [9.5, 9.5], "_source_file": ["orders_0.csv"] * 2}
        pipeline.run(
            pa.table(rows), table_name="orders", write_disposition="merge", primary_key="order_id"
        )
    columns = [name for name, *_ in query("describe order_drop.orders")]
    assert "_dlt_load_id" not in columns

    first = materialize_sources(sources)
    assert first.success, first.failure
    assert materialize_sources(sources).success
    assert query(
        "select count(*), count(distinct order_id), count(_dlt_load_id), sum(amount) "
        "from order_drop.orders"
    ) == [(3000, 3000, 3000, sum(i * 0.5 for i in range(3000)))]
