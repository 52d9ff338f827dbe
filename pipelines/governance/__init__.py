"""Rules IT holds every source to, applied the same way for every kind.

`pii` (the PII step on every resource: `pii_rules` resolves rules to landed names,
`pii_hashing` hashes, `pii_detection` finds personal columns no rule covers), `salt` (the PII
salt), `secrets` and `secret_scan` (`{secret: NAME}` only, no literal credentials),
`placeholders` (values left from a template), `contracts` and `schema_changes` (dlt schema
contracts, what changed), `rules` (the production bar and PII conflicts found in a file).
"""
