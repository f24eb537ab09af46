"""Prometheus metrics of the long-running processes (worker, dispatch), served on
`metrics_port` at http://127.0.0.1:<port>/metrics when it is set.

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
    consumer_pending: Gauge
    consumer_ack_pending: Gauge
    consumer_redelivered: Gauge


_metrics: Metrics | None = None


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
            posts_consumed=Counter("hashcart_posts_consumed", "Posts taken from the bus"),
            triggers=Counter("hashcart_triggers", "Trigger posts the engine read"),
            cart_lines=Counter("hashcart_cart_lines", "Cart and wish-list lines added"),
            claims=Counter("hashcart_claims", "Live-sale claims (issue 13; none yet)"),
            dead_letters=Counter("hashcart_dead_letters", "Lines kept as dead letters"),
            outbox_sent=Counter("hashcart_outbox_sent", "Outbox messages sent"),
            outbox_failed=Counter("hashcart_outbox_failed", "Outbox messages failed for good"),
            redelivered=Counter("hashcart_redelivered", "Bus messages delivered more than once"),
            batch_seconds=Histogram(
                "hashcart_batch_seconds",
                "Seconds from fetching a batch to its commit",
                buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
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
    """Serve /metrics on 127.0.0.1:port in a thread; no-op for port 0."""
    if not port:
        return
    metrics()
    from prometheus_client import start_http_server

    start_http_server(port, addr="127.0.0.1")
