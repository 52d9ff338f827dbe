"""Mistakes a marketer makes in a source file, each with the message and line we promise.

Each row: (id, file body, expected line, fragment the message must contain).
The files are written as `<stem>.yaml` where stem is `bad_source` unless the row says otherwise.
"""

VALID = """\
name: bad_source
description: Contacts exported nightly from the CRM
owner: team:marketing-ops
files:
  bucket_url: data/samples/crm
  file_glob: "contacts_*.csv"
  format: csv
  table: contacts
  primary_key: contact_id
checks:
  contacts:
    - expect: not_null
      column: contact_id
"""


def _replace(old: str, new: str) -> str:
    assert old in VALID, old
    return VALID.replace(old, new)


_SQL = (
    "name: bad_source\ndescription: CRM tables\nowner: team:marketing-ops\n"
    "sql_database:\n  credentials: {secret: CRM_DB_URL}\n  tables:\n    - name: contacts\n"
)

INVALID_SPECS = [
    (
        "unknown_key_in_a_kind_model",
        _SQL + "      incremntal: {cursor_column: updated_at}\n",
        8,
        "unknown key 'incremntal'; did you mean 'incremental'?",
    ),
    (
        "double_underscore_table",
        _replace("  table: contacts\n", "  table: crm__contacts\n"),
        4,
        "table name 'crm__contacts' contains '__', which dlt reserves for nested tables",
    ),
    (
        "pii_rule_on_a_table_the_source_does_not_load",
        VALID + "pii:\n  hash: [contact.email]\n",
        15,
        "pii.hash names table 'contact', but this source only loads: contacts",
    ),
    (
        "unknown_key",
        _replace("owner: team:marketing-ops\n", "owner: team:marketing-ops\nowener: ana@x.com\n"),
        4,
        "unknown key 'owener'; did you mean 'owner'?",
    ),
    (
        "unknown_key_nested",
        _replace("  format: csv\n", "  format: csv\n  delimeter: ';'\n"),
        8,
        "files: unknown key 'delimeter'",
    ),
    (
        "wrong_type",
        _replace("checks:\n", "freshness_hours: daily\nchecks:\n"),
        10,
        "freshness_hours: Input should be a valid number",
    ),
    (
        "wrong_format_value",
        _replace("format: csv", "format: xlsx"),
        7,
        "files.format: Input should be 'csv', 'jsonl' or 'parquet' (got 'xlsx')",
    ),
    (
        "bad_name",
        _replace("name: bad_source", "name: Bad-Source"),
        1,
        "name 'Bad-Source' must be 3-41 characters",
    ),
    (
        "postgres_reserved_name",
        _replace("name: bad_source", "name: pg_source"),
        1,
        "name 'pg_source' starts with pg_, which PostgreSQL reserves",
    ),
    (
        "name_not_file_name",
        _replace("name: bad_source", "name: other_source"),
        1,
        "must match the file name; rename the file to other_source.yaml",
    ),
    (
        "two_kinds",
        VALID
        + "sql_database:\n  credentials: {secret: CRM_DB_URL}\n  tables:\n    - name: contacts\n",
        14,
        "exactly one of rest_api, files or sql_database, but this file has files and sql_database",
    ),
    (
        "no_kind",
        "name: bad_source\ndescription: x\nowner: ana@example.com\n",
        1,
        "needs one of rest_api, files or sql_database",
    ),
    (
        "check_on_unknown_table",
        _replace("  contacts:\n    - expect", "  contact:\n    - expect"),
        11,
        "checks names table 'contact', but this source only loads: contacts",
    ),
    (
        "malformed_cron",
        _replace("checks:\n", 'schedule: "every day at 6"\nchecks:\n'),
        10,
        "schedule 'every day at 6' is not a 5-field cron expression",
    ),
    (
        "cron_out_of_range",
        _replace("checks:\n", 'schedule: "0 25 * * *"\nchecks:\n'),
        10,
        "is not a 5-field cron expression",
    ),
    (
        "yaml_syntax_error",
        _replace("  format: csv\n", "  format: [csv\n"),
        8,
        "YAML syntax error",
    ),
    (
        "duplicate_key",
        _replace("  table: contacts\n", "  table: contacts\n  table: people\n"),
        9,
        "key 'table' appears twice",
    ),
    (
        "missing_owner",
        _replace("owner: team:marketing-ops\n", ""),
        1,
        "'owner' is required but missing",
    ),
    (
        "bad_owner",
        _replace("owner: team:marketing-ops", "owner: Marketing Team"),
        3,
        "is not an owner; write an email",
    ),
    (
        "unknown_check_kind",
        _replace("expect: not_null", "expect: not_empty"),
        12,
        "unknown check kind 'not_empty'",
    ),
    (
        "check_missing_column",
        _replace("      column: contact_id\n", ""),
        12,
        "checks.contacts[0].column' is required but missing",
    ),
    (
        "bad_regex",
        _replace("expect: not_null", "expect: match_regex\n      regex: '([A-Z'"),
        13,
        "does not compile",
    ),
    (
        "regex_the_warehouse_cannot_run",
        _replace("expect: not_null", "expect: match_regex\n      regex: '(?<=x)[A-Z]'"),
        13,
        "which the warehouse's regex engine (RE2 in DuckDB) does not have",
    ),
    (
        "merge_without_key",
        _replace("  primary_key: contact_id\n", "  write_disposition: merge\n"),
        4,
        "write_disposition 'merge' needs a primary_key",
    ),
    (
        "pii_unknown_table",
        VALID + "pii:\n  hash: [people.email]\n",
        15,
        "pii.hash names table 'people'",
    ),
    (
        "pii_not_qualified",
        VALID + "pii:\n  drop: [email]\n",
        15,
        "'email' must be written as table.column",
    ),
    (
        "literal_credentials",
        "name: bad_source\ndescription: x\nowner: ana@example.com\nsql_database:\n"
        "  credentials: postgresql://app:hunter2@db/crm\n  tables:\n    - name: contacts\n",
        5,
        "write it as {secret: NAME}",
    ),
    (
        "rest_api_unknown_endpoint_key",
        "name: bad_source\ndescription: x\nowner: ana@example.com\nrest_api:\n"
        "  client:\n    base_url: https://api.example.com/\n  resources:\n"
        "    - name: contacts\n      endpoint:\n        path: contacts\n        paramz: {a: 1}\n",
        9,
        "rest_api.resources[0].endpoint: received unexpected fields",
    ),
    (
        "rest_api_resource_name",
        "name: bad_source\ndescription: x\nowner: ana@example.com\nrest_api:\n"
        "  client:\n    base_url: https://api.example.com/\n  resources:\n"
        "    - name: Contacts-List\n      endpoint: {path: contacts}\n",
        8,
        "resource name 'Contacts-List' must be lower-case",
    ),
    (
        "reserved_name",
        _replace("name: bad_source", "name: marketing"),
        1,
        "is the warehouse's own catalog name",
        # written as marketing.yaml so only the reserved-name rule fires
    ),
    (
        "own_group_name",
        _replace("name: bad_source", "name: governance"),
        1,
        "name 'governance' is taken by sourcegate's own assets (governance, marts)",
        # written as governance.yaml: its assets would share keys with governance/scorecard
    ),
    (
        "not_a_mapping",
        "- just\n- a list\n",
        1,
        "the file must be a YAML mapping",
    ),
]

