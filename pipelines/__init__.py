"""sourcegate's library: everything between a source file and a loaded, checked table.

- `spec`: the YAML contract (models, line numbers, errors, the registry, the JSON Schema)
- `kinds`: one sub-package per source kind (`files`, `rest_api`, `sql_database`)
- `governance`: PII, secrets, contracts and schema changes, the production bar
- `runtime`: the warehouse, the Dagster instance, building and running dlt, crash recovery
- `cli`: the `sourcegate` command, one module per command
- `settings`: paths and the environment variables that move them
"""
