"""Names on the bus: the stream, its subjects, one durable consumer per partition.

Subjects are `hashcart.posts.<network>.<partition>`. The partition is a stable hash of the
account whose order matters (services/bus_edge), the same in every process and every Python
(not `hash()`, which is salted per process), so one account's posts always meet one worker."""

from __future__ import annotations

import hashlib
import re

STREAM = "HASHCART_POSTS"
SUBJECT_PREFIX = "hashcart.posts"
LEASE_BUCKET = "hashcart_leases"
_TOKEN = re.compile(r"[^A-Za-z0-9_-]")


def partition_of(order_key: str, partitions: int) -> int:
    digest = hashlib.blake2b(order_key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions


def subject_of(network: str, partition: int) -> str:
    # A subject token may not hold '.', '*', '>' or spaces: a plugin's network name is made
    # into one (hashcart's own are x, mastodon, bluesky).
    token = _TOKEN.sub("_", network)[:64] or "unknown"
    return f"{SUBJECT_PREFIX}.{token}.{partition}"


def partition_filter(partition: int) -> str:
    """Every network's posts of one partition: the consumer's filter_subject."""
    return f"{SUBJECT_PREFIX}.*.{partition}"


def consumer_of(partition: int) -> str:
    return f"hashcart-p{partition}"


def lease_key(partition: int) -> str:
    return f"partition.{partition}"


def worker_key(worker_id: str) -> str:
    return f"worker.{worker_id}"
