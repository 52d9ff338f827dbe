"""How the CLI shows a problem in a source file: `file:line: message`."""

from __future__ import annotations

from pathlib import Path

from pipelines.spec.errors import SourceError


def unknown_source_reason(name: str, errors: list[SourceError]) -> str:
    """Why ``name`` is no source to use: its file is broken, or there is no such file."""
    broken = any(error.source_name == name for error in errors)
    return "its file has errors (run `sourcegate validate`)" if broken else "no such source"


def display(error: SourceError) -> str:
    """`file:line: message`, with the file relative to the current folder when it is inside."""
    try:
        shown = error.file.resolve().relative_to(Path.cwd())
    except ValueError:
        shown = error.file
    label = "warning: " if error.severity == "warning" else ""
    return f"{shown}:{error.line}: {label}{error.message}"
