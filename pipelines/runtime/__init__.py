"""Run machinery: where data lands and what keeps a run safe to retry.

`warehouse` and `writer_lock` (DuckDB or PostgreSQL, one writer at a time), `instance` (the
shared Dagster instance), `build` (the dlt source and pipeline of a spec), `load_recovery` and
`failed_packages` (finish what a crash left, drop what can never load), `failures` and
`value_errors` (one-line explanations), `dead_runs`, `run_processes`, `pool_slots` and
`interrupts` (killed runs, pool waits and signals).
"""
