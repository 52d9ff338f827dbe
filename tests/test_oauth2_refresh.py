"""OAuth2 with a refresh token (`auth: {type: oauth2_refresh_token}`) against a loopback vendor
whose refresh tokens rotate: expiring access tokens, the token store, `invalid_grant`, racing
refreshes, and no token anywhere outside the store. One server serves the whole module."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.governance.secrets import resolve_secrets
from pipelines.kinds.rest_api.oauth2 import OAuth2RefreshToken, with_refresh_token_auth
from pipelines.kinds.rest_api.token_store import TokenStore, fingerprint
from pipelines.runtime.failures import ExplainedError
from pipelines.spec.registry import load_source_text
from tests.cli_processes import Finished, run_cli
from tests.conftest import isolated_env
from tests.fake_api import FakeApi, Request, events, json_response, serve
from tests.fake_oauth import TOKEN_PATH, OAuthServer

CLIENT_ID = "client-7f3a9c"
CLIENT_SECRET = "cs-9d8e7f6a5b4c3d2e1f0a9b8c"
SOURCE = "oauth_events"
ROWS = events(80)
ENV_NAMES = ("OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET", "OAUTH_REFRESH_TOKEN")

SOURCE_FILE = """\
name: oauth_events
description: Events from a vendor whose OAuth2 refresh tokens rotate
owner: team:test
max_concurrent_requests: {concurrency}
rest_api:
  client:
    base_url: {base}v1/
    auth:
      type: oauth2_refresh_token
      token_url: {base}oauth/token
      client_id: {{secret: OAUTH_CLIENT_ID}}
      client_secret: {{secret: OAUTH_CLIENT_SECRET}}
      refresh_token: {{secret: OAUTH_REFRESH_TOKEN}}
  resources:
    - name: events
      primary_key: id
      write_disposition: merge
      endpoint:
        path: events
        data_selector: data
        params: {{per_page: 10}}
        paginator: {{type: page_number, base_page: 1, page_param: page, total_path: total_pages}}
pii:
  hash: [events.email]
"""


@dataclass
class Vendor:
    """The module's fake vendor: the API, its OAuth server, and how slow its pages are."""

    api: FakeApi
    oauth: OAuthServer
    pace: dict[str, float]

    def fresh(self, **settings: Any) -> str:
        """A clean server with ``settings``; returns the seed refresh token."""
        self.api.requests.clear()
        self.pace["delay"] = settings.pop("delay", 0.0)
        defaults = {
            "expires_in": 3600,
            "rotate": True,
            "requests_per_token": None,
            "lifetime": None,
        }
        return self.oauth.reset(**{**defaults, "client_auth": "body", **settings})

    def pages(self) -> list[Request]:
        """The requests the API's page route received (401s included)."""
        return self.api.requests_to("/v1/events")


