"""`sourcegate new`: write a source file from `sources/_templates/`, from flags or by asking."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from string import Template

from pipelines.spec import NAME_PATTERN, OWNER_PATTERN

KINDS = ("files", "rest_api", "sql_database")
_QUESTIONS = {
    "name": "Source name (lower-case, e.g. crm_leads)",
    "kind": f"Kind ({' | '.join(KINDS)})",
    "owner": "Owner (your email or team:<slug>)",
    "description": "What is this data, in one sentence",
}


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
        while not values.get(field):
            if ask is None:
                raise ScaffoldError(f"--{field} is required (or run in a terminal to be asked)")
            values[field] = ask(f"{question}: ").strip()
            problem = _problem(field, values[field])
            if problem:
                print(problem, file=sys.stderr)
                values[field] = None
        problem = _problem(field, values[field] or "")
        if problem:
            raise ScaffoldError(problem)
    template = sources_dir / "_templates" / f"{values['kind']}.yaml"
    target = sources_dir / f"{values['name']}.yaml"
    if target.exists() and not force:
        raise ScaffoldError(f"{target} already exists; pick another name or pass --force")
    text = Template(template.read_text()).safe_substitute(
        name=values["name"],
        owner=values["owner"],
        description=values["description"],
        secret=values["name"].upper()
        + ("_DB_URL" if values["kind"] == "sql_database" else "_TOKEN"),
    )
    target.write_text(text)
    return target


def _problem(field: str, value: str) -> str | None:
    if field == "name" and not re.match(NAME_PATTERN, value):
        return f"name {value!r} must be 3-41 lower-case letters, digits or underscores"
    if field == "kind" and value not in KINDS:
        return f"kind {value!r} must be one of {', '.join(KINDS)}"
    if field == "owner" and not re.match(OWNER_PATTERN, value):
        return f"owner {value!r} must be an email or team:<slug>"
    return None
