"""Every failure a marketer meets, through the real `sourcegate` command: one or two lines that
say what failed, why and what to do; a non-zero exit; never a traceback, a secret or a query.

One table drives one test. Each row runs `sourcegate` as a separate process against real input:
a loopback fake API (one per test module), source files and warehouses in temporary folders,
and, where the row needs one, a second process holding the warehouse.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.cli_processes import REPO, SOURCEGATE, Finished, run_cli
from tests.conftest import isolated_env
from tests.fake_api import FakeApi, json_response, serve

TOKEN = "shop-token-8f3e1c77d2"
WRONG_TOKEN = "wrong-token-5b9a04e6c1"
RECORDS = [
    {"id": i, "email": f"user{i}@example.com", "updated": {"at": f"2026-01-0{i}T08:00:00Z"}}
    for i in range(1, 6)
]

REST = """\
name: {name}
description: A REST source that fails
owner: team:crm
retries: {{max_retries: 0}}
rest_api:
  client:
    base_url: {base}
    auth: {{type: bearer, token: {{secret: SHOP_TOKEN}}}}
  resources:
    - name: contacts
      primary_key: id
      endpoint:
        path: {path}
        data_selector: {selector}
        params: {{per_page: 5}}
{extra}"""
FILES = """\
name: {name}
description: The bundled CRM sample files
owner: team:crm
retries: {{max_retries: 0}}
files:
  bucket_url: data/samples/crm
  file_glob: "contacts_*.csv"
  format: csv
  table: contacts
  primary_key: contact_id
