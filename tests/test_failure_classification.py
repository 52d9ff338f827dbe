"""Which failures keep their load package for a resume (transient) and which drop it (terminal),
and how a refused value is named: by its shape in the failure message, not at all in metadata."""

from __future__ import annotations

import errno

import aiohttp
import botocore.exceptions
import duckdb
import pytest
import requests
import sqlalchemy.exc
from dlt.common.schema.exceptions import CannotCoerceColumnException
from dlt.destinations.exceptions import DatabaseTerminalException, DatabaseTransientException
from dlt.load.exceptions import LoadClientJobRetry, LoadClientJobTerminalRetry

from pipelines.runtime.failures import explain_load_failure, is_interrupt, is_transient
from pipelines.spec.models import SourceSpec

SPEC = SourceSpec.model_validate(
    {"name": "pay_drop", "description": "d", "owner": "team:x", "rest_api": {"resources": []}}
)


def _duckdb_error(sql: str) -> Exception:
    try:
        duckdb.connect().execute(sql)
    except duckdb.Error as exc:
        return exc
    raise AssertionError("the query succeeded")


def _chained(outer: Exception, inner: Exception) -> Exception:
    try:
        raise outer from inner
    except Exception as exc:
        return exc


def _job_failed(inner: Exception) -> Exception:
    """What dlt raises when a load job fails for good: the job, then the warehouse's error."""
    database = _chained(DatabaseTerminalException(inner), inner)
    job = LoadClientJobTerminalRetry("17.5", "payments.a1b2c3.parquet", str(inner), database)
    return _chained(job, database)


CONVERSION = _duckdb_error("create table t (amount bigint); insert into t select '7 EUR' as amount")
NOT_NULL = _duckdb_error("create table p (id bigint not null); insert into p values (null)")

CLASSIFIED = [
    ("connection reset", requests.ConnectionError("reset by peer"), True),
    ("read timeout", requests.ReadTimeout("slow"), True),
    ("warehouse busy", DatabaseTransientException(Exception("Could not set lock")), True),
    (
        "a load job retried until dlt gave up",
        LoadClientJobRetry("17.5", "payments.a1b2c3.parquet", 5, 5, "busy", Exception()),
        True,
    ),
    ("full disk", OSError(errno.ENOSPC, "No space left on device"), True),
    (
        "the source database is down",
        sqlalchemy.exc.OperationalError("select 1", {}, Exception("connection refused")),
        True,
    ),
    ("a remote file server hung up", aiohttp.ServerDisconnectedError(), True),
    (
        "s3 throttles",
        botocore.exceptions.ClientError({"Error": {"Code": "SlowDown"}}, "GetObject"),
        True,
    ),
    (
        "s3 refuses access",
        botocore.exceptions.ClientError({"Error": {"Code": "AccessDenied"}}, "GetObject"),
        False,
    ),
    ("an I/O error", OSError(errno.EIO, "Input/output error"), True),
    ("out of memory", MemoryError(), True),
    ("a value the warehouse refuses", _job_failed(CONVERSION), False),
    ("an empty key", _job_failed(NOT_NULL), False),
    (
        "a value dlt cannot coerce",
        CannotCoerceColumnException("s", "payments", "amount", "text", "bigint", "7 EUR"),
        False,
    ),
    ("a permission error", OSError(errno.EACCES, "Permission denied"), False),
    ("an unknown error", KeyError("amount"), False),
]


@pytest.mark.parametrize(
    ("error", "transient"), [c[1:] for c in CLASSIFIED], ids=[c[0] for c in CLASSIFIED]
)
def test_is_transient(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient
    assert not is_interrupt(error)


def test_ctrl_c_wrapped_by_dlt_is_an_interrupt_not_a_failure() -> None:
    """dlt turns a signal during normalize or load into PipelineStepFailed; its package must be
    kept for the next run, never dropped as if the data were bad."""
    from dlt.common.exceptions import SignalReceivedException
    from dlt.pipeline.exceptions import PipelineStepFailed

    class _Pipeline:
        pipeline_name = "sourcegate_pay_drop"
        has_pending_data = True

    signal = SignalReceivedException(15)
    signalled = _chained(PipelineStepFailed(_Pipeline(), "load", "1.5", signal), signal)
    assert is_interrupt(signalled)
    assert is_interrupt(_chained(RuntimeError("stopped"), KeyboardInterrupt()))


EXPLAINED = [
    (
        _job_failed(CONVERSION),
        "column 'amount' of table 'payments' got a value shaped like '9 XXX', which is not a "
        "valid bigint; fix the export, or declare the column as text in the source file's "
        "`columns`",
        "column 'amount' of table 'payments' got a value that is not a valid bigint; fix the "
        "export, or declare the column as text in the source file's `columns`",
    ),
    (
        _job_failed(NOT_NULL),
        "column 'id' of table 'p' is empty in some rows, but it is a primary key or required "
        "column; fix the export so that every row has a value",
        None,
    ),
    (
        CannotCoerceColumnException("s", "payments", "amount", "text", "bigint", "7 EUR"),
        "column 'amount' of table 'payments' got a value shaped like '9 XXX', which is not a "
        "valid bigint; fix the export, or declare the column as text in the source file's "
        "`columns`",
        None,
    ),
    (
        Exception(
            'postgres: invalid input syntax for type bigint: "7 EUR"\n'
            'CONTEXT:  COPY payments, line 3, column amount: "7 EUR"'
        ),
        "column 'amount' of table 'payments' got a value shaped like '9 XXX', which is not a "
        "valid bigint; fix the export, or declare the column as text in the source file's "
        "`columns`",
        None,
    ),
    (KeyError("secret row value"), "KeyError: 'XXXXXX XXX XXXXX'", "KeyError"),
]


@pytest.mark.parametrize(("error", "with_values", "without_values"), EXPLAINED)
def test_a_refused_value_is_named_by_its_shape_and_only_where_values_may_go(
    error: Exception, with_values: str, without_values: str | None
) -> None:
    shown = explain_load_failure(error, SPEC)
    assert shown == with_values
    assert "7 EUR" not in shown and "secret row value" not in shown
    plain = explain_load_failure(error, SPEC, values=False)
    assert "7 EUR" not in plain and "secret row value" not in plain
    if without_values is not None:
        assert plain == without_values
