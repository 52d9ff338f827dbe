"""Discover `sources/*.yaml`, validate each file on its own, and keep good and bad apart."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

from pydantic import BaseModel, ValidationError

from pipelines.governance.placeholders import placeholder_values
from pipelines.governance.rules import (
    pii_check_conflicts,
    production_problems,
    unprotected_pii,
)
from pipelines.governance.secret_scan import find_literal_secrets
from pipelines.spec.errors import SourceError, pydantic_messages
from pipelines.spec.models import SourceSpec
from pipelines.spec.yaml_lines import LocatedDocument, YamlSyntaxError, parse_yaml


@dataclass(frozen=True)
class LoadedSource:
    """A valid source spec and the file it came from."""

    spec: SourceSpec
    path: Path

    @property
    def name(self) -> str:
        """The source name (equal to the file stem)."""
        return self.spec.name


@dataclass
class FileResult:
    """The outcome of validating one file: a source when it has no errors, plus all findings."""

    path: Path
    source: LoadedSource | None = None
    errors: list[SourceError] = field(default_factory=list)
    warnings: list[SourceError] = field(default_factory=list)


@dataclass
class Registry:
    """Every source file found: the valid ones as specs, the broken ones as errors."""

    sources: list[LoadedSource] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    warnings: list[SourceError] = field(default_factory=list)

    def get(self, name: str) -> LoadedSource | None:
        """The valid source called ``name``, if any."""
        return next((s for s in self.sources if s.name == name), None)

    @property
    def broken_files(self) -> list[Path]:
        """Files that have at least one error, in order."""
        return sorted({e.file for e in self.errors})


def source_files(paths: list[Path]) -> list[Path]:
    """Expand folders to their `*.yaml`/`*.yml` files; skip `_templates` and `_`-prefixed files."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            candidates = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
            found.extend(p for p in candidates if not p.name.startswith("_"))
        else:
            found.append(path)
    return found


def load_registry(
    paths: list[Path] | Path, reserved_names: set[str] | None = None, deep: bool = True
) -> Registry:
    """Validate every source file under ``paths``; one bad file never hides the others.

    Args:
        paths: folders (usually `sources/`) or single files.
        reserved_names: source names that would clash with the warehouse catalog name.
        deep: also run dlt's validator on `rest_api:` blocks (imports dlt, ~1 s).
    """
    registry = Registry()
    path_list = [paths] if isinstance(paths, Path) else list(paths)
    for path in source_files(path_list):
        result = load_source_file(path, reserved_names or set(), deep=deep)
        if result.source is not None:
            registry.sources.append(result.source)
        registry.errors.extend(result.errors)
        registry.warnings.extend(result.warnings)
    return registry


def load_source_file(
    path: Path, reserved_names: set[str] | None = None, deep: bool = True
) -> FileResult:
    """Validate one file; the result holds the source (if valid) and every finding."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return FileResult(path, errors=[SourceError(path, 1, f"cannot read the file: {exc}")])
    return load_source_text(text, path, reserved_names, deep=deep)


def load_source_text(
    text: str, path: Path, reserved_names: set[str] | None = None, deep: bool = True
) -> FileResult:
    """Validate the YAML ``text`` of a source file that lives (or lived) at ``path``.

    Never raises: an unexpected exception while validating this file becomes its own error,
    so one odd file can never stop the others from loading (or running).
    """
    try:
        return _validate_text(text, path, reserved_names, deep)
    except Exception as exc:  # the safety net: any crash is this file's finding
        detail = " ".join(str(exc).split())[:200]
        message = (
            f"sourcegate could not validate this file ({type(exc).__name__}: {detail}); "
            "check its structure against sources/README.md, and report this message"
        )
        return FileResult(path, errors=[SourceError(path, 1, message)])


def _validate_text(
    text: str, path: Path, reserved_names: set[str] | None, deep: bool
) -> FileResult:
    result = FileResult(path)

    def found(pairs: list[tuple[tuple[str | int, ...], str]], severity: str = "error") -> None:
        target = result.errors if severity == "error" else result.warnings
        target.extend(SourceError(path, doc.line_of(loc), msg, severity) for loc, msg in pairs)

    try:
        doc = parse_yaml(text)
    except YamlSyntaxError as exc:
        result.errors.append(SourceError(path, exc.line, exc.message))
        return result
    if not isinstance(doc.data, dict):
        message = "the file must be a YAML mapping of keys such as name:, owner:"
        result.errors.append(SourceError(path, 1, message))
        return result
    found(find_literal_secrets(doc.data))
    try:
        spec = SourceSpec.model_validate(doc.data)
    except ValidationError as exc:
        found(pydantic_messages(exc, _known_keys()))
        return result
    found(spec.problems(deep=deep))
    found(placeholder_values(doc.data, spec.stage == "production"), _stage_severity(spec))
    if not result.errors:
        found(production_problems(spec))
        found(pii_check_conflicts(spec))
        found(unprotected_pii(spec), _stage_severity(spec))
    result.errors.extend(_file_level_errors(spec, path, doc, reserved_names or set()))
    if not result.errors:
        result.source = LoadedSource(spec=spec, path=path)
    return result


def _stage_severity(spec: SourceSpec) -> str:
    """Governance findings block production sources and warn on pilots."""
    return "error" if spec.stage == "production" else "warning"


# Asset groups sourcegate builds itself: a source of that name would share their asset keys.
OWN_GROUPS = frozenset({"marts", "governance"})


def _file_level_errors(
    spec: SourceSpec, path: Path, doc: LocatedDocument, reserved_names: set[str]
) -> list[SourceError]:
    errors = []
    if spec.name != path.stem:
        errors.append(
            SourceError(
                path,
                doc.line_of(("name",)),
                f"name {spec.name!r} must match the file name; rename the file to "
                f"{spec.name}.yaml or set name: {path.stem}",
            )
        )
    taken = {
        f"is taken by sourcegate's own assets ({', '.join(sorted(OWN_GROUPS))})": spec.name
        in OWN_GROUPS,
        "is the warehouse's own catalog name and would make DuckDB references ambiguous": (
            spec.name in reserved_names
        ),
    }
    errors += [
        SourceError(path, doc.line_of(("name",)), f"name {spec.name!r} {why}; choose another name")
        for why, clashes in taken.items()
        if clashes
    ]
    return errors


_KNOWN_KEYS: set[str] = set()


def _known_keys() -> set[str]:
    """Every key the models accept, for 'did you mean' hints.

    Walks the models a source file reaches from `SourceSpec` (kinds' config models included)
    and every check model.
    """
    if not _KNOWN_KEYS:
        from pipelines.spec import checks as checks_spec

        models = [SourceSpec] + [
            obj
            for obj in vars(checks_spec).values()
            if isinstance(obj, type) and issubclass(obj, BaseModel) and obj is not BaseModel
        ]
        seen: set[type] = set()
        while models:
            model = models.pop()
            if model in seen:
                continue
            seen.add(model)
            for name, info in model.model_fields.items():
                _KNOWN_KEYS.add(info.alias or name)
                models.extend(_models_in(info.annotation))
    return _KNOWN_KEYS


def _models_in(annotation: object) -> list[type]:
    """The pydantic models inside a field's type (`list[X]`, `X | None`, `dict[str, X]`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models_in(arg)]
