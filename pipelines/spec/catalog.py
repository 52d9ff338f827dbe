"""The connector catalog: ready source files for marketing APIs, in `sources/_catalog/`.

A catalog file is two YAML documents. The first says what the template is (`vendor`, `loads`,
`docs`, `secrets` IT must set, and `asks`: the values that differ between accounts, such as a
shop domain or a start date). The second is a source file with `${...}` placeholders:
`${name}`, `${owner}`, `${SECRET}` (the source name in capitals, prefixing each secret so two
accounts of one vendor never share a variable) and one per `asks` entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

import yaml

from pipelines.settings import PROJECT_ROOT

CATALOG_DIR = PROJECT_ROOT / "sources" / "_catalog"
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


class CatalogError(ValueError):
    """A catalog template or an answer to it is not usable; the message says why."""


@dataclass(frozen=True)
class Ask:
    """One value that differs between accounts."""

    key: str
    question: str
    example: str
    pattern: str | None = None

    def problem(self, value: str) -> str | None:
        """Why ``value`` is not an answer, or None."""
        if not value:
            return f"{self.key} is required ({self.question}, e.g. {self.example})"
        if self.pattern and not re.fullmatch(self.pattern, value):
            return f"{self.key} {value!r} does not look right; expected e.g. {self.example}"
        return None


@dataclass(frozen=True)
class CatalogTemplate:
    """One vendor's template."""

    key: str
    vendor: str
    loads: str
    docs: str
    secrets: dict[str, str]  # variable suffix -> what it is
    asks: list[Ask]
    body: str

    def secret_names(self, source_name: str) -> list[str]:
        """The environment variables IT must set for a source named ``source_name``."""
        return [f"{source_name.upper()}_{suffix}" for suffix in self.secrets]

    def render(self, name: str, owner: str, answers: dict[str, str]) -> str:
        """The source file for ``name``; every `asks` entry must be answered."""
        for ask in self.asks:
            problem = ask.problem(answers.get(ask.key, ""))
            if problem:
                raise CatalogError(problem)
        values = {**answers, "name": name, "owner": owner, "SECRET": name.upper()}
        unknown = sorted(set(_PLACEHOLDER.findall(self.body)) - set(values))
        if unknown:
            raise CatalogError(f"template {self.key} has placeholders with no value: {unknown}")
        return Template(self.body).safe_substitute(values)  # `$schema` stays as it is


def load_catalog(folder: Path = CATALOG_DIR) -> dict[str, CatalogTemplate]:
    """Every template in ``folder``, by key (the file name without `.yaml`)."""
    return {path.stem: load_template(path) for path in sorted(folder.glob("*.yaml"))}


def load_template(path: Path) -> CatalogTemplate:
    """Read one catalog file: its description document, then its source document."""
    text = path.read_text(encoding="utf-8")
    head, separator, body = text.partition("\n---\n")
    if not separator:
        raise CatalogError(f"{path}: a catalog file is a description, `---`, then the source")
    meta = yaml.safe_load(head) or {}
    try:
        asks = [
            Ask(key, spec["question"], str(spec["example"]), spec.get("pattern"))
            for key, spec in (meta.get("asks") or {}).items()
        ]
        return CatalogTemplate(
            key=path.stem,
            vendor=meta["vendor"],
            loads=meta["loads"],
            docs=meta["docs"],
            secrets=dict(meta.get("secrets") or {}),
            asks=asks,
            body=body,
        )
    except (KeyError, TypeError) as exc:
        raise CatalogError(f"{path}: the description misses {exc}") from None


def example_answers(template: CatalogTemplate) -> dict[str, str]:
    """Each `asks` entry answered with its own example (for tests and `templates --check`)."""
    return {ask.key: ask.example for ask in template.asks}