pii:
  hash: [{hashed}, contacts.phone]
  drop: [contacts.ip_address, contacts.first_name, contacts.last_name]
{extra}"""


def rest(name: str, path: str = "v1/contacts", selector: str = "data", extra: str = "") -> dict:
    """One REST source file, keyed by its name (the base URL is filled in when it runs)."""
    return {name: REST.format(name=name, base="{base}", path=path, selector=selector, extra=extra)}


def files(name: str, hashed: str = "contacts.email", extra: str = "") -> dict:
    """One source file reading the bundled CRM sample CSVs."""
    return {name: FILES.format(name=name, hashed=hashed, extra=extra)}


@dataclass(frozen=True)
class Case:
    """One failure: the command, its input, and what its one or two lines must say."""

    id: str
    args: list[str]
    why: tuple[str, ...]  # what failed and why
    fix: tuple[str, ...]  # a phrase naming what to do
    sources: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    setup: str | None = None  # a name in SETUPS: something around the command (a lock, ...)


PREVIEW_FAILED = "preview of {name} failed while extracting table contacts: "
DESCRIBED = ["--description", "Leads from the web shop"]

CASES = [
    Case(
        "api-401",
        ["preview", "shop_401"],
        (
            PREVIEW_FAILED.format(name="shop_401"),
            "HTTP 401 Unauthorized for GET {base}v1/contacts: the API rejected the credentials",
        ),
        ("check SHOP_TOKEN",),
        rest("shop_401"),
        env={"SHOP_TOKEN": WRONG_TOKEN},
    ),
    Case(
        "api-403",
        ["preview", "shop_403"],
        ("HTTP 403 Forbidden for GET {base}v1/forbidden", "lack permission for this endpoint"),
        ("check SHOP_TOKEN",),
        rest("shop_403", path="v1/forbidden"),
    ),
    Case(
        "api-404",
        ["preview", "shop_404"],
        ("HTTP 404 Not Found for GET {base}v1/no_such_path", "the endpoint does not exist"),
        ("check base_url and path in the source file",),
        rest("shop_404", path="v1/no_such_path"),
    ),
    Case(
        "api-500-forever",
        ["preview", "shop_500"],
        (
            PREVIEW_FAILED.format(name="shop_500"),
            "HTTP 500 Internal Server Error for GET {base}v1/broken",
            "kept failing after all retries",
        ),
        ("try again later",),
        rest("shop_500", path="v1/broken"),
    ),
    Case(
        "dns-failure",
        ["preview", "shop_dns"],
        ("could not find the host api.sourcegate.invalid", "DNS lookup failed"),
        ("check base_url in the source file",),
        {
            "shop_dns": REST.format(
                name="shop_dns",
                base="http://api.sourcegate.invalid/",
                path="v1/contacts",
                selector="data",
                extra="",
            )
        },
    ),
    Case(
        "connection-refused",
        ["preview", "shop_refused"],
        ("nothing accepted the connection at 127.0.0.1:{closed_port}", "connection refused"),
        ("check base_url (host and port)", "that the API is up"),
        {
            "shop_refused": REST.format(
                name="shop_refused",
                base="http://127.0.0.1:{closed_port}/",
                path="v1/contacts",
                selector="data",
                extra="",
            )
        },
    ),
    Case(
        "timeout",
        ["preview", "shop_slow"],
        ("the API did not answer GET {base}v1/slow within 1", "after all retries"),
        ("raise http.timeout_seconds in the source file",),
        rest("shop_slow", path="v1/slow"),
        env={"RUNTIME__REQUEST_TIMEOUT": "1", "RUNTIME__REQUEST_MAX_ATTEMPTS": "1"},
    ),
    Case(
        "html-page-with-200",
        ["preview", "shop_html"],
        (PREVIEW_FAILED.format(name="shop_html"), "an HTML page instead of JSON"),
        ("base_url may point at a web page instead of the API",),
        rest("shop_html", path="v1/maintenance"),
    ),
    Case(
        "invalid-json",
        ["preview", "shop_json"],
        ("page data that is not valid JSON",),
        ("try again, or report it to the API provider",),
        rest("shop_json", path="v1/truncated"),
    ),
    Case(
        "data-selector-finds-nothing",
        ["run", "shop_selector"],
        ("shop_selector: table contacts was never created: no rows have arrived for it",),
        ("that the endpoint's data_selector points at them",),
        rest("shop_selector", selector="results"),
    ),
    Case(
        "missing-secret",
        ["preview", "shop_secretless"],
        ("shop_secretless",),
        ("set the environment variable SHOP_TOKEN",),
        rest("shop_secretless"),
        env={"SHOP_TOKEN": ""},
    ),
    Case(
        "check-on-missing-column",
        ["preview", "shop_checks"],
        ("table contacts has no column emial",),
        ("did you mean email",),
        rest("shop_checks", extra="checks: {contacts: [{expect: not_null, column: emial}]}\n"),
    ),
    Case(
        "bad-regex-in-check",
        ["validate", "{sources}"],
        ("regex '^[A-Z{2}$' does not compile",),
        ("fix each problem at the file:line shown",),
        files(
            "crm_regex",
            extra="checks: {contacts: [{expect: match_regex, column: country, "
            "regex: '^[A-Z{2}$'}]}\n",
        ),
    ),
    Case(
        "pii-rule-on-missing-column",
        ["preview", "crm_pii"],
        ("pii.hash rule contacts.emial matches no column of contacts",),
        ("did you mean contacts.email",),
        files("crm_pii", hashed="contacts.emial"),
    ),
    Case(
        "nested-cursor-written-as-column-name",
        ["preview", "shop_cursor"],
        (
            PREVIEW_FAILED.format(name="shop_cursor"),
            "the incremental cursor_path `updated__at` is not in the records of table contacts",
        ),
        ("did you mean `updated.at`?", "with a dot between nested fields"),
        rest(
            "shop_cursor",
            path="v1/contacts",
            extra="        incremental: {cursor_path: updated__at, "
            "initial_value: '2026-01-01T00:00:00Z'}\n",
        ),
    ),
    Case(
        "disk-full",
        ["preview", "crm_disk"],
        ("preview of crm_disk failed while", "the disk is full"),
        ("free up space",),
        files("crm_disk"),
        setup="disk_full",
    ),
    Case(
        "read-only-warehouse",
        ["run", "crm_readonly"],
        ("crm_readonly: cannot write {warehouse_dir}",),
        ("make its folder writable", "SOURCEGATE_WAREHOUSE"),
        files("crm_readonly"),
        setup="read_only_warehouse",
    ),
    Case(
        "warehouse-open-in-another-program",
        ["run", "crm_locked", "--wait-timeout", "1"],
        ("the warehouse file {warehouse} is open in another program",),
        ("close it", "then run again"),
        files("crm_locked"),
        setup="duckdb_held",
    ),
    Case(
        "warehouse-writer-lock-held",
        ["run", "crm_waiting", "--wait-timeout", "1"],
        ("gave up after 1s waiting for the warehouse writer lock, held by other_source",),
        ("the lock is already free: run again",),
        files("crm_waiting"),
        setup="writer_lock_held",
    ),
    Case(
        "validate-no-such-path",
        ["validate", "{tmp}/no_such_folder"],
        ("no_such_folder: no such file or folder",),
        ("check the path", "--sources"),
    ),
    Case(
        "validate-unparseable-yaml",
        ["validate", "{sources}"],
        ("broken_yaml.yaml:5: YAML syntax error",),
        ("fix each problem at the file:line shown",),
        {"broken_yaml": "name: broken_yaml\nowner: team:crm\nfiles:\n  bucket_url: [data\n"},
    ),
    Case(
        "validate-sources-folder-missing",
        ["validate"],
        ("missing_sources: no such file or folder",),
        ("pass the folder with --sources",),
        env={"SOURCEGATE_SOURCES": "{tmp}/missing_sources"},
    ),
    Case(
        "preview-no-such-source",
        ["preview", "shop_contcts"],
        ("no valid source named 'shop_contcts'",),
        ("did you mean 'shop_contacts'",),
        rest("shop_contacts"),
    ),
    Case(
        "plan-outside-git",
        ["plan"],
        ("not a git repository",),
        ("run `sourcegate plan` inside a git checkout",),
        rest("shop_plan"),
    ),
    Case(
        "plan-unknown-base-ref",
        ["plan", "--base", "no-such-ref-xyz", "--sources", str(REPO / "sources")],
        ("Not a valid object name no-such-ref-xyz",),
        ("fetch it first", "--base with an existing branch or commit"),
    ),
    Case(
        "plan-sources-folder-missing",
        ["plan", "--sources", "{tmp}/missing_sources"],
        ("no sources folder at {tmp}/missing_sources",),
        ("pass --sources with the folder of source files",),
    ),
    Case(
        "new-existing-name",
        ["new", "--name", "shop_taken", "--kind", "rest_api", "--owner", "team:crm", *DESCRIBED],
        ("shop_taken.yaml already exists",),
        ("pick another name or pass --force",),
        rest("shop_taken"),
    ),
    Case(
        "new-bad-name",
        ["new", "--name", "Shop-Leads", "--kind", "files", "--owner", "team:crm", *DESCRIBED],
        ("name 'Shop-Leads'",),
        ("must be 3-41 lower-case letters, digits or underscores",),
    ),
    Case(
        "new-sources-folder-missing",
        ["new", "--name", "shop_leads", "--kind", "files", "--sources", "{tmp}/missing_sources"],
        ("no sources folder at {tmp}/missing_sources",),
        ("create it, or pass --sources",),
    ),
    Case(
        "schema-sources-folder-missing",
        ["schema", "--sources", "{tmp}/missing_sources"],
        ("no sources folder at {tmp}/missing_sources",),
        ("pass --sources with the folder of source files",),
    ),
    Case(
        "status-dagster-home-is-a-file",
        ["status"],
        ("error: status failed: cannot create the folder {tmp}/dagster_home_file",),
        ("a file is in the way", "point DAGSTER_HOME at another folder"),
        env={"DAGSTER_HOME": "{tmp}/dagster_home_file"},
        setup="dagster_home_file",
    ),
    Case(
        "status-broken-dagster-yaml",
        ["status"],
        ("{tmp}/bad_home/dagster.yaml is not valid YAML (line 3",),
        ("fix that file",),
        env={"DAGSTER_HOME": "{tmp}/bad_home"},
        setup="broken_dagster_yaml",
    ),
]


@pytest.fixture(scope="module")
def api() -> Iterator[FakeApi]:
    """One loopback fake API for every row: data, errors, a slow page, a maintenance page."""
    fake = FakeApi(token=TOKEN)
    fake.routes["/v1/contacts"] = lambda _: json_response(200, {"data": RECORDS})
    fake.routes["/v1/forbidden"] = lambda _: json_response(403, {"message": "not your scope"})
    fake.routes["/v1/broken"] = lambda _: json_response(500, {"message": "upstream trouble"})
    fake.routes["/v1/maintenance"] = lambda _: (
        200,
        {"Content-Type": "text/html"},
        b"<html><title>Back soon, Anna Rossi</title></html>",
    )
    fake.routes["/v1/truncated"] = lambda _: (
        200,
        {"Content-Type": "application/json"},
        b'{"data": [{"id": 1, "email": "anna.rossi@example.com",',
    )

    def slow(_: object) -> tuple:
        time.sleep(2)  # the row that times out waits 1 s
        return json_response(200, {"data": RECORDS})

    fake.routes["/v1/slow"] = slow
    with serve(fake):
        yield fake


@pytest.fixture(scope="module")
def dagster_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Dagster instance for the rows that run loads: created once, not once per row."""
    return tmp_path_factory.mktemp("dagster_home")


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_failure_is_one_or_two_lines_that_name_the_fix(
    case: Case, api: FakeApi, dagster_home: Path, tmp_path: Path
) -> None:
    finished, values = _run(case, api, dagster_home, tmp_path)
    output = finished.output
    assert finished.returncode != 0, output
    assert "Traceback" not in output, output
    for expected in case.why + case.fix:
        assert _fill(expected, values) in output, f"{_fill(expected, values)!r}:\n{output}"
    for secret in (TOKEN, WRONG_TOKEN):
        assert secret not in output
    assert "?per_page" not in output  # no query string in any URL shown


