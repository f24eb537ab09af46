"""The dispatcher against a network stand-in on loopback and a real SMTP server, on SQLite
and PostgreSQL: what is due goes once; temporary failures come back after a jittered
backoff, never before a rate limit's reset; permanent ones fail with their reason and reach
a linked shopper by email; a send a crash left unfinished is reconciled, not repeated."""

from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta
from typing import Any

from hashcart.domain.messages import Reason, email_subject
from hashcart.domain.posts import Network
from hashcart.outbox.claims import LEASE, claim_due
from hashcart.outbox.dispatcher import DispatchRun, dispatch_once
from hashcart.outbox.email import EmailSender
from hashcart.outbox.senders import OutboxItem, Sender, SendFailed, Sent
from hashcart.services.mail import Email, queue_email
from tests.harness import Shop
from tests.outbox.conftest import SHOP_NAME
from tests.outbox.support import (
    PeerNetwork,
    broken_created,
    queue_replies,
    rate_limited,
    reply_forbidden,
    row,
    rows,
    server_error,
)
from tests.smtp_support import CollectingHandler, SMTPServer, free_port

FIRST = "x:x-post-0:added"  # the dedupe key of the first queued reply


def test_a_due_reply_is_sent_once_and_recorded_sent(shop: Shop, network: PeerNetwork) -> None:
    queue_replies(shop.app, 1)

    run = dispatch_once(shop.app, {"x": network.sender()})

    assert run == DispatchRun(sent=1)
    assert network.peer.posted() == [FIRST]
    [request] = network.peer.requests
    assert request["reply_to"] == "x-post-0"
    assert request["text"].startswith("@shopper0 Added Trailhead Enamel Mug")
    sent = row(shop.app, FIRST)
    assert (sent.status, sent.attempts, sent.remote_id, sent.last_error) == (
        "sent",
        1,
        "1000",
        None,
    )
    assert sent.sent_at == shop.clock.now()
    assert sent.attempt_started_at is None
    # Sent is sent: a second run finds nothing to do.
    assert dispatch_once(shop.app, {"x": network.sender()}) == DispatchRun()
    assert network.peer.posted() == [FIRST]


def test_two_dispatchers_at_once_send_each_message_once(shop: Shop, network: PeerNetwork) -> None:
    queue_replies(shop.app, 60)
    start = threading.Barrier(2)
    runs: list[DispatchRun] = []

    def dispatcher() -> None:
        sender = network.sender()  # each its own connection, as two processes would have
        start.wait(timeout=30)
        total = DispatchRun()
        while (done := dispatch_once(shop.app, {"x": sender}, limit=5)).handled:
            total += done
        runs.append(total)

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    posted = network.peer.posted()
    assert sorted(posted) == sorted({f"x:x-post-{n}:added" for n in range(60)})
    assert len(posted) == 60  # none twice
    assert sum(run.sent for run in runs) == 60
    assert {r.status for r in rows(shop.app)} == {"sent"}


