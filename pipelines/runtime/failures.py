"""Explain a failed load in one line a marketer can act on, with every secret value redacted."""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from pipelines.governance.contracts import explain_contract_violation
from pipelines.runtime.value_errors import find_refused_value
from pipelines.spec.models import SourceSpec

_URL_QUERY = re.compile(r"(https?://[^\s?'\"]+)\?[^\s'\"]*?(?=:?\s|:?$|['\"])")
_HTML_TITLE = re.compile(r"<title[^>]*>([^<]*)</title>", re.IGNORECASE)
_HTTP_HINTS = {
    401: "the API rejected the credentials; check {secrets}",
    403: "the credentials are valid but lack permission for this endpoint; check {secrets}",
    404: "the endpoint does not exist; check base_url and path in the source file",
    429: "the API kept rate-limiting after all retries; try a later schedule or a lower page size",
}


class ExplainedError(Exception):
    """A failure whose message already says what happened and what to do; shown as it is."""


def explains_itself(exc: BaseException) -> bool:
    """True when the failure is an `ExplainedError`, whose message says all there is to say."""
    return any(isinstance(error, ExplainedError) for error in _chain(exc))


def explain_load_failure(exc: BaseException, spec: SourceSpec, values: bool = True) -> str:
    """One line: what failed and, when we can tell, what to do about it.

    With ``values=False`` the line holds no value from the data (for materialization metadata).
    """
    secrets = ", ".join(spec.secret_names()) or "the credentials"
    for error in _chain(exc):
        if isinstance(error, ExplainedError):
            return redact(str(error), secret_values(spec))
        if type(error).__name__ == "DataValidationError" and hasattr(error, "schema_entity"):
            return redact(explain_contract_violation(error), secret_values(spec))
        # requests raises its own JSONDecodeError (json's or simplejson's, by what is installed)
        if type(error).__name__ == "JSONDecodeError" and hasattr(error, "doc"):
            return redact(_explain_bad_json(error), secret_values(spec))
        response = getattr(error, "response", None)
        status = getattr(response, "status_code", None)
        if isinstance(status, int):
            reason = getattr(response, "reason", "") or ""
            url = urlsplit(str(getattr(response, "url", "") or ""))._replace(query="").geturl()
            hint = _HTTP_HINTS.get(status, "the API answered with an error")
            if status >= 500:
                hint = "the API kept failing after all retries; try again later"
            text = f"HTTP {status} {reason} from {url}: {hint.format(secrets=secrets)}"
            return redact(text, secret_values(spec))
    refused = find_refused_value(_chain(exc))
    if refused is not None:
        return redact(refused.explain(values), secret_values(spec))
    innermost = list(_chain(exc))[-1]
    detail = str(innermost).strip().splitlines()[0] if str(innermost).strip() else ""
    if not values:  # an unknown error's text may quote the data
        detail = ""
    text = f"{type(innermost).__name__}: {detail}" if detail else type(innermost).__name__
    return redact(text, secret_values(spec))


def _explain_bad_json(error: Any) -> str:
    body = (error.doc or "").lstrip()
    if body[:1] == "<":
        title = _HTML_TITLE.search(body)
        shown = f" (title: {title.group(1).strip()[:80]})" if title else ""
        return (
            f"the API answered with an HTML page instead of JSON{shown}; the service may be "
            "down for maintenance, or base_url may point at a web page instead of the API"
        )
    return (
        f"the API answered page data that is not valid JSON ({error.msg} at character "
        f"{error.pos}); it may have been cut off, try again, or report it to the API provider"
    )


def redact(text: str, secret_values: Iterable[str]) -> str:
    """Remove query strings from URLs and replace any secret value with ***."""
    text = _URL_QUERY.sub(r"\1?…", text)
    for value in secret_values:
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    return text


def secret_values(spec: SourceSpec) -> list[str]:
    """The current values of the secrets ``spec`` uses, for redaction."""
    return [os.environ[name] for name in spec.secret_names() if os.environ.get(name)]


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = getattr(current, "exception", None) or current.__cause__ or current.__context__


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
        isinstance(error, KeyboardInterrupt) or _named(error, _INTERRUPTS) for error in _chain(exc)
    )


def _named(error: BaseException, names: set[str]) -> bool:
    return bool({cls.__name__ for cls in type(error).__mro__} & names)


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: network trouble, 5xx or 429 after dlt's own retries, a busy destination.

    Everything else is terminal: running the same data again fails the same way, so its load
    package is dropped rather than resumed (see `pipelines.runtime.failed_packages`).
    """
    for error in _chain(exc):
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
