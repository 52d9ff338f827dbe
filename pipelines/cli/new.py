"""`sourcegate new`: write a source file from `sources/_templates/`, from flags or by asking."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from string import Template
from typing import Any

from pipelines.cli.messages import display
from pipelines.kinds import KINDS as SOURCE_KINDS
from pipelines.settings import PROJECT_ROOT, sources_dir
from pipelines.spec.json_schema import SCHEMA_FILE_NAME
from pipelines.spec.models import NAME_PATTERN, OWNER_PATTERN

KINDS = tuple(sorted(SOURCE_KINDS))  # files | rest_api | sql_database, as documented
_QUESTIONS = {
    "name": "Source name (lower-case, e.g. crm_leads)",
    "kind": f"Kind ({' | '.join(KINDS)})",
    "owner": "Owner (your email or team:<slug>)",
    "description": "What is this data, in one sentence",
}


def register(commands: Any) -> None:
    """Add the `new` command to the CLI's subcommands."""
    parser = commands.add_parser("new", help="write a new source file from a template")
    parser.add_argument("source_name", nargs="?", metavar="NAME", help="the source's name")
    parser.add_argument(
        "--from",
        dest="template",
        metavar="KEY",
        help="start from a catalog connector (`sourcegate templates` lists them)",
    )
    parser.add_argument(
        "--set",
        dest="answers",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="answer a connector's question, e.g. --set start_date=2026-01-01",
    )
    parser.add_argument("--name")
    parser.add_argument("--kind", choices=KINDS)
    parser.add_argument("--owner", help="email or team:<slug>")
    parser.add_argument("--description")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.add_argument("--sources", type=Path, default=None, help="folder of source files")
    parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    """Write the file (asking for what is missing in a terminal), then validate it."""
    from pipelines.spec.registry import load_source_file

    folder = args.sources or sources_dir()
    if not folder.is_dir():
        print(
            f"error: no sources folder at {folder}; create it, or pass --sources with the "
            "folder of source files",
            file=sys.stderr,
        )
        return 2
    answers = {k: getattr(args, k) for k in ("name", "kind", "owner", "description")}
    answers["name"] = args.source_name or args.name
    ask = input if sys.stdin.isatty() else None
    try:
        if args.template:
            path = scaffold_from_catalog(
                folder, args.template, answers, _pairs(args.answers), ask, args.force
            )
        else:
            path = scaffold_source(folder, answers, ask=ask, force=args.force)
    except ScaffoldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = load_source_file(path)
    print(f"created {path}")
    for finding in [*result.errors, *result.warnings]:
        print(display(finding), file=sys.stderr)
    if args.template:
        _print_secrets(args.template, answers["name"] or path.stem)
    folder_flag = f" --sources {folder}" if args.sources else ""
    print(
        f"next: replace every TODO (purpose: why you need the data), run `sourcegate validate"
        f"{folder_flag}`, then `sourcegate preview {path.stem}{folder_flag}` once the secrets "
        "are set, then open a pull request"
    )
    return 0


def _with_description(text: str, description: str) -> str:
    """``text`` with its top-level `description:` set to ``description`` (`--description`
    replaces the connector's own)."""
    quoted = json.dumps(description, ensure_ascii=False)  # a JSON string is a YAML scalar
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.startswith("description:"):
            lines[index] = f"description: {quoted}\n"
            break
    return "".join(lines)


def scaffold_from_catalog(
    sources_dir: Path,
    key: str,
    answers: dict[str, str | None],
    template_answers: dict[str, str],
    ask: Callable[[str], str] | None = None,
    force: bool = False,
) -> Path:
    """Write `sources/<name>.yaml` from the catalog's ``key`` template.

    Asks (with ``ask``) only for the name, the owner and the template's own questions (what
    differs between accounts); without ``ask`` a missing answer is an error naming the flag.
    """
    from pipelines.spec.catalog import CatalogError, load_catalog

    catalog = load_catalog()
    if key not in catalog:
        raise ScaffoldError(
            f"no connector {key!r} in the catalog; `sourcegate templates` lists: "
            f"{', '.join(catalog)}"
        )
    template = catalog[key]
    values = dict(answers)
    for field in ("name", "owner"):
        values[field] = _answer(field, values.get(field), _QUESTIONS[field], ask, f"--{field}")
    asked = {item.key for item in template.asks}
    unknown = sorted(set(template_answers) - asked)
    if unknown:
        raise ScaffoldError(
            f"--set {unknown[0]}: the {key} connector asks for "
            f"{', '.join(sorted(asked)) or 'nothing'}"
        )
    given = dict(template_answers)
    for item in template.asks:
        flag = f"--set {item.key}=..."
        given[item.key] = _answer(item.key, given.get(item.key), item.question, ask, flag, item)
    target = sources_dir / f"{values['name']}.yaml"
    if target.exists() and not force:
        raise ScaffoldError(f"{target} already exists; pick another name or pass --force")
    try:
        text = template.render(values["name"], values["owner"], given)
    except CatalogError as exc:
        raise ScaffoldError(str(exc)) from None
    if values.get("description"):
        text = _with_description(text, values["description"])
    target.write_text(_schema_header(text, sources_dir))
    return target


