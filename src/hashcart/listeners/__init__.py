"""Live listening: what a listener is (base) and running listeners together, each supervised
(runner). The live sink they feed is a use case (services/live_ingest); wiring them to it
and to the dispatcher is composition (hashcart/live.py)."""
