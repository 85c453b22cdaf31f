"""Structured logging: one JSON object per line, with secrets and message contents kept out.

Log lines travel further than the database (collectors, tickets, screenshots), so the formatter is the last
line of defence: exception *messages* from libraries can carry user text (a validation error quotes its
input), so only our own errors, whose messages we write, keep theirs; everything else is logged by type
and stack. Anything shaped like a bot token is masked wherever it appears.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from typing import Any

from bot.errors import GuardbotError

_TOKEN = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{20,100}")
_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def scrub(text: str) -> str:
    """Mask anything shaped like a Telegram bot token."""
    return _TOKEN.sub("[token]", text)


def _safe_arg(value: object) -> object:
    if isinstance(value, BaseException) and not isinstance(value, GuardbotError):
        return type(value).__name__
    return value


def _describe_exception(exc: BaseException) -> dict[str, Any]:
    frames = [
        f"{frame.filename.rsplit('/', 2)[-1]}:{frame.lineno} {frame.name}"
        for frame in traceback.extract_tb(exc.__traceback__)
    ]
    described: dict[str, Any] = {"type": type(exc).__name__, "stack": frames[-8:]}
    if isinstance(exc, GuardbotError):
        described["message"] = str(exc)
    return described


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line; extra fields given with `extra={...}` are included."""

    def format(self, record: logging.LogRecord) -> str:
        args = record.args
        if isinstance(args, tuple):
            args = tuple(_safe_arg(a) for a in args)
        try:
            message = str(record.msg) % args if args else str(record.msg)
        except (TypeError, ValueError):
            message = str(record.msg)
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": message,
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            entry["exception"] = _describe_exception(record.exc_info[1])
        return scrub(json.dumps(entry, default=str, ensure_ascii=False))


def configure_logging(level: int = logging.INFO, stream: Any = None) -> None:
    """Route every logger (ours and aiogram's) through the JSON formatter on stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiogram logs every handled update at INFO; useful while developing, noise in production.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
