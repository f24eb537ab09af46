"""Log lines of the long-running commands (`serve`, `listen`, `dispatch`, `demo --serve`):
one line per event on standard error, as text or as JSON (the `log_format` setting).

Log calls name what an event is about with `extra=`, using the field names below:
`log.warning("outbox %d (%s) failed: %s", ..., extra={"network": "x", "outbox_id": 7})`.
The text format appends them as `key=value`; the JSON format makes them fields, so a log
search can follow one outbox row, one trigger post or one order through every line.
Nothing here imports more than the standard library: every layer may log.

Levels: WARNING (or ERROR with a traceback) when something hashcart meant to do is lost
for good or needs the operator: a message given up on, a payload dead-lettered, a post
dropped unconfirmed, a stored secret that cannot be opened, a listener restarting. INFO
for what goes as it should or as designed: connected, rules synced, a network's "wait
until" obeyed, a send found already made, a stranger's link or server refused (they are
expected, and nothing of ours failed).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

LogFormat = Literal["text", "json"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

# The ids that matter, in the order lines show them: which network, which listener, the
# trigger post (or parent) a line is about, the outbox row, the order, and for a payload
# that could not be read, where it came from (the file or stream, and its line).
EVENT_FIELDS = ("network", "listener", "post_id", "outbox_id", "order_id", "source", "line")

# Loggers whose records reach the handler: hashcart's at `log_level`, uvicorn's (startup,
# errors, access lines) at INFO; any other library only from WARNING (their request logs
# could show what is not ours to show, such as tokens in URLs).
HASHCART_LOGGER = "hashcart"
LIBRARY_LEVEL = logging.WARNING


def event_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The `EVENT_FIELDS` a record carries (given through `extra=`), leaving out empty ones."""
    found = {}
    for name in EVENT_FIELDS:
        value = record.__dict__.get(name)
        if value is not None and value != "":
            found[name] = value
    return found


class TextFormatter(logging.Formatter):
    """`2026-11-27 16:35:01,123 WARNING hashcart.outbox.dispatcher: message key=value ...`.

    A line break inside a message or a value (an error a network sent, a stranger's text)
    is written as `\\n`, so one event stays one line; a traceback follows on its own lines.
    """

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = _one_line(super().formatMessage(record))
        fields = " ".join(
            f"{name}={_text_value(value)}" for name, value in event_fields(record).items()
        )
        return f"{line} {fields}" if fields else line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the event's
    fields, and `exception` (the traceback, as one string) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **event_fields(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _HashcartHandler(logging.StreamHandler[TextIO]):
    """The handler `configure_logging` installs, told apart so a second call replaces it."""


def configure_logging(
    log_format: LogFormat = "text", level: LogLevel = "INFO", stream: TextIO | None = None
) -> None:
    """Send log records to `stream` (standard error) in `log_format`: hashcart's from
    `level`, uvicorn's from INFO, other libraries' from WARNING.

    Calling it again replaces what an earlier call installed (handlers others installed,
    such as pytest's, stay). uvicorn must be started with `log_config=None`, so that it
    adds no handlers of its own and its records come here."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _HashcartHandler):
            root.removeHandler(handler)
            handler.close()
    handler = _HashcartHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(LIBRARY_LEVEL)
    logging.getLogger(HASHCART_LOGGER).setLevel(level)
    # uvicorn.Config(log_level=...) sets these loggers' levels; make sure a handler an
    # earlier uvicorn configuration left on them does not print each line a second time.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    logging.getLogger("uvicorn").setLevel(logging.INFO)


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _text_value(value: Any) -> str:
    """`value` as logfmt writes it: bare when it is one plain word, else quoted (JSON)."""
    text = str(value)
    if text and not any(char in text for char in ' "=\\') and text.isprintable():
        return text
    return json.dumps(text, ensure_ascii=False)
