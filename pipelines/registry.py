"""Discover `sources/*.yaml`, validate each file on its own, and keep good and bad apart."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from pipelines.errors import SourceError, pydantic_messages
from pipelines.spec import SourceSpec
from pipelines.yaml_lines import LocatedDocument, YamlSyntaxError, parse_yaml


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
class Registry:
    """Every source file found: the valid ones as specs, the broken ones as errors."""

    sources: list[LoadedSource] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)

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


def load_registry(paths: list[Path] | Path, reserved_names: set[str] | None = None) -> Registry:
    """Validate every source file under ``paths``; one bad file never hides the others.

    Args:
        paths: folders (usually `sources/`) or single files.
        reserved_names: source names that would clash with the warehouse catalog name.
    """
    registry = Registry()
    path_list = [paths] if isinstance(paths, Path) else list(paths)
    for path in source_files(path_list):
        result = load_source_file(path, reserved_names or set())
        if isinstance(result, LoadedSource):
            registry.sources.append(result)
        else:
            registry.errors.extend(result)
    return registry


def load_source_file(
    path: Path, reserved_names: set[str] | None = None
) -> LoadedSource | list[SourceError]:
    """Validate one file; return the loaded source or every error found in it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [SourceError(path, 1, f"cannot read the file: {exc}")]
    try:
        doc = parse_yaml(text)
    except YamlSyntaxError as exc:
        return [SourceError(path, exc.line, exc.message)]
    if not isinstance(doc.data, dict):
        return [
            SourceError(path, 1, "the file must be a YAML mapping of keys such as name:, owner:")
        ]
    try:
        spec = SourceSpec.model_validate(doc.data)
    except ValidationError as exc:
        return [
            SourceError(path, doc.line_of(loc), message)
            for loc, message in pydantic_messages(exc, _known_keys())
        ]
    errors = [SourceError(path, doc.line_of(loc), msg) for loc, msg in spec.problems()]
    errors.extend(_file_level_errors(spec, path, doc, reserved_names or set()))
    return errors or LoadedSource(spec=spec, path=path)


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
    if spec.name in reserved_names:
        errors.append(
            SourceError(
                path,
                doc.line_of(("name",)),
                f"name {spec.name!r} is the warehouse's own catalog name and would make DuckDB "
                "references ambiguous; choose another name",
            )
        )
    return errors


_KNOWN_KEYS: set[str] = set()


def _known_keys() -> set[str]:
    """Every key the models accept, for 'did you mean' hints."""
    if not _KNOWN_KEYS:
        from pipelines import checks_spec, spec

        for module in (spec, checks_spec):
            for obj in vars(module).values():
                if isinstance(obj, type) and issubclass(obj, BaseModel) and obj is not BaseModel:
                    for name, info in obj.model_fields.items():
                        _KNOWN_KEYS.add(info.alias or name)
    return _KNOWN_KEYS