@pytest.fixture(scope="module")
def vendor() -> Iterator[Vendor]:
    oauth = OAuthServer(CLIENT_ID, CLIENT_SECRET)
    pace = {"delay": 0.0}

    def list_events(request: Request):
        time.sleep(pace["delay"])
        size = int(request.query.get("per_page", 10))
        page = int(request.query.get("page", 1))
        chunk = ROWS[(page - 1) * size : page * size]
        return json_response(200, {"data": chunk, "total_pages": -(-len(ROWS) // size)})

    api = oauth.protect(FakeApi(token="", routes={"/v1/events": list_events}))
    with serve(api):
        yield Vendor(api, oauth, pace)


def _write_source(folder: Path, base: str, concurrency: int = 1) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{SOURCE}.yaml"
    path.write_text(SOURCE_FILE.format(base=base, concurrency=concurrency))
    return path


def _set_env(monkeypatch: pytest.MonkeyPatch, seed: str) -> None:
    for name, value in zip(ENV_NAMES, (CLIENT_ID, CLIENT_SECRET, seed), strict=True):
        monkeypatch.setenv(name, value)


def _store_file(warehouse: Path) -> Path:
    folder = warehouse.parent / f".{warehouse.stem}_dlt" / "oauth2_tokens"
    return TokenStore(folder).path_for(SOURCE, CLIENT_ID)


@pytest.mark.dagster
@pytest.mark.parametrize(
    ("settings", "concurrency"),
    [
        pytest.param({"expires_in": 1, "delay": 0.3}, 1, id="expires_in_runs_out"),
        pytest.param({"lifetime": 0.3, "delay": 0.25}, 4, id="early_expiry_answers_401"),
    ],
)
def test_access_tokens_expire_during_a_multi_page_run_and_every_row_arrives(
    vendor: Vendor,
    settings: dict[str, Any],
    concurrency: int,
    tmp_path: Path,
    materialize_sources,
    query,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _set_env(monkeypatch, vendor.fresh(**settings))
    _write_source(tmp_path / "sources", vendor.api.base_url, concurrency)

    outcome = materialize_sources(tmp_path / "sources")

    assert outcome.success, outcome.failure
    assert query(f"select count(*), count(distinct id) from {SOURCE}.events") == [(80, 80)]
    assert vendor.oauth.refused == []
    assert {int(r.query["page"]) for r in vendor.pages()} == set(range(1, 9))
    if "expires_in" in settings:  # refreshed ahead of expiry, never told by a 401
        assert vendor.oauth.refreshes >= 3
        assert vendor.oauth.unauthorized == 0
    else:  # concurrent pages: each 401 led to one resend, after at most one refresh
        assert vendor.oauth.unauthorized >= 1
        assert 2 <= vendor.oauth.refreshes <= 1 + vendor.oauth.unauthorized
        assert len(vendor.pages()) == 8 + vendor.oauth.unauthorized


@pytest.mark.dagster
def test_the_refresh_token_rotates_on_every_refresh_and_the_store_keeps_the_latest(
    vendor: Vendor,
    tmp_path: Path,
    warehouse_path: Path,
    materialize_sources,
    query,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed = vendor.fresh(requests_per_token=2)
    _set_env(monkeypatch, seed)
    _write_source(tmp_path / "sources", vendor.api.base_url)

    first = materialize_sources(tmp_path / "sources")

    assert first.success, first.failure
    refreshes = vendor.oauth.refreshes
    assert refreshes >= 4  # 8 pages, 2 requests per access token
    refresh_tokens = [t for t in vendor.oauth.issued if t.startswith("rt-")]
    assert len(set(refresh_tokens)) == refreshes + 1  # the seed, then one new per refresh
    assert seed not in vendor.oauth.valid_refresh_tokens
    stored = json.loads(_store_file(warehouse_path).read_text())
    assert vendor.oauth.valid_refresh_tokens == {stored["refresh_token"]}
    assert stored["refresh_token"] == refresh_tokens[-1]
    assert stored["seed_sha256"] == fingerprint(seed)

    # the environment still holds the spent seed: the next run starts from the stored token
    second = materialize_sources(tmp_path / "sources")
    assert second.success, second.failure
    assert vendor.oauth.refused == []
    assert query(f"select count(*) from {SOURCE}.events") == [(80,)]


@pytest.mark.dagster
def test_a_401_after_a_refresh_is_the_apis_real_answer(
    vendor: Vendor, tmp_path: Path, materialize_sources, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    from dagster import serialize_value

    _set_env(monkeypatch, vendor.fresh())
    vendor.oauth.deny_access()
    _write_source(tmp_path / "sources", vendor.api.base_url)

    outcome = materialize_sources(tmp_path / "sources")

    assert not outcome.success
    assert "401 Unauthorized for GET" in outcome.failure
    assert vendor.oauth.refreshes == 2  # the first token, and one more after the 401
    assert len(vendor.pages()) == 2  # the page, and its one resend
    # the refused request (and its access token) travels inside the HTTP error: not further
    logs = capfd.readouterr()
    events = "\n".join(serialize_value(event) for event in outcome.result.all_events)
    assert "401 Unauthorized" in events
    texts = (logs.out + logs.err, events, outcome.failure)
    assert [s[:6] for s in vendor.oauth.secrets() for text in texts if s in text] == []


@dataclass
class ProcessRuns:
    """Three `sourcegate run` processes: two that load, then one after IT revoked the grant."""

    root: Path
    env: dict[str, str]
    runs: list[Finished]
    seed: str
    valid_after_first: set[str]
    refused: list[str]
    secrets: list[str]
    store: Path


@pytest.fixture(scope="module")
def process_runs(vendor: Vendor, tmp_path_factory: pytest.TempPathFactory) -> ProcessRuns:
    root = tmp_path_factory.mktemp("oauth_processes")
    seed = vendor.fresh()
    sources = root / "sources"
    _write_source(sources, vendor.api.base_url, concurrency=4)
    env = isolated_env(root, **dict(zip(ENV_NAMES, (CLIENT_ID, CLIENT_SECRET, seed), strict=True)))
    run = ["run", "--sources", str(sources), SOURCE]
    first = run_cli(run, env, root / "first.log")
    valid_after_first = vendor.oauth.valid_refresh_tokens
    second = run_cli(run, env, root / "second.log")
    vendor.oauth.revoke()
    third = run_cli(run, env, root / "third.log")
    return ProcessRuns(
        root,
        env,
        [first, second, third],
        seed,
        valid_after_first,
        list(vendor.oauth.refused),
        vendor.oauth.secrets(),
        _store_file(Path(env["SOURCEGATE_WAREHOUSE"])),
    )


@pytest.mark.dagster
def test_a_second_process_runs_on_the_rotated_token_the_first_one_stored(
    process_runs: ProcessRuns,
) -> None:
    first, second, _ = process_runs.runs
    assert first.returncode == 0, first.output
    assert second.returncode == 0, second.output
    assert "loaded 80 rows" in first.output and "loaded" in second.output
    # the first run spent the seed that the environment still holds
    assert process_runs.seed not in process_runs.valid_after_first
    assert process_runs.refused == ["invalid_grant"]  # only the third run was refused
    warehouse = Path(process_runs.env["SOURCEGATE_WAREHOUSE"])
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.sql(f"select count(distinct id) from {SOURCE}.events").fetchall() == [(80,)]


@pytest.mark.dagster
def test_invalid_grant_tells_it_to_issue_a_new_refresh_token(process_runs: ProcessRuns) -> None:
    third = process_runs.runs[2]
    assert third.returncode != 0
    assert (
        "the OAuth2 server refused the refresh token (invalid_grant): it was revoked, expired or "
        f"already used; IT must issue a new refresh token for {SOURCE} and set OAUTH_REFRESH_TOKEN"
    ) in third.output
    assert "Traceback" not in third.output
    assert "refused-invalid_grant-description-text" not in third.output


@pytest.mark.dagster
def test_the_store_file_is_private(process_runs: ProcessRuns) -> None:
    assert stat.S_IMODE(process_runs.store.stat().st_mode) == 0o600
    assert stat.S_IMODE(process_runs.store.parent.stat().st_mode) == 0o700
    others = [p for p in process_runs.store.parent.iterdir() if p.suffix not in (".json", ".lock")]
    assert others == []  # no temporary file left behind


@pytest.mark.dagster
def test_no_token_appears_in_logs_metadata_warehouse_or_dlt_state(
    process_runs: ProcessRuns,
) -> None:
    secrets = process_runs.secrets
    assert len(secrets) >= 5  # the client secret, the seed, and each run's tokens
    logs = "\n".join(run.output for run in process_runs.runs)
    dagster = _text_of_files(Path(process_runs.env["DAGSTER_HOME"]))
    assert "invalid_grant" in dagster  # the scan reads the event log: the third run's failure
    warehouse = Path(process_runs.env["SOURCEGATE_WAREHOUSE"])
    tables = _warehouse_text(warehouse)
    assert "@example.com" not in tables and len(tables) > 1000  # hashed rows were read
    state_dir = warehouse.parent / f".{warehouse.stem}_dlt"
    state = _text_of_files(state_dir, skip=process_runs.store.parent)
    assert "state.json" in state and "oauth_events.schema.json" in state  # dlt's files
    places = {"logs": logs, "dagster": dagster, "warehouse": tables, "dlt state": state}
    leaks = [(where, s[:6]) for where, text in places.items() for s in secrets if s in text]
    assert leaks == []


def _text_of_files(root: Path, skip: Path | None = None) -> str:
    """Every file under ``root`` (but ``skip``), as text, its name first."""
    parts = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and (skip is None or skip not in path.parents):
            parts.append(f"{path.name}\n{path.read_bytes().decode('utf-8', 'replace')}")
    return "\n".join(parts)


def _warehouse_text(path: Path) -> str:
    """Every text value of every table, dlt's compressed state decompressed."""
    from dlt.common.versioned_state import decompress_state

    parts = []
    with duckdb.connect(str(path), read_only=True) as con:
        columns = con.sql(
            "select table_schema, table_name, column_name, data_type "
            "from information_schema.columns"
        ).fetchall()
        for schema, table, column, kind in columns:
            if kind not in ("VARCHAR", "JSON"):
                continue
            for (value,) in con.sql(f'select "{column}" from "{schema}"."{table}"').fetchall():
                parts.append(str(value))
                if table == "_dlt_pipeline_state" and column == "state" and value:
                    parts.append(json.dumps(decompress_state(value)))
    return "\n".join(parts)


def _auth(base_url: str, store: TokenStore, seed: str, **options: Any) -> OAuth2RefreshToken:
    """The auth object a run would build, outside any run."""
    client_secret = options.pop("secret", CLIENT_SECRET)
    written = {
        "client": {
            "base_url": base_url,
            "auth": {
                "type": "oauth2_refresh_token",
                "token_url": base_url + TOKEN_PATH.lstrip("/"),
                **{k.lower().removeprefix("oauth_"): {"secret": k} for k in ENV_NAMES},
                **options,
            },
        },
        "resources": ["events"],
    }
    environ = dict(zip(ENV_NAMES, (CLIENT_ID, client_secret, seed), strict=True))
    resolved = resolve_secrets(written, SOURCE, environ)
    return with_refresh_token_auth(resolved, written, SOURCE, store)["client"]["auth"]


def _refresh_often(base_url: str, folder: Path, seed: str, rounds: int) -> None:
    auth = _auth(base_url, TokenStore(folder), seed)
    for _ in range(rounds):
        auth.obtain_token()


def test_two_refreshes_racing_keep_a_valid_token(vendor: Vendor, tmp_path: Path) -> None:
    seed = vendor.fresh()
    args = (vendor.api.base_url, tmp_path / "tokens", seed, 4)
    # processes race through the lock file, threads of one process through the thread lock
    spawn = multiprocessing.get_context("spawn")
    processes = [spawn.Process(target=_refresh_often, args=args) for _ in range(2)]
    threads = [threading.Thread(target=_refresh_often, args=args) for _ in range(2)]
    for worker in [*processes, *threads]:
        worker.start()
    for worker in [*processes, *threads]:
        worker.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0]
    assert vendor.oauth.refused == []
    assert vendor.oauth.refreshes == 4 * 4
    stored = json.loads(TokenStore(tmp_path / "tokens").path_for(SOURCE, CLIENT_ID).read_text())
    assert vendor.oauth.valid_refresh_tokens == {stored["refresh_token"]}


def test_basic_client_auth_and_scopes_are_sent_as_configured(
    vendor: Vendor, tmp_path: Path
) -> None:
    seed = vendor.fresh(client_auth="basic", rotate=False)
    auth = _auth(
        vendor.api.base_url,
        TokenStore(tmp_path / "t"),
        seed,
        client_auth="basic",
        scopes=["a", "b"],
    )
    auth.obtain_token()
    [token_request] = vendor.api.requests_to(TOKEN_PATH)
    form = token_request.form()
    assert form == {"grant_type": "refresh_token", "refresh_token": seed, "scope": "a b"}
    assert token_request.headers["authorization"].startswith("Basic ")
    assert vendor.oauth.refreshes == 1


def test_a_token_endpoint_error_shows_its_status_and_code_only(
    vendor: Vendor, tmp_path: Path
) -> None:
    seed = vendor.fresh()
    auth = _auth(
        vendor.api.base_url, TokenStore(tmp_path / "t"), seed, secret="not-the-client-secret"
    )
    with pytest.raises(ExplainedError) as caught:
        auth.obtain_token()
    message = str(caught.value)
    assert message == (
        f"the OAuth2 token endpoint refused to refresh the access token for {SOURCE}: HTTP 401 "
        f"Unauthorized for POST {vendor.api.base_url}oauth/token (invalid_client); check "
        "OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET"
    )
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_the_store_follows_the_environment_only_when_it_is_reseeded(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "state" / "tokens")
    old_umask = os.umask(0)  # the file is 0600 whatever the umask
    try:
        with store.refreshing(SOURCE, CLIENT_ID, seed="seed-one") as turn:
            assert turn.token == "seed-one"
            turn.save("rotated-two")
    finally:
        os.umask(old_umask)
    path = store.path_for(SOURCE, CLIENT_ID)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700
    with store.refreshing(SOURCE, CLIENT_ID, seed="seed-one") as turn:
        assert turn.token == "rotated-two"  # the environment only seeded it
    with store.refreshing(SOURCE, "another-client", seed="seed-one") as turn:
        assert turn.token == "seed-one"  # another client never reuses it
    with store.refreshing(SOURCE, CLIENT_ID, seed="seed-three") as turn:
        assert turn.token == "seed-three"  # IT set a new token: it wins
        turn.save("seed-three")
    with store.refreshing(SOURCE, CLIENT_ID, seed="seed-three") as turn:
        assert turn.token == "seed-three"
    assert "seed-one" not in path.read_text() and "seed-three" in path.read_text()


AUTH = (
    "    auth:\n      type: oauth2_refresh_token\n"
    "      token_url: https://vendor.example.org/oauth/token\n"
    "      client_id: {secret: V_ID}\n      client_secret: {secret: V_SECRET}\n"
    "      refresh_token: {secret: V_REFRESH}\n"
)
HEAD = "name: oauth_case\ndescription: x\nowner: ana@example.com\nrest_api:\n  client:\n"
HEAD += "    base_url: https://vendor.example.org/api/\n"
TAIL = "  resources:\n    - name: events\n      endpoint: {path: events}\n"

INVALID_AUTH = [
    (
        "unknown_key",
        AUTH + "      scope: [read]\n",
        13,
        "rest_api.client.auth: unknown key 'scope'; did you mean 'scopes'?",
    ),
    (
        "plain_http",
        AUTH.replace("https://vendor.example.org/oauth", "http://vendor.example.org/oauth"),
        9,
        "rest_api.client.auth.token_url: write the token endpoint as an https:// URL",
    ),
    (
        "client_id_literal",
        AUTH.replace("{secret: V_ID}", "my-client"),
        10,
        "rest_api.client.auth.client_id: write it as {secret: NAME}",
    ),
    (
        "no_refresh_token",
        AUTH.replace("      refresh_token: {secret: V_REFRESH}\n", ""),
        7,
        "oauth2_refresh_token auth needs refresh_token",
    ),
    (
        "client_auth_unknown",
        AUTH + "      client_auth: digest\n",
        13,
        "rest_api.client.auth.client_auth: body (client_id and client_secret in the form",
    ),
    (
        "scopes_not_text",
        AUTH + "      scopes: {read: true}\n",
        13,
        "rest_api.client.auth.scopes: a list of scopes, or one space-separated string",
    ),
    (
        "shorthand",
        "    auth: oauth2_refresh_token\n",
        7,
        "the shorthand 'oauth2_refresh_token' names no credential",
    ),
]


@pytest.mark.parametrize(
    ("block", "line", "fragment"),
    [pytest.param(block, line, fragment, id=case) for case, block, line, fragment in INVALID_AUTH],
)
def test_validate_points_at_the_auth_key_to_fix(block: str, line: int, fragment: str) -> None:
    result = load_source_text(HEAD + block + TAIL, Path("sources/oauth_case.yaml"))
    rendered = [f"{e.line}: {e.message}" for e in result.errors]
    assert any(e.line == line and fragment in e.message for e in result.errors), rendered


def test_validate_accepts_the_documented_block_and_dlt_builds_it_offline() -> None:
    options = "      scopes: read write\n      client_auth: basic\n"
    options += "      token_request_params: {audience: api, tenant: {secret: V_TENANT}}\n"
    result = load_source_text(HEAD + AUTH + options + TAIL, Path("sources/oauth_case.yaml"))
    assert [str(e) for e in result.errors] == []
    assert result.source is not None


def test_the_setting_points_the_store_elsewhere(
    tmp_path: Path, warehouse_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.kinds.rest_api.token_store import default_store
    from pipelines.settings import PROJECT_ROOT

    assert default_store().folder == warehouse_path.parent / ".marketing_dlt" / "oauth2_tokens"
    monkeypatch.setenv("SOURCEGATE_TOKEN_STORE", str(tmp_path / "mounted"))
    assert default_store().folder == tmp_path / "mounted"
    monkeypatch.setenv("SOURCEGATE_TOKEN_STORE", "state/tokens")
    assert default_store().folder == PROJECT_ROOT / "state" / "tokens"
