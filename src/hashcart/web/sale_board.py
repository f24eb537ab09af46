"""The live claim board (issue 13): what the sale's page shows, as text, and the server-sent
events that keep it current (`/merchant/sales/<id>/events`).

The page and the stream share `board_fields` (each number of the board by the key its element
carries in `data-board-field`) and `claim_line` (one line of the claims' stream), so what the
script writes is what a reload would show. `static/sale_board.js` puts the text in; it never
parses HTML.

One stream holds a cursor (the last line's id it sent), the ids it sent within `LOOKBACK` lines
below it (a line committed late by another settler, under a lower id, still goes out once;
never one at or below where this browser started), and the last board it sent: its memory
does not grow with the sale. It ends when the browser
leaves (checked every poll), or after `STREAM_SECONDS`, when the browser's EventSource comes
back with `Last-Event-ID` and the stream goes on from there.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from hashcart.store.database import read_only_transaction
from hashcart.views.sale_board import BoardMark, board_mark, claim_events, duration
from hashcart.views.sales import sale_report
from hashcart.web.context import hashcart_of
from hashcart.web.formatting import money, network_name

__all__ = [
    "BoardStream",
    "board_fields",
    "claim_line",
    "event_cursor",
]

POLL_SECONDS = 0.5
STREAM_SECONDS = 60.0
KEEP_ALIVE_SECONDS = 15.0
LOOKBACK = 100
MAX_LINES_A_POLL = 200
MAX_CURSOR_DIGITS = 12


def board_fields(report: dict[str, Any]) -> dict[str, str]:
    """Every number the board shows, as text, by its key."""
    fields: dict[str, str] = {}
    for line in report["items"]:
        for name in ("stock", "held", "paid", "free", "waitlist", "claims", "provisional"):
            fields[f"item-{line['item']}-{name}"] = str(line[name])
    totals = report["totals"]
    revenue = totals["revenue_by_currency"]
    rate = totals["paid_rate"]
    fields.update(
        {
            "status": "Open" if report["status"] == "open" else "Closed",
            "claims": str(totals["claims"]),
            "units": str(totals["units"]),
            "units_paid": str(totals["units_paid"]),
            "paid_rate": "-" if rate is None else f"{rate * 100:.0f}%",
            "revenue": ", ".join(money(amount, currency) for currency, amount in revenue.items())
            or money(0),
            "invoices": str(totals["invoices"]),
            "invoices_paid": str(totals["invoices_paid"]),
            "pay_median": duration(totals["time_to_pay"]["median_seconds"]),
            "pay_p90": duration(totals["time_to_pay"]["p90_seconds"]),
        }
    )
    return fields


def claim_line(event: dict[str, Any]) -> dict[str, Any]:
    """One line of the claims' stream, as text: the post's platform time, who, what."""
    posted = event["posted_at"]
    words = event["words"]
    if event["kind"] == "refused" and event.get("refusal"):
        words = f"{words} ({str(event['refusal']).replace('_', ' ')})"
    return {
        "id": event["id"],
        "kind": event["kind"],
        "datetime": posted,
        "time": posted[11:19],
        "who": f"@{event['handle']} on {network_name(event['network'])}",
        "what": f"#{event['item']} ×{event['quantity']}",
        "words": words,
    }


def event_cursor(last_event_id: str | None, after: str | None) -> int:
    """Where a stream starts: the browser's Last-Event-ID (a reconnection), else `?after=`
    (the newest line the page was served with), else the beginning."""
    for given in (last_event_id, after):
        text = (given or "").strip()
        if text.isascii() and text.isdigit() and len(text) <= MAX_CURSOR_DIGITS:
            return int(text)
    return 0


def _sse(event: str | None, data: Any, event_id: int | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    if event_id is not None:
        head += f"id: {event_id}\n"
    return f"{head}data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@dataclass
class BoardStream:
    """One browser's stream of one sale's board (see the module's text)."""

    request: Request
    sale_id: int
    name: str
    cursor: int
    poll_seconds: float = POLL_SECONDS
    stream_seconds: float = STREAM_SECONDS
    clock: Callable[[], float] = time.monotonic
    _sent: set[int] = field(default_factory=set)
    _mark: BoardMark | None = None
    _board: dict[str, str] | None = None

    def __post_init__(self) -> None:
        # Where the browser started: what it had before is never sent again.
        self._floor = self.cursor

    def _read(self) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
        engine = hashcart_of(self.request).engine
        with read_only_transaction(engine) as connection:
            low = max(self._floor, self.cursor - LOOKBACK)
            found = claim_events(connection, self.sale_id, low, MAX_LINES_A_POLL + LOOKBACK)
            fresh = [e for e in found if e["id"] not in self._sent][:MAX_LINES_A_POLL]
            mark = board_mark(connection, self.sale_id)
            board = None
            if fresh or mark != self._mark:
                report = sale_report(connection, self.name)
                board = None if report is None else board_fields(report)
        self._mark = mark
        return fresh, board

    def _note(self, lines: list[dict[str, Any]]) -> None:
        for line in lines:
            self._sent.add(line["id"])
            self.cursor = max(self.cursor, line["id"])
        low = self.cursor - LOOKBACK
        self._sent = {sent for sent in self._sent if sent > low}

    async def events(self) -> AsyncIterator[bytes]:
        started = last_word = self.clock()
        yield f"retry: {int(self.poll_seconds * 4000)}\n\n".encode()
        while self.clock() - started < self.stream_seconds:
            if await self.request.is_disconnected():
                return
            lines, board = await run_in_threadpool(self._read)
            self._note(lines)
            for line in lines:
                yield _sse("claim", claim_line(line), line["id"])
                last_word = self.clock()
            if board is not None and board != self._board:
                self._board = board
                yield _sse("board", board, self.cursor or None)
                last_word = self.clock()
            if self.clock() - last_word >= KEEP_ALIVE_SECONDS:
                yield b": still here\n\n"
                last_word = self.clock()
            await asyncio.sleep(self.poll_seconds)
