"""The server's log lines: readable text for the quick start, one JSON object per line in
production (``DEPOT_LOG_FORMAT=json``).

structlog formats both our own events and those of the standard library's loggers
(gunicorn, werkzeug, ``depot.*``), so that a traceback logged anywhere during a request
carries that request's id, user and route (bound with contextvars for the request).
"""

from __future__ import annotations

import logging
import sys

import structlog

_HANDLER_MARK = "_depot_handler"


def configure(log_format: str, level: str) -> None:
    """Send the ``depot`` loggers to standard error in ``log_format`` (idempotent)."""
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *([structlog.processors.format_exc_info] if log_format == "json" else []),
            renderer,
        ],
    )
    logger = logging.getLogger("depot")
    for handler in list(logger.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(formatter)
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
