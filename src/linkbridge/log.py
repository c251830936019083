"""structlog set-up: one JSON object per line on stderr, cheap enough for every request."""

from __future__ import annotations

import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
_ORJSON_OPTIONS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS


class StderrLogger:
    """Writes each rendered line to the sys.stderr of the moment (bytes to its buffer).

    Looked up at write time: a logger cached on first use outlives a swapped stream (pytest).
    """

    def msg(self, message: str | bytes) -> None:
        stream = sys.stderr
        if isinstance(message, bytes):
            buffer = getattr(stream, "buffer", None)
            if buffer is not None:
                stream.flush()  # text written before this line stays before it
                buffer.write(message)
                buffer.flush()
                return
            message = message.decode("utf-8")
        stream.write(message if message.endswith("\n") else message + "\n")
        stream.flush()

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


def _stderr_logger(*args: Any) -> StderrLogger:
    return StderrLogger()


class _UTCStamp:
    """ISO 8601 UTC timestamps ("2018-02-01T00:00:00.000123Z"); the seconds formatted once."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, logger: WrappedLogger, name: str, event_dict: EventDict) -> EventDict:
        now = time.time()
        second = int(now)
        if second != self._second:
            prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._prefix, self._second = prefix, second
        else:
            prefix = self._prefix
        event_dict["timestamp"] = f"{prefix}.{int((now - second) * 1_000_000):06d}Z"
        return event_dict


def configure_logging(level: str = "info", *, json: bool = True) -> None:
    """JSON lines for production; `json=False` gives readable lines for a terminal."""
    renderer: Processor = (
        structlog.processors.JSONRenderer(serializer=orjson.dumps, option=_ORJSON_OPTIONS)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _UTCStamp(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS.get(level, logging.INFO)),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=json,  # serve only: a CLI run in-process must not pin loggers
    )
