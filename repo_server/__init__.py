"""The Depot server: a Flask application over a database and a blob store.

``create_app()`` in :mod:`repo_server.app` builds it; ``depot-server`` (:mod:`repo_server.cli`)
administers and runs it.
"""
