"""Logging set-up: structlog, entering the project here only.

``vb hub run`` writes one JSON object per line (for log shippers); humans get a console renderer.
Other modules call ``get_logger(name)`` and log events with keyword fields; they never import structlog.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any, Protocol, cast

import structlog


class Logger(Protocol):
    def debug(self, event: str, **fields: Any) -> Any: ...
    def info(self, event: str, **fields: Any) -> Any: ...
    def warning(self, event: str, **fields: Any) -> Any: ...
    def error(self, event: str, **fields: Any) -> Any: ...
    def exception(self, event: str, **fields: Any) -> Any: ...


def _add_pid(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event["pid"] = os.getpid()  # several hub processes may share one log
    return event


def configure(*, json: bool, level: str = "INFO") -> None:
    """JSON lines (``json=True``) or a readable console; timestamps in ISO 8601 UTC."""
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else (structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()))
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _add_pid,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def quiet() -> None:
    """Drop everything below warnings (``vb demo`` prints its own story)."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def get_logger(name: str) -> Logger:
    return cast(Logger, structlog.get_logger(name))
