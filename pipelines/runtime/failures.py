"""Explain a failed load in one line a marketer can act on, with every secret value redacted.

Nothing raw leaves the warehouse: a failure line is a fixed template. An HTTP error keeps only
its status line (`HTTP 401 Unauthorized for GET https://host/path`, no query, no body); a
refused value shows only its shape; any other error text passes `scrub_message`. The traceback
logged for engineers (`loggable_traceback`) keeps every frame, with its messages scrubbed alike.

An explanation looks through wrappers to the real cause: dlt's `PipelineStepFailed` and
`ResourceExtractionError`, a generator's `StopIteration` turned into `RuntimeError`, Dagster's
step errors. Network, file-system and warehouse-file failures are named by `failure_reasons`.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import traceback
from collections.abc import Iterable, Sequence

from pipelines.governance.contracts import explain_contract_violation

# `status_line` is imported from here by callers that predate `failure_reasons`
from pipelines.runtime.failure_reasons import explain_http, explain_known, status_line  # noqa: F401
from pipelines.runtime.value_errors import find_refused_value, scrub_message, scrub_text
from pipelines.spec.models import SourceSpec

_URL_QUERY = re.compile(r"(https?://[^\s?'\"]+)\?[^\s'\"]*?(?=:?\s|:?$|['\"])")
# `postgresql://user:password@host/db`: the password goes, the host stays
_URL_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^\s/@'\"]+@")


# Libraries that log errors with their full text (dlt logs a failed load job with the warehouse's
# message, which quotes the refused value) to stderr, which Dagster keeps as the step's logs.
_LIBRARY_LOGGERS = ("dlt", "great_expectations")


class _ScrubRecords(logging.Filter):
    """Rewrites each record of a library logger with `scrub_text`, its traceback included."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + "".join(_traceback_lines(record.exc_info[1], set()))
        record.msg, record.args = scrub_text(text), None
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def scrub_library_logs() -> None:
    """Scrub what dlt and GX log, as every message of ours is (idempotent)."""
    for name in _LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _ScrubRecords) for f in logger.filters):
            logger.addFilter(_ScrubRecords())


class ExplainedError(Exception):
    """A failure whose message already says what happened and what to do; shown as it is."""


def explains_itself(exc: BaseException) -> bool:
    """True when the failure is an `ExplainedError`, whose message says all there is to say."""
    return any(isinstance(error, ExplainedError) for error in exception_chain(exc))


def explain_load_failure(exc: BaseException, spec: SourceSpec, values: bool = True) -> str:
    """One line: what failed and, when we can tell, what to do about it.

    With ``values=False`` the line holds no value from the data (for materialization metadata).
    """
    return redact(explain_failure(exc, spec.secret_names(), values), secret_values(spec))


def explain_failure(exc: BaseException, secrets: Sequence[str] = (), values: bool = True) -> str:
    """Why ``exc`` happened and what to do, in one line, looking through wrappers to the cause.

    ``secrets`` are the names of the variables a credentials hint points at. An error nothing
    recognises is shown as its type and scrubbed message (without the message when
    ``values=False``). The caller redacts secret values (`redact`).
    """
    known = known_explanation(exc, secrets, values)
    if known is not None:
        return known
    innermost = root_cause(exc)
    # an unknown error's text may quote the data: shapes only, and nothing without ``values``
    detail = scrub_message(str(innermost)) if values else ""
    name = type(innermost).__name__
    if name == "StopIteration" and not detail:
        return "StopIteration: an iterator in the source ended where a value was expected"
    return f"{name}: {detail}" if detail else name


def known_explanation(
    exc: BaseException, secrets: Sequence[str] = (), values: bool = True
) -> str | None:
    """`explain_failure`'s line when some error of the chain is one we can explain, else None."""
    hint_secrets = ", ".join(secrets) or "the credentials"
    for error in exception_chain(exc):
        if isinstance(error, ExplainedError):
            return str(error)
        if is_wrapper(error):
            continue
        if type(error).__name__ == "DataValidationError" and hasattr(error, "schema_entity"):
            return explain_contract_violation(error)
        known = explain_http(error, hint_secrets) or explain_known(error)
        if known is not None:
            return known
    refused = find_refused_value(exception_chain(exc))
    return refused.explain(values) if refused is not None else None


def loggable_traceback(exc: BaseException, spec: SourceSpec) -> str:
    """The traceback of ``exc`` for the engineers' log: every frame, but each message scrubbed.

    Exception messages quote response bodies (dlt's HTTP errors), rows (contract violations)
    and refused values (the warehouse), so each one is cut to its first line, with values
    shaped (`scrub_message`) and secrets and query strings redacted.
    """
    return scrubbed_traceback(exc, secret_values(spec))


