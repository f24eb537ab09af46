"""Prometheus metrics of the long-running processes (serve, listen, worker, dispatch),
served on `metrics_port` at http://127.0.0.1:<port>/metrics when it is set.

prometheus-client comes with the `bus` extra; asking for metrics without it is a clear error,
and with `metrics_port = 0` (the default) nothing here is imported at all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hashcart.errors import HashcartError

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram


class MetricsUnavailable(HashcartError):
    pass


@dataclass(frozen=True)
class Metrics:
    posts_consumed: Counter
    triggers: Counter
    cart_lines: Counter
    claims: Counter
    dead_letters: Counter
    outbox_sent: Counter
    outbox_failed: Counter
    redelivered: Counter
    batch_seconds: Histogram
    publish_to_commit_seconds: Histogram
    consumer_pending: Gauge
    consumer_ack_pending: Gauge
    consumer_redelivered: Gauge

    def counted(self, posts: int, triggers: int, cart_lines: int, dead_letters: int) -> None:
        """What one batch did (through the engine, or with a bus, through the edge)."""
        self.posts_consumed.inc(posts)
        self.triggers.inc(triggers)
        self.cart_lines.inc(cart_lines)
        self.dead_letters.inc(dead_letters)

    def dispatched(self, sent: int, failed: int) -> None:
        self.outbox_sent.inc(sent)
        self.outbox_failed.inc(failed)


_metrics: Metrics | None = None
_serving: set[int] = set()
# Fine below 100 ms, the end-to-end goal (docs/benchmarks.md), for quantiles read from it.
LATENCY_BUCKETS = (
    0.0025,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.02,
    0.025,
    0.03,
    0.04,
    0.05,
    0.06,
    0.075,
    0.1,
    0.125,
    0.15,
    0.2,
    0.3,
    0.5,
    0.75,
    1,
    2.5,
    5,
    10,
    30,
)


def metrics() -> Metrics:
    """The process's metrics (made once: Prometheus refuses a name registered twice)."""
    global _metrics
    if _metrics is None:
        try:
            from prometheus_client import Counter, Gauge, Histogram
        except ImportError as error:
            raise MetricsUnavailable(
                "metrics_port needs prometheus-client: pip install 'hashcart[bus]'"
            ) from error
        partition = ["partition"]
        _metrics = Metrics(
            posts_consumed=Counter(
                "hashcart_posts_consumed",
                "Posts read: taken from the bus, or by a listener or webhook",
            ),
            triggers=Counter("hashcart_triggers", "Trigger posts the engine read"),
            cart_lines=Counter("hashcart_cart_lines", "Cart and wish-list lines added"),
            claims=Counter("hashcart_claims", "Live-sale claims (issue 13; none yet)"),
            dead_letters=Counter("hashcart_dead_letters", "Lines kept as dead letters"),
            outbox_sent=Counter("hashcart_outbox_sent", "Outbox messages sent"),
            outbox_failed=Counter("hashcart_outbox_failed", "Outbox messages failed for good"),
            redelivered=Counter("hashcart_redelivered", "Bus messages delivered more than once"),
            batch_seconds=Histogram(
                "hashcart_batch_seconds",
                "Seconds a batch took: from the bus's fetch, or a listener's or webhook's "
                "payloads, to its commit (with a bus, the edge's to its publish)",
                buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            ),
            publish_to_commit_seconds=Histogram(
                "hashcart_publish_to_commit_seconds",
                "Seconds from the edge's publish of a post to the commit of its batch",
                buckets=LATENCY_BUCKETS,
            ),
            consumer_pending=Gauge(
                "hashcart_consumer_pending", "Messages not yet delivered, by partition", partition
            ),
            consumer_ack_pending=Gauge(
                "hashcart_consumer_ack_pending", "Delivered, not acknowledged", partition
            ),
            consumer_redelivered=Gauge(
                "hashcart_consumer_redelivered", "Redelivered, not acknowledged", partition
            ),
        )
    return _metrics


def serve_metrics(port: int) -> None:
    """Serve /metrics on 127.0.0.1:port in a thread, once a process; no-op for port 0."""
    if not port or port in _serving:
        return
    metrics()
    from prometheus_client import start_http_server

    start_http_server(port, addr="127.0.0.1")
    _serving.add(port)
