"""Per-source scorecards: freshness, volume, schema changes, check pass rates, reliability and
time to integrate, read from the Dagster instance and git history, graded A-F.

`compute.build_scorecard` builds the `model.Scorecard`; `text` and `html` show it;
docs/scorecard.md explains every number.
"""
