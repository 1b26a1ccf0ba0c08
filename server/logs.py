"""structlog set-up for the daemon: JSON lines for machines, a console rendering for people.

pinlet runs as a node daemon whose stderr goes to journald or a container log collector, so by
default it writes one JSON object per line there; when stderr is a terminal (someone running
``pinlet serve`` by hand) it writes the human-readable console rendering instead. Every event
carries ``timestamp`` (UTC, ISO 8601), ``level`` and ``event``; the service adds its own keys
(``method``, ``pod_uid``, ``latency_ms``, ...).
"""

from __future__ import annotations

import logging
import sys
from typing import Final

import structlog
from structlog.typing import Processor

LEVELS: Final = ("debug", "info", "warning", "error")


def configure_logging(json: bool | None = None, level: str = "info") -> None:
    """Send structlog events to stderr: JSON when ``json`` (default: stderr is not a TTY).

    ``level`` is one of :data:`LEVELS`; events below it are dropped before they are rendered.
    """
    if level not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, not {level!r}")
    if json is None:
        json = not sys.stderr.isatty()
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: list[Processor]
    if json:
        # Tracebacks become structured data rather than one escaped multi-line string.
        renderer = [structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()]
    else:
        renderer = [structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]
    structlog.configure(
        processors=[*shared, *renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        # PrintLogger flushes every line and serialises writes with a lock, so events from the
        # server's worker threads never interleave and a log reader sees each one at once.
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
    )
