"""`hashcart serve` configures logging: uvicorn's own lines (startup, access) and hashcart's
come out on standard error in the settings' `log_format`, one JSON object a line."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.test_cli_live import Running
from tests.smtp_support import free_port


def test_serve_writes_uvicorn_s_lines_as_json_when_told(tmp_path: Path) -> None:
    port = free_port()
    server = Running(
        tmp_path,
        "serve",
        "--port",
        str(port),
        "--no-listen",
        "--no-dispatch",
        HASHCART_LOG_FORMAT="json",
    )
    try:
        server.wait_for_line("Press Ctrl-C to stop.")
        server.wait_until_serving(port)  # one GET /, so one access line
        assert server.terminate() == 0
        logged = [line for line in server.stderr().splitlines() if line.strip()]
    finally:
        server.kill()

    entries = [json.loads(line) for line in logged]  # every line is one JSON object
    said = {(entry["logger"], entry["level"], entry["message"]) for entry in entries}
    assert (
        "uvicorn.error",
        "INFO",
        f"Uvicorn running on http://127.0.0.1:{port} (Press CTRL+C to quit)",
    ) in said
    assert any(
        logger == "uvicorn.access" and '"GET / HTTP/1.1"' in message for logger, _, message in said
    )
    # Only in the log: the banner and what runs beside the pages stay on standard output.
    assert all("hashcart serving" not in line for line in logged)