def test_debug_shows_the_traceback_with_secrets_redacted(
    api: FakeApi, dagster_home: Path, tmp_path: Path
) -> None:
    case = next(c for c in CASES if c.id == "api-401")
    for where in ("before", "after"):
        args = ["--debug", *case.args] if where == "before" else [*case.args, "--debug"]
        debug = Case(case.id, args, case.why, case.fix, case.sources, case.env)
        finished, _ = _run(debug, api, dagster_home, tmp_path / where)
        assert finished.returncode == 1, finished.output
        assert "Traceback (most recent call last)" in finished.output
        assert "PipelineStepFailed" in finished.output
        last = finished.output.strip().splitlines()[-1]
        assert last.startswith("error: preview of shop_401 failed while extracting table"), last
        assert WRONG_TOKEN not in finished.output and TOKEN not in finished.output


def _run(case: Case, api: FakeApi, dagster_home: Path, tmp: Path) -> tuple[Finished, dict]:
    """Write the row's sources, set up what it needs, run `sourcegate` to the end."""
    tmp.mkdir(parents=True, exist_ok=True)
    sources = tmp / "sources"
    sources.mkdir()
    values = {
        "base": api.base_url,
        "closed_port": str(_closed_port()),
        "sources": str(sources),
        "tmp": str(tmp),
        "warehouse": str(tmp / "wh" / "marketing.duckdb"),
        "warehouse_dir": str(tmp / "wh"),
    }
    for name, text in case.sources.items():
        (sources / f"{name}.yaml").write_text(_fill(text, values))
    env = isolated_env(
        tmp,
        SHOP_TOKEN=TOKEN,
        SOURCEGATE_SOURCES=str(sources),
        # short retries: every row that retries fails after all of them
        RUNTIME__REQUEST_MAX_ATTEMPTS="2",
        RUNTIME__REQUEST_BACKOFF_FACTOR="0",
        RUNTIME__REQUEST_MAX_RETRY_DELAY="0",
        RUNTIME__REQUEST_TIMEOUT="5",
    )
    env["DAGSTER_HOME"] = str(dagster_home)
    env.update({key: _fill(value, values) for key, value in case.env.items()})
    if not env.get("SHOP_TOKEN"):
        env.pop("SHOP_TOKEN")
    args = [_fill(arg, values) for arg in case.args]
    log = tmp / "sourcegate.log"
    with SETUPS.get(case.setup or "", _nothing)(tmp, env) as limit_kb:
        if limit_kb:
            return _run_with_file_limit(args, env, log, limit_kb), values
        return run_cli(args, env, log, timeout=120), values


