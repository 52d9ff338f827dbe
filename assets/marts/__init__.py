"""Marts: SQL models built from the raw source tables."""
