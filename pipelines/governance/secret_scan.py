"""Find secrets written into a source file instead of `{secret: NAME}` references.

Three signals, each reported with the path of the offending value (never the value itself):
a literal in a secret position (`token:`, `password:` ...), a connection URL with a password,
and a value that looks like a credential (a known token prefix, or a long high-entropy string).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from pipelines.governance.secrets import is_secret_ref

PathT = tuple[str | int, ...]

SECRET_KEYS = {
    "token",
    "access_token",
    "refresh_token",
    "api_key",
    "apikey",
    "password",
    "passwd",
    "client_secret",
    "secret",
    "secret_key",
    "private_key",
    "aws_secret_access_key",
    "credentials",
    "connection_string",
    "session_token",
    "authorization",
}
# Non-secret keys that share a secret-sounding name or hold harmless identifiers.
_NOT_SECRET_KEYS = {"type", "name", "location", "token_url", "cursor_param", "cursor_path"}
_KNOWN_PREFIXES = re.compile(
    r"^(sk_live_|sk_test_|rk_live_|rk_test_|pk_live_|whsec_|pat-[a-z]{2}\d-|ghp_|gho_|ghs_|"
    r"github_pat_|glpat-|xox[abpr]-|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{20}|"
    r"ya29\.|shpat_|shpss_|SG\.|EAA[A-Za-z0-9]{20}|eyJ[A-Za-z0-9_-]{10,}\.eyJ)"
)
_URL_WITH_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)
_BEARER = re.compile(r"^(bearer|basic|token)\s+\S{8,}$", re.IGNORECASE)
_MIN_ENTROPY_LENGTH = 24
_MIN_ENTROPY_BITS = 4.0
# Prose and regexes are not credentials: skip the fields that hold them.
_SKIP_KEYS = {"description", "purpose", "regex", "values", "file_glob", "bucket_url"}


def find_literal_secrets(document: Any) -> list[tuple[PathT, str]]:
    """(path, message) for every value in ``document`` that should be a `{secret: NAME}`."""
    found = []
    source = document.get("name") if isinstance(document, dict) else None
    for path, key, value in _walk(document, ()):
        where = _dotted(path)
        suggestion = _suggest_name(path, source if isinstance(source, str) else "")
        fix = f"write {{secret: {suggestion}}} and set {suggestion} where the pipeline runs"
        if key in SECRET_KEYS and key not in _NOT_SECRET_KEYS and value not in ("", None):
            found.append((path, f"{where}: a literal secret is not allowed here; {fix}"))
        elif isinstance(value, str) and _URL_WITH_PASSWORD.match(value):
            found.append((path, f"{where}: this URL contains a password; {fix}"))
        elif isinstance(value, str) and looks_like_credential(value):
            found.append((path, f"{where}: this value looks like a credential; {fix}"))
    return found


def looks_like_credential(value: str) -> bool:
    """A known token prefix, an auth header value, or a long random-looking string."""
    text = value.strip()
    if _KNOWN_PREFIXES.match(text) or _BEARER.match(text):
        return True
    if len(text) < _MIN_ENTROPY_LENGTH or any(c.isspace() for c in text) or "/" in text:
        return False
    classes = sum(any(test(c) for c in text) for test in (str.islower, str.isupper, str.isdigit))
    return classes >= 2 and shannon_entropy(text) >= _MIN_ENTROPY_BITS


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text``."""
    counts = {c: text.count(c) for c in set(text)}
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _walk(node: Any, path: PathT) -> Iterator[tuple[PathT, str | None, Any]]:
    if is_secret_ref(node):
        return
    if isinstance(node, dict):
        for key, value in node.items():
            if str(key).lower() in _SKIP_KEYS:
                continue
            child = (*path, key)
            if is_secret_ref(value):
                continue
            if isinstance(value, dict | list):
                yield from _walk(value, child)
            else:
                yield child, _normalize_key(key), value
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if isinstance(value, dict | list):
                yield from _walk(value, (*path, index))
            elif not is_secret_ref(value):
                yield (*path, index), None, value


def _normalize_key(key: Any) -> str:
    """`X-Api-Key` and `api-key` are the same secret position as `api_key`."""
    return str(key).lower().replace("-", "_").removeprefix("x_")


def _suggest_name(path: PathT, source: str) -> str:
    last = next((str(p) for p in reversed(path) if isinstance(p, str)), "secret")
    name = f"{source}_{_normalize_key(last)}" if source else _normalize_key(last)
    return re.sub(r"[^A-Z0-9_]", "_", name.upper())


def _dotted(path: PathT) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
