"""How a PostgreSQL engine makes sure a pooled connection still works before lending it out,
without a round trip to the server when the connection is plainly fine.

SQLAlchemy's `pool_pre_ping` runs `SELECT 1` (in autocommit: a transaction of its own) at
every checkout. A bus worker checks a connection out once or twice a batch, hundreds of
times a second at a steady 1,000 triggers/s, and the ping cost it about 1 ms of Python and
0.4 ms of PostgreSQL's CPU a batch of two posts, and the server one more transaction a
batch (docs/benchmarks.md, "s27-pgbatch").

A server that ended a connection (restart, crash, `pg_terminate_backend`, an idle timeout, a
proxy closing it) says so on the socket: an error message and then end of file, or end of
file alone when the process was killed. An idle connection is otherwise sent nothing. So a
connection that is open, idle, not in an aborted transaction, with nothing waiting on its
socket, and used within the last `TRUSTED_FOR_SECONDS`, is lent without asking; any other
is pinged, and one whose ping fails is replaced (SQLAlchemy's documented "pessimistic"
disconnect handling: `DisconnectionError` at checkout makes the pool connect afresh). The
window is HikariCP's idea (`aliveBypassWindowMs`): a connection that worked a moment ago
and shows nothing wrong is not asked again; one idle for longer is, as before, since a
network path can drop it silently (a firewall's idle timeout sends nothing).
"""

from __future__ import annotations

import select
import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError

# A connection checked in less than this ago, showing nothing wrong, is lent without a ping.
TRUSTED_FOR_SECONDS = 5.0

_CHECKED_IN = "hashcart_checked_in_at"


def check_on_checkout(engine: Engine) -> None:
    """Install the check on `engine`'s pool (a psycopg 3 engine made without pre-ping)."""
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _check)


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info[_CHECKED_IN] = time.monotonic()


def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    checked_in = record.info.pop(_CHECKED_IN, None)
    if checked_in is None:
        return  # connected just now (a fresh connection is not lent twice before checkin)
    fresh = time.monotonic() - checked_in < TRUSTED_FOR_SECONDS
    if fresh and looks_alive(dbapi_connection):
        return
    if not ping(dbapi_connection):
        raise DisconnectionError("the server ended the pooled connection")


def looks_alive(connection: Any) -> bool:
    """Open, idle, and nothing sent to it since its last answer (no round trip)."""
    import psycopg
    from psycopg import pq

    if connection.closed or connection.pgconn.status != pq.ConnStatus.OK:
        return False
    if connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        return False
    try:
        readable, _, _ = select.select([connection.fileno()], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


def ping(connection: Any) -> bool:
    """SQLAlchemy's own pre-ping (`SELECT 1` in autocommit): whether the server answered."""
    import psycopg

    autocommit = connection.autocommit
    try:
        if not autocommit:
            connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if not autocommit:
            connection.autocommit = False
    except psycopg.Error:
        return False
    return True
