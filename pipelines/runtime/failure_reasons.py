"""Why a load or a command failed, and what to do, for errors that come from outside our code:
the API (an HTTP error status, a page that is not JSON, no answer at all), the file system, the
DuckDB file, YAML files, dlt's incremental cursors.

Each reason is a fixed template filled only with what the error names (a host, a file, a JSON
path, a process id), never with the library's own text, which may quote data or a response.
An HTTP error keeps only its status line (`HTTP 401 Unauthorized for GET https://host/path`: no
query, no body). `failures.explain_failure` asks `explain_http` and `explain_known` about each
error of a chain in turn.
"""

from __future__ import annotations

import difflib
import errno
import os
import re
import tempfile
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipelines.runtime.value_errors import scrub_message, scrub_url

_HTTP_HINTS = {
    400: "the API refused the request as malformed; compare the headers it requires (such as "
    "an API version), params and paginator in the source file with the API's documentation",
    401: "the API rejected the credentials; check {secrets}, and that the auth header has the "
    "form the API documents (a prefix: such as 'Bearer ' is part of it)",
    403: "the credentials are valid but lack permission for this endpoint; check {secrets}",
    404: "the endpoint does not exist; check base_url and path in the source file",
    405: "the endpoint does not accept this method; check method and path in the source file",
    410: "the endpoint no longer exists; check the API's documentation for its new path",
    429: "the API kept rate-limiting after all retries; try a later schedule or a lower page size",
}
_NOT_WRITABLE = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "the file system is read-only",
}
_FULL = {
    errno.ENOSPC: "no space is left on the disk",
    errno.EDQUOT: "the disk quota is used up",
    errno.EFBIG: "the disk is full or a file size limit was reached",
}
# DuckDB reports file trouble in its own words, and dlt re-raises it as text.
_DUCKDB_LOCK = re.compile(
    r'Could not set lock on file "(?P<path>[^"]+)": Conflicting lock is held in '
    r"(?P<program>\S+)(?: \(PID (?P<pid>\d+)\))?"
)
_DUCKDB_FILE = re.compile(
    r"(?:Could not write|Cannot open|Could not (?:open|create|truncate|sync)) (?:file|directory) "
    r'"(?P<path>[^"]+)": (?P<reason>[^\n."]+)'
)
_DUCKDB_REASONS = {
    "no space left on device": errno.ENOSPC,
    "file too large": errno.EFBIG,
    "disk quota exceeded": errno.EDQUOT,
    "permission denied": errno.EACCES,
    "read-only file system": errno.EROFS,
    "operation not permitted": errno.EPERM,
}
_OS_ERROR_TEXT = re.compile(r"\[Errno (?P<errno>\d+)\] (?P<reason>[^:\n]+): '(?P<path>[^'\n]+)'")
_MISSING_TABLE = re.compile(r"Table with name (?P<table>\w+) does not exist")
_TIMEOUT_SECONDS = re.compile(r"timeout=(?P<seconds>[\d.]+)")
_OS_CLASSES = {"OSError", "PermissionError", "FileNotFoundError", "FileExistsError", "IOError"}
_OS_CLASSES |= {"NotADirectoryError", "IsADirectoryError"}


def explain_http(error: BaseException, secrets: str) -> str | None:
    """An HTTP error status, or a page that is not JSON; ``secrets`` names what to check on 401
    and 403. None for any other error."""
    # requests raises its own JSONDecodeError (json's or simplejson's, by what is installed)
    if type(error).__name__ == "JSONDecodeError" and hasattr(error, "doc"):
        return _explain_bad_json(error)
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    if not isinstance(status, int):
        return None
    hint = _HTTP_HINTS.get(status, "the API answered with an error")
    if status >= 500:
        hint = "the API kept failing after all retries; try again later"
    return f"HTTP {status_line(response)}: {hint.format(secrets=secrets)}"


def status_line(response: Any) -> str:
    """`401 Unauthorized for GET https://host/path`: the standard reason phrase (never the
    server's own text), the method, and the URL without credentials, query or fragment."""
    status = response.status_code
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    method = getattr(getattr(response, "request", None), "method", None) or "request"
    url = bare_url(str(getattr(response, "url", "") or ""))
    return " ".join(filter(None, (str(status), phrase, "for", method, url)))


def _explain_bad_json(error: Any) -> str:
    # the page itself (and its HTML title) may greet a person by name: never quoted
    body = (error.doc or "").lstrip()
    if body[:1] == "<":
        return (
            "the API answered with an HTML page instead of JSON; the service may be down for "
            "maintenance, or base_url may point at a web page instead of the API"
        )
    return (
        f"the API answered page data that is not valid JSON ({scrub_message(error.msg)} at "
        f"character {error.pos}); it may have been cut off, try again, or report it to the API "
        "provider"
    )


