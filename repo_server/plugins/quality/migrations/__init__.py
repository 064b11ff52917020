"""Alembic migrations of this plugin: its own branch, named after it."""