def _fill(text: str, values: dict[str, str]) -> str:
    """``text`` with each `{placeholder}` of ``values`` filled in (other braces are YAML's)."""
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


@contextlib.contextmanager
def _nothing(tmp: Path, env: dict[str, str]) -> Iterator[None]:
    yield None


@contextlib.contextmanager
def _disk_full(tmp: Path, env: dict[str, str]) -> Iterator[int]:
    """No file may grow past 32 KiB, as on a full disk: the preview's scratch files hit it."""
    yield 32


@contextlib.contextmanager
def _read_only_warehouse(tmp: Path, env: dict[str, str]) -> Iterator[None]:
    """The warehouse's folder cannot be written, even by root (immutable where chmod is not
    enough)."""
    folder = tmp / "wh"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    immutable = os.geteuid() == 0 and shutil.which("chattr") is not None
    if immutable:
        subprocess.run(["chattr", "+i", str(folder)], check=False, capture_output=True)
    try:
        try:
            (folder / "probe").touch()
        except OSError:
            pass
        else:
            pytest.skip("cannot make a read-only folder here (root without chattr)")
        yield None
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=False, capture_output=True)
        folder.chmod(stat.S_IRWXU)


@contextlib.contextmanager
def _duckdb_held(tmp: Path, env: dict[str, str]) -> Iterator[None]:
    """Another program (a notebook, a DuckDB shell) keeps the warehouse file open for writing."""
    code = (
        "import duckdb, sys, time\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "print('ready', flush=True)\n"
        "time.sleep(120)\n"
    )
    Path(env["SOURCEGATE_WAREHOUSE"]).parent.mkdir(parents=True)
    with _holder([sys.executable, "-c", code, env["SOURCEGATE_WAREHOUSE"]], env):
        yield None


