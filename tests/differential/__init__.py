"""Differential tests: one source config through plain dlt and through sourcegate, compared."""
