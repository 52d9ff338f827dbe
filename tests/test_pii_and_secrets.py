"""PII transforms and secret references, on their own (the loads that use them are tested too)."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pytest

from pipelines.governance.pii import arrow_transform, hash_value, row_transform
from pipelines.governance.secrets import (
    MissingSecretError,
    contains_secret_refs,
    mask_secrets,
    resolve_secrets,
)

SALT = b"s"


def test_emails_hash_alike_after_trimming_and_lower_casing() -> None:
    expected = hashlib.sha256(SALT + b"ana@example.com").hexdigest()
    assert hash_value("email", "  Ana@Example.COM ", SALT) == expected
    assert hash_value("customer_email", "ana@example.com", SALT) == expected
    assert hash_value("email", None, SALT) is None
    assert hash_value("phone", " +49 1 ", SALT) == hashlib.sha256(SALT + b"+49 1").hexdigest()


def test_row_and_arrow_paths_give_identical_results() -> None:
    rows = [
        {"id": 1, "email": "A@x.com", "ip": "10.0.0.1", "props": {"email": "B@x.com"}},
        {"id": 2, "email": None, "ip": "10.0.0.2", "props": {"email": None}},
    ]
    by_row = [row_transform(["email", "props__email"], ["ip"], SALT)(dict(r)) for r in rows]
    table = pa.Table.from_pylist([{k: v for k, v in r.items() if k != "props"} for r in rows])
    by_arrow = arrow_transform(["email"], ["ip"], SALT)(table).to_pylist()
    assert [{k: v for k, v in r.items() if k != "props"} for r in by_row] == by_arrow
    assert by_row[0]["props"]["email"] == hash_value("email", "b@x.com", SALT)
    assert "ip" not in by_arrow[0]


def test_secret_refs_resolve_from_the_environment_and_name_what_is_missing() -> None:
    config = {"auth": {"token": {"secret": "API_TOKEN"}}, "list": [{"secret": "OTHER"}], "n": 1}
    assert contains_secret_refs(config) == {"API_TOKEN", "OTHER"}
    resolved = resolve_secrets(config, "src", {"API_TOKEN": "t0k", "OTHER": "o"})
    assert resolved == {"auth": {"token": "t0k"}, "list": ["o"], "n": 1}
    assert mask_secrets(config) == {"auth": {"token": "***"}, "list": ["***"], "n": 1}
    with pytest.raises(MissingSecretError) as info:
        resolve_secrets(config, "src", {"API_TOKEN": "t0k"})
    assert str(info.value) == "src: set the environment variable OTHER to run this source"