@contextlib.contextmanager
def _writer_lock_held(tmp: Path, env: dict[str, str]) -> Iterator[None]:
    """Another `sourcegate` process (with another Dagster home) holds the warehouse writer lock."""
    code = (
        "import sys, time\n"
        "from pipelines.runtime.warehouse import Warehouse\n"
        "lock = Warehouse.from_setting(sys.argv[1]).writer_lock\n"
        "with lock.held('other_source (run 1a2b3c4d)'):\n"
        "    print('ready', flush=True)\n"
        "    time.sleep(120)\n"
    )
    with _holder([sys.executable, "-c", code, env["SOURCEGATE_WAREHOUSE"]], env):
        yield None


@contextlib.contextmanager
def _holder(command: list[str], env: dict[str, str]) -> Iterator[None]:
    """Run ``command`` until the block ends, once it printed `ready`."""
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        yield
    finally:
        process.kill()
        process.wait(timeout=30)


@contextlib.contextmanager
def _dagster_home_file(tmp: Path, env: dict[str, str]) -> Iterator[None]:
    Path(env["DAGSTER_HOME"]).write_text("not a folder\n")
    yield None


@contextlib.contextmanager
def _broken_dagster_yaml(tmp: Path, env: dict[str, str]) -> Iterator[None]:
    home = Path(env["DAGSTER_HOME"])
    home.mkdir()
    (home / "dagster.yaml").write_text("concurrency:\n  pools: [\n")
    yield None


SETUPS: dict[str, Callable[[Path, dict[str, str]], contextlib.AbstractContextManager]] = {
    "disk_full": _disk_full,
    "read_only_warehouse": _read_only_warehouse,
    "duckdb_held": _duckdb_held,
    "writer_lock_held": _writer_lock_held,
    "dagster_home_file": _dagster_home_file,
    "broken_dagster_yaml": _broken_dagster_yaml,
}


