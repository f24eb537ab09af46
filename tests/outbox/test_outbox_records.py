"""The outbox through the unit of work (`uow.outbox`, ports.OutboxRecords, store/outbox.py),
on SQLite and PostgreSQL: a record closes only the claim it names; a row failed for good and
the email sent instead commit together or not at all; lookups run in units of work that only
read, which refuse writes and never wait for a writer; the dispatcher sends through the
senders its host gives it; and what a server answers, however hostile, is kept storable."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

from hashcart.bootstrap import App
from hashcart.domain.messages import OutboundMessage, Reason
from hashcart.domain.posts import Network
from hashcart.outbox.claims import LEASE, claim_due, next_due_at
from hashcart.outbox.dispatcher import DispatchRun, dispatch_once
from hashcart.outbox.fallback import (
    fallback_key,
    private_fallback_key,
    queue_fallback_email,
    with_earlier_unseen,
)
from hashcart.outbox.records import MAX_REASON_CHARS, Failed, record_failed, record_sent
from hashcart.ports import MAY_BE_UNSEEN, OutboxItem, Sender, SendFailed, Sent
from hashcart.store.forget import Forgotten
from hashcart.store.repository import Repository
from hashcart.store.unit_of_work import SqlUnitOfWork, UnitOfWorkMisuse
from tests.harness import Shop
from tests.outbox.conftest import SHOP_NAME
from tests.outbox.support import queue_replies, row, rows

FIRST = "x:x-post-0:added"  # the dedupe key of the first queued reply
SHOPPER = "maya@example.com"


class Boom(Exception):
    """Raised inside a unit of work by the tests."""


def _claim_one(shop: Shop, network: str = "x") -> OutboxItem:
    [item] = claim_due(shop.app.unit_of_work, [network], shop.clock.now(), limit=1)
    return item


def _linked_shop(shop: Shop) -> None:
    """The shopper behind the first queued X reply (account `acct0`) linked, with an email."""
    shop.customer(SHOPPER, (Network.X, "acct0", "shopper0"))


# --- claims and records ---------------------------------------------------------------


def test_a_record_closes_only_the_claim_it_names(
    shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    queue_replies(shop.app, 1)
    stale = _claim_one(shop)
    claimed_at = shop.clock.now()
    # The send outlives the lease; another dispatcher claims the row again.
    shop.clock.advance(LEASE + timedelta(seconds=1))
    newer = _claim_one(shop)
    assert newer.attempt_started_at == claimed_at

    with caplog.at_level(logging.WARNING, logger="hashcart.outbox.records"):
        record_sent(shop.app.unit_of_work, stale, claimed_at, Sent("late"), shop.clock.now())

    kept = row(shop.app, FIRST)
    assert (kept.status, kept.attempt_started_at, kept.remote_id) == (
        "sending",
        shop.clock.now(),
        None,
    )
    assert [record.getMessage() for record in caplog.records] == [
        f"outbox {stale.id} was claimed again before its send ended; left as it is"
    ]
    with shop.app.unit_of_work() as uow:
        assert uow.outbox.mark_sent(newer, shop.clock.now(), Sent("on time"), shop.clock.now())
    assert row(shop.app, FIRST).remote_id == "on time"


def test_a_failed_row_and_the_email_sent_instead_roll_back_together(shop: Shop) -> None:
    _linked_shop(shop)
    queue_replies(shop.app, 1)
    item = _claim_one(shop)

    with pytest.raises(Boom), shop.app.unit_of_work() as uow:
        assert uow.outbox.mark_failed(item, shop.clock.now(), "refused")
        assert queue_fallback_email(uow, item, "refused", SHOP_NAME, shop.clock.now())
        raise Boom

    assert [(one.dedupe_key, one.status) for one in rows(shop.app)] == [(FIRST, "sending")]

    with shop.app.unit_of_work() as uow:
        assert uow.outbox.mark_failed(item, shop.clock.now(), "refused")
        assert queue_fallback_email(uow, item, "refused", SHOP_NAME, shop.clock.now())

    assert [(one.dedupe_key, one.status, one.account_id) for one in rows(shop.app)] == [
        (FIRST, "failed", "acct0"),
        (fallback_key(item.id), "queued", SHOPPER),
    ]


class ForgettingBreaks(SqlUnitOfWork):
    """A unit of work whose repository breaks as it forgets an account (a crash there)."""

    @property
    def repository(self) -> Repository:
        broken = super().repository

        def forget(network: Network, account_id: str) -> object:
            raise Boom

        broken.forget_network_account = forget  # type: ignore[assignment,method-assign]
        return broken


def _links(shop: Shop) -> int:
    with shop.app.unit_of_work(read_only=True) as uow:
        return len(uow.repository.contacts_for_accounts([(Network.X, "acct0")]))


def test_a_gone_account_is_failed_emailed_and_forgotten_in_one_unit_of_work(shop: Shop) -> None:
    _linked_shop(shop)
    queue_replies(shop.app, 1)
    item = _claim_one(shop)
    claimed_at = shop.clock.now()

    # A crash while forgetting: the failure and the email roll back with it.
    with pytest.raises(Boom):
        record_failed(
            partial(ForgettingBreaks, shop.app.engine),
            item,
            claimed_at,
            "the account is gone",
            SHOP_NAME,
            shop.clock.now(),
            forget_account=True,
        )
    assert [(one.dedupe_key, one.status) for one in rows(shop.app)] == [(FIRST, "sending")]
    assert _links(shop) == 1

    failed = record_failed(
        shop.app.unit_of_work,
        item,
        claimed_at,
        "the account is gone",
        SHOP_NAME,
        shop.clock.now(),
        forget_account=True,
    )

    assert failed.emailed
    assert failed.forgotten == Forgotten(links=1)
    assert [(one.dedupe_key, one.status, one.account_id) for one in rows(shop.app)] == [
        (FIRST, "failed", "acct0"),
        (fallback_key(item.id), "queued", SHOPPER),
    ]
    assert _links(shop) == 0


def test_a_refused_x_reply_goes_to_another_network_in_the_failures_unit_of_work(
    shop: Shop,
) -> None:
    """i11's other-network fallback (outbox/fallback) on the unit of work: the failure, the
    private message on the shopper's Bluesky and the forgetting commit together or not at
    all, and no email goes besides."""
    did = "did:plc:shopper0"
    shop.customer(SHOPPER, (Network.X, "acct0", "shopper0"), (Network.BLUESKY, did, "s.bsky"))
    queue_replies(shop.app, 1)
    item = _claim_one(shop)
    claimed_at = shop.clock.now()
    fail = partial(
        record_failed,
        item=item,
        claimed_at=claimed_at,
        reason="x refused: the shopper did not mention the shop",
        shop_name=SHOP_NAME,
        now=shop.clock.now(),
        other_networks=["x", "bluesky"],
        forget_account=True,
    )

    with pytest.raises(Boom):
        fail(partial(ForgettingBreaks, shop.app.engine))
    assert [(one.dedupe_key, one.status) for one in rows(shop.app)] == [(FIRST, "sending")]

    failed = fail(shop.app.unit_of_work)

    assert (failed.another_network, failed.emailed, failed.forgotten) == (
        True,
        False,
        Forgotten(links=1),
    )
    assert [
        (one.dedupe_key, one.network, one.channel, one.account_id) for one in rows(shop.app)
    ] == [
        (FIRST, "x", "reply", "acct0"),
        (private_fallback_key(item.id), "bluesky", "private", did),
    ]
    # Recorded again (a late duplicate answer): the claim is closed, nothing more is queued.
    assert fail(shop.app.unit_of_work) == Failed()
    assert len(rows(shop.app)) == 2


def test_an_unlinked_account_gets_no_email_instead(shop: Shop) -> None:
    queue_replies(shop.app, 1)
    item = _claim_one(shop)

    with shop.app.unit_of_work() as uow:
        assert uow.outbox.linked_email("x", "acct0") is None
        assert not queue_fallback_email(uow, item, "refused", SHOP_NAME, shop.clock.now())


# --- units of work that only read ------------------------------------------------------


def test_a_read_only_unit_of_work_refuses_to_write(shop: Shop) -> None:
    queue_replies(shop.app, 1)
    now = shop.clock.now()

    with pytest.raises(DBAPIError), shop.app.unit_of_work(read_only=True) as uow:
        uow.outbox.hold_network("x", now, now + timedelta(hours=1))

    assert row(shop.app, FIRST).next_attempt_at is None
    with shop.app.unit_of_work(read_only=True) as uow:
        assert uow.outbox.next_due_at(["x"], now, LEASE) == now


@pytest.fixture
def impatient_shop(tmp_path: Path) -> Iterator[Shop]:
    """A SQLite shop whose connections wait a quarter of a second for the write lock."""
    made = Shop(f"sqlite:///{tmp_path / 'impatient.db'}?timeout=0.25")
    yield made
    made.app.engine.dispose()


def test_the_dispatchers_lookups_do_not_wait_for_a_writer(impatient_shop: Shop) -> None:
    shop = impatient_shop
    queue_replies(shop.app, 1, channel="private")
    claimed_at = shop.clock.now()
    item = _claim_one(shop)
    reads = partial(shop.app.unit_of_work, read_only=True)

    # An ingest batch, say, holds SQLite's write lock meanwhile.
    with shop.app.unit_of_work() as writer:
        writer.repository.add_customer("writer@example.com", None, shop.clock.now())
        # A second writer waits its quarter of a second and gives up...
        with pytest.raises(DBAPIError, match="locked"), shop.app.unit_of_work():
            pass
        # ...while the lookups read the last commit beside the writer.
        assert not with_earlier_unseen(reads, item).earlier_unseen
        later = shop.clock.now() + timedelta(seconds=1)
        assert next_due_at(reads, ["x"], later) == claimed_at + LEASE


def _queue_private(shop: Shop, account_id: str, post_id: str) -> None:
    message = OutboundMessage(Network.X, account_id, post_id, Reason.ADDED, "Added.", "private")
    with shop.app.unit_of_work() as uow:
        uow.repository.queue_messages([message], shop.clock.now())


def test_an_earlier_unseen_private_message_is_found_for_later_ones(shop: Shop) -> None:
    _queue_private(shop, "acct0", "p1")
    first = _claim_one(shop)
    with shop.app.unit_of_work() as uow:
        note = MAY_BE_UNSEEN + "they do not follow the shop"
        assert uow.outbox.mark_sent(first, shop.clock.now(), Sent("1"), shop.clock.now(), note=note)
    _queue_private(shop, "acct0", "p2")
    _queue_private(shop, "acct1", "p3")
    later, other = claim_due(shop.app.unit_of_work, ["x"], shop.clock.now(), limit=2)
    reads = partial(shop.app.unit_of_work, read_only=True)

    assert with_earlier_unseen(reads, later).earlier_unseen
    # Another account, and the unseen message itself, are not told.
    assert not with_earlier_unseen(reads, other).earlier_unseen
    assert not with_earlier_unseen(reads, first).earlier_unseen


# --- the senders come from the host -----------------------------------------------------


class StandInSender:
    """A network sender that keeps what it is handed (nothing leaves the process)."""

    network = "x"

    def __init__(self) -> None:
        self.items: list[OutboxItem] = []

    def send(self, item: OutboxItem, now: datetime) -> Sent:
        self.items.append(item)
        return Sent(remote_id=f"given-{item.id}")


@dataclass
class HostGivingSenders(App):
    """The composition root with senders of its own choosing, none of them registered."""

    given: dict[str, StandInSender] | None = None

    def network_senders(self) -> dict[str, Sender]:
        return dict(self.given or {})


def test_the_dispatcher_sends_through_the_senders_its_host_gives(shop: Shop) -> None:
    # X is not configured: the network registry would give no X sender at all.
    assert "x" not in shop.app.network_senders()
    queue_replies(shop.app, 2)
    sender = StandInSender()
    host = HostGivingSenders(shop.app.settings, shop.app.engine, shop.clock, {"x": sender})

    assert dispatch_once(host) == DispatchRun(sent=2)
    assert [item.dedupe_key for item in sender.items] == [FIRST, "x:x-post-1:added"]
    assert [one.remote_id for one in rows(shop.app)] == [
        f"given-{item.id}" for item in sender.items
    ]


# --- what servers answer is kept storable -------------------------------------------------

HOSTILE = "refused\x00 with a NUL, a lone surrogate \udcff and " + "padding " * 200_000


class HostileSender:
    """A sender whose network answers with NUL characters, lone surrogates and megabytes."""

    network = "x"

    def __init__(self, failure: SendFailed | None = None) -> None:
        self.failure = failure

    def send(self, item: OutboxItem, now: datetime) -> Sent:
        if self.failure is not None:
            raise self.failure
        return Sent(remote_id="id\x00\udcff" + "9" * 10_000, may_be_unseen="\x00hidden")


def test_a_hostile_answer_to_a_failed_send_is_kept_storable(shop: Shop) -> None:
    queue_replies(shop.app, 1)

    run = dispatch_once(shop.app, {"x": HostileSender(SendFailed(HOSTILE, permanent=False))})

    assert run == DispatchRun(retried=1)
    kept = row(shop.app, FIRST).last_error
    assert kept.startswith("refused\ufffd with a NUL, a lone surrogate \ufffd and padding")
    assert len(kept) == MAX_REASON_CHARS


def test_a_hostile_reason_for_good_reaches_the_email_instead_storable(shop: Shop) -> None:
    _linked_shop(shop)
    queue_replies(shop.app, 1)

    run = dispatch_once(shop.app, {"x": HostileSender(SendFailed(HOSTILE, permanent=True))})

    assert run == DispatchRun(failed=1, fell_back_to_email=1)
    failed, email = rows(shop.app)
    assert failed.last_error.startswith("refused\ufffd with a NUL")
    assert "\x00" not in email.text
    assert "(refused\ufffd with a NUL, a lone surrogate \ufffd and padding" in email.text


def test_a_hostile_answer_to_a_sent_message_is_kept_storable(shop: Shop) -> None:
    queue_replies(shop.app, 1, channel="private")

    assert dispatch_once(shop.app, {"x": HostileSender()}) == DispatchRun(sent=1)

    sent = row(shop.app, FIRST)
    assert sent.remote_id == "id\ufffd\ufffd" + "9" * 10_000
    assert sent.last_error == MAY_BE_UNSEEN + "\ufffdhidden"


def test_the_outbox_is_reached_only_inside_its_unit_of_work(shop: Shop) -> None:
    uow = SqlUnitOfWork(shop.app.engine)
    with pytest.raises(UnitOfWorkMisuse):
        uow.outbox.waiting_without_sender(["x"])
    with uow:
        assert uow.outbox.waiting_without_sender(["x"]) == {}
    with pytest.raises(UnitOfWorkMisuse):
        uow.outbox.waiting_without_sender(["x"])
