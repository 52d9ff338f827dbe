"""PII transforms and secret references, on their own (the loads that use them are tested too)."""

from __future__ import annotations

import copy
import hashlib

import pyarrow as pa
import pytest

from pipelines.governance.pii import PiiGuard
from pipelines.governance.pii_hashing import hash_arrow_column, hash_value
from pipelines.governance.pii_rules import dlt_naming
from pipelines.governance.secrets import (
    MissingSecretError,
    contains_secret_refs,
    mask_secrets,
    resolve_secrets,
)
from pipelines.spec.models import PiiRules

SALT = b"s"


def test_emails_hash_alike_after_trimming_and_lower_casing() -> None:
    expected = hashlib.sha256(SALT + b"ana@example.com").hexdigest()
    assert hash_value("email", "  Ana@Example.COM ", SALT) == expected
    assert hash_value("customer_email", "ana@example.com", SALT) == expected
    assert hash_value("email", None, SALT) is None
    assert hash_value("phone", " +49 1 ", SALT) == hashlib.sha256(SALT + b"+49 1").hexdigest()


def test_row_and_arrow_paths_give_identical_results() -> None:
    """One guard, two item shapes: nested dict rows and flattened Arrow tables land alike,
    lists included (a nested table for rows, a JSON column for Arrow)."""
    rules = PiiRules(hash=["t.Email", "t.props.email", "t__contacts.email"], drop=["t.ip"])
    rows = [
        {
            "id": i,
            "Email": f"A{i}@x.com" if i else None,
            "ip": "10.0.0.1",
            "props": {"email": f"B{i}@x.com"},
            "contacts": [{"email": f"C{i}@x.com", "kind": "work"}],
        }
        for i in range(3)
    ]
    flat = [
        {k: v for k, v in r.items() if k != "props"} | {"props__email": r["props"]["email"]}
        for r in rows
    ]
    by_arrow = PiiGuard(rules, SALT, dlt_naming()).apply_arrow("t", pa.Table.from_pylist(flat))
    row_guard = PiiGuard(rules, SALT, dlt_naming())
    by_row = [row_guard.apply_rows("t", copy.deepcopy(r)) for r in rows]
    assert [
        {k: v for k, v in r.items() if k != "props"} | {"props__email": r["props"]["email"]}
        for r in by_row
    ] == by_arrow.to_pylist()
    first = by_arrow.to_pylist()[1]
    assert first["props__email"] == hash_value("email", "b1@x.com", SALT)
    assert first["Email"] == hash_value("email", "a1@x.com", SALT)
    assert first["contacts"] == [{"email": hash_value("email", "c1@x.com", SALT), "kind": "work"}]
    assert "ip" not in first
    assert row_guard.report().unmatched == []


def test_large_and_small_batches_hash_alike_outside_ascii() -> None:
    """Large Arrow columns are hashed by DuckDB; the result must equal the Python path's."""
    values = [" İlker@Örnek.com.tr ", "ΟΔΥΣΣΕΑΣ@x.gr", "ana@x.com", None] * 6_000
    column = pa.chunked_array([pa.array(values)])
    hashed = hash_arrow_column("email", column, SALT).to_pylist()
    assert hashed == [hash_value("email", v, SALT) for v in values]
    ascii_values = pa.chunked_array([pa.array(["Ana@X.com ", None] * 12_000)])
    assert hash_arrow_column("email", ascii_values, SALT).to_pylist() == [
        hash_value("email", v, SALT) for v in ascii_values.to_pylist()
    ]


def test_secret_refs_resolve_from_the_environment_and_name_what_is_missing() -> None:
    config = {"auth": {"token": {"secret": "API_TOKEN"}}, "list": [{"secret": "OTHER"}], "n": 1}
    assert contains_secret_refs(config) == {"API_TOKEN", "OTHER"}
    resolved = resolve_secrets(config, "src", {"API_TOKEN": "t0k", "OTHER": "o"})
    assert resolved == {"auth": {"token": "t0k"}, "list": ["o"], "n": 1}
    assert mask_secrets(config) == {"auth": {"token": "***"}, "list": ["***"], "n": 1}
    with pytest.raises(MissingSecretError) as info:
        resolve_secrets(config, "src", {"API_TOKEN": "t0k"})
    assert str(info.value) == "src: set the environment variable OTHER to run this source"
