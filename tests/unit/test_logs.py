"""Log lines (hashcart.logs): one line per event, the event's ids as key=value or as JSON
fields, uvicorn's loggers through the same handler, and the settings that choose."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest
import uvicorn

from hashcart.config import Settings
from hashcart.logs import JsonFormatter, TextFormatter, configure_logging


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("hashcart.test", logging.WARNING, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


def test_text_appends_the_event_s_ids_as_key_value_in_a_fixed_order() -> None:
    line = TextFormatter().format(
        record("outbox %d failed", 7, outbox_id=7, network="x", post_id="123", order_id=None)
    )

    assert line.endswith(
        " WARNING hashcart.test: outbox 7 failed network=x post_id=123 outbox_id=7"
    )


def test_text_quotes_values_with_spaces_and_keeps_a_line_break_on_one_line() -> None:
    line = TextFormatter().format(
        record("refused:\nsecond line", source="x webhook", post_id='a"b')
    )

    assert "\n" not in line
    assert line.endswith(r'refused:\nsecond line post_id="a\"b" source="x webhook"')


def test_json_is_one_object_a_line_with_the_ids_as_fields_and_the_traceback_as_one() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        failing = record("sender broke on outbox %d", 3, network="x", outbox_id=3)
        failing.exc_info = sys.exc_info()

    line = JsonFormatter().format(failing)

    assert "\n" not in line
    entry = json.loads(line)
    assert {key: entry[key] for key in ("level", "logger", "message", "network", "outbox_id")} == {
        "level": "WARNING",
        "logger": "hashcart.test",
        "message": "sender broke on outbox 3",
        "network": "x",
        "outbox_id": 3,
    }
    assert entry["exception"].startswith("Traceback")
    assert entry["exception"].endswith("RuntimeError: boom")


@pytest.fixture
def restored_logging() -> Iterator[None]:
    names = ("", "hashcart", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
    saved = {
        name: (list(logging.getLogger(name).handlers), logging.getLogger(name).level)
        for name in names
    }
    propagate = {name: logging.getLogger(name).propagate for name in names}
    yield
    for name, (handlers, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate[name]


@pytest.mark.usefixtures("restored_logging")
def test_configuring_twice_replaces_the_first_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("text", "INFO", stream=first)
    configure_logging("json", "INFO", stream=second)

    logging.getLogger("hashcart.test").info("once")

    assert first.getvalue() == ""
    assert [json.loads(line)["message"] for line in second.getvalue().splitlines()] == ["once"]


@pytest.mark.usefixtures("restored_logging")
def test_uvicorn_s_lines_go_through_the_same_handler_and_other_libraries_only_warn() -> None:
    stream = io.StringIO()
    configure_logging("json", "INFO", stream=stream)
    uvicorn.Config(app=lambda: None, log_level="info", log_config=None)  # as `serve` makes it

    logging.getLogger("uvicorn.error").info("Uvicorn running on http://127.0.0.1:8000")
    logging.getLogger("uvicorn.access").info('127.0.0.1:5 - "GET / HTTP/1.1" 200')
    logging.getLogger("httpx").info("HTTP Request: GET https://api.x.com/2/tweets?token=t")
    logging.getLogger("httpx").warning("a library's warning")

    said = [(e["logger"], e["message"]) for e in map(json.loads, stream.getvalue().splitlines())]
    assert said == [
        ("uvicorn.error", "Uvicorn running on http://127.0.0.1:8000"),
        ("uvicorn.access", '127.0.0.1:5 - "GET / HTTP/1.1" 200'),
        ("httpx", "a library's warning"),
    ]


def test_log_format_and_level_come_from_the_environment_in_any_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HASHCART_LOG_FORMAT", "JSON")
    monkeypatch.setenv("HASHCART_LOG_LEVEL", "debug")

    settings = Settings()

    assert (settings.log_format, settings.log_level) == ("json", "DEBUG")
    assert (
        Settings.model_fields["log_format"].default,
        Settings.model_fields["log_level"].default,
    ) == ("text", "INFO")


def test_an_unknown_log_format_is_refused() -> None:
    with pytest.raises(ValueError, match="log_format"):
        Settings(log_format="xml")  # type: ignore[arg-type]