def _answer(
    field: str,
    value: str | None,
    question: str,
    ask: Callable[[str], str] | None,
    flag: str,
    item: Any = None,
) -> str:
    """``value`` (given as a flag: refused when wrong), or the answer to ``question`` (asked
    again until it is right)."""
    given = bool(value)
    while True:
        if not value:
            if ask is None:
                raise ScaffoldError(f"{flag} is required (or run in a terminal to be asked)")
            value = ask(f"{question}: ").strip()
        problem = item.problem(value) if item is not None else _problem(field, value)
        if not problem:
            return value
        if given or ask is None:
            raise ScaffoldError(problem)
        print(problem, file=sys.stderr)
        value = None


def _pairs(items: list[str]) -> dict[str, str]:
    """`--set key=value` flags as a dict."""
    pairs = {}
    for item in items:
        key, separator, value = item.partition("=")
        if not separator or not key:
            raise ScaffoldError(f"--set {item!r} must be KEY=VALUE, e.g. start_date=2026-01-01")
        pairs[key.strip()] = value.strip()
    return pairs


def _print_secrets(key: str, name: str) -> None:
    """What IT must set before the source can run, and where the vendor documents it."""
    from pipelines.spec.catalog import load_catalog

    template = load_catalog()[key]
    print(f"IT must set these environment variables ({template.vendor}: {template.docs}):")
    for variable, (_, what) in zip(
        template.secret_names(name), template.secrets.items(), strict=True
    ):
        print(f"  {variable}: {what}")


class ScaffoldError(ValueError):
    """The answers cannot make a source file; the message says which and why."""


def scaffold_source(
    sources_dir: Path,
    answers: dict[str, str | None],
    ask: Callable[[str], str] | None = None,
    force: bool = False,
) -> Path:
    """Fill the template for ``answers['kind']`` and write `sources/<name>.yaml`.

    Missing answers are asked with ``ask`` (for example ``input``); without it they are errors.
    """
    values = dict(answers)
    for field, question in _QUESTIONS.items():
        values[field] = _answer(field, values.get(field), question, ask, f"--{field}")
    template = _template(sources_dir, values["kind"])
    target = sources_dir / f"{values['name']}.yaml"
    if target.exists() and not force:
        raise ScaffoldError(f"{target} already exists; pick another name or pass --force")
    text = Template(template.read_text()).safe_substitute(
        name=values["name"],
        owner=values["owner"],
        description=values["description"],
        secret=values["name"].upper() + SOURCE_KINDS[values["kind"]].secret_suffix,
    )
    text = _schema_header(text, sources_dir)
    target.write_text(text if text.endswith("\n") else text + "\n")
    return target


_SCHEMA_HEADER = re.compile(r"(\$schema=)\S+")


def _template(sources_dir: Path, kind: str) -> Path:
    """The folder's own `_templates/<kind>.yaml` if it has one, else the bundled template (a
    `--sources` folder outside the repo has none)."""
    own = sources_dir / "_templates" / f"{kind}.yaml"
    return own if own.is_file() else PROJECT_ROOT / "sources" / "_templates" / f"{kind}.yaml"


def _schema_header(text: str, sources_dir: Path) -> str:
    """Point the editor's `$schema` at the schema beside the new file, or at the bundled one
    when the folder has none (a `--sources` folder elsewhere).

    The templates live in `sources/_templates/` and say `../source.schema.json`.
    """
    schema = sources_dir / SCHEMA_FILE_NAME
    target = (
        f"./{SCHEMA_FILE_NAME}"
        if schema.is_file()
        else str(PROJECT_ROOT / "sources" / SCHEMA_FILE_NAME)
    )
    return _SCHEMA_HEADER.sub(lambda m: f"{m.group(1)}{target}", text, count=1)


def _problem(field: str, value: str) -> str | None:
    if field == "name" and not re.match(NAME_PATTERN, value):
        return f"name {value!r} must be 3-41 lower-case letters, digits or underscores"
    if field == "kind" and value not in KINDS:
        return f"kind {value!r} must be one of {', '.join(KINDS)}"
    if field == "owner" and not re.match(OWNER_PATTERN, value):
        return f"owner {value!r} must be an email or team:<slug>"
    return None
