"""Measure duplicate emails when the dispatcher is killed (SIGKILL) at random moments.

    .venv/bin/python -m tests.outbox.kill_measure --emails 1418 --kills 10 [--seed 1]
        [--database-url postgresql+psycopg://...]

A real SMTP server (aiosmtpd) on loopback receives the mail; `N` emails are queued in a fresh
database (a SQLite file unless a URL is given); a child process runs the dispatcher until it
is killed at a random moment, then another is started, `K` times, and a last one finishes the
work. Each child's clock runs a lease ahead of the one before, so the rows a killed child left
`sending` are claimed again at once instead of five minutes later. At the end every received
Message-ID is counted: a duplicate is one received more than once, a loss one never received.
Not a test (it takes real time and real kills); the tests pin the behaviour, this measures it.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, select

LOOPBACK = "127.0.0.1"


class _Counting:
    """aiosmtpd handler: keeps each received Message-ID and wakes whoever waits for one."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content or envelope.content, policy=default)
        with self.arrived:
            self.ids.append(str(parsed["Message-ID"]))
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.ids) >= count, timeout)


class _AheadClock:
    def __init__(self, ahead: timedelta) -> None:
        self.ahead = ahead

    def now(self) -> datetime:
        return datetime.now(UTC) + self.ahead


def _settings(url: str, port: int) -> Any:
    from hashcart.config import Settings

    return Settings(
        database_url=url,
        smtp_host=LOOPBACK,
        smtp_port=port,
        mail_from="Trailhead Coffee <shop@trailhead.example>",
    )


def child(url: str, port: int, ahead_minutes: int) -> None:
    """One dispatcher process: send until nothing is due (or until killed)."""
    from hashcart.bootstrap import open_app
    from hashcart.outbox.dispatcher import dispatch_once

    app = open_app(_settings(url, port), _AheadClock(timedelta(minutes=ahead_minutes)))
    while dispatch_once(app, limit=100).handled:
        pass


def measure(url: str, emails: int, kills: int, seed: int, spread: float) -> dict[str, Any]:
    from aiosmtpd.controller import Controller

    from hashcart.bootstrap import open_app
    from hashcart.outbox.claims import LEASE
    from hashcart.services.mail import Email, queue_emails
    from hashcart.store import schema as t
    from tests.smtp_support import free_port

    rng = random.Random(seed)
    handler = _Counting()
    port = free_port()
    controller = Controller(handler, hostname=LOOPBACK, port=port)
    controller.start()
    app = open_app(_settings(url, port))
    with app.unit_of_work() as uow:
        queue_emails(
            uow.repository,
            [
                Email(
                    f"shopper{n}@example.com",
                    f"Order {n}",
                    f"Thanks for order {n}.",
                    "test",
                    f"m{n}",
                )
                for n in range(emails)
            ],
            datetime.now(UTC),
        )
    # A build whose outbox has the delivery mark says where each kill landed.
    marked = "delivery_started_at" in {c["name"] for c in inspect(app.engine).get_columns("outbox")}
    step = int(LEASE.total_seconds() // 60) + 1
    landed: list[str] = []
    started = time.monotonic()
    try:
        for number in range(kills + 1):
            command = [sys.executable, "-m", "tests.outbox.kill_measure", "--child", url, str(port)]
            process = subprocess.Popen([*command, str(number * step)])
            if number == kills:
                process.wait(timeout=600)
                break
            # Kill at a random moment once this child is sending (a kill before its first
            # email would only measure start-up).
            if not handler.wait_for(len(handler.ids) + 1, timeout=120):
                raise RuntimeError("the dispatcher sent nothing")
            time.sleep(rng.uniform(0, spread))
            process.kill()
            process.wait()
            landed.append(_where(app.engine, t.outbox, marked))
        elapsed = time.monotonic() - started
        with app.engine.connect() as connection:
            statuses = Counter(connection.execute(select(t.outbox.c.status)).scalars())
            # Email rows' remote_id is their Message-ID; a note on a sent row: possibly twice.
            flagged = set(
                connection.execute(
                    select(t.outbox.c.remote_id).where(
                        t.outbox.c.status == "sent", t.outbox.c.last_error.is_not(None)
                    )
                ).scalars()
            )
    finally:
        controller.stop()
        app.engine.dispose()
    received = Counter(handler.ids)
    twice = {message_id for message_id, count in received.items() if count > 1}
    return {
        "emails": emails,
        "kills": kills,
        "received": len(handler.ids),
        "distinct": len(received),
        "duplicates": sum(count - 1 for count in received.values()),
        "lost": emails - len(received),
        "flagged_possibly_twice": len(flagged),
        "duplicates_not_flagged": len(twice - flagged),
        "statuses": dict(statuses),
        "kills_landed": landed,
        "seconds": round(elapsed, 1),
    }


def _where(engine: Any, outbox: Any, marked: bool) -> str:
    """Where a kill landed: with the mark, 'in DATA' if a row was left marked in flight."""
    with engine.connect() as connection:
        sending = connection.execute(select(outbox).where(outbox.c.status == "sending")).all()
    if not marked:
        return f"{len(sending)} sending"
    in_flight = [row.id for row in sending if row.delivery_started_at is not None]
    return f"in DATA (row {in_flight[0]})" if in_flight else "outside DATA"


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=1418)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--spread", type=float, default=1.0, help="kill within this many seconds of sending"
    )
    options = parser.parse_args()
    url = options.database_url
    if not url:
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'kills.db'}"
    result = measure(url, options.emails, options.kills, options.seed, options.spread)
    for name, value in result.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
