"""The one place where a failed command becomes one or two lines instead of a traceback.

`run_command` calls the command's handler; anything it raises is explained as
`error: <what> failed [while <step> table <table>]: <why>; <what to do>`, with every secret value
redacted, and the process exits 1 (130 on Ctrl-C). An error nothing recognises gets a second
line that says how to see more: `--debug` prints the full traceback (messages scrubbed and
secrets redacted, as in the engineers' logs) before the summary.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.runtime.failures import (
    exception_chain,
    explain_failure,
    is_interrupt,
    known_explanation,
    redact,
    scrubbed_traceback,
)

if TYPE_CHECKING:
    from pipelines.spec.models import SourceSpec

UNKNOWN_HINT = (
    "this failure is unexpected: run the same command with --debug to see where it happened, "
    "and send that output to the data engineers"
)
# dlt's step names, as a sentence says them
_STEP_VERBS = {
    "extract": "extracting",
    "normalize": "normalizing",
    "load": "loading",
    "checks": "running the checks on",
}
# Variables whose values are redacted even when the failure names no source (no spec to ask).
_SECRET_LIKE = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|_KEY$|CREDENTIAL|SALT|DSN|AUTH")


@dataclass(frozen=True)
class FailureSite:
    """Where a failure happened, as far as the error tells: dlt's step and the table."""

    step: str | None = None
    table: str | None = None


def add_debug_flag(parser: argparse.ArgumentParser, commands: Any) -> None:
    """`--debug` before the command (`sourcegate --debug preview x`) or after it."""
    help_text = "on failure, print the full traceback (secrets redacted)"
    parser.add_argument("--debug", action="store_true", help=help_text)
    for subparser in commands.choices.values():
        # SUPPRESS: the subcommand's default must not overwrite a `--debug` given before it
        subparser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)


def run_command(args: argparse.Namespace) -> int:
    """Run the command's handler; turn any failure into a short explanation and an exit code."""
    debug = bool(getattr(args, "debug", False))
    if not debug:
        # dlt logs a failed job with its traceback; the summary line below says what matters
        os.environ.setdefault("RUNTIME__LOG_LEVEL", "CRITICAL")
    try:
        return int(args.handler(args) or 0)
    except BrokenPipeError:
        # the reader went away (`sourcegate status | head -1`): nothing to say, and nowhere to
        # say it; point stdout at /dev/null so Python's own flush at exit does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if is_interrupt(exc):
            print("interrupted", file=sys.stderr)
            return 130
        spec = _named_spec(args)
        secrets = _secret_values(spec)
        if debug:
            print(scrubbed_traceback(exc, secrets), file=sys.stderr)
        print(redact(describe_failure(exc, args.command, spec), secrets), file=sys.stderr)
        return 1


def describe_failure(exc: BaseException, command: str, spec: SourceSpec | None = None) -> str:
    """`error: preview of S failed while extracting table T: why; what to do` (and, for an
    error nothing recognises, a second line saying how to see more). Not yet redacted."""
    names = spec.secret_names() if spec is not None else []
    site = failure_site(exc, spec)
    what = f"{command} of {spec.name}" if spec is not None else command
    where = ""
    if site.step:
        where = f" while {_STEP_VERBS.get(site.step, site.step)}"
        where += f" table {site.table}" if site.table else ""
    elif site.table:
        where = f" on table {site.table}"
    known = known_explanation(exc, names)
    if known is not None:
        return f"error: {what} failed{where}: {known}"
    return f"error: {what} failed{where}: {explain_failure(exc, names)}\n{UNKNOWN_HINT}"


def failure_site(exc: BaseException, spec: SourceSpec | None = None) -> FailureSite:
    """dlt's step (extract, normalize, load) or `checks` when GX raised, and the table."""
    step = table = None
    for error in exception_chain(exc):
        if type(error).__name__ == "PipelineStepFailed":
            step = step or str(getattr(error, "step", "") or "") or None
        resource = getattr(error, "pipe_name", None) or getattr(error, "resource_name", None)
        job = getattr(error, "job_id", None)  # `<table>.<file id>.<retry>.<format>`
        named = resource or (job.split(".")[0] if isinstance(job, str) else None)
        named = named or getattr(error, "table_name", None)
        if isinstance(named, str) and table is None:
            table = _table_of(named, spec)
    if step is None:
        step, checked = _checks_frame(exc)
        table = table or checked
    return FailureSite(step, table)


def _checks_frame(exc: BaseException) -> tuple[str | None, str | None]:
    """`checks` (and the table) when the failure went through the quality package or GX."""
    for error in exception_chain(exc):
        for frame, _ in traceback.walk_tb(error.__traceback__):
            module = str(frame.f_globals.get("__name__", ""))
            if module.startswith(("quality.", "great_expectations")):
                table = frame.f_locals.get("table") if module == "quality.runner" else None
                return "checks", table if isinstance(table, str) else None
    return None, None


def _table_of(resource: str, spec: SourceSpec | None) -> str:
    """The table a dlt resource loads: REST resources may be renamed by `table_name`."""
    if spec is None or spec.kind != "rest_api" or resource in spec.table_names():
        return resource
    entries = (spec.rest_api or {}).get("resources") or []
    names = [e.get("name") if isinstance(e, dict) else str(e) for e in entries]
    return dict(zip(names, spec.table_names(), strict=False)).get(resource, resource)


def _named_spec(args: argparse.Namespace) -> SourceSpec | None:
    """The spec of the one source the command names (`preview NAME`, `run NAME`), if valid."""
    from pipelines.settings import sources_dir
    from pipelines.spec.registry import load_source_file

    names = [args.name] if isinstance(getattr(args, "name", None), str) else []
    names = names or (args.names if len(getattr(args, "names", None) or []) == 1 else [])
    if args.command not in ("preview", "run") or not names:
        return None
    folder = Path(getattr(args, "sources", None) or sources_dir())
    for path in (folder / f"{names[0]}.yaml", folder / f"{names[0]}.yml"):
        try:
            if path.is_file():
                source = load_source_file(path, deep=False).source
                return source.spec if source is not None else None
        except Exception:  # the explanation matters more than its context
            return None
    return None


def _secret_values(spec: SourceSpec | None) -> Iterable[str]:
    """Values to redact: the source's secrets, and every variable that looks like a secret."""
    named = set(spec.secret_names()) if spec is not None else set()
    values = {os.environ[n] for n in named if os.environ.get(n)}
    # only long values of look-alikes: a short one (`true`) would blot out ordinary words
    values |= {v for n, v in os.environ.items() if _SECRET_LIKE.search(n) and len(v) >= 8}
    return sorted(values, key=len, reverse=True)
