"""Parse YAML while remembering the line of every key, so errors can point at it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

PathPart = str | int
MAX_DOCUMENT_BYTES = 256 * 1024  # the bundled sources are about 1 kB each


class YamlSyntaxError(ValueError):
    """The file is not valid YAML; ``line`` is 1-based."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class LocatedDocument:
    """A parsed YAML document plus the 1-based line of each key path in it."""

    data: Any
    lines: dict[tuple[PathPart, ...], int] = field(default_factory=dict)

    def line_of(self, path: Sequence[PathPart]) -> int:
        """Return the line of the deepest prefix of ``path`` that exists in the document.

        Path parts that do not match (such as pydantic's union tags) are skipped, so a
        validation error always lands on the nearest real line.
        """
        best = self.lines.get((), 1)
        prefix: tuple[PathPart, ...] = ()
        for part in path:
            candidate = (*prefix, part)
            if candidate in self.lines:
                prefix = candidate
                best = self.lines[candidate]
        return best


def parse_yaml(text: str) -> LocatedDocument:
    """Parse one YAML document; raise ``YamlSyntaxError`` with a line on bad syntax.

    Anchors (`&name`) and aliases (`*name`) are refused before anything is built: a few hundred
    bytes of nested aliases expand to gigabytes ("billion laughs"). Documents are capped at
    ``MAX_DOCUMENT_BYTES``.
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_DOCUMENT_BYTES:
        raise YamlSyntaxError(
            f"the file is larger than {MAX_DOCUMENT_BYTES // 1024} kB; a source file describes "
            "one source and is a few kB at most",
            1,
        )
    _refuse_anchors(text)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or str(exc)
        raise YamlSyntaxError(f"YAML syntax error: {problem}", line) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"YAML syntax error: {exc}", 1) from None
    finally:
        loader.dispose()
    if node is None:
        return LocatedDocument(data=None)
    lines: dict[tuple[PathPart, ...], int] = {}
    _record_lines(node, (), lines)
    return LocatedDocument(data=data, lines=lines)


def _refuse_anchors(text: str) -> None:
    try:
        for token in yaml.scan(text, Loader=_Loader):
            if isinstance(token, yaml.AnchorToken | yaml.AliasToken):
                mark = "&" if isinstance(token, yaml.AnchorToken) else "*"
                raise YamlSyntaxError(
                    f"YAML anchors and aliases ({mark}{token.value}) are not allowed in source "
                    "files; write the values out in full",
                    token.start_mark.line + 1,
                )
    except yaml.MarkedYAMLError:
        return  # the parser reports the syntax error with its line


def _record_lines(
    node: yaml.Node, path: tuple[PathPart, ...], lines: dict[tuple[PathPart, ...], int]
) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            if isinstance(key_node, yaml.ScalarNode):
                key_path = (*path, key)
                if key_path in lines:
                    raise YamlSyntaxError(
                        f"key '{key}' appears twice in the same block; keep only one",
                        key_node.start_mark.line + 1,
                    )
                lines[key_path] = key_node.start_mark.line + 1
                _record_lines(value_node, key_path, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, (*path, index), lines)