def explain_known(error: BaseException) -> str | None:
    """Why ``error`` (itself, not its causes) happened and what to do, or None if unknown."""
    names = {cls.__name__ for cls in type(error).__mro__}
    network = "RequestException" in names and "InvalidJSONError" not in names
    if network and getattr(error, "response", None) is None:
        return _explain_network(error, names)
    if "IncrementalCursorPathMissing" in names:
        return _explain_missing_cursor(error)
    if "IncrementalCursorPathHasValueNone" in names:
        return (
            f"some records of table {getattr(error, 'pipe_name', '?')} have no value at the "
            f"incremental cursor_path `{getattr(error, 'json_path', '?')}`; pick a field every "
            "record has, or set on_cursor_value_missing: include (or exclude) under incremental"
        )
    if isinstance(error, OSError) and error.errno is not None:
        return explain_os_error(error.errno, str(error.filename) if error.filename else None)
    if "MarkedYAMLError" in names and getattr(error, "problem_mark", None) is not None:
        mark = error.problem_mark
        # the parser's fixed wording, quoting at most a token of a settings file
        problem = str(getattr(error, "problem", "") or "a syntax error")[:120]
        return f"{mark.name} is not valid YAML (line {mark.line + 1}: {problem}); fix that file"
    if "DagsterInvalidConfigError" in names:
        return _explain_dagster_config(str(error))
    return explain_text(type(error).__name__, str(error))


def explain_text(class_name: str, message: str) -> str | None:
    """What `explain_known` can tell from an error's class name and text alone, as Dagster keeps
    a failed step's error (`SerializableErrorInfo`); None when nothing is recognised."""
    lock = _DUCKDB_LOCK.search(message)
    if lock:
        holder = lock["program"] + (f", PID {lock['pid']}" if lock["pid"] else "")
        return (
            f"the warehouse file {lock['path']} is open in another program ({holder}), and "
            "DuckDB lets one process write at a time; close it (a DuckDB shell, a notebook, "
            "another sourcegate command), then run again"
        )
    failed = _DUCKDB_FILE.search(message)
    if failed and failed["reason"].strip().lower() in _DUCKDB_REASONS:
        return explain_os_error(_DUCKDB_REASONS[failed["reason"].strip().lower()], failed["path"])
    os_error = _OS_ERROR_TEXT.search(message)
    if os_error and class_name.split(".")[-1] in _OS_CLASSES:
        return explain_os_error(int(os_error["errno"]), os_error["path"])
    missing = _MISSING_TABLE.search(message)
    if missing:
        return (
            f"table {missing['table']} was never created: no rows have arrived for it yet; "
            "check that the source returns records (for a REST API, that the endpoint's "
            "data_selector points at them)"
        )
    return None


def explain_os_error(code: int, path: str | None) -> str | None:
    """A file-system failure on ``path`` (a file, when the error names none): not writable,
    disk full, or in the way; None for other error numbers."""
    setting = _setting_for(path) if path else None
    where = f"point {setting} at another folder" if setting else "choose another folder"
    target = path or "a file"
    if code in _NOT_WRITABLE:
        return f"cannot write {target}: {_NOT_WRITABLE[code]}; make its folder writable, or {where}"
    if code in _FULL:
        return f"cannot write {target}: {_FULL[code]}; free up space, or {where} on a larger disk"
    if path and code in (errno.EEXIST, errno.ENOTDIR):
        return f"cannot create the folder {path}: a file is in the way; remove it, or {where}"
    if path and code == errno.ENOENT:
        return f"no such file or folder: {path}; check the path" + (
            f" and {setting}" if setting else ""
        )
    return None


def _setting_for(path: str) -> str | None:
    """The environment variable that chose where ``path`` lies, when one did."""
    target = Path(path).expanduser().resolve()
    for name, is_file in (
        ("SOURCEGATE_WAREHOUSE", True),
        ("DAGSTER_HOME", False),
        ("SOURCEGATE_STATE_DIR", False),
        ("SOURCEGATE_SOURCES", False),
        ("TMPDIR", False),  # previews read into a scratch DuckDB file there
    ):
        value = tempfile.gettempdir() if name == "TMPDIR" else os.environ.get(name)
        if not value or "://" in value:
            continue
        root = Path(value).expanduser().resolve()
        if is_file:
            root = root.parent
        if target == root or root in target.parents or target in root.parents:
            return name
    return None


