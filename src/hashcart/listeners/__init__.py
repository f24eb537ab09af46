"""Live listening: stream clients and webhook receivers hand payloads to one sink."""
