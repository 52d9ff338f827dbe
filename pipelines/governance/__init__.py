"""Rules IT holds every source to, applied the same way for every kind.

`pii` (hash and drop before data lands), `secrets` and `secret_scan` (`{secret: NAME}` only,
no literal credentials), `contracts` and `schema_changes` (dlt schema contracts, what changed),
`rules` (the production bar and PII conflicts found in a file).
"""