def _explain_network(error: BaseException, names: set[str]) -> str:
    """A request that got no HTTP answer: unknown host, refused, timed out, TLS, or cut off."""
    request = getattr(error, "request", None)
    url = bare_url(getattr(request, "url", "") or "")
    method = getattr(request, "method", None) or "GET"
    parts = urlsplit(url)
    host = parts.hostname or "the API host"
    address = f"{host}:{parts.port}" if parts.port else host
    target = f"{method} {url}" if url else "the API"
    inner = _chain_names(error)
    if names & {"Timeout", "ConnectTimeout", "ReadTimeout"}:
        seconds = _TIMEOUT_SECONDS.search(str(error))
        within = f" within {seconds['seconds']}s" if seconds else " in time"
        return (
            f"the API did not answer {target}{within}, after all retries; try again later, or "
            "raise http.timeout_seconds in the source file"
        )
    if inner & {"NameResolutionError", "gaierror"}:
        return (
            f"could not find the host {host} for {target} (DNS lookup failed); check base_url "
            "in the source file, and this machine's network or proxy settings"
        )
    if "ConnectionRefusedError" in inner:
        return (
            f"nothing accepted the connection at {address} for {target} (connection refused); "
            "check base_url (host and port) in the source file, and that the API is up"
        )
    if "SSLError" in names or "SSLError" in inner:
        return (
            f"the secure (https) connection to {host} failed; check base_url (http or https) "
            "and this machine's certificates"
        )
    return (
        f"the connection to {address} broke during {target}, after all retries; try again "
        "later, and check base_url if it keeps failing"
    )


def _chain_names(error: BaseException) -> set[str]:
    """Class names of ``error``'s causes (requests keeps urllib3's error as the context)."""
    found: set[str] = set()
    seen: set[int] = set()
    current: Any = error
    while isinstance(current, BaseException) and id(current) not in seen:
        seen.add(id(current))
        found |= {cls.__name__ for cls in type(current).__mro__}
        reason = getattr(current, "reason", None)  # urllib3's MaxRetryError holds it there
        if isinstance(reason, BaseException):
            found |= _chain_names(reason)
        current = current.__cause__ or current.__context__
    return found


def bare_url(url: str) -> str:
    """Scheme, host, port and path: no credentials, query or fragment, data-like parts shaped."""
    if not url:
        return ""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return scrub_url(parts._replace(netloc=host, query="", fragment="").geturl())


def _explain_missing_cursor(error: Any) -> str:
    """A cursor path no record has; suggests the nearest path the records do have (names only)."""
    path = str(getattr(error, "json_path", "?"))
    table = getattr(error, "pipe_name", "?")
    known = _field_paths(getattr(error, "item", None))
    close = difflib.get_close_matches(path.replace("__", "."), known, n=1, cutoff=0.6)
    suggestion = f"; did you mean `{close[0]}`?" if close else ""
    return (
        f"the incremental cursor_path `{path}` is not in the records of table {table}"
        f"{suggestion}; write it as the path in the API's JSON, with a dot between nested "
        "fields (`meta.updated_at`), not as the column name (`meta__updated_at`)"
    )


def _field_paths(item: Any, prefix: str = "", depth: int = 0) -> list[str]:
    """Dotted paths of the fields of a record (or an Arrow table's columns): names, no values."""
    if hasattr(item, "column_names"):
        return list(item.column_names)
    if isinstance(item, list) and item:
        return _field_paths(item[0], prefix, depth)
    if not isinstance(item, dict) or depth > 3:
        return []
    paths = []
    for key, value in item.items():
        path = f"{prefix}{key}"
        paths.append(path)
        paths += _field_paths(value, path + ".", depth + 1) if isinstance(value, dict) else []
    return paths


def _explain_dagster_config(message: str) -> str:
    """Dagster's instance settings (DAGSTER_HOME/dagster.yaml) that it refuses."""
    home = os.environ.get("DAGSTER_HOME") or "DAGSTER_HOME"
    detail = next((line.strip() for line in message.splitlines() if "Error 1:" in line), "")
    # Dagster names the setting, then quotes what it expected and got (which may be a password)
    detail = re.split(r"\.? (?:Expected|Got|Value)\b", detail.removeprefix("Error 1:").strip())[0]
    return (
        f"Dagster's settings in {home}/dagster.yaml are invalid"
        + (f" ({detail})" if detail else "")
        + "; fix that file, or unset DAGSTER_HOME to use the repository's own"
    )
