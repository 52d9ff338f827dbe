"""Secrets and the folders a source may read, enforced where they are used (issue 10, part 4).

- `{secret: NAME, prefix: "Vendor-API-Key "}` works wherever `{secret: NAME}` does;
- credentials in URLs and under secret-sounding keys are refused by `validate`;
- the PostgreSQL warehouse URL (with its password) never reaches Dagster;
- a server warehouse never hashes PII with a salt file it made up;
- a local `bucket_url` is confined to the data root, at validation and again at run time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from dagster import DagsterInstance

from pipelines.governance.salt import SALT_ENV, MissingSaltError, load_salt
from pipelines.governance.secrets import contains_secret_refs, mask_secrets, resolve_secrets
from pipelines.runtime.warehouse import Warehouse
from pipelines.spec.registry import load_source_file
from tests.cli_processes import run_cli
from tests.conftest import isolated_env
from tests.fake_api import serve, stripe_api, stripe_customers
from tests.postgres_server import find_bin_dir, postgres_server

HEAD = "name: {name}\ndescription: x\nowner: ana@example.com\n"
REST = HEAD + (
    "rest_api:\n  client:\n    base_url: {base_url}\n{client}"
    "  resources:\n    - name: contacts\n      endpoint:\n        path: contacts\n{endpoint}"
)
FILES = HEAD + "files:\n  bucket_url: {bucket_url}\n  format: csv\n  table: rows\n{extra}"
KLAVIYO_HEADER = (
    '    headers:\n      Authorization: {secret: KLAVIYO_API_KEY, prefix: "Klaviyo-API-Key "}\n'
)
PASSWORD = "Pw-9d1f3c7eQ"


def _rest(
    base_url: str = "https://a.klaviyo.com/api/",
    client: str = "",
    endpoint: str = "",
    name: str = "vendor_api",
) -> str:
    return REST.format(name=name, base_url=base_url, client=client, endpoint=endpoint)


def _files(bucket_url: str, extra: str = "", name: str = "file_drop") -> str:
    return FILES.format(name=name, bucket_url=bucket_url, extra=extra)


def _errors(tmp_path: Path, body: str, name: str) -> list[tuple[int, str]]:
    path = tmp_path / f"{name}.yaml"
    path.write_text(body)
    return [(e.line, e.message) for e in load_source_file(path).errors]


# --- {secret: NAME, prefix: ...} -------------------------------------------------------------


def test_a_prefixed_secret_resolves_to_prefix_and_value_and_masks_the_value_only() -> None:
    config = {
        "headers": {"Authorization": {"secret": "KLAVIYO_API_KEY", "prefix": "Klaviyo-API-Key "}},
        "params": {"key": {"secret": "PLAIN"}},
    }
    env = {"KLAVIYO_API_KEY": "pk_abc123", "PLAIN": "p"}
    assert contains_secret_refs(config) == {"KLAVIYO_API_KEY", "PLAIN"}
    assert resolve_secrets(config, "src", env) == {
        "headers": {"Authorization": "Klaviyo-API-Key pk_abc123"},
        "params": {"key": "p"},
    }
    assert mask_secrets(config)["headers"]["Authorization"] == "Klaviyo-API-Key ***"


def test_a_prefixed_secret_validates_wherever_a_secret_may_stand(tmp_path: Path) -> None:
    header = _rest(client=KLAVIYO_HEADER)
    assert _errors(tmp_path, header, "vendor_api") == []
    param = _rest(endpoint='        params: {token: {secret: VENDOR_TOKEN, prefix: "v1:"}}\n')
    assert _errors(tmp_path, param, "vendor_api") == []
    sql = HEAD.format(name="shop_db") + (
        'sql_database:\n  credentials: {secret: SHOP_DB_PASSWORD, prefix: "postgresql://app:"}\n'
        "  tables:\n    - name: customers\n"
    )
    assert _errors(tmp_path, sql, "shop_db") == []


@pytest.mark.parametrize(
    ("reference", "fragment"),
    [
        ('{secret: KLAVIYO_API_KEY, prefx: "Klaviyo-API-Key "}', "a secret reference is written"),
        ("{secret: KLAVIYO_API_KEY, prefix: 5}", "a secret reference is written"),
        ("{secret: pk_live_key}", "`secret:` names an environment variable"),
        ('{secret: KLAVIYO_API_KEY, prefix: "Bearer 9f86d081884c7d65"}', "the prefix of a secret"),
    ],
)
def test_a_malformed_secret_reference_is_refused_with_its_line(
    tmp_path: Path, reference: str, fragment: str
) -> None:
    body = _rest(client=f"    headers:\n      Authorization: {reference}\n")
    errors = _errors(tmp_path, body, "vendor_api")
    assert any(line == 8 and fragment in message for line, message in errors), errors
    assert not any(s in str(errors) for s in ("pk_live_key", "9f86d0818"))


def _stripe_with_header(spec: Path, base_url: str, prefix: str, repo: Path) -> None:
    """The bundled Stripe source at ``base_url``, sending `Authorization: <prefix><key>`."""
    auth = "    auth:\n      type: bearer\n      token: {secret: STRIPE_API_KEY}\n"
    header = f'    headers:\n      Authorization: {{secret: STRIPE_API_KEY, prefix: "{prefix}"}}\n'
    text = (repo / "sources" / spec.name).read_text()
    assert auth in text
    spec.write_text(text.replace(auth, header).replace("https://api.stripe.com/v1/", base_url))


@pytest.mark.dagster
def test_a_prefixed_header_reaches_the_api_and_never_the_logs(
    repo: Path, sources_copy: Path, materialize_sources, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    token = "sk_test_4eC39HqLyjWDarjtT1zdp7dcPREFIXED"
    monkeypatch.setenv("STRIPE_API_KEY", token)
    runs = {}
    with DagsterInstance.ephemeral() as instance:
        # the fake wants `Bearer <key>`: Klaviyo's scheme reaches it, logged, and gets a 401
        for prefix, count in (("Bearer ", 30), ("Klaviyo-API-Key ", 3)):
            with serve(stripe_api(token, stripe_customers(count))) as api:
                spec = sources_copy / "stripe_customers.yaml"
                _stripe_with_header(spec, f"{api.base_url}v1/", prefix, repo)
                runs[prefix] = materialize_sources(sources_copy, [spec.stem], instance=instance)
            assert api.requests[0].headers["authorization"] == prefix + token
        events = [repr(r) for run in runs.values() for r in instance.all_logs(run.result.run_id)]
    ok, refused = runs.values()
    assert ok.success, ok.failure
    assert ok.materializations[("stripe_customers", "customers")]["rows_loaded"] == 30
    assert not refused.success and "401" in refused.failure and token not in refused.failure
    assert not any(token in event for event in events)
    captured = capfd.readouterr()
    assert token not in captured.out + captured.err


# --- literal secrets in URLs and under secret-sounding keys -----------------------------------

SAS = (
    "https://acct.blob.core.windows.net/drops?sv=2022-11-02&ss=b&srt=co&sp=rl"
    "&se=2030-01-01T00:00:00Z&sig=AbCdEf0123456789%2BxyzQ%3D"
)
# case (= source name): (file body, line, what `validate` says there)
LITERALS = {
    "password_in_bucket": (
        _files("https://user:Password1@files.example.com/exports", name="password_in_bucket"),
        5,
        "files.bucket_url: this URL contains a password; remove it",
    ),
    "azure_sas": (
        _files(f'"{SAS}"', name="azure_sas"),
        5,
        "files.bucket_url: this URL carries a secret in its query (sig=)",
    ),
    "token_in_base_url": (
        _rest(base_url="https://api.example.com/v1/?token=Tk9x2Lm4Qa", name="token_in_base_url"),
        6,
        "rest_api.client.base_url: this URL carries a secret in its query (token=)",
    ),
    "key_in_param_url": (
        _rest(
            endpoint="        params: {next: 'https://x.example.com/p?key=abcdef'}\n",
            name="key_in_param_url",
        ),
        11,
        "rest_api.resources[0].endpoint.params.next: this URL carries a secret in its query (key=)",
    ),
    "hex_api_token": (
        _rest(
            endpoint="        params:\n          api_token: 9f86d081884c7d659a2feaa0c55ad015\n",
            name="hex_api_token",
        ),
        12,
        "rest_api.resources[0].endpoint.params.api_token: a literal secret is not allowed here; "
        "write {secret: HEX_API_TOKEN_API_TOKEN}",
    ),
    "auth_token_header": (
        _rest(client="    headers: {X-Auth-Token: ab12cd34ef56}\n", name="auth_token_header"),
        7,
        "rest_api.client.headers.X-Auth-Token: a literal secret",
    ),
    "signature_param": (
        _rest(endpoint="        params: {signature: x1y2z3w4v5}\n", name="signature_param"),
        11,
        "rest_api.resources[0].endpoint.params.signature: a literal secret",
    ),
    "webhook_path": (
        _rest(
            base_url="https://hooks.slack.com/services/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",
            name="webhook_path",
        ),
        6,
        "rest_api.client.base_url: this URL carries a secret in its path",
    ),
    "cookie_header": (
        _rest(client="    headers: {Cookie: session=c00k1e5e55i0n}\n", name="cookie_header"),
        7,
        "rest_api.client.headers.Cookie: a literal secret",
    ),
}
LITERAL_VALUES = (
    *("Password1", "AbCdEf0123", "Tk9x2Lm4Qa", "abcdef", "9f86d0818", "ab12", "x1y2z3"),
    *("aB3dE5fG7hJ9kL1mN3pQ5rS7", "c00k1e5e55i0n"),
)


def test_validate_refuses_secrets_in_urls_and_under_sensitive_keys(
    repo: Path, tmp_path: Path
) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    for case, (body, _, _) in LITERALS.items():
        (sources / f"{case}.yaml").write_text(body)
    done = run_cli(["validate", str(sources)], isolated_env(tmp_path), tmp_path / "validate.log")
    assert done.returncode == 1
    for case, (_, line, message) in LITERALS.items():
        assert f"{case}.yaml:{line}: {message}" in done.output, (case, done.output)
    assert not any(value in done.output for value in LITERAL_VALUES)


def test_ordinary_settings_with_secret_sounding_names_are_not_secrets(tmp_path: Path) -> None:
    client = (
        "    auth: {type: api_key, name: X-API-Key, location: header, "
        "api_key: {secret: VENDOR_KEY}}\n"
        "    headers: {revision: '2024-10-15', Accept: application/json}\n"
        "    paginator: {type: header_link, links_next_key: next}\n"
    )
    endpoint = (
        "        data_selector: data\n"
        "        paginator: {type: cursor, cursor_path: links.next_cursor, cursor_param: cursor}\n"
        "        params:\n"
        "          keyword: shoes\n"
        "          design: modern_v2\n"
        "          sort_key: created_at\n"
        "          author: ana@example.com\n"
        "          token_type: bearer\n"
        "          signup_after: '2024-01-01'\n"
        "          api_token: '{resources.login.token}'\n"
        "          page_size: 100\n"
    )
    body = _rest(base_url="https://api.example.com/v1/?version=2024-06", client=client)
    body = body.replace("        path: contacts\n", f"        path: contacts\n{endpoint}")
    body += "      primary_key: id\n    - name: login\n      endpoint: {path: login}\n"
    assert _errors(tmp_path, body, "vendor_api") == []
    files = _files("s3://bucket/exports?versionId=3", "  primary_key: row_key\n")
    assert _errors(tmp_path, files, "file_drop") == []


# --- the warehouse URL never reaches Dagster ---------------------------------------------------

SERVER_URL = f"postgresql://loader:{PASSWORD}@db.internal:5432/marketing"


def test_the_warehouse_password_stays_out_of_the_repository_snapshot(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster._core.remote_representation.external_data import RepositorySnap
    from dagster._serdes import serialize_value

    from assets.factory import build_definitions
    from assets.resources import WarehouseResource

    monkeypatch.setenv("SOURCEGATE_WAREHOUSE", SERVER_URL)
    defs = build_definitions(repo / "sources")
    snapshot = serialize_value(RepositorySnap.from_def(defs.get_repository_def()))
    assert "crm_contacts" in snapshot and "db.internal" not in snapshot
    assert PASSWORD not in snapshot
    # the resource reads the URL from the environment when the run starts
    resource = defs.resources["warehouse"]
    assert resource.location == "" and resource.get().url == SERVER_URL
    warehouse = Warehouse.from_setting(SERVER_URL)
    assert str(warehouse) == "postgresql://db.internal:5432/marketing"
    assert PASSWORD not in repr(warehouse) and PASSWORD not in f"{warehouse!r} {warehouse}"
    # a URL other than the environment's cannot be smuggled into the config, nor echoed
    with pytest.raises(Exception) as refused:
        WarehouseResource(location=SERVER_URL.replace("db.internal", "other.internal"))
    assert "SOURCEGATE_WAREHOUSE" in str(refused.value) and PASSWORD not in str(refused.value)


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    """A throwaway PostgreSQL server (trust authentication: any password is accepted)."""
    if find_bin_dir() is None and not os.environ.get("CI"):
        pytest.skip("PostgreSQL server binaries are not installed")
    with postgres_server() as url:
        yield url


@pytest.mark.dagster
def test_a_run_on_postgres_keeps_the_password_out_of_events_and_output(
    pg_server: str, repo: Path, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    from dagster import materialize

    from assets.factory import definitions_for_sources
    from pipelines.spec.registry import load_registry

    engine = sa.create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with engine.connect() as con:
        con.execute(sa.text('drop database if exists "secret_wh"'))
        con.execute(sa.text('create database "secret_wh"'))
    engine.dispose()
    url = re.sub(r"//postgres:postgres@", f"//postgres:{PASSWORD}@", pg_server).rsplit("/", 1)[0]
    url += "/secret_wh"
    monkeypatch.setenv("SOURCEGATE_WAREHOUSE", url)
    monkeypatch.setenv(SALT_ENV, "pg-secret-salt")
    chosen = [s for s in load_registry(repo / "sources").sources if s.name == "crm_contacts"]
    with DagsterInstance.ephemeral() as instance:
        defs = definitions_for_sources(chosen, url)
        result = materialize(
            list(defs.assets), resources=defs.resources, instance=instance, raise_on_error=False
        )
        assert result.success
        events = "\n".join(repr(r) for r in instance.all_logs(result.run_id))
    assert "secret_wh.crm_contacts.contacts" in events
    assert PASSWORD not in events
    captured = capfd.readouterr()
    assert PASSWORD not in captured.out + captured.err


# --- the PII salt of a server warehouse -------------------------------------------------------


def test_a_server_warehouse_never_hashes_with_a_made_up_salt_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SALT_ENV, raising=False)
    monkeypatch.setenv("SOURCEGATE_STATE_DIR", str(tmp_path / "state"))
    server = Warehouse.from_setting(SERVER_URL)
    with pytest.raises(MissingSaltError) as missing:
        load_salt(server.state_dir)
    message = str(missing.value)
    assert SALT_ENV in message and "secrets.token_hex(32)" in message
    assert not (tmp_path / "state").exists()
    with pytest.raises(MissingSaltError):
        load_salt(server.state_dir, create=False)
    monkeypatch.setenv(SALT_ENV, "from-the-vault")
    assert load_salt(server.state_dir) == b"from-the-vault"

    monkeypatch.delenv(SALT_ENV)
    duck = Warehouse.from_setting(tmp_path / "wh" / "marketing.duckdb")
    first = load_salt(duck.state_dir)
    assert (duck.state_dir / "pii_salt").exists() and load_salt(duck.state_dir) == first


def test_preview_on_a_server_warehouse_without_salt_says_how_to_make_one(
    repo: Path, tmp_path: Path
) -> None:
    env = isolated_env(tmp_path) | {"SOURCEGATE_WAREHOUSE": SERVER_URL}
    env.pop(SALT_ENV, None)
    done = run_cli(["preview", "crm_contacts", "--limit", "3"], env, tmp_path / "preview.log")
    assert done.returncode == 1, done.output
    assert SALT_ENV in done.output and "secrets.token_hex(32)" in done.output
    assert PASSWORD not in done.output and "Traceback" not in done.output


# --- local folders stay inside the data root --------------------------------------------------

OUTSIDE = [
    ("absolute", _files("/etc", "  file_glob: passwd\n", name="etc_files"), 5, "bucket_url"),
    ("dot_dot", _files("../../etc", "  file_glob: passwd\n", name="etc_files"), 5, "bucket_url"),
    ("file_url", _files("file:///etc", "  file_glob: passwd\n", name="etc_files"), 5, "bucket_url"),
    ("chained", _files("simplecache::file:///etc", name="etc_files"), 5, "bucket_url"),
]


@pytest.mark.parametrize(
    ("body", "line", "field"), [pytest.param(b, n, f, id=case) for case, b, n, f in OUTSIDE]
)
def test_validate_refuses_a_folder_outside_the_data_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, line: int, field: str
) -> None:
    monkeypatch.setenv("SOURCEGATE_DATA_ROOT", "data")
    errors = _errors(tmp_path, body, "etc_files")
    assert any(
        n == line
        and m.startswith(f"files.{field}: ")
        and "outside the data root (data/)" in m
        and "SOURCEGATE_DATA_ROOT" in m
        for n, m in errors
    ), errors


def test_a_file_glob_cannot_climb_out_of_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCEGATE_DATA_ROOT", "data")
    body = _files("data/samples/crm", "  file_glob: ../../../etc/passwd\n")
    errors = _errors(tmp_path, body, "file_drop")
    assert any(n == 8 and "must stay inside bucket_url" in m for n, m in errors), errors


def test_folders_inside_the_data_roots_are_read_and_links_out_are_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drops = tmp_path / "drops"
    (drops / "crm").mkdir(parents=True)
    (drops / "etc").symlink_to("/etc")
    monkeypatch.setenv("SOURCEGATE_DATA_ROOT", f"data{os.pathsep}{drops}")
    assert _errors(tmp_path, _files(str(drops / "crm")), "file_drop") == []
    assert _errors(tmp_path, _files("data/samples/crm"), "file_drop") == []
    errors = _errors(tmp_path, _files(str(drops / "etc")), "file_drop")
    assert any("outside the data root" in m for _, m in errors), errors


def test_preview_and_validate_never_read_outside_the_data_root(repo: Path, tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "etc_files.yaml").write_text(_files("/etc", "  file_glob: passwd\n", "etc_files"))
    env = isolated_env(tmp_path, SOURCEGATE_DATA_ROOT="data", SOURCEGATE_PII_SALT="s")
    checked = run_cli(["validate", str(sources)], env, tmp_path / "validate.log")
    assert checked.returncode == 1
    assert "etc_files.yaml:5: files.bucket_url: '/etc' is outside the data root" in checked.output
    shown = run_cli(
        ["preview", "etc_files", "--sources", str(sources)], env, tmp_path / "preview.log"
    )
    # a file with problems is a failure (1); 2 is for a name with no file at all
    assert shown.returncode == 1 and "outside the data root" in shown.output
    assert "root:x:0:0" not in shown.output


@pytest.mark.dagster
def test_a_run_checks_the_data_root_again(
    tmp_path: Path, warehouse_path: Path, monkeypatch: pytest.MonkeyPatch, query
) -> None:
    from dagster import materialize

    from assets.factory import definitions_for_sources
    from pipelines.spec.registry import load_registry

    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "rows_1.csv").write_text("id,name\n1,a\n")
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "file_drop.yaml").write_text(_files(str(drop)))
    monkeypatch.setenv("SOURCEGATE_DATA_ROOT", str(tmp_path))
    chosen = load_registry(sources).sources
    assert [s.name for s in chosen] == ["file_drop"]
    defs = definitions_for_sources(chosen, warehouse_path)
    monkeypatch.setenv("SOURCEGATE_DATA_ROOT", "data")  # narrowed after the file was validated
    result = materialize(list(defs.assets), resources=defs.resources, raise_on_error=False)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    data = failure.step_failure_data
    text = data.user_failure_data.description if data.user_failure_data else data.error.message
    assert "outside the data root" in text
    if warehouse_path.exists():  # nothing was read, so nothing landed
        schemas = query("select schema_name from information_schema.schemata")
        assert ("file_drop",) not in schemas


@pytest.mark.parametrize(
    ("value", "credential"),
    [
        ("(start:(year:2026,month:1,day:1))", False),  # LinkedIn's Rest.li date range
        ("List(urn%3Ali%3AsponsoredAccount%3A123456)", False),
        ("impressions,clicks,costInLocalCurrency,externalWebsiteConversions", False),
        ("a8Fj3kL9qW2eR5tY7uI1oP4aS6dF8gH0", True),  # letters and digits mixed in one part
        ("ABCDEFGhijklmnopQRSTUVwxyzABCDEF", True),  # one long part: no structure
        ("sk_live_abcdef1234567890abcdef", True),
        ("svc:QwErTyUiOpAsDfGhJkLzXcVb", True),  # no list or call structure: still a secret
        ("1234567890123456:AbCdEfGhIjKlMnOpQrStUvWx", True),
    ],
)
def test_structured_query_values_are_no_credentials(value: str, credential: bool) -> None:
    from pipelines.governance.secret_scan import looks_like_credential

    assert looks_like_credential(value) is credential
