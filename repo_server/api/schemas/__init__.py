"""The shapes of the JSON API, one module per domain (``groups``, ``auth``, ...), each
declared once as pydantic models: they validate what comes in, serialise what goes out and
generate the OpenAPI document (see :mod:`repo_server.api.contract`)."""