def test_claims_taken_at_the_same_moment_never_overlap(shop: Shop) -> None:
    queue_replies(shop.app, 40)
    start = threading.Barrier(4)
    taken: list[list[int]] = [[] for _ in range(4)]

    def claimer(mine: list[int]) -> None:
        start.wait(timeout=30)
        while batch := claim_due(shop.app.unit_of_work, ["x"], shop.clock.now(), limit=3):
            mine += [item.id for item in batch]

    threads = [threading.Thread(target=claimer, args=(mine,)) for mine in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    every = [outbox_id for mine in taken for outbox_id in mine]
    assert len(every) == len(set(every)) == 40
    assert {r.status for r in rows(shop.app)} == {"sending"}


def test_a_temporary_failure_comes_back_after_a_jittered_exponential_backoff(
    shop: Shop, network: PeerNetwork
) -> None:
    queue_replies(shop.app, 1)
    network.peer.answer_next(server_error(), server_error())
    sender = network.sender()
    base = shop.app.settings.dispatch_base_delay_seconds
    start = shop.clock.now()

    first = dispatch_once(shop.app, {"x": sender}, rng=random.Random(1))

    assert first == DispatchRun(retried=1)
    waiting = row(shop.app, FIRST)
    assert (waiting.status, waiting.attempts, waiting.last_error) == ("queued", 1, "x answered 503")
    retry_at = waiting.next_attempt_at
    assert retry_at is not None
    # Equal jitter: somewhere in [base/2, base] after the first failure.
    assert start + timedelta(seconds=base / 2) <= retry_at <= start + timedelta(seconds=base)
    # Not due yet: nothing goes.
    assert dispatch_once(shop.app, {"x": sender}) == DispatchRun()
    assert len(network.peer.requests) == 1

    shop.clock.advance(retry_at - start)
    second_try = shop.clock.now()
    assert dispatch_once(shop.app, {"x": sender}, rng=random.Random(2)) == DispatchRun(retried=1)
    again = row(shop.app, FIRST)
    assert again.attempts == 2
    later = again.next_attempt_at
    assert later is not None
    # The second delay doubles: [base, 2 * base].
    assert second_try + timedelta(seconds=base) <= later <= second_try + timedelta(seconds=2 * base)

    shop.clock.advance(later - second_try)
    assert dispatch_once(shop.app, {"x": sender}) == DispatchRun(sent=1)
    done = row(shop.app, FIRST)
    assert (done.status, done.attempts, done.last_error, done.next_attempt_at) == (
        "sent",
        3,
        None,
        None,
    )
    assert network.peer.posted() == [FIRST] * 3  # two refused, one made
    assert len(network.peer.posts) == 1


def test_jitter_spreads_retries_and_stays_within_the_schedule(
    shop: Shop, network: PeerNetwork
) -> None:
    queue_replies(shop.app, 20)
    network.peer.default = server_error()
    now = shop.clock.now()
    base = shop.app.settings.dispatch_base_delay_seconds

    dispatch_once(shop.app, {"x": network.sender()}, rng=random.Random(7))

    delays = [(r.next_attempt_at - now).total_seconds() for r in rows(shop.app)]
    assert all(base / 2 <= delay <= base for delay in delays)
    assert len(set(delays)) > 10  # spread out, not all at once


def test_a_rate_limited_network_is_held_until_its_reset_and_others_go_on(
    shop: Shop, network: PeerNetwork
) -> None:
    queue_replies(shop.app, 3)
    queue_replies(shop.app, 2, network=Network.MASTODON)
    reset = shop.clock.now() + timedelta(minutes=15)
    network.peer.answer_next(rate_limited(reset))

    run = dispatch_once(shop.app, {"x": network.sender(), "mastodon": network.sender("mastodon")})

    # One x request, refused; the other two x rows were not tried; mastodon went on.
    assert run == DispatchRun(sent=2, retried=1, skipped_rate_limited=2)
    x_requests = [key for key in network.peer.posted() if key.startswith("x:")]
    assert x_requests == [FIRST]
    x_rows = [r for r in rows(shop.app) if r.network == "x"]
    assert {r.status for r in x_rows} == {"queued"}
    # The reset time wins over the (shorter) backoff, and the untried rows wait for it too.
    assert [r.next_attempt_at for r in x_rows] == [reset] * 3
    assert [r.attempts for r in x_rows] == [1, 0, 0]  # waiting burns no attempt

    shop.clock.advance(timedelta(minutes=14, seconds=59))
    assert dispatch_once(shop.app, {"x": network.sender()}) == DispatchRun()
    shop.clock.advance(timedelta(seconds=1))
    assert dispatch_once(shop.app, {"x": network.sender()}) == DispatchRun(sent=3)
    assert sorted(network.peer.posts) == sorted(
        [f"x:x-post-{n}:added" for n in range(3)]
        + [f"mastodon:mastodon-post-{n}:added" for n in range(2)]
    )


def test_a_reply_the_network_refuses_for_good_fails_and_is_emailed_to_the_shopper(
    mailing_shop: Shop, network: PeerNetwork, smtp_server: SMTPServer
) -> None:
    shop = mailing_shop
    shop.customer("alice@example.com", (Network.X, "acct0", "shopper0"))
    queue_replies(shop.app, 1)
    network.peer.answer_next(reply_forbidden())
    senders: dict[str, Sender] = {"x": network.sender(), "email": EmailSender(shop.app.settings)}

    run = dispatch_once(shop.app, senders)

    assert run == DispatchRun(sent=1, failed=1, fell_back_to_email=1)
    failed = row(shop.app, FIRST)
    assert failed.status == "failed"
    assert failed.attempts == 1
    assert failed.last_error.startswith("X allows replies only where the author mentioned")
    fallback = row(shop.app, f"email:fallback:{failed.id}")
    assert (fallback.status, fallback.channel, fallback.account_id, fallback.reason) == (
        "sent",
        "email",
        "alice@example.com",
        "added",
    )
    [message] = smtp_server.messages
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == email_subject(Reason.ADDED, SHOP_NAME)
    body = message.get_content()
    assert body.startswith("Added Trailhead Enamel Mug to your cart at Trailhead Coffee.")
    assert "@shopper0" not in body
    assert "We could not reply to you on X (X allows replies only where the author" in body
    assert "so this comes by email instead." in body
    # Failed is final: nothing is tried again, and no second email is queued.
    assert dispatch_once(shop.app, senders) == DispatchRun()
    assert len(smtp_server.messages) == 1


def test_an_unlinked_account_s_failure_is_only_recorded(shop: Shop, network: PeerNetwork) -> None:
    queue_replies(shop.app, 1)
    network.peer.answer_next(reply_forbidden())

    run = dispatch_once(shop.app, {"x": network.sender()})

    assert run == DispatchRun(failed=1)
    assert [(r.network, r.status) for r in rows(shop.app)] == [("x", "failed")]


def test_the_dispatcher_gives_up_after_the_most_attempts_and_emails_instead(
    database_url: str, network: PeerNetwork
) -> None:
    shop = Shop(database_url, shop_name=SHOP_NAME, dispatch_max_attempts=3)
    shop.customer("alice@example.com", (Network.X, "acct0", "shopper0"))
    queue_replies(shop.app, 1, channel="private")
    network.peer.default = server_error()
    sender = network.sender()

    outcomes = []
    for _ in range(3):
        outcomes.append(dispatch_once(shop.app, {"x": sender}))
        shop.clock.advance(timedelta(hours=1))

    assert outcomes == [
        DispatchRun(retried=1),
        DispatchRun(retried=1),
        DispatchRun(failed=1, fell_back_to_email=1),
    ]
    key = "x:x-post-0:added"
    failed = row(shop.app, key)
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert failed.last_error == "gave up after 3 attempts: x answered 503"
    email = row(shop.app, f"email:fallback:{failed.id}")
    assert email.status == "queued"  # no SMTP server here: it waits, as mail always does
    assert "We could not send you a private message on X (gave up after 3 attempts" in email.text
    assert len(network.peer.requests) == 3
    shop.app.engine.dispose()


def test_messages_of_a_network_without_a_sender_wait_untouched(
    shop: Shop, network: PeerNetwork
) -> None:
    queue_replies(shop.app, 1, network=Network.BLUESKY)
    queue_replies(shop.app, 1)

    run = dispatch_once(shop.app, {"x": network.sender()})

    assert run == DispatchRun(sent=1)
    bluesky = row(shop.app, "bluesky:bluesky-post-0:added")
    assert (bluesky.status, bluesky.attempts, bluesky.next_attempt_at, bluesky.last_error) == (
        "queued",
        0,
        None,
        None,
    )
    assert network.peer.posted() == [FIRST]


def test_a_send_a_crash_left_unfinished_is_reconciled_and_not_made_twice(
    shop: Shop, network: PeerNetwork
) -> None:
    queue_replies(shop.app, 2)
    sender = network.sender()
    crashed_at = shop.clock.now()
    # A dispatcher claims both, sends the first, and dies before writing anything down.
    claimed = claim_due(shop.app.unit_of_work, ["x"], crashed_at, limit=10)
    assert [item.attempt_started_at for item in claimed] == [None, None]
    sender.send(claimed[0], crashed_at)
    assert network.peer.posted() == [FIRST]

    # Within the lease the rows may still be in a live dispatcher's hands: left alone.
    shop.clock.advance(LEASE - timedelta(seconds=1))
    assert dispatch_once(shop.app, {"x": sender}) == DispatchRun()

    shop.clock.advance(timedelta(seconds=2))
    run = dispatch_once(shop.app, {"x": sender})

    assert run == DispatchRun(sent=2, reconciled=2)
    # Both were handed over with the crashed attempt's start; the first was found, not
    # posted again; the second, never posted, was posted now.
    assert [item.attempt_started_at for item in sender.items[-2:]] == [crashed_at] * 2
    assert network.peer.lookups == [FIRST, "x:x-post-1:added"]
    assert network.peer.posted() == [FIRST, "x:x-post-1:added"]
    first = row(shop.app, FIRST)
    assert (first.status, first.remote_id, first.attempts) == ("sent", "1000", 1)
    assert row(shop.app, "x:x-post-1:added").remote_id == "1001"


def test_a_sender_that_breaks_mid_answer_leaves_the_row_to_be_reconciled(
    shop: Shop, network: PeerNetwork
) -> None:
    queue_replies(shop.app, 1)
    network.peer.answer_next(broken_created())  # posted, but the answer is cut off
    sender = network.sender()
    started = shop.clock.now()

    run = dispatch_once(shop.app, {"x": sender})

    assert run == DispatchRun(retried=1)
    waiting = row(shop.app, FIRST)
    assert waiting.status == "queued"
    assert waiting.last_error == "the x sender broke: JSONDecodeError"
    assert waiting.attempt_started_at == started

    shop.clock.advance(timedelta(minutes=1))
    assert dispatch_once(shop.app, {"x": sender}) == DispatchRun(sent=1, reconciled=1)
    assert network.peer.posted() == [FIRST]  # found, not posted twice
    assert row(shop.app, FIRST).remote_id == "1000"


def test_an_email_while_the_mail_server_is_down_is_retried_later(
    database_url: str, dead_smtp_port: int
) -> None:
    shop = Shop(database_url, smtp_host="127.0.0.1", smtp_port=dead_smtp_port)
    queue_plain_emails(shop, "a@example.com")

    run = dispatch_once(shop.app)

    assert run == DispatchRun(retried=1)
    [email] = rows(shop.app)
    assert (email.status, email.attempts) == ("queued", 1)
    assert email.last_error.startswith("SMTP server unreachable:")
    assert email.next_attempt_at > shop.clock.now()
    shop.app.engine.dispose()


class RefusingHandler(CollectingHandler):
    """Refuses some recipients the way mail servers do: 550 for good, 452 for now."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.startswith("gone@"):
            return "550 5.1.1 No such mailbox"
        if address.startswith("full@"):
            return "452 4.2.2 Mailbox full, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_the_mail_server_s_answer_decides_retry_or_failure(database_url: str) -> None:
    from aiosmtpd.controller import Controller

    handler = RefusingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        shop = Shop(database_url, smtp_host="127.0.0.1", smtp_port=port)
        queue_plain_emails(shop, "gone@example.com", "full@example.com", "ok@example.com")

        run = dispatch_once(shop.app)

        assert run == DispatchRun(sent=1, retried=1, failed=1)
        by_address = {r.account_id: r for r in rows(shop.app)}
        gone, full = by_address["gone@example.com"], by_address["full@example.com"]
        assert gone.status == "failed"
        assert gone.last_error == (
            "SMTP server refused the recipient: gone@example.com: 550 5.1.1 No such mailbox"
        )
        assert (full.status, full.attempts) == ("queued", 1)
        assert "452" in full.last_error
        assert by_address["ok@example.com"].status == "sent"
        assert [message["To"] for message in handler.messages] == ["ok@example.com"]
        shop.app.engine.dispose()
    finally:
        controller.stop()


def queue_plain_emails(shop: Shop, *addresses: str) -> None:
    with shop.app.unit_of_work() as uow:
        for address in addresses:
            email = Email(address, "Hello", "Hello there", "order_confirmed", f"note:{address}")
            queue_email(uow.repository, email, shop.clock.now())


class LookupDownOnce:
    """A sender whose first call cannot ask the network what an earlier attempt posted (as
    X's sender says when its timeline lookup fails): a clean, temporary failure that settles
    nothing about the earlier attempt."""

    def __init__(self, sender: Sender) -> None:
        self.sender = sender
        self.calls = 0

    def send(self, item: OutboxItem, now: datetime) -> Sent:
        self.calls += 1
        if self.calls == 1:
            assert item.attempt_started_at is not None
            raise SendFailed("x cannot be asked now", permanent=False)
        return self.sender.send(item, now)


def test_a_clean_failure_after_a_crash_keeps_the_crash_s_doubt_for_the_next_attempt(
    shop: Shop, network: PeerNetwork
) -> None:
    queue_replies(shop.app, 1)
    network.peer.answer_next(broken_created())  # posted, but the answer is cut off
    started = shop.clock.now()
    assert dispatch_once(shop.app, {"x": network.sender()}) == DispatchRun(retried=1)

    shop.clock.advance(timedelta(minutes=1))
    flaky = LookupDownOnce(network.sender())
    assert dispatch_once(shop.app, {"x": flaky}) == DispatchRun(retried=1, reconciled=1)
    assert row(shop.app, FIRST).attempt_started_at == started

    shop.clock.advance(timedelta(minutes=10))
    assert dispatch_once(shop.app, {"x": flaky}) == DispatchRun(sent=1, reconciled=1)
    assert network.peer.posted() == [FIRST]  # found, not posted a second time
