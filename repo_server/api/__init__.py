"""The JSON API under ``/api/v1`` for the CLI and CI pipelines.

Each domain adds its routes to :data:`bp` in its own ``api.py``; this package holds the
blueprint, request helpers and the OpenAPI document.
"""
