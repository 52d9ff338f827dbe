"""Find secrets written into a source file instead of `{secret: NAME}` references.

Each finding is reported with the path of the offending value (never the value itself):
- a literal under a secret key: any value under `token:`, `password:`, `X-Api-Key:` ...; a
  value that is not a plain name under a key that merely mentions one (`api_token`, `sig`);
- a URL with a password (`https://user:pass@host`) or a secret query parameter (`?sig=`,
  `&token=`, an Azure SAS), in any string value (`base_url`, `bucket_url` ...);
- a value that looks like a credential: a known token prefix, or a long high-entropy string;
- a `{secret: ...}` reference that is malformed, or whose `prefix` holds a credential.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl

from pipelines.governance.secrets import SECRET_NAME_PATTERN, is_secret_ref

PathT = tuple[str | int, ...]

# A key named exactly so, or ending in `_<one of these>`: any literal under it is a secret.
SECRET_KEYS = {
    "token",
    "access_token",
    "refresh_token",
    "api_key",
    "apikey",
    "access_key",
    "account_key",
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "client_secret",
    "secret",
    "secret_key",
    "private_key",
    "aws_secret_access_key",
    "credentials",
    "connection_string",
    "session_token",
    "authorization",
    "sig",
    "signature",
    "cookie",
}
# A key that merely contains one of these holds a secret when its value is not a plain name.
SENSITIVE_PARTS = ("token", "key", "secret", "sig", "auth", "pass", "pwd", "credential")
# In a URL's query these always carry a credential (`?key=` is Google's API key, for one).
_QUERY_SECRET_NAMES = {"key", "auth"}
# Settings whose names sound secret but hold names, paths or URLs (dlt paginators, auth, keys).
_NOT_SECRET_KEYS = {
    "type",
    "name",
    "location",
    "token_url",
    "access_token_url",
    "auth_endpoint",
    "cursor_param",
    "cursor_path",
    "cursor_key",
    "links_next_key",
    "primary_key",
    "merge_key",
    "token_path",
}
_KNOWN_PREFIXES = re.compile(
    r"^(sk_live_|sk_test_|rk_live_|rk_test_|pk_live_|whsec_|pat-[a-z]{2}\d-|ghp_|gho_|ghs_|"
    r"github_pat_|glpat-|xox[abpr]-|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{20}|"
    r"ya29\.|shpat_|shpss_|SG\.|EAA[A-Za-z0-9]{20}|eyJ[A-Za-z0-9_-]{10,}\.eyJ)"
)
_URL_WITH_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)
_URL_OR_PATH = re.compile(r"^[\w.~%+\-/:@]*$")  # what comes before a query; not JSONPath
# 32+ hex characters (an MD5-length key): too few symbols to pass the entropy test below
_HEX_TOKEN = re.compile(r"^[0-9a-fA-F]{32,}$")
_BEARER = re.compile(r"^(bearer|basic|token)\s+\S{8,}$", re.IGNORECASE)
# Words, identifiers, header names and dates: `created_at`, `X-API-Key`, `v2`, `2024-06-01`.
_NAME_PART = re.compile(r"^([A-Za-z]+\d{0,2}|\d{1,4})$")
_NAME_SEPARATORS = re.compile(r"[_.\-:\[\]]+")
_EXPRESSION = re.compile(r"\{[A-Za-z_][\w.\[\]-]*\}")
_PLACEHOLDER = re.compile(r"[{}<>$]")
_MIN_SECRET_LENGTH = 8
_MIN_ENTROPY_LENGTH = 24
_MIN_ENTROPY_BITS = 4.0
# Prose and regexes are not credentials: skip the fields that hold them.
_SKIP_KEYS = {"description", "purpose", "regex", "values", "file_glob"}
_REF_SHAPE = '{secret: NAME} or {secret: NAME, prefix: "Vendor-API-Key "}'


def find_literal_secrets(document: Any) -> list[tuple[PathT, str]]:
    """(path, message) for every value in ``document`` that should be a `{secret: NAME}`."""
    found = []
    source = document.get("name") if isinstance(document, dict) else None
    for path, key, value in _walk(document, ()):
        where = _dotted(path)
        suggestion = _suggest_name(path, source if isinstance(source, str) else "")
        fix = f"write {{secret: {suggestion}}} and set {suggestion} where the pipeline runs"
        problem = _reference_problem(value) if isinstance(value, Mapping) else None
        literal = f"{where}: a literal secret is not allowed here; {fix}"
        if problem:
            found.append((path, f"{where}: {problem}"))
        elif isinstance(value, Mapping):
            continue
        elif is_secret_key(key) and is_literal_secret(key, value):
            found.append((path, literal))
        elif isinstance(value, str) and _URL_WITH_PASSWORD.match(value):
            found.append((path, f"{where}: this URL contains a password; {_url_fix(path, fix)}"))
        elif isinstance(value, str) and (param := secret_query_parameter(value)):
            message = f"this URL carries a secret in its query ({param}=)"
            found.append((path, f"{where}: {message}; {_url_fix(path, fix)}"))
        elif isinstance(value, str) and secret_in_url_path(value):
            message = "this URL carries a secret in its path (a webhook or signed link)"
            found.append((path, f"{where}: {message}; {fix}"))
        elif isinstance(value, str) and looks_like_credential(value):
            found.append((path, f"{where}: this value looks like a credential; {fix}"))
        elif is_literal_secret(key, value):
            found.append((path, literal))
    return found


def is_secret_key(key: str | None) -> bool:
    """Whether any literal under the (normalized) ``key`` is a secret: `token`, `x_api_key` ..."""
    if key is None or key in _NOT_SECRET_KEYS:
        return False
    return any(key == name or key.endswith(f"_{name}") for name in SECRET_KEYS)


def is_literal_secret(key: str | None, value: Any) -> bool:
    """Whether ``value``, written under the (normalized) ``key``, is a credential in clear.

    Any value counts under a secret key (`token`, `client_secret`, `X-Api-Key`); under a key
    that only mentions one (`api_token`, `keyword`, `design`) a text that is not a plain name,
    date or placeholder does.
    """
    if value in ("", None) or _is_expression(value) or key is None or key in _NOT_SECRET_KEYS:
        return False
    if is_secret_key(key):
        return True
    if not any(part in key for part in SENSITIVE_PARTS) or not isinstance(value, str):
        return False
    return _looks_secret_value(value)


def secret_query_parameter(value: str) -> str | None:
    """The name of the first query parameter of the URL ``value`` that holds a secret."""
    address, _, query = value.strip().partition("?")
    if not query or "=" not in query or not _URL_OR_PATH.match(address):
        return None
    for name, param in parse_qsl(query):
        key = _normalize_key(name)
        if key in _QUERY_SECRET_NAMES or is_literal_secret(key, param):
            return name
        if looks_like_credential(param):
            return name
    return None


def secret_in_url_path(value: str) -> bool:
    """Whether a segment of the URL ``value``'s path is credential-like (Slack's webhooks)."""
    scheme, sep, rest = value.strip().partition("://")
    if not sep or not scheme.isalpha():
        return False
    path = rest.partition("?")[0].partition("/")[2]
    return any(looks_like_credential(segment) for segment in path.split("/") if segment)


# Rest.li and query values (LinkedIn's API): structure, not randomness
_RESTLI_TEXT = re.compile(r"[A-Za-z0-9%:,().?&=]+")
_RESTLI_SEPARATORS = re.compile(r"%3A|%2C|[(),:?&=]")
_RESTLI_PART = re.compile(r"[A-Za-z]{1,32}|\d{1,20}")


def looks_like_credential(value: str) -> bool:
    """A known token prefix, an auth header value, or a long random-looking string."""
    text = value.strip()
    if _KNOWN_PREFIXES.match(text) or _BEARER.match(text) or _HEX_TOKEN.match(text):
        return True
    if len(text) < _MIN_ENTROPY_LENGTH or any(c.isspace() for c in text) or "/" in text:
        return False
    if _structured_words(text):
        return False
    classes = sum(any(test(c) for c in text) for test in (str.islower, str.isupper, str.isdigit))
    return classes >= 2 and shannon_entropy(text) >= _MIN_ENTROPY_BITS


def _structured_words(text: str) -> bool:
    """Words and numbers joined by query or Rest.li punctuation, never both in one part:
    `(start:(year:2026,month:1))`, `List(urn%3Ali%3AsponsoredAccount%3A123)`,
    `impressions,clicks,costInLocalCurrency`, in three parts or more (`id:secret` has two). A
    token mixes letters and digits in its parts."""
    if not _RESTLI_TEXT.fullmatch(text):
        return False
    parts = [part for part in _RESTLI_SEPARATORS.split(text) if part]
    return len(parts) >= 3 and all(_RESTLI_PART.fullmatch(part) for part in parts)


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text``."""
    counts = {c: text.count(c) for c in set(text)}
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _looks_secret_value(value: str) -> bool:
    """A credential-like text, or one word that is no name, date, placeholder, path or address."""
    text = value.strip()
    if looks_like_credential(text):
        return True
    if len(text) < _MIN_SECRET_LENGTH or _PLACEHOLDER.search(text):
        return False
    if any(c.isspace() for c in text) or "/" in text or "@" in text:
        return False
    return not all(_NAME_PART.match(part) for part in _NAME_SEPARATORS.split(text) if part)