def _run_with_file_limit(args: list[str], env: dict[str, str], log: Path, kb: int) -> Finished:
    """`run_cli` with RLIMIT_FSIZE set: writes past ``kb`` KiB fail with EFBIG, as on a full
    disk (Python ignores SIGXFSZ, so the process sees the error instead of being killed)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (kb * 1024, kb * 1024))

    with log.open("w") as handle:
        done = subprocess.run(
            [SOURCEGATE, *args],
            cwd=REPO,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            preexec_fn=limit,
            timeout=120,
        )
    return Finished(done.returncode, log.read_text())


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _raised(make: Callable[[], None]) -> BaseException:
    try:
        make()
    except BaseException as exc:
        return exc
    raise AssertionError("nothing was raised")


def _unauthorized() -> Exception:
    import requests

    response = requests.Response()
    response.status_code = 401
    response.url = "https://api.example.com/v1/people?api_key=abc"
    response.request = requests.Request("GET", response.url).prepare()
    return requests.HTTPError("401 Client Error", response=response)


def test_explanations_look_through_stop_iteration_and_causes_to_the_real_error() -> None:
    """A generator that lets StopIteration escape while handling the real error, and a wrapper
    raised `from` the real error inside an unrelated `except`: both explain the real error."""
    from pipelines.cli.errors import describe_failure

    def pages() -> Iterator[int]:
        try:
            raise _unauthorized()
        except Exception:
            yield next(iter([]))  # PEP 479: becomes RuntimeError("generator raised ...")

    stopped = _raised(lambda: list(pages()))
    assert isinstance(stopped, RuntimeError)
    line = describe_failure(stopped, "status")
    assert line == (
        "error: status failed: HTTP 401 Unauthorized for GET https://api.example.com/v1/people: "
        "the API rejected the credentials; check the credentials, and that the auth header has "
        "the form the API documents (a prefix: such as 'Bearer ' is part of it)"
    )

    def wrapped() -> None:
        try:
            raise KeyError("unrelated")
        except KeyError:
            raise RuntimeError("step failed") from _unauthorized()

    assert "HTTP 401 Unauthorized" in describe_failure(_raised(wrapped), "status")


def test_a_check_that_raises_is_named_with_the_checks_step_and_gx_reason() -> None:
    """An error raised inside the quality package (GX) names the `checks` step and its table,
    shows GX's own reason (scrubbed), and says how to see more."""
    from pipelines.cli.errors import UNKNOWN_HINT, describe_failure

    module = {"__name__": "quality.runner"}
    exec(  # a frame of quality.runner, as when GX raises from `WarehouseChecker.run`
        "def run(table):\n"
        "    raise ValueError('metric column_values.nonnull.unexpected_count failed for "
        "anna.rossi@example.com')\n",
        module,
    )
    error = _raised(lambda: module["run"]("contacts"))
    lines = describe_failure(error, "preview").splitlines()
    assert lines[0].startswith(
        "error: preview failed while running the checks on table contacts: ValueError: metric "
        "column_values.nonnull.unexpected_count failed for"
    )
    assert "anna.rossi@example.com" not in lines[0]  # the value is shaped, never shown
    assert lines[1] == UNKNOWN_HINT


def test_the_boundary_redacts_secrets_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    from pipelines.cli.errors import run_command

    plain = "opensesame-token"  # no digits: scrubbing alone would leave it as it is
    monkeypatch.setenv("SHOP_API_TOKEN", plain)

    def handler(_: argparse.Namespace) -> int:
        raise RuntimeError(f"the server said: bad token {plain}")

    args = argparse.Namespace(command="status", handler=handler, debug=False)
    assert run_command(args) == 1
    err = capsys.readouterr().err
    assert plain not in err and "bad token ***" in err and "Traceback" not in err
    assert run_command(argparse.Namespace(command="status", handler=handler, debug=True)) == 1
    err = capsys.readouterr().err
    assert plain not in err and "Traceback (most recent call last)" in err


def test_a_reader_that_goes_away_is_no_failure(tmp_path: Path) -> None:
    """`sourcegate preview x | head -1`: the closed pipe ends the command quietly, exit 0."""
    env = isolated_env(tmp_path, SOURCEGATE_PII_SALT="pipe")
    command = f"'{SOURCEGATE}' preview crm_contacts --limit 5 | head -1"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.startswith("previewing crm_contacts")
    assert "error" not in done.stderr and "Traceback" not in done.stderr
    assert done.returncode == 0, done.stderr