_REFERENCE = "    - expect: references\n      column: contact_id\n      to: {to}\n"
INVALID_SPECS += [
    (
        "references_to_one_part",
        VALID + _REFERENCE.format(to="contacts"),
        16,
        "checks.contacts[1].to: 'contacts' must be table.column for a table of this source "
        "(profiles.id) or source.table.column for another source's table",
    ),
    (
        "references_to_four_parts",
        VALID + _REFERENCE.format(to="crm.contacts.contact_id.extra"),
        16,
        "checks.contacts[1].to: 'crm.contacts.contact_id.extra' must be table.column",
    ),
    (
        "references_to_empty_part",
        VALID + _REFERENCE.format(to="contacts."),
        16,
        "checks.contacts[1].to: 'contacts.' must be table.column",
    ),
    (
        "references_to_bad_table_name",
        VALID + _REFERENCE.format(to="Contacts.contact_id"),
        16,
        "checks.contacts[1].to: table name 'Contacts' must be lower-case letters, digits",
    ),
    (
        "references_to_a_table_the_source_does_not_load",
        VALID + _REFERENCE.format(to="contact.contact_id"),
        16,
        "to: 'contact.contact_id' names table 'contact', but this source only loads: contacts; "
        "did you mean 'contacts'?",
    ),
    (
        "references_to_own_source_by_name_and_unknown_table",
        VALID + _REFERENCE.format(to="bad_source.people.id"),
        16,
        "names table 'people', but this source only loads: contacts",
    ),
    (
        "references_without_to",
        VALID + "    - expect: references\n      column: contact_id\n",
        14,
        "checks.contacts[1].to' is required but missing",
    ),
]

FILE_STEMS = {"reserved_name": "marketing", "own_group_name": "governance"}
