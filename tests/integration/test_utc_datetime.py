"""Stored moments come back aware and in UTC on both databases; naive ones are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import StatementError

from hashcart.errors import HashcartError
from hashcart.store.database import make_engine
from hashcart.store.schema import NaiveDateTimeError, UTCDateTime

MOMENT = datetime(2026, 11, 20, 12, 30, 15, 123456, tzinfo=UTC)
TOKYO = timezone(timedelta(hours=9))

_metadata = MetaData()
_moments = Table(
    "moments",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=True),
)


def _engine(database_url: str) -> Engine:
    if database_url.startswith("postgresql"):
        # A server whose sessions run in another zone hands timestamptz back in that zone.
        url = make_url(database_url).update_query_dict({"options": "-c timezone=Asia/Tokyo"})
        database_url = url.render_as_string(hide_password=False)
    engine = make_engine(database_url)
    _metadata.create_all(engine)
    return engine


def _store(engine: Engine, *moments: datetime | None) -> None:
    with engine.begin() as connection:
        connection.execute(insert(_moments), [{"at": moment} for moment in moments])


def test_a_stored_moment_reads_back_aware_in_utc(database_url: str) -> None:
    engine = _engine(database_url)
    _store(engine, MOMENT)
    with engine.connect() as connection:
        read = connection.execute(select(_moments.c.at)).scalar_one()
    assert read == MOMENT
    assert read.tzinfo is UTC
    assert read.isoformat() == "2026-11-20T12:30:15.123456+00:00"


def test_a_moment_in_another_zone_is_stored_as_the_same_instant(database_url: str) -> None:
    engine = _engine(database_url)
    _store(engine, MOMENT.astimezone(TOKYO))
    with engine.connect() as connection:
        read = connection.execute(select(_moments.c.at)).scalar_one()
        # Compared in the database too: SQLite compares the stored text, so it must be UTC's.
        later = connection.execute(
            select(func.count()).where(_moments.c.at < MOMENT + timedelta(seconds=1))
        ).scalar_one()
    assert read == MOMENT and read.tzinfo is UTC
    assert later == 1


def test_aggregates_over_moments_read_back_in_utc(database_url: str) -> None:
    engine = _engine(database_url)
    _store(engine, MOMENT, MOMENT + timedelta(hours=1), None)
    with engine.connect() as connection:
        earliest = connection.execute(select(func.min(_moments.c.at))).scalar_one()
        nothing = connection.execute(
            select(_moments.c.at).where(_moments.c.at.is_(None))
        ).scalar_one()
    assert earliest == MOMENT and earliest.tzinfo is UTC
    assert nothing is None


def test_a_naive_moment_is_refused_on_both_databases(database_url: str) -> None:
    engine = _engine(database_url)
    with pytest.raises(StatementError) as refused:
        _store(engine, MOMENT.replace(tzinfo=None))
    assert isinstance(refused.value.orig, NaiveDateTimeError)
    assert isinstance(refused.value.orig, HashcartError)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(_moments)).scalar_one() == 0