def scrubbed_traceback(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """`loggable_traceback` for any error: every frame, each message scrubbed, the values in
    ``secrets`` redacted (for `sourcegate --debug`)."""
    return redact("".join(_traceback_lines(exc, set())), secrets)


def _traceback_lines(exc: BaseException, seen: set[int]) -> list[str]:
    seen.add(id(exc))
    lines: list[str] = []
    cause, context = exc.__cause__, exc.__context__
    if cause is not None and id(cause) not in seen:
        lines += _traceback_lines(cause, seen)
        lines.append("\nThe above exception was the direct cause of the following exception:\n\n")
    elif context is not None and not exc.__suppress_context__ and id(context) not in seen:
        lines += _traceback_lines(context, seen)
        lines.append("\nDuring handling of the above exception, another exception occurred:\n\n")
    if exc.__traceback__ is not None:
        lines.append("Traceback (most recent call last):\n")
        lines += traceback.format_list(traceback.extract_tb(exc.__traceback__))
    kind = type(exc)
    name = kind.__qualname__
    if kind.__module__ != "builtins":
        name = f"{kind.__module__}.{name}"
    message = scrub_message(str(exc))
    lines.append(f"{name}: {message}\n" if message else f"{name}\n")
    return lines


def redact(text: str, secret_values: Iterable[str]) -> str:
    """Remove query strings and user:password@ from URLs and replace any secret value with ***."""
    text = _URL_QUERY.sub(r"\1?…", text)
    text = _URL_USERINFO.sub(r"\1***@", text)
    for value in secret_values:
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    return text


def secret_values(spec: SourceSpec) -> list[str]:
    """The current values of the secrets ``spec`` uses, for redaction."""
    return [os.environ[name] for name in spec.secret_names() if os.environ.get(name)]


def exception_chain(exc: BaseException) -> Iterable[BaseException]:
    """``exc`` and its causes, outermost first.

    Each error leads to one next: the error dlt wrapped (`exception`, a load job's
    `client_exception`), else its ``__cause__`` (``raise ... from``), else its ``__context__``.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        wrapped = [getattr(current, "exception", None), getattr(current, "client_exception", None)]
        following = [e for e in wrapped if isinstance(e, BaseException)]
        current = (following or [current.__cause__ or current.__context__])[0]


# Errors that only carry another one: dlt's step and extraction wrappers and Dagster's step
# errors. Their own text repeats the cause's, with the pipeline's internals around it.
_WRAPPERS = {
    "PipelineStepFailed",
    "ResourceExtractionError",
    "PipeGenInvalid",
    "DagsterExecutionStepExecutionError",
    "DagsterUserCodeExecutionError",
}
_STOP_ITERATION_WRAPPED = ("generator raised StopIteration", "async generator raised Stop")


def is_wrapper(error: BaseException) -> bool:
    """True for an error that only wraps its cause (see `_WRAPPERS`), and for `StopIteration`
    and the `RuntimeError` Python raises when a generator lets one escape (PEP 479)."""
    if isinstance(error, StopIteration | StopAsyncIteration):
        return True
    if type(error) is RuntimeError and str(error).startswith(_STOP_ITERATION_WRAPPED):
        return True
    return type(error).__name__ in _WRAPPERS


def root_cause(exc: BaseException) -> BaseException:
    """The innermost error of the chain that is not a wrapper (the innermost one if all are)."""
    chain = list(exception_chain(exc))
    real = [error for error in chain if not is_wrapper(error)]
    return (real or chain)[-1]


# Matched against every class an error inherits from, so subclasses (dlt's LoadClientJobRetry,
# DatabaseTransientException, requests' ReadTimeout, ConnectionResetError) are included.
_TRANSIENT = {
    "ConnectionError",
    "Timeout",
    "TimeoutError",
    "ChunkedEncodingError",
    "DestinationTransientException",
    "MemoryError",
    # a source database that is down or restarting (SQLAlchemy, psycopg2)
    "OperationalError",
    # remote file drops read through fsspec: aiohttp (https, gcs, azure) and botocore (s3)
    "ClientConnectionError",
    "ClientPayloadError",
    "ServerDisconnectedError",
    "EndpointConnectionError",
    "ReadTimeoutError",
    "ConnectTimeoutError",
}
# botocore reports throttling as a ClientError with one of these codes
_TRANSIENT_AWS_CODES = {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout"}
# dlt's verdict that retrying the same data cannot help: a contract violation, a value the
# warehouse refuses, a schema that cannot be applied.
_TERMINAL = {"DestinationTerminalException", "DataValidationError", "SchemaException"}
_INTERRUPTS = {"DagsterExecutionInterruptedError", "SignalReceivedException"}
# Memory, a full disk or quota are the machine's trouble, not the data's: keep the package.
_TRANSIENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.ENOMEM, errno.EIO, errno.ETIMEDOUT}


def is_interrupt(exc: BaseException) -> bool:
    """True when Ctrl-C or SIGTERM caused ``exc`` (dlt wraps it in PipelineStepFailed)."""
    return any(
        isinstance(error, KeyboardInterrupt) or _named(error, _INTERRUPTS)
        for error in exception_chain(exc)
    )


def _named(error: BaseException, names: set[str]) -> bool:
    return bool({cls.__name__ for cls in type(error).__mro__} & names)


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: network trouble, 5xx or 429 after dlt's own retries, a busy destination.

    Everything else is terminal: running the same data again fails the same way, so its load
    package is dropped rather than resumed (see `pipelines.runtime.failed_packages`).
    """
    for error in exception_chain(exc):
        status = getattr(getattr(error, "response", None), "status_code", None)
        if isinstance(status, int):
            return status >= 500 or status == 429
        if _named(error, _TERMINAL):
            return False
        if _named(error, _TRANSIENT) or _aws_code(error) in _TRANSIENT_AWS_CODES:
            return True
        if isinstance(error, OSError) and error.errno in _TRANSIENT_ERRNOS:
            return True
    return False


def _aws_code(error: BaseException) -> str | None:
    response = getattr(error, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


# Every run that can fail imports this module before dlt or GX runs.
scrub_library_logs()
