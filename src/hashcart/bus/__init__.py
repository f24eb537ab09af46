"""NATS JetStream, for hashcart run as many processes (README "Run at scale"): the stream
and its consumers (streams), publishing at the edge (publisher), partitions (subjects),
worker leases (leases) and the worker's loop (worker). Nothing here knows the engine: the
worker is handed a function that commits a batch."""