def _is_expression(value: Any) -> bool:
    """A dlt placeholder such as `{resources.login.token}`: filled in at run time, not a secret."""
    return isinstance(value, str) and bool(_EXPRESSION.fullmatch(value.strip()))


def _reference_problem(value: Mapping) -> str | None:
    """What is wrong with a mapping meant as a `{secret: ...}` reference, if anything."""
    if "secret" not in value:
        return None
    if not is_secret_ref(value):
        return f"a secret reference is written {_REF_SHAPE} (prefix: text), with nothing else"
    if not re.match(SECRET_NAME_PATTERN, value["secret"]):
        return (
            "`secret:` names an environment variable (upper-case letters, digits and _), never "
            f"the value itself; write {_REF_SHAPE}"
        )
    prefix = value.get("prefix", "")
    if _URL_WITH_PASSWORD.match(prefix) or any(_looks_secret_value(w) for w in prefix.split()):
        return "the prefix of a secret reference looks like a credential; keep it in the variable"
    return None


def _url_fix(path: PathT, fix: str) -> str:
    if path and path[-1] == "bucket_url":
        return "remove it: IT sets the bucket's credentials where the pipeline runs"
    return f"move it into auth: or params: as {{secret: NAME}}, or {fix}"


def _walk(node: Any, path: PathT) -> Iterator[tuple[PathT, str | None, Any]]:
    """(path, normalized key, value) of every leaf, and of every mapping with a `secret` key."""
    if isinstance(node, dict):
        items = [(k, v) for k, v in node.items() if str(k).lower() not in _SKIP_KEYS]
        keyed = True
    elif isinstance(node, list):
        items, keyed = list(enumerate(node)), False
    else:
        return
    for key, value in items:
        child = (*path, key)
        if isinstance(value, Mapping) and "secret" in value:
            yield child, _normalize_key(key) if keyed else None, value
        elif isinstance(value, dict | list):
            yield from _walk(value, child)
        else:
            yield child, _normalize_key(key) if keyed else None, value


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
