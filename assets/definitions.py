"""The Dagster code location (`workspace.yaml` points here)."""

from assets.factory import build_definitions

defs = build_definitions()
